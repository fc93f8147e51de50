//! The native modules, registered from one list. Each module's Rhai-facing functions carry `///`
//! docs with a ```rhai example: `help`, completion, `labsh doc` and the example tests all read them.

pub mod bmc;
pub mod cloud;
pub mod core;
pub mod files;
pub mod host;
pub mod img;
pub mod labs;
pub mod net;
pub mod oc;
pub mod ocp;
pub mod opts;
pub mod snapshot;
pub mod ssh;
pub mod variant;
pub mod virt;

use rhai::Module;

/// Every native module: (namespace, module). The empty namespace is the global one (`core` in docs).
pub fn all() -> Vec<(&'static str, Module)> {
    fn with_doc(mut m: Module, doc: &str) -> Module {
        m.set_doc(doc);
        m
    }
    vec![
        ("", core::module()),
        ("", rhai::exported_module!(variant::variant_fns)),
        ("", rhai::exported_module!(labs::labs_fns)),
        ("net", with_doc(rhai::exported_module!(net::net_fns),
            "IPv4 addresses and CIDRs: membership, overlaps, netmasks.")),
        ("oc", with_doc(rhai::exported_module!(oc::oc_fns),
            "The cluster through oc (or kubectl): nodes, pods, any resource, exec, waiting for Ready nodes; KUBECONFIG per call.")),
        ("ocp", with_doc(rhai::exported_module!(ocp::ocp_fns),
            "OpenShift IPI on OpenStack: install-config checks, the installer with its progress, tools with checksums, keepalived and haproxy parsers.")),
        ("ssh", with_doc(rhai::exported_module!(ssh::ssh_fns),
            "Remote hosts through the system ssh client: commands with streamed output, files, INI and hosts edits, one master connection per host.")),
        ("files", with_doc(rhai::exported_module!(files::files_fns),
            "Files: converging writes (0600 for secrets, atomic or in place), YAML and JSON, INI edits that keep comments, marked blocks in hosts files.")),
        ("cloud", with_doc(cloud::module(),
            "OpenStack (Keystone, Nova, Neutron, Glance, Swift) on labsh's own client, configured from clouds.yaml, OS_* or an openrc.")),
        ("baremetal", with_doc(rhai::exported_module!(cloud::baremetal::baremetal_fns),
            "The undercloud's bare metal (Ironic) on labsh's OpenStack client: nodes from instackenv.json (ipmi, redfish), ports, power, manage/inspect/provide by watching, validation.")),
        ("host", with_doc(rhai::exported_module!(host::host_fns),
            "L0 host facts for preflight: CPUs, memory, disk, KVM and nested virtualization, tools; tuned.")),
        ("bmc", with_doc(rhai::exported_module!(bmc::bmc_fns),
            "Virtual BMCs: VirtualBMC (IPMI) and sushy-tools (Redfish), their clients, and instackenv.json.")),
        ("img", with_doc(rhai::exported_module!(img::img_fns),
            "Disk images: qemu-img, virt-resize, virt-filesystems, virt-customize, and the base-image cache.")),
        ("virt", with_doc(virt::module(),
            "libvirt: node facts, networks and domains with ensure semantics, local and remote URIs; whole-lab snapshots (snapshot_*).")),
    ]
}

/// Every binding's options, from their specs: (namespace, function, fields); the empty namespace
/// is the global one. The catalog shows them with the function (`help`, `labsh doc`).
pub fn options() -> Vec<(&'static str, &'static str, &'static [opts::OptField])> {
    let mut out = Vec::new();
    let core = core::options();
    for (ns, list) in [
        ("", core.as_slice()),
        ("baremetal", cloud::baremetal::OPTIONS),
        ("bmc", bmc::OPTIONS),
        ("cloud", cloud::OPTIONS),
        ("files", files::OPTIONS),
        ("img", img::OPTIONS),
        ("oc", oc::OPTIONS),
        ("ocp", ocp::OPTIONS),
        ("ssh", ssh::OPTIONS),
        ("virt", virt::OPTIONS),
        ("virt", snapshot::OPTIONS),
    ] {
        out.extend(list.iter().map(|&(f, fields)| (ns, f, fields)));
    }
    out
}

/// A topic of the reference that is not a module or function: (name, summary, its text).
pub type Topic = (&'static str, &'static str, fn() -> String);

/// The reference's topics that are not a module or function (`labsh doc NAME`).
pub fn topics() -> Vec<Topic> {
    vec![(
        "releases",
        "OpenShift releases labsh writes for, the OpenStack releases each is documented on, and what changes by release",
        ocp::release::doc_text,
    )]
}

#[cfg(test)]
mod tests {
    use crate::effects::secret::SecretsFile;
    use crate::effects::{JournalSlot, Mode};
    use crate::engine::catalog::Catalog;
    use crate::engine::diag::Diagnostic;
    use crate::printer::Printer;
    use std::sync::Arc;

    /// Modules whose examples need a live service to run (tests/cloud.rs runs them against the
    /// devcloud).
    const LIVE_ONLY: &[&str] = &["cloud", "baremetal"];

    /// The process's environment is one for every test in it: a test that sets LABSH_STATE_DIR
    /// and LABSH_USER_LIB for its examples holds this lock until they have run.
    static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// A folder of a test's own for its examples: the state folder (`state`, LABSH_STATE_DIR),
    /// an empty override folder (`lib`, LABSH_USER_LIB; LABSH_PATH unset), the secrets file and
    /// `tmp`, where the `/tmp/` paths the examples show are taken to be. The environment is the
    /// test's until this is dropped, and is then put back as it was.
    struct ExampleDirs {
        dir: tempfile::TempDir,
        scratch: std::path::PathBuf,
        saved: Vec<(&'static str, Option<std::ffi::OsString>)>,
        _env: std::sync::MutexGuard<'static, ()>,
    }

    /// The variables ExampleDirs sets or unsets.
    const EXAMPLE_ENV: [&str; 3] = ["LABSH_STATE_DIR", "LABSH_USER_LIB", "LABSH_PATH"];

    impl Drop for ExampleDirs {
        fn drop(&mut self) {
            // Before the lock (a field dropped after this) lets another test in.
            for (k, v) in &self.saved {
                match v {
                    Some(v) => std::env::set_var(k, v),
                    None => std::env::remove_var(k),
                }
            }
        }
    }

    impl ExampleDirs {
        fn new() -> ExampleDirs {
            // A test that failed holding the lock left nothing to undo: its folder is gone.
            let env = ENV.lock().unwrap_or_else(|e| e.into_inner());
            let dir = tempfile::tempdir().unwrap();
            let scratch = dir.path().join("tmp");
            std::fs::create_dir_all(&scratch).unwrap();
            let saved = EXAMPLE_ENV
                .iter()
                .map(|k| (*k, std::env::var_os(k)))
                .collect();
            std::env::set_var("LABSH_STATE_DIR", dir.path().join("state"));
            std::env::set_var("LABSH_USER_LIB", dir.path().join("lib"));
            std::env::remove_var("LABSH_PATH");
            ExampleDirs {
                dir,
                scratch,
                saved,
                _env: env,
            }
        }

        /// What `/tmp/` in an example stands for.
        fn private(&self) -> String {
            format!("{}/", self.scratch.display())
        }

        fn engine(&self, mode: Mode) -> (Arc<crate::session::Session>, rhai::Engine) {
            crate::runner::setup_with(
                Arc::new(Printer::plain()),
                mode,
                JournalSlot::None,
                Default::default(),
                None,
                SecretsFile::new(self.dir.path().join("secrets")),
            )
        }
    }

    /// Functions that take a map without a spec in the catalog: maps whose keys are the user's
    /// data (a quota's limits, metadata, an install-config, a custom resource). The test fails
    /// when one of them gains a spec, so the list only shrinks.
    const NO_SPEC: &[(&str, &str)] = &[
        // The user's data: the account's metadata (any header name), a quota's limits (any
        // resource the service counts, read as name: int by int_pairs).
        ("cloud", "account_meta_set"),
        ("cloud", "compute_quota_set"),
        ("cloud", "network_quota_set"),
        ("core", "load_variant"),
        ("oc", "apply"),
        ("oc", "schema_problems"),
        ("ocp", "agent_config_problems"),
        ("ocp", "check_install_config"),
        ("ocp", "flavor_problems"),
        ("ocp", "network_option_problems"),
        ("ocp", "release_problems"),
        ("ocp", "write_install_config"),
    ];

    /// Every binding function that takes an option map has its options in the catalog, from its
    /// spec; and every spec is shown on a function that takes a map.
    #[test]
    fn every_option_map_is_in_the_catalog() {
        let dirs = ExampleDirs::new();
        let (_s, engine) = dirs.engine(Mode::Plan);
        let cat = Catalog::of(&engine);
        let mut missing = Vec::new();
        for (module, m) in &cat.modules {
            for f in &m.functions {
                let listed = NO_SPEC.iter().any(|(om, of)| om == module && *of == f.name);
                if f.signature.contains(": Map") && f.options.is_empty() && !listed {
                    missing.push(format!("{module}::{}", f.signature));
                }
                assert!(
                    !listed || f.options.is_empty(),
                    "{module}::{} has a spec now: take it off NO_SPEC",
                    f.name
                );
            }
        }
        assert!(
            missing.is_empty(),
            "no option spec for:\n{}",
            missing.join("\n")
        );
        for (ns, func, _) in super::options() {
            let ns = if ns.is_empty() { "core" } else { ns };
            let shown = cat.modules[ns]
                .functions
                .iter()
                .any(|f| f.name == func && !f.options.is_empty());
            assert!(shown, "{ns}::{func}: a spec no function shows");
        }
    }

    /// Every function is documented with at least one example, and every example runs, in plan
    /// mode and in apply mode. The examples run in a state folder of their own, and the `/tmp/`
    /// paths they show are taken as paths in a folder of their own too, so the test touches
    /// neither the user's state nor files other runs may hold.
    #[test]
    fn every_binding_has_an_example_that_runs() {
        let dirs = ExampleDirs::new();
        let scratch = &dirs.scratch;
        let private = dirs.private();
        for mode in [Mode::Plan, Mode::Apply] {
            let (_s, engine) = dirs.engine(mode);
            let cat = Catalog::of(&engine);
            let mut ran = 0;
            for (module, m) in &cat.modules {
                // These need a live service; tests/cloud.rs runs them against the devcloud.
                let live_only = LIVE_ONLY.contains(&module.as_str());
                for f in &m.functions {
                    let examples = f.examples();
                    assert!(
                        !examples.is_empty(),
                        "{module}::{} has no ```rhai example in its doc",
                        f.signature
                    );
                    for ex in examples {
                        if live_only {
                            continue;
                        }
                        let ex = ex.replace("/tmp/", &private);
                        if let Err(e) = engine.run(&ex) {
                            let d = Diagnostic::from_eval(&e, None);
                            panic!(
                                "example of {module}::{} failed in {mode:?} mode: {}\n{ex}",
                                f.signature,
                                d.render()
                            );
                        }
                        ran += 1;
                    }
                }
            }
            assert!(ran >= 20, "only {ran} examples ran");
        }
        // The examples' files went to the private folder.
        assert!(scratch.join("labsh-doc-example.qcow2").exists());
    }

    /// Stdlib functions that change the lab (libvirt, VirtualBMC, the director, the cloud, the
    /// cluster) or ask a service a plan stands in for: their examples run in plan mode only, on
    /// the sandbox target, where nothing is changed and the services are planned as empty.
    const STDLIB_PLAN_ONLY: &[&str] = &[
        "l1::build",
        "l1::build_with_bmcs",
        "l1::define",
        "l1::start_with_bmcs",
        "l1::bmcs",
        "l1::redfish_bmcs",
        "l1::bmc_selftest",
        "nodes::work",
        "nodes::remove",
        "openshift::install",
        "openshift::attach_ingress_fip",
        "openshift::installer_checks",
        "overcloud::artifacts",
        "overcloud::undercloud",
        "overcloud::overcloud",
        "overcloud::after_nodes",
        "snapshot::save",
        "snapshot::revert",
        "snapshot::delete",
        "tenant::write_clouds_yaml",
        "tenant::networks",
        "tenant::network_ids",
        "tenant::prepare",
        "tenant::remove",
        "verify::cluster",
        "verify::vips",
        "verify::address_pairs",
        "verify::netpath",
    ];

    /// Stdlib functions whose examples need a live service even in a plan (a Redfish emulator):
    /// their examples are compiled, not run.
    const STDLIB_LIVE_ONLY: &[&str] = &["l1::redfish_selftest"];

    /// The stdlib modules `example` uses without importing them: its own `module` and every
    /// other one it names (`seed::profile()`). An example imports what it uses, as a script
    /// does, so that it runs as shown when pasted into the REPL.
    fn missing_imports<'a>(module: &str, example: &str, names: &[&'a str]) -> Vec<&'a str> {
        let named = |n: &str| {
            let pat = format!("{n}::");
            example.match_indices(&pat).any(|(i, _)| {
                !example[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            })
        };
        names
            .iter()
            .copied()
            .filter(|n| *n == module || named(n))
            .filter(|n| !example.contains(&format!("import \"{n}\" as {n};")))
            .collect()
    }

    /// Every public function of the embedded stdlib has at least one example, and every example
    /// imports the stdlib modules it uses (`missing_imports`) and runs as written, in a state
    /// folder of its own (`ExampleDirs`), in plan mode and then in apply mode; the examples
    /// of STDLIB_PLAN_ONLY run in plan mode only, those of STDLIB_LIVE_ONLY are compiled only.
    #[test]
    fn every_stdlib_function_has_an_example_that_runs() {
        use crate::engine::resolver;
        let dirs = ExampleDirs::new();
        let private = dirs.private();
        let names: Vec<&str> = resolver::embedded_names().collect();
        let mut modules = Vec::new();
        for name in &names {
            let text = match resolver::find(None, None, name) {
                Some(resolver::Found::Embedded(_, text)) => text,
                _ => panic!("stdlib module {name}: not the embedded one"),
            };
            let m = crate::engine::catalog::script_module(name, text)
                .unwrap_or_else(|| panic!("stdlib module {name} does not compile"));
            modules.push((*name, m));
        }
        let public: Vec<String> = modules
            .iter()
            .flat_map(|(n, m)| m.functions.iter().map(move |f| format!("{n}::{}", f.name)))
            .collect();
        for f in STDLIB_PLAN_ONLY.iter().chain(STDLIB_LIVE_ONLY) {
            assert!(
                public.contains(&f.to_string()),
                "{f}: no such public stdlib function"
            );
        }
        let mut ran = [0, 0];
        for (i, mode) in [Mode::Plan, Mode::Apply].into_iter().enumerate() {
            let (_s, engine) = dirs.engine(mode);
            for (module, m) in &modules {
                for f in &m.functions {
                    let name = format!("{module}::{}", f.name);
                    let examples = f.examples();
                    assert!(
                        !examples.is_empty(),
                        "{module}::{} has no ```rhai example in its doc",
                        f.signature
                    );
                    let live_only = STDLIB_LIVE_ONLY.contains(&name.as_str());
                    if mode == Mode::Apply && STDLIB_PLAN_ONLY.contains(&name.as_str()) {
                        continue;
                    }
                    for ex in examples {
                        let missing = missing_imports(module, &ex, &names);
                        assert!(
                            missing.is_empty(),
                            "example of {name} uses {missing:?} without importing it:\n{ex}"
                        );
                        let script = ex.replace("/tmp/", &private);
                        let result = if live_only {
                            engine.compile(&script).map(|_| ()).map_err(|e| {
                                Diagnostic::from_parse(&e, &format!("example of {name}")).render()
                            })
                        } else {
                            engine
                                .run(&script)
                                .map_err(|e| Diagnostic::from_eval(&e, None).render())
                        };
                        if let Err(e) = result {
                            panic!(
                                "example of {module}::{} failed in {mode:?} mode: {e}\n{script}",
                                f.signature
                            );
                        }
                        if !live_only {
                            ran[i] += 1;
                        }
                    }
                }
            }
        }
        // Every public function ran at least one example in each of its modes, and the catalog
        // found every public function the stdlib's text declares.
        let declared = names
            .iter()
            .filter_map(|n| match resolver::find(None, None, n) {
                Some(resolver::Found::Embedded(_, text)) => Some(text),
                _ => None,
            })
            .flat_map(|t| t.lines().filter(|l| l.starts_with("fn ")))
            .count();
        assert_eq!(public.len(), declared, "public stdlib functions");
        let live = STDLIB_LIVE_ONLY.len();
        assert!(
            ran[0] >= public.len() - live && ran[1] >= public.len() - live - STDLIB_PLAN_ONLY.len(),
            "only {ran:?} examples ran for {} public functions",
            public.len()
        );
    }
}
