//! `cloud` functions for Glance (images) and Swift (the account's metadata, containers).

use super::spec::image_spec;
use super::{with_api, Res};
use crate::effects::secret::Secret;
use crate::error::Error;
use crate::modules::opts::type_name;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};

#[export_module]
pub mod storage_fns {

    /// Ensures an image from a local file: `#{name, file, disk_format ("qcow2"),
    /// container_format ("bare"), visibility, tags, project}`. The upload is streamed; an image
    /// with the same name and the same sha512 is left alone (an unchanged file is never uploaded
    /// again). `project` (a name or id) owns it: its users see it even when it is not public, as
    /// when the project's own user uploads it; an image owned by another project is given to it.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example.img";
    /// run(["qemu-img", "create", "-f", "qcow2", f, "1M"]);
    /// let i = cloud::image_ensure("devcloud", #{name: "example-image", file: f});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn image_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.image_ensure(super::image_spec(spec)?))
    }

    /// Every image.
    ///
    /// ```rhai
    /// let names = cloud::images("devcloud").map(|i| i.name);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn images(ctx: NativeCallContext, cloud: Dynamic) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| a.images(None))
    }

    /// Deletes the images with this name; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::image_delete("devcloud", "example-no-image");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn image_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.image_delete(name))
    }

    // ----- object store -----

    /// The object-store account of the session's project: `#{meta: #{key: value},
    /// containers, objects, bytes}`. A `temp-url-key` comes back as a secret.
    ///
    /// ```rhai
    /// let acc = cloud::account("devcloud");
    /// assert(type_of(acc.meta) == "map");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn account(ctx: NativeCallContext, cloud: Dynamic) -> Res<Map> {
        super::with_api(&ctx, &cloud, |a| {
            let hs = a.account()?;
            let mut meta = Map::new();
            let mut m = Map::new();
            for (k, v) in hs {
                let k = k.to_ascii_lowercase();
                if let Some(name) = k.strip_prefix("x-account-meta-") {
                    let d = if name.contains("temp-url-key") {
                        Dynamic::from(Secret::new(&format!("account.{name}"), &v))
                    } else {
                        v.into()
                    };
                    meta.insert(name.into(), d);
                } else if let Some(n) = k.strip_prefix("x-account-") {
                    let key = match n {
                        "container-count" => "containers",
                        "object-count" => "objects",
                        "bytes-used" => "bytes",
                        _ => continue,
                    };
                    m.insert(key.into(), v.parse::<i64>().unwrap_or(0).into());
                }
            }
            m.insert("meta".into(), meta.into());
            Ok(m)
        })
    }

    /// Sets account metadata: `#{"Temp-URL-Key": secret("temp-url-key")}` (secrets stay masked in
    /// plans and journals). Only values that differ are written. `true` when something changed.
    ///
    /// ```rhai
    /// cloud::account_meta_set("devcloud", #{"Example": "1"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn account_meta_set(ctx: NativeCallContext, cloud: Dynamic, meta: Map) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| {
            let mut want = vec![];
            for (k, v) in &meta {
                if let Some(s) = v.read_lock::<Secret>() {
                    want.push((k.to_string(), s.expose().to_string(), true));
                } else if v.is_string() || v.is_int() {
                    want.push((k.to_string(), v.to_string(), false));
                } else {
                    return Err(Error::invalid(format!(
                        "cloud::account_meta_set: '{k}' must be a string or a secret, not {}",
                        type_name(v)
                    )));
                }
            }
            a.account_meta_set(&want)
        })
    }

    /// Ensures an object-store container. `true` when it was created.
    ///
    /// ```rhai
    /// cloud::container_ensure("devcloud", "example-container");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn container_ensure(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.container_ensure(name))
    }
}
