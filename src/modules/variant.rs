//! Loading a profile variant so that it cannot act before the whole profile is checked: the file
//! is compiled and checked statically (unknown functions, arity, literal argument types; hook
//! names against the stages), then its top-level code and `overrides()` run with every effect
//! refused and an operations budget.

use crate::engine::analyze;
use crate::engine::diag::Diagnostic;
use crate::engine::{sources, PROFILE_OPS};
use crate::error::{Error, Kind};
use crate::session::{rt_err, session};
use crate::util::suggest::closest;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

use crate::session::Res;

/// The problems of a variant's functions: `overrides()` missing or taking arguments, hooks named
/// for no stage (with a did-you-mean) or taking other than one argument (the profile), and step
/// hooks (`steps`: name and arguments, such as the director's repositories) taking other than
/// theirs.
fn function_problems(
    file: &str,
    fns: &[(String, usize)],
    stages: &[String],
    steps: &[(String, usize)],
) -> Vec<String> {
    let mut bad = Vec::new();
    match fns.iter().find(|(n, _)| n == "overrides") {
        None => bad.push(format!(
            "{file}: no fn overrides(): a variant returns the values it changes from \
             `fn overrides() {{ #{{ ... }} }}` (see profiles/minimal.rhai)"
        )),
        Some((_, n)) if *n != 0 => bad.push(format!(
            "{file}: fn overrides() takes no arguments, not {n}"
        )),
        _ => {}
    }
    let hooks: Vec<String> = stages
        .iter()
        .flat_map(|s| [format!("before_{s}"), format!("after_{s}")])
        .collect();
    let stage_list = stages.join(", ");
    for (name, params) in fns {
        if name == "overrides" {
            continue;
        }
        if let Some((_, want)) = steps.iter().find(|(n, _)| n == name) {
            if params != want {
                bad.push(format!(
                    "{file}: step hook {name} takes {want} argument(s), not {params}"
                ));
            }
            continue;
        }
        let is_hook = hooks.contains(name);
        if is_hook {
            if *params != 1 {
                bad.push(format!(
                    "{file}: hook {name} takes one argument (the profile: fn {name}(p)), not {params}"
                ));
            }
            continue;
        }
        let looks_like_hook = name.starts_with("before_") || name.starts_with("after_");
        let near = closest(name, hooks.iter().map(String::as_str));
        if looks_like_hook || near.is_some() {
            let hint = near
                .map(|h| format!("did you mean '{h}'? "))
                .unwrap_or_default();
            bad.push(format!(
                "{file}: fn {name} is no hook: {hint}hooks are before_STAGE and after_STAGE for \
                 the stages {stage_list}"
            ));
        }
    }
    bad
}

/// A mistake in the profile `file`, naming its own file and key (an error of kind "invalid"
/// unless it has another: a file that is not there).
fn user_err(ctx: &NativeCallContext, file: &str, e: impl Into<Error>) -> Box<EvalAltResult> {
    let e: Error = e.into();
    let e = if e.is(Kind::Failed) {
        e.with_kind(Kind::Invalid)
    } else {
        e
    };
    rt_err(ctx, e.in_input(Some(file), None))
}

fn problems_error(ctx: &NativeCallContext, file: &str, bad: Vec<String>) -> Box<EvalAltResult> {
    user_err(
        ctx,
        file,
        format!(
            "the profile has {} problem(s):\n  {}",
            bad.len(),
            bad.join("\n  ")
        ),
    )
}

#[export_module]
pub mod variant_fns {
    /// Loads the profile variant in `file` for the lab's `stages` without letting it act: the
    /// file is compiled and checked whole (unknown functions, arity, hook names for the stages,
    /// with did-you-mean), then its top-level code and `overrides()` run with every effect
    /// refused and a budget of operations. Returns `#{overrides, hooks, file, real}` (`hooks`:
    /// the names of its hook functions; `real`: the file's canonical path). How `profile::load`
    /// reads a variant.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-variant.rhai";
    /// if !plan_mode() {
    ///     files::write(f, "fn overrides() { #{ name: \"x\" } }\nfn after_l1(p) { print(p.name); }");
    ///     let v = load_variant(f, ["l1"]);
    ///     assert_eq(v.overrides.name, "x");
    ///     assert_eq(v.hooks, ["after_l1"]);
    /// }
    /// ```
    #[rhai_fn(name = "load_variant", return_raw)]
    pub fn load_variant(ctx: NativeCallContext, file: &str, stages: Array) -> Res<Map> {
        load_variant_steps(ctx, file, stages, Map::new())
    }

    /// `load_variant` with step hooks: `steps` maps the name of a function the lab calls at a
    /// step of its own to the number of arguments it takes (`#{director_repos: 2}`); a variant's
    /// function of that name is checked for them and listed in `hooks`.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-steps.rhai";
    /// if !plan_mode() {
    ///     files::write(f, "fn overrides() { #{} }\nfn director_repos(p, uc) { }");
    ///     assert_eq(load_variant(f, ["undercloud"], #{director_repos: 2}).hooks, ["director_repos"]);
    /// }
    /// ```
    #[rhai_fn(name = "load_variant", return_raw)]
    pub fn load_variant_steps(
        ctx: NativeCallContext,
        file: &str,
        stages: Array,
        steps: Map,
    ) -> Res<Map> {
        let stages: Vec<String> = stages.iter().map(|s| s.to_string()).collect();
        let steps: Vec<(String, usize)> = steps
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_int().unwrap_or(0).max(0) as usize))
            .collect();
        let text = sources::read(std::path::Path::new(file), "profile")
            .map_err(|e| user_err(&ctx, file, e))?;
        if text.trim().is_empty() {
            return Err(user_err(
                &ctx,
                file,
                format!(
                    "{file}: the file is empty: a variant defines `fn overrides()` returning a map of \
                     the values it changes (see profiles/minimal.rhai)"
                ),
            ));
        }
        sources::register(file, &text);
        let engine = ctx.engine();
        let mut ast = engine
            .compile(&text)
            .map_err(|e| user_err(&ctx, file, Diagnostic::from_parse(&e, file).render()))?;
        ast.set_source(file);
        let dir = std::path::Path::new(file).parent().map(|p| p.to_path_buf());
        let diags = analyze::check(engine, &analyze::Natives::new(), &ast, dir.as_deref());
        if !diags.is_empty() {
            let msgs: Vec<String> = diags
                .iter()
                .map(|d| {
                    let mut m = d.render();
                    if let Some(h) = &d.hint {
                        m.push_str(&format!(" ({h})"));
                    }
                    m
                })
                .collect();
            return Err(problems_error(&ctx, file, msgs));
        }
        let fns: Vec<(String, usize)> = ast
            .iter_functions()
            .map(|f| (f.name.to_string(), f.params.len()))
            .collect();
        let bad = super::function_problems(file, &fns, &stages, &steps);
        if !bad.is_empty() {
            return Err(problems_error(&ctx, file, bad));
        }
        let s = session(&ctx)?;
        let why = format!("loading the profile {file}");
        let over = s.effects.refusing(&why, PROFILE_OPS, || {
            let mut scope = rhai::Scope::new();
            engine.call_fn::<Dynamic>(&mut scope, &ast, "overrides", ())
        });
        let over = over.map_err(|e| {
            if crate::session::is_interrupt(&e) {
                return e;
            }
            let d = Diagnostic::from_eval(&e, Some(file));
            user_err(&ctx, file, d.render())
        })?;
        let Some(over) = over.clone().try_cast::<Map>() else {
            return Err(user_err(
                &ctx,
                file,
                format!(
                    "{file}: overrides() must return a map of the values it changes, not {}",
                    crate::modules::opts::type_name(&over)
                ),
            ));
        };
        let mut hooks: Array = fns
            .iter()
            .filter(|(n, _)| {
                n.starts_with("before_")
                    || n.starts_with("after_")
                    || steps.iter().any(|(s, _)| s == n)
            })
            .map(|(n, _)| Dynamic::from(n.clone()))
            .collect();
        hooks.dedup_by(|a, b| a.to_string() == b.to_string());
        let mut m = Map::new();
        m.insert("overrides".into(), over.into());
        m.insert("hooks".into(), hooks.into());
        m.insert("file".into(), file.into());
        // The file itself, whatever path named it: how a chain of bases finds a cycle.
        let real = std::fs::canonicalize(file)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| file.to_string());
        m.insert("real".into(), real.into());
        Ok(m)
    }

    /// The file of the profile or target (`kind`: "profile" or "target") named `name`: a path,
    /// or a word looked for as `profiles/NAME.rhai` (`targets/NAME.yaml`) beside the running
    /// script's folder, in it, and in the current folder; `()` for the built-in ones ("seed",
    /// "sandbox"). An unknown name is an error that lists the ones there are.
    ///
    /// ```rhai
    /// assert_eq(lab_file("profile", "seed"), ());
    /// ```
    #[rhai_fn(name = "lab_file", return_raw)]
    pub fn lab_file(ctx: NativeCallContext, kind: &str, name: &str) -> Res<Dynamic> {
        let Some(k) = crate::paths::LabFile::parse(kind) else {
            return Err(rt_err(
                &ctx,
                Error::invalid(format!(
                    "lab_file: kind must be \"profile\" or \"target\", not {kind:?}"
                )),
            ));
        };
        let s = session(&ctx)?;
        crate::paths::lab_file(k, name, s.options.script.as_deref())
            .map(|p| {
                p.map(|p| Dynamic::from(p.display().to_string()))
                    .unwrap_or(Dynamic::UNIT)
            })
            .map_err(|e| rt_err(&ctx, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[(&str, usize)]) -> Vec<(String, usize)> {
        v.iter().map(|(n, a)| (n.to_string(), *a)).collect()
    }

    #[test]
    fn hooks_are_checked_against_the_stages() {
        let stages: Vec<String> = ["l1", "ocp"].iter().map(|s| s.to_string()).collect();
        let ok = function_problems(
            "v.rhai",
            &names(&[
                ("overrides", 0),
                ("after_l1", 1),
                ("helper", 2),
                ("repos", 2),
            ]),
            &stages,
            &names(&[("repos", 2)]),
        );
        assert!(ok.is_empty(), "{ok:?}");
        let bad = function_problems(
            "v.rhai",
            &names(&[
                ("befor_ocp", 1),
                ("after_l3", 1),
                ("before_ocp", 2),
                ("repos", 1),
            ]),
            &stages,
            &names(&[("repos", 2)]),
        );
        assert_eq!(bad.len(), 5, "{bad:?}");
        assert!(bad[4].contains("step hook repos takes 2"), "{bad:?}");
        assert!(bad[0].contains("no fn overrides()"), "{bad:?}");
        assert!(bad[1].contains("did you mean 'before_ocp'?"), "{bad:?}");
        assert!(bad[2].contains("did you mean 'after_l1'?"), "{bad:?}");
        assert!(bad[3].contains("takes one argument"), "{bad:?}");
    }
}
