//! The native modules, registered from one list. Each module's Rhai-facing functions carry `///`
//! docs with a ```rhai example: `help`, completion, `labsh doc` and the example tests all read them.

pub mod bmc;
pub mod cloud;
pub mod core;
pub mod files;
pub mod host;
pub mod img;
pub mod net;
pub mod oc;
pub mod ocp;
pub mod opts;
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
        ("virt", with_doc(rhai::exported_module!(virt::virt_fns),
            "libvirt: node facts, networks and domains with ensure semantics, local and remote URIs.")),
    ]
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

    /// Every function is documented with at least one example, and every example runs, in plan
    /// mode and in apply mode. The examples run in a state folder of their own, and the `/tmp/`
    /// paths they show are taken as paths in a folder of their own too, so the test touches
    /// neither the user's state nor files other runs may hold.
    #[test]
    fn every_binding_has_an_example_that_runs() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let scratch = dir.path().join("tmp");
        std::fs::create_dir_all(&scratch).unwrap();
        std::env::set_var("LABSH_STATE_DIR", &state);
        std::env::set_var("LABSH_USER_LIB", dir.path().join("lib"));
        let private = format!("{}/", scratch.display());
        for mode in [Mode::Plan, Mode::Apply] {
            let (_s, engine) = crate::runner::setup_with(
                Arc::new(Printer::plain()),
                mode,
                JournalSlot::None,
                Default::default(),
                None,
                SecretsFile::new(dir.path().join("secrets")),
            );
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
}
