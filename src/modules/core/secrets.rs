//! `secret`: a value from the environment, the secrets file, a generator or a prompt, which
//! prints masked everywhere.

use super::Res;
use crate::effects::secret::{self, Secret};
use crate::effects::Op;
use crate::error::Error;
use crate::modules::opts::{option_spec, OptField, OptionSpec};
use crate::session::{rt_err, session};
use rhai::plugin::*;
use rhai::Map;

option_spec! {
    /// The options of `secret`.
    pub struct SecretOpts {
        /// Made (and kept in the secrets file) when no other source has it (default false).
        generate: Option<bool>,
        /// A generated value's length, 12 to 4096 (default 24).
        length: Option<i64>,
        /// The environment variable it is read from (default LABSH_SECRET_<NAME>).
        env: Option<String>,
        /// The question asked at the terminal when no other source has it (default "secret NAME: ").
        prompt: Option<String>,
    }
}

/// The option map of `secret`.
pub const OPTIONS: &[(&str, &[OptField])] = &[("secret", SecretOpts::FIELDS)];

fn secret_impl(ctx: &NativeCallContext, name: &str, opts: Map) -> Res<Secret> {
    let s = session(ctx)?;
    let o = SecretOpts::read("secret", opts).map_err(|e| rt_err(ctx, e))?;
    let err = |e: crate::error::Error| rt_err(ctx, e);
    secret::check_name(name).map_err(err)?;
    let make = |v: &str, from: &str| -> Res<Secret> {
        if v.len() < secret::MIN_LEN {
            return Err(err(Error::invalid(format!(
                "secret {name} from {from} is shorter than {} characters",
                secret::MIN_LEN
            ))));
        }
        Ok(Secret::new(name, v))
    };
    let env = o.env.clone().unwrap_or_else(|| secret::env_name(name));
    if let Some(v) = secret::env_value(&env) {
        if !v.is_empty() {
            return make(&v, &format!("${env}"));
        }
    }
    let generate = o.generate.unwrap_or(false);
    // A value a plan made for it earlier in this run (not stored): the same one again.
    if let Some(Some(v)) = s.secret_seen(name) {
        return Ok(Secret::new(name, &v));
    }
    if let Some(v) = s.secrets.get(name).map_err(err)? {
        if generate && s.secret_seen(name).is_none() {
            s.effects.unchanged(
                Op::new("secret.generate", name)
                    .arg("file", s.secrets.path().display().to_string()),
            );
            s.see_secret(name, None);
        }
        return make(&v, &s.secrets.path().display().to_string());
    }
    if generate {
        let len = o.length.unwrap_or(24);
        if !(12..=4096).contains(&len) {
            return Err(err(Error::invalid(format!(
                "secret: option 'length' must be between 12 and 4096, not {len}"
            ))));
        }
        let value = secret::generate(len as usize).map_err(err)?;
        let path = s.secrets.path().display().to_string();
        let op = Op::new("secret.generate", name).arg("file", &path);
        // Stored in any applying run, also inside planned(..): later steps use the same value.
        let stored = s
            .effects
            .change_local(op, || s.secrets.put(name, &value).map(Some), || None)
            .map_err(err)?;
        s.see_secret(
            name,
            if stored.is_none() {
                Some(value.clone())
            } else {
                None
            },
        );
        return Ok(Secret::new(name, stored.as_deref().unwrap_or(&value)));
    }
    if s.options.interactive && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let prompt = o
            .prompt
            .clone()
            .unwrap_or_else(|| format!("secret {name}: "));
        let v = rpassword::prompt_password(prompt)
            .map_err(|e| err(Error::failed(format!("secret {name}: {e}"))))?;
        return make(&v, "the prompt");
    }
    Err(err(Error::not_found(format!(
        "secret {name} is not set: export {env}=..., or add a line `{name}=...` to {} (mode 0600), or call secret(\"{name}\", #{{generate: true}}) to have one made",
        s.secrets.path().display()
    ))))
}

/// [`secret_impl`], and a weak value named in a warning at once.
fn secret_named(ctx: &NativeCallContext, name: &str, opts: Map) -> Res<Secret> {
    let s = secret_impl(ctx, name, opts)?;
    session(ctx)?.effects.printer().weak_secrets();
    Ok(s)
}

#[export_module]
pub mod secrets_fns {
    /// The secret `name`: from `$LABSH_SECRET_<NAME>`, else the secrets file, else (in the REPL)
    /// a prompt. It prints as `«secret NAME»` everywhere; only bindings read its value.
    ///
    /// ```rhai
    /// let pw = secret("example-password", #{generate: true});
    /// assert_eq(`${pw}`, "«secret example-password»");
    /// ```
    #[rhai_fn(name = "secret", return_raw)]
    pub fn secret(ctx: NativeCallContext, name: &str) -> Res<super::Secret> {
        super::secret_named(&ctx, name, Map::new())
    }

    /// `secret` with options: `generate` (true: make and store a strong random value when none
    /// exists; in plan mode it is made but not stored), `length` (of a generated value, default
    /// 24), `env` (read this variable instead of `LABSH_SECRET_<NAME>`), `prompt` (the REPL's
    /// question).
    ///
    /// ```rhai
    /// let pw = secret("example-token", #{generate: true, length: 32});
    /// assert_eq(pw.name, "example-token");
    /// ```
    #[rhai_fn(name = "secret", return_raw)]
    pub fn secret_opts(ctx: NativeCallContext, name: &str, opts: Map) -> Res<super::Secret> {
        super::secret_named(&ctx, name, opts)
    }
}
