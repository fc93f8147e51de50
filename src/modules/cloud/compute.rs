//! `cloud` functions for Nova: flavors, servers, limits.

use super::spec::{flavor_spec, servers_filter};
use super::{with_api, Res};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};

#[export_module]
pub mod compute_fns {

    /// Ensures a flavor: `#{name, ram (MiB), vcpus, disk (GB), ephemeral, swap, public, description}`.
    /// A flavor cannot change: one with the same name and other sizes is an error.
    ///
    /// ```rhai
    /// let f = cloud::flavor_ensure("devcloud", #{name: "example.small", ram: 2048, vcpus: 1, disk: 10});
    /// assert(f.name == "example.small");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn flavor_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.flavor_ensure(super::flavor_spec(spec)?))
    }

    /// Every flavor (public and private).
    ///
    /// ```rhai
    /// let names = cloud::flavors("devcloud").map(|f| f.name);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn flavors(ctx: NativeCallContext, cloud: Dynamic) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| a.flavors())
    }

    /// Deletes a flavor by name or id; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::flavor_delete("devcloud", "example.none");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn flavor_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.flavor_delete(name))
    }

    /// Servers with details: `#{all_projects, name}` filter.
    ///
    /// ```rhai
    /// let s = cloud::servers("devcloud", #{all_projects: true});
    /// print(s.len());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn servers(ctx: NativeCallContext, cloud: Dynamic, filter: Map) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| {
            let (all_projects, name) = super::servers_filter(filter)?;
            a.servers(all_projects, name)
        })
    }

    /// A server by exact name, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::server_show("devcloud", "no-such-server") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn server_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.servers(true, Some(name.to_string()))
                .map(|v| v.into_iter().find(|s| s["name"] == name))
        })
    }

    /// The project's absolute compute limits (`maxTotalCores`, `totalCoresUsed`, ...).
    ///
    /// ```rhai
    /// let l = cloud::limits("devcloud");
    /// assert(plan_mode() || l.maxTotalCores != 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn limits(ctx: NativeCallContext, cloud: Dynamic) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.limits())
    }
}
