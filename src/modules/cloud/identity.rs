//! `cloud` functions for Keystone (projects, users, roles and their assignments) and the
//! compute and network quotas of a project.

use super::id::Id;
use super::spec::{project_spec, role_filter, role_spec, user_spec};
use super::{int_pairs, with_api, Res};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};

/// Grants (`grant`) or revokes the role of `#{user, project, role}`; `true` when it changed.
fn role_assignment(
    ctx: &NativeCallContext,
    cloud: &Dynamic,
    func: &str,
    spec: Map,
    grant: bool,
) -> Res<bool> {
    with_api(ctx, cloud, |a| {
        let (user, project, role) = role_spec(func, spec)?;
        a.role_assignment(&user, &project, &role, grant)
    })
}

/// The `service` (compute or network) quotas of a project.
fn quota(ctx: &NativeCallContext, cloud: &Dynamic, service: &str, project: &str) -> Res<Dynamic> {
    with_api(ctx, cloud, |a| a.quota(service, &Id::parse(project)))
}

/// Sets `service` quotas of a project (`cloud::<service>_quota_set`).
fn quota_set(
    ctx: &NativeCallContext,
    cloud: &Dynamic,
    service: &str,
    project: &str,
    limits: &Map,
) -> Res<Dynamic> {
    with_api(ctx, cloud, |a| {
        let want = int_pairs(&format!("cloud::{service}_quota_set"), limits)?;
        a.quota_set(service, &Id::parse(project), &want)
    })
}

#[export_module]
pub mod identity_fns {

    /// Ensures a project: `#{name, domain ("Default"), description, tags}`. The description is
    /// updated when it differs. Returns the project; in a plan that would create it, a map with
    /// a placeholder id and `planned: true` (as every `*_ensure` that creates returns).
    ///
    /// ```rhai
    /// let p = cloud::project_ensure("devcloud", #{name: "example-project", description: "labsh example"});
    /// assert(p.name == "example-project");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn project_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.project_ensure(super::project_spec(spec)?)
        })
    }

    /// A project by name or id, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::project_show("devcloud", "admin").name == "admin");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn project_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.project_find(&Id::parse(name), None))
    }

    /// Deletes a project; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-gone"});
    /// cloud::project_delete("devcloud", "example-gone");
    /// assert(plan_mode() || cloud::project_show("devcloud", "example-gone") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn project_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.project_delete(&Id::parse(name)))
    }

    /// Ensures a user: `#{name, password (a secret), domain, project (default project),
    /// email, description}`. An existing user whose password no longer authenticates gets the
    /// new one. Returns the user (`planned: true` in a plan that would create it).
    ///
    /// ```rhai
    /// let u = cloud::user_ensure("devcloud", #{name: "example-user", password: secret("example-user-pw", #{generate: true})});
    /// assert(u.name == "example-user");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn user_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.user_ensure(super::user_spec(spec)?))
    }

    /// A user by name or id, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::user_show("devcloud", "admin").name == "admin");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn user_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.user_find(&Id::parse(name), None))
    }

    /// Deletes a user; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::user_delete("devcloud", "example-nobody");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn user_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.user_delete(&Id::parse(name)))
    }

    /// Ensures a role exists. Returns the role.
    ///
    /// ```rhai
    /// assert(cloud::role_ensure("devcloud", "swiftoperator").name == "swiftoperator");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_ensure(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.role_ensure(name))
    }

    /// A role by name, or `()` (clouds name the member role `member` or `_member_`).
    ///
    /// ```rhai
    /// let r = cloud::role_show("devcloud", "member");
    /// let name = if r == () { "_member_" } else { r.name };
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.role_find(name))
    }

    /// Deletes a role; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::role_delete("devcloud", "example-no-such-role");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.role_delete(name))
    }

    /// Grants a role: `#{user, project, role}` (names or ids). `true` when it changed.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-project"});
    /// cloud::role_grant("devcloud", #{user: "admin", project: "example-project", role: "admin"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_grant(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<bool> {
        super::role_assignment(&ctx, &cloud, "cloud::role_grant", spec, true)
    }

    /// Revokes a role: `#{user, project, role}`. `true` when it changed.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-project"});
    /// cloud::role_revoke("devcloud", #{user: "admin", project: "example-project", role: "reader"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_revoke(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<bool> {
        super::role_assignment(&ctx, &cloud, "cloud::role_revoke", spec, false)
    }

    /// Role assignments, filtered by `#{user, project}`: `[#{user, project, role, ...}]`.
    ///
    /// ```rhai
    /// let a = cloud::role_assignments("devcloud", #{user: "admin", project: "admin"});
    /// assert(a.some(|x| x.role == "admin"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_assignments(ctx: NativeCallContext, cloud: Dynamic, filter: Map) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| {
            let (user, project) = super::role_filter(filter)?;
            a.role_assignments(user, project)
        })
    }

    // ----- quotas -----

    /// Compute quotas of a project: `#{cores: #{limit, in_use, reserved}, ram: ..., ...}`.
    ///
    /// ```rhai
    /// let q = cloud::compute_quota("devcloud", "admin");
    /// assert(q.cores.limit != 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn compute_quota(ctx: NativeCallContext, cloud: Dynamic, project: &str) -> Res<Dynamic> {
        super::quota(&ctx, &cloud, "compute", project)
    }

    /// Sets compute quotas (`#{cores: 40, ram: 102400}`); only the ones that differ change, and a
    /// limit below current usage is refused before anything changes.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-project"});
    /// cloud::compute_quota_set("devcloud", "example-project", #{cores: 40, ram: 102400});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn compute_quota_set(
        ctx: NativeCallContext,
        cloud: Dynamic,
        project: &str,
        limits: Map,
    ) -> Res<Dynamic> {
        super::quota_set(&ctx, &cloud, "compute", project, &limits)
    }

    /// Network quotas of a project: `#{security_group: #{limit, in_use, reserved}, ...}`.
    ///
    /// ```rhai
    /// let q = cloud::network_quota("devcloud", "admin");
    /// assert(q.security_group.limit != 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_quota(ctx: NativeCallContext, cloud: Dynamic, project: &str) -> Res<Dynamic> {
        super::quota(&ctx, &cloud, "network", project)
    }

    /// Sets network quotas (`#{security_group: 40, security_group_rule: 500}`), as
    /// `compute_quota_set` does.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-project"});
    /// cloud::network_quota_set("devcloud", "example-project", #{security_group: 40, security_group_rule: 500});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_quota_set(
        ctx: NativeCallContext,
        cloud: Dynamic,
        project: &str,
        limits: Map,
    ) -> Res<Dynamic> {
        super::quota_set(&ctx, &cloud, "network", project, &limits)
    }
}
