//! labsh against a hostile user: a corpus of bad profiles, targets, flags and scripts, each with
//! the text its error must name and a check that the lab's state is byte for byte as before;
//! runaway scripts; in runs.rs, concurrent runs on one state, secrets and children, SIGTERM,
//! plan mode in parallel tasks; in state.rs, the state folder's modes and links; and in
//! bounds.rs, what a script can make labsh hold in memory.

mod bounds;
mod runs;
mod state;

use crate::support::{walk, Lab};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn script(name: &str) -> String {
    crate::support::script(name).display().to_string()
}

/// A state folder after one sandbox run of the lab, made once per test process and copied for
/// each case.
fn template() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let lab = Lab::new();
        lab.run(["run", &script("lab.rhai")]).ok();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("hostile-template-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&lab.state(), &dir);
        dir
    })
}

fn copy_dir(from: &Path, to: &Path) {
    for f in walk(from) {
        let rel = f.strip_prefix(from).unwrap();
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dst).unwrap();
    }
}

/// A lab whose state folder holds the template's files.
fn lab_with_state() -> Lab {
    let lab = Lab::new();
    copy_dir(template(), &lab.state());
    lab
}

/// Every file of the state folder but the lock files, which each run rewrites while it holds
/// them.
fn snapshot(state: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walk(state)
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n != "lock" && n != "secrets.lock"
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p.strip_prefix(state).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

/// The state is as it was: every file unchanged, and nothing new but a journal.
#[track_caller]
fn assert_unchanged(case: &str, before: &BTreeMap<PathBuf, Vec<u8>>, state: &Path) {
    let after = snapshot(state);
    for (p, b) in before {
        match after.get(p) {
            Some(a) => assert!(a == b, "{case}: {} changed", p.display()),
            None => panic!("{case}: {} was removed", p.display()),
        }
    }
    for p in after.keys() {
        assert!(
            before.contains_key(p) || p.starts_with("runs"),
            "{case}: {} was made",
            p.display()
        );
    }
}

struct Case<'a> {
    name: &'a str,
    /// Files to write into the test's work folder first.
    files: &'a [(&'a str, &'a str)],
    /// Arguments after `labsh run <lab.rhai>`; `{work}` is the work folder.
    args: &'a [&'a str],
    code: i32,
    /// Texts the error must name, each.
    says: &'a [&'a str],
}

fn run_cases(cases: &[Case<'_>], script_name: &str) {
    for c in cases {
        let lab = lab_with_state();
        for (name, text) in c.files {
            lab.file(name, text);
        }
        let before = snapshot(&lab.state());
        let work = lab.work().display().to_string();
        let mut args = vec!["run".to_string(), script(script_name)];
        args.extend(c.args.iter().map(|a| a.replace("{work}", &work)));
        let out = lab.run(&args);
        assert_eq!(
            out.code, c.code,
            "{}: exit code\n--- stderr\n{}",
            c.name, out.stderr
        );
        // Errors go to stderr; a failed preflight row is printed with the table, on stdout.
        let said = format!("{}{}", out.stderr, out.stdout);
        for s in c.says {
            let s = s.replace("{work}", &work);
            assert!(
                said.contains(&s),
                "{}: the error does not name {s:?}:\n{}",
                c.name,
                out.stderr
            );
        }
        assert!(
            !out.stderr.contains("stack backtrace") && !out.stderr.contains("panicked"),
            "{}: {}",
            c.name,
            out.stderr
        );
        assert_unchanged(c.name, &before, &lab.state());
    }
}

const VARIANT_TOP: &str = "// a variant\n";

#[test]
fn bad_profiles_are_refused_naming_the_file_and_key_with_nothing_changed() {
    const P: &str = "--profile";
    const F: &str = "{work}/profiles/v.rhai";
    run_cases(
        &[
            Case {
                name: "an empty file",
                files: &[("profiles/v.rhai", "\n\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: the file is empty"],
            },
            Case {
                name: "no overrides()",
                files: &[("profiles/v.rhai", "fn after_l1(p) { print(1); }\n")],
                args: &[P, F],
                code: 1,
                says: &["profiles/v.rhai: no fn overrides()"],
            },
            Case {
                name: "overrides() returns a list",
                files: &[("profiles/v.rhai", "fn overrides() { [1, 2] }\n")],
                args: &[P, F],
                code: 1,
                says: &["overrides() must return a map", "not an array"],
            },
            Case {
                name: "top-level code acts",
                files: &[(
                    "profiles/v.rhai",
                    "run([\"touch\", \"ran\"]);\nfn overrides() { #{} }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &[
                    "run touch ran is not allowed while loading the profile",
                    "profiles/v.rhai:1:1",
                ],
            },
            Case {
                name: "overrides() writes a file",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { files::write(\"x.txt\", \"y\"); #{} }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["is not allowed while loading the profile"],
            },
            Case {
                name: "an endless loop in overrides()",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { let i = 0; loop { i += 1; } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["operations while loading the profile", "an endless loop?"],
            },
            Case {
                name: "a string doubled without end in overrides()",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { let s = \"x\"; loop { s += s; } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["a string grew over 16 MiB", "--> {work}/profiles/v.rhai"],
            },
            Case {
                name: "a misspelled hook",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{} }\nfn befor_ocp(p) { print(1); }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["fn befor_ocp is no hook: did you mean 'before_ocp'?"],
            },
            Case {
                name: "a hook for no stage",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{} }\nfn after_l3(p) { print(1); }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["fn after_l3 is no hook: did you mean 'after_l"],
            },
            Case {
                name: "a hook with two parameters",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{} }\nfn after_l1(p, q) { print(1); }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["hook after_l1 takes one argument"],
            },
            Case {
                name: "a hook calling an unknown function",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{} }\nfn after_ocp(p) { nosuch(p); }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["unknown function 'nosuch'", "profiles/v.rhai:2:"],
            },
            Case {
                name: "a hook calling a function with the wrong arity",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{} }\nfn helper(x) { x }\nfn after_ocp(p) { helper(p, 2); }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["'helper' takes 1 argument(s), not 2"],
            },
            Case {
                name: "a syntax error",
                files: &[("profiles/v.rhai", "fn overrides() { #{ name: } }\n")],
                args: &[P, F],
                code: 1,
                says: &["profiles/v.rhai:1:"],
            },
            Case {
                name: "an unknown key",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ ocp: #{ wrokers: 3 } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["unknown key 'ocp.wrokers' (did you mean 'ocp.workers'?)"],
            },
            Case {
                name: "a size with a unit where MiB are wanted",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ vms: #{ ctrl: #{ memory_mib: \"16G\" } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["vms.ctrl.memory_mib: must be an integer, not a string"],
            },
            Case {
                name: "negative workers",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ workers: -1 } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.workers: -1 must be 0 or more"],
            },
            Case {
                name: "two groups making the same VM",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ vms: #{ extra: #{ role: \"compute\", count: 1, name: \"overcloud-ctrl01\", memory_mib: 4096, vcpus: 2, nics: [\"provisioning\"] } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["makes \"overcloud-ctrl01\", as vms."],
            },
            Case {
                name: "a new VM group without nics",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ vms: #{ extra: #{ role: \"compute\", count: 1, name: \"extra01\", memory_mib: 4096, vcpus: 2 } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["vms.extra.nics is required for a new entry of vms"],
            },
            Case {
                name: "a NIC on no network",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ vms: #{ ctrl: #{ nics: [\"provisioning\", \"nowhere\"] } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["vms.ctrl.nics: 'nowhere' is not a network of the profile"],
            },
            Case {
                name: "overlapping networks",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ ocp: #{ machine_cidr: \"172.16.0.0/16\" } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["overlaps"],
            },
            Case {
                name: "a cluster name that is no DNS label",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ cluster: \"OCP_4\" } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.cluster: \"OCP_4\" must be a DNS label"],
            },
            Case {
                name: "BMC ports past 65535",
                files: &[("profiles/v.rhai", "fn overrides() { #{ bmc: #{ port_base: 65530 } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["bmc.port_base: 65530 leaves no room for 7 BMC ports"],
            },
            Case {
                name: "a host prefix outside the cluster network",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ host_prefix: 12 } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.host_prefix: 12 must be longer than the prefix of ocp.cluster_cidr"],
            },
            Case {
                name: "a quota below the cluster",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ tenant: #{ quotas: #{ cores: 4 } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["tenant.quotas.cores: 4 is below"],
            },
            Case {
                name: "an OpenShift version beyond the newest",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ version: \"4.23.0\" } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.version: OpenShift 4.23 is not one labsh writes for: the releases are 4.2 to 4.22, the newest 4.22"],
            },
            Case {
                name: "an OpenShift release in the installer's source but not published",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ version: \"5.0\", network_type: \"OVNKubernetes\" } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.version: OpenShift 5.0 is not one labsh writes for", "the newest 4.22", "5.0 is in the installer's source but not published"],
            },
            Case {
                name: "a control plane the newest release refuses",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ version: \"4.22\", network_type: \"OVNKubernetes\", masters: 2 } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.masters: OpenShift 4.22 installs a control plane of 1 or 3 on OpenStack, not 2"],
            },
            Case {
                name: "a network type the newest release refuses",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ version: \"4.22.1\" } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.network_type: OpenShift 4.22 refuses OpenShiftSDN"],
            },
            Case {
                name: "a malformed OpenShift version",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ version: \"latest\" } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.version: \"latest\" is not an OpenShift version"],
            },
            Case {
                name: "a network type the release refuses",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ version: \"4.18\" } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.network_type: OpenShift 4.18 refuses OpenShiftSDN"],
            },
            Case {
                name: "a key that has no meaning on the release",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ version: \"4.18\", network_type: \"OVNKubernetes\", trunk: true } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["ocp.trunk: has no meaning on OpenShift 4.18", "taken by 4.2 to 4.5"],
            },
            Case {
                name: "a flavor below the release's minimum",
                files: &[("profiles/v.rhai", "fn overrides() { #{ ocp: #{ version: \"4.18\", network_type: \"OVNKubernetes\" }, tenant: #{ flavor: #{ vcpus: 2 } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["tenant.flavor.vcpus: 2 is below the 4 vCPUs OpenShift 4.18 needs"],
            },
            Case {
                name: "a cluster that does not fit on the compute nodes",
                files: &[("profiles/v.rhai", "fn overrides() { #{ vms: #{ compute: #{ memory_mib: 32768 } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["OpenShift on the compute nodes", "4 of 6 nodes do not fit", "overcloud-compute01 256 vCPUs, 43008 MiB"],
            },
            Case {
                name: "several problems in one VM group, each named",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ vms: #{ ctrl: #{ memory_mib: \"16G\", vcpus: 0, cuont: 3 } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &[
                    "the profile has 3 problem(s)",
                    "unknown key 'vms.ctrl.cuont' (did you mean 'vms.ctrl.count'?)",
                    "vms.ctrl.memory_mib: must be an integer, not a string",
                    "vms.ctrl.vcpus: 0 must be 1-256",
                ],
            },
            Case {
                name: "a new VM group without nics and with values out of range",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ vms: #{ extra: #{ role: \"compute\", count: 1, name: \"extra01\", memory_mib: 100, vcpus: 0 } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &[
                    "vms.extra.nics is required for a new entry of vms",
                    "vms.extra.memory_mib: 100 MiB is below 256 MiB",
                    "vms.extra.vcpus: 0 must be 1-256",
                ],
            },
            Case {
                name: "a key problem and a string problem and a value problem at once",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ ocp: #{ wrokers: 3, workers: -1 }, undercloud: #{ local_interface: \"eth1\\n[evil]\" } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &[
                    "unknown key 'ocp.wrokers'",
                    "undercloud.local_interface: \"eth1\\n[evil]\" holds a line break",
                    "ocp.workers: -1 must be 0 or more",
                ],
            },
            Case {
                name: "an unknown profile name",
                files: &[("profiles/other.rhai", VARIANT_TOP)],
                args: &[P, "nosuch"],
                code: 2,
                says: &["unknown profile 'nosuch'", "the profiles there are: seed"],
            },
            Case {
                name: "a profile file that does not exist",
                files: &[],
                args: &[P, "{work}/profiles/missing.rhai"],
                code: 2,
                says: &["profile file {work}/profiles/missing.rhai does not exist"],
            },
            Case {
                name: "a forward mode libvirt does not know",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ networks: #{ ext: #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\", forward: \"nat; reboot\" } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: networks.ext.forward: \"nat; reboot\" is not a forward mode libvirt knows"],
            },
            Case {
                name: "a network on a host bridge without its name",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ networks: #{ \"default\": #{ forward: \"bridge\" } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: networks.default.bridge: is required with forward \"bridge\""],
            },
            Case {
                name: "a host bridge's name that is no interface name",
                files: &[(
                    "profiles/v.rhai",
                    "fn overrides() { #{ networks: #{ ext: #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\", forward: \"bridge\", bridge: \"br0\\n<evil/>\" } } } }\n",
                )],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: networks.ext.bridge: \"br0\\n<evil/>\" holds a line break"],
            },
            Case {
                name: "a base that does not exist",
                files: &[("profiles/v.rhai", "fn overrides() { #{ base: \"nosuch\" } }\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: base: \"nosuch\": unknown profile 'nosuch'"],
            },
            Case {
                name: "a base file that does not exist",
                files: &[("profiles/v.rhai", "fn overrides() { #{ base: \"../nowhere/x.rhai\" } }\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: base: \"../nowhere/x.rhai\": profile file {work}/profiles/../nowhere/x.rhai does not exist"],
            },
            Case {
                name: "bases that form a cycle",
                files: &[
                    ("profiles/v.rhai", "fn overrides() { #{ base: \"w\" } }\n"),
                    ("profiles/w.rhai", "fn overrides() { #{ base: \"v.rhai\" } }\n"),
                ],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/w.rhai: base: \"v.rhai\" forms a cycle: {work}/profiles/v.rhai -> {work}/profiles/w.rhai -> {work}/profiles/v.rhai"],
            },
            Case {
                name: "a variant that is its own base",
                files: &[("profiles/v.rhai", "fn overrides() { #{ base: \"v\" } }\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: base: \"v\" forms a cycle"],
            },
            Case {
                name: "a profile key set to a value of the wrong type",
                files: &[],
                args: &["--set", "overcloud.networks.tenant.vlan=ten", "--set", "ocp.nosuch.key=1"],
                code: 1,
                says: &[
                    "--set: overcloud.networks.tenant.vlan: must be an integer, not a string (ten)",
                    "--set: unknown key 'ocp.nosuch'",
                ],
            },
        ],
        "lab.rhai",
    );
}

/// A huge value (100,000 characters) in a profile key, a name on the command line or a key of
/// `--set` is refused naming the key, its first 60 characters and its length: no line of the
/// error is longer than a few hundred characters, and nothing changes.
#[test]
fn huge_values_are_refused_with_errors_that_name_them_briefly() {
    let huge = "a".repeat(100_000);
    let set = |k: &str| format!("{k}={huge}");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--profile".into(),
                "rhoso".into(),
                "--set".into(),
                set("rhoso.namespace"),
            ],
            "--set: rhoso.namespace: \"aaaa",
        ),
        (
            vec!["--set".into(), set("ocp.cluster")],
            "--set: ocp.cluster: \"aaaa",
        ),
        (
            vec!["--set".into(), set("vms.compute.name")],
            "--set: vms.compute.name: \"aaaa",
        ),
        (
            vec!["--set".into(), format!("rhoso.{huge}=1")],
            "--set: unknown key 'rhoso.aaaa",
        ),
        (
            vec!["--profile".into(), huge.clone()],
            "unknown profile 'aaaa",
        ),
        (vec!["--only".into(), huge.clone()], "unknown stage 'aaaa"),
    ];
    for (extra, says) in cases {
        let lab = lab_with_state();
        let before = snapshot(&lab.state());
        let mut args = vec!["run".to_string(), script("lab.rhai")];
        args.extend(extra.iter().cloned());
        let out = lab.run(&args);
        let case = &says[..says.len().min(40)];
        assert_ne!(out.code, 0, "{case}: {}", out.stdout);
        assert!(
            out.stderr.contains(says),
            "{case}: {}",
            &out.stderr[..out.stderr.len().min(2000)]
        );
        assert!(
            out.stderr.contains("… (100000 characters)"),
            "{case}: {}",
            &out.stderr[..out.stderr.len().min(2000)]
        );
        for l in out.stderr.lines().chain(out.stdout.lines()) {
            assert!(
                l.len() < 600,
                "{case}: a line of {} bytes: {}…",
                l.len(),
                &l[..200]
            );
        }
        assert_unchanged(case, &before, &lab.state());
    }
    // The names the lab's own commands take.
    let lab = lab_with_state();
    for cmd in ["ssh", "console"] {
        let out = lab.labsh().args([cmd, huge.as_str()]).run();
        assert_ne!(out.code, 0, "{cmd}");
        assert!(
            out.stderr.contains("aaaa… (100000 characters)'"),
            "{cmd}: {}",
            &out.stderr[..out.stderr.len().min(2000)]
        );
        assert!(
            out.stderr.lines().all(|l| l.len() < 600),
            "{cmd}: a long line"
        );
    }
    lab.labsh()
        .args(["snapshot", "save", huge.as_str()])
        .run()
        .code(1)
        .stderr_has("snapshot name \"aaaa");
}

/// A profile string lands in a file (undercloud.conf, the nic template, hosts lines, paths and
/// libvirt names); what that file would read as more than the string is refused, naming the key.
#[test]
fn profile_strings_that_would_write_into_the_files_are_refused_naming_the_key() {
    const P: &str = "--profile";
    const F: &str = "{work}/profiles/v.rhai";
    let v = |over: &str| format!("fn overrides() {{ #{{ {over} }} }}\n");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "a setting written into undercloud.conf through the hostname",
            v(r#"undercloud: #{ hostname: "uc.lab\nundercloud_debug = true" }"#),
            vec![
                r#"{work}/profiles/v.rhai: undercloud.hostname: "uc.lab\nundercloud_debug = true" holds a line break (\n) at character 7"#,
            ],
        ),
        (
            "a section written into undercloud.conf through the interface",
            v(r#"undercloud: #{ local_interface: "eth1\n[evil]\nx = y" }"#),
            vec![
                r#"undercloud.local_interface: "eth1\n[evil]\nx = y" holds a line break (\n) at character 5"#,
            ],
        ),
        (
            "a carriage return in a time server",
            v(r#"overcloud: #{ ntp_servers: ["172.16.0.254\rx = y"] }"#),
            vec![r#"overcloud.ntp_servers[0]: "172.16.0.254\rx = y" holds a carriage return (\r)"#],
        ),
        (
            "a second time server through a comma in undercloud.conf's list",
            v(r#"overcloud: #{ ntp_servers: ["172.16.0.254,evil.example"] }"#),
            vec![
                r#"overcloud.ntp_servers[0]: "172.16.0.254,evil.example" is neither an IPv4 address nor a DNS name"#,
            ],
        ),
        (
            "a nova.conf section through a nova setting's value",
            v(r#"overcloud: #{ nova_tuning: #{ neutron: #{ timeout: "300\n[evil]\nx = y" } } }"#),
            vec![
                r#"overcloud.nova_tuning.neutron.timeout: "300\n[evil]\nx = y" holds a line break"#,
            ],
        ),
        (
            "Jinja through the bond's name in the 17.1 nic template",
            v(r#"overcloud: #{ bond: #{ name: "{{ lookup('pipe', 'id') }}" } }"#),
            vec![r#"overcloud.bond.name: "{{ lookup('pipe', 'id') }}" is not an interface name"#],
        ),
        (
            "YAML through a bond NIC",
            v(r#"overcloud: #{ bond: #{ nics: ["nic3\n  - type: interface", "nic4"] } }"#),
            vec![r#"overcloud.bond.nics[0]: "nic3\n  - type: interface" holds a line break"#],
        ),
        (
            "a hosts line through an ingress host name",
            v(r#"ocp: #{ ingress_hosts: ["console\n10.0.0.66 evil.example"] }"#),
            vec![r#"ocp.ingress_hosts[0]: "console\n10.0.0.66 evil.example" holds a line break"#],
        ),
        (
            "a second name on a hosts line",
            v(r#"ocp: #{ ingress_hosts: ["console evil"] }"#),
            vec![r#"ocp.ingress_hosts[0]: "console evil" is not a DNS name"#],
        ),
        (
            "the lab's name as a path",
            v(r#"name: "../../etc/lab""#),
            vec![r#"name: "../../etc/lab" must be 1-63 letters, digits, '-' and '_'"#],
        ),
        (
            "a VM's name as a path",
            v(r#"vms: #{ ctrl: #{ name: "../../x%02d" } }"#),
            vec![r#"vms.ctrl.name: "../../x%02d" must be 1-63 letters, digits, '.', '-' and '_'"#],
        ),
        (
            "a network's name as a path",
            v(r#"networks: #{ "a/b": #{ address: "10.9.0.1", netmask: "255.255.255.0" } }"#),
            vec![r#"networks: the key "a/b" must be 1-128 letters, digits"#],
        ),
        (
            "a line break in a VM group's key",
            v(
                r#"vms: #{ "x\ny": #{ role: "compute", count: 1, memory_mib: 4096, vcpus: 2, nics: ["provisioning"] } }"#,
            ),
            vec![r#"vms: the key "x\ny" holds a line break"#],
        ),
        (
            "an ssh option as the director's user",
            v(r#"undercloud: #{ user: "-oProxyCommand=touch /tmp/x" }"#),
            vec![r#"undercloud.user: "-oProxyCommand=touch /tmp/x" is not a user name"#],
        ),
        (
            "a password file line through the BMC user",
            v(r#"bmc: #{ username: "admin:x\nroot" }"#),
            vec![r#"bmc.username: "admin:x\nroot" holds a line break"#],
        ),
        (
            "an escape sequence in a description",
            v(r#"tenant: #{ project: "ocp\x1b[2Jtenant" }"#),
            vec![r#"tenant.project: "ocp\u{1b}[2Jtenant" holds the control character U+001B"#],
        ),
    ];
    for (name, text, says) in &cases {
        run_cases(
            &[Case {
                name,
                files: &[("profiles/v.rhai", text.as_str())],
                args: &[P, F],
                code: 1,
                says,
            }],
            "lab.rhai",
        );
    }
    // The same through a target file's profile values.
    run_cases(
        &[Case {
            name: "a setting through a target's profile values",
            files: &[(
                "t.yaml",
                "libvirt_uri: test:///default\nundercloud: {offline: true}\ncluster: {offline: true}\nprofile: {undercloud: {hostname: \"uc.lab\\nundercloud_debug = true\"}}\n",
            )],
            args: &["--target", "{work}/t.yaml"],
            code: 1,
            says: &[r#"{work}/t.yaml: undercloud.hostname: "uc.lab\nundercloud_debug = true" holds a line break"#],
        }],
        "lab.rhai",
    );
}

#[test]
fn bad_overcloud_inputs_are_refused_naming_the_file_and_key_with_nothing_changed() {
    const P: &str = "--profile";
    const F: &str = "{work}/profiles/v.rhai";
    run_cases(
        &[
            Case {
                name: "an unknown release",
                files: &[("profiles/v.rhai", "fn overrides() { #{ overcloud: #{ release: \"16.2\" } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: overcloud.release: \"16.2\" is not a release labsh knows: \"13\" or \"17.1\""],
            },
            Case {
                name: "an OSD disk size without its unit",
                files: &[("profiles/v.rhai", "fn overrides() { #{ vms: #{ ceph: #{ osd_disks: [\"100\"] } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: vms.ceph.osd_disks[0]: 100 is not a size with its unit (such as \"100G\")"],
            },
            Case {
                name: "Ceph VMs without OSD disks",
                files: &[("profiles/v.rhai", "fn overrides() { #{ vms: #{ ceph: #{ osd_disks: [] } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["vms.ceph.osd_disks: the 3 Ceph VM(s) need at least one OSD disk"],
            },
            Case {
                name: "OSD disks on a compute node",
                files: &[("profiles/v.rhai", "fn overrides() { #{ vms: #{ compute: #{ osd_disks: [\"10G\"] } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["vms.compute.osd_disks: only ceph-storage VMs get OSD disks, not compute"],
            },
            Case {
                name: "a disk folder the host does not have",
                files: &[(
                    "t.yaml",
                    "libvirt_uri: test:///default\nimages: /tmp\ndisk_folders: {ssd: /nonexistent/labsh-ssd}\nundercloud: {offline: true}\ncluster: {offline: true}\nprofile: {vms: {ceph: {osd_disks: [1G]}}}\n",
                )],
                args: &["--target", "{work}/t.yaml"],
                code: 1,
                says: &["host.disk_folders.ssd (/nonexistent/labsh-ssd, from {work}/t.yaml) does not exist"],
            },
            Case {
                name: "a disk folder of the profile's that is not one of host.disk_folders",
                files: &[("profiles/v.rhai", "fn overrides() { #{ vms: #{ compute: #{ disk_folder: \"nvme\" } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: vms.compute.disk_folder: \"nvme\" is not a folder of host.disk_folders"],
            },
            Case {
                name: "a disk folder too small for its OSD disks",
                files: &[("profiles/v.rhai", "fn overrides() { #{ vms: #{ ceph: #{ osd_disks: [\"200G\"] } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["host.disk_folders.ssd (", "is too small", "its disks need 604 GiB"],
            },
            Case {
                name: "two controllers",
                files: &[("profiles/v.rhai", "fn overrides() { #{ vms: #{ ctrl: #{ count: 2 } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: vms.ctrl.count: 2 controller(s): OSP 13 (Queens) deploys 1 or 3"],
            },
            Case {
                name: "no compute node",
                files: &[("profiles/v.rhai", "fn overrides() { #{ vms: #{ compute: #{ count: 0 } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["vms.compute.count: no compute node"],
            },
            Case {
                name: "a network the bond does not carry",
                files: &[("profiles/v.rhai", "fn overrides() { #{ overcloud: #{ networks: #{ storage: #{ vlan: () } } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["{work}/profiles/v.rhai: overcloud.networks.storage.vlan: storage has no VLAN, so the bond (bond1) does not carry it"],
            },
            Case {
                name: "a bond NIC the VMs do not have",
                files: &[("profiles/v.rhai", "fn overrides() { #{ overcloud: #{ bond: #{ nics: [\"nic3\", \"nic5\"] } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["overcloud.bond.nics: nic5 is not a NIC of vms.ceph (it has 4: nic1-nic4)"],
            },
            Case {
                name: "the guest of another release",
                files: &[("profiles/v.rhai", "fn overrides() { #{ overcloud: #{ release: \"17.1\", registry_user: \"u\" } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["base_image.name: rhel7-guest.qcow2 is RHEL 7 (by its file name), not RHEL 9, the guest of OSP 17.1 (Wallaby) (overcloud.release \"17.1\"): name the image for its guest (such as rhel9-guest.qcow2), or set overcloud.release to \"13\""],
            },
            Case {
                name: "a nova setting the release has no hieradata for",
                files: &[("profiles/v.rhai", "fn overrides() { #{ overcloud: #{ nova_tuning: #{ libvirt: #{ cpu_mode: \"host-model\" } } } } }\n")],
                args: &[P, F],
                code: 1,
                says: &["overcloud.nova_tuning.libvirt.cpu_mode: no hieradata key of OSP 13 (Queens) sets [libvirt] cpu_mode"],
            },
            Case {
                name: "the repositories' hook with one argument",
                files: &[("profiles/v.rhai", "fn overrides() { #{} }\nfn director_repos(p) { print(1); }\n")],
                args: &[P, F],
                code: 1,
                says: &["step hook director_repos takes 2 argument(s), not 1"],
            },
        ],
        "lab.rhai",
    );
}

#[test]
fn bad_targets_are_refused_naming_the_file_and_key_with_nothing_changed() {
    const T: &str = "--target";
    const F: &str = "{work}/t.yaml";
    run_cases(
        &[
            Case {
                name: "an unknown key",
                files: &[("t.yaml", "libvirt_uri: test:///default\nimagse: /tmp\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: unknown key 'imagse' (did you mean 'images'?)"],
            },
            Case {
                name: "a URI that is a number",
                files: &[("t.yaml", "libvirt_uri: 5\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: libvirt_uri must be a URI string"],
            },
            Case {
                name: "no URI",
                files: &[("t.yaml", "images: /tmp\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: 'libvirt_uri' is required"],
            },
            Case {
                name: "undercloud not a map",
                files: &[(
                    "t.yaml",
                    "libvirt_uri: test:///default\nundercloud: director\n",
                )],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: undercloud must be a map of"],
            },
            Case {
                name: "an offline flag that is a string",
                files: &[(
                    "t.yaml",
                    "libvirt_uri: test:///default\nundercloud:\n  offline: \"yes\"\n",
                )],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: undercloud.offline must be true or false, not \"yes\""],
            },
            Case {
                name: "cluster.offline a number",
                files: &[(
                    "t.yaml",
                    "libvirt_uri: test:///default\ncluster:\n  offline: 1\n",
                )],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: cluster.offline must be true or false, not 1"],
            },
            Case {
                name: "bmc not a map",
                files: &[("t.yaml", "libvirt_uri: test:///default\nbmc: true\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: bmc must be a map of"],
            },
            Case {
                name: "a BMC port that is text",
                files: &[(
                    "t.yaml",
                    "libvirt_uri: test:///default\nbmc:\n  port_base: \"6230\"\n",
                )],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: bmc.port_base must be a port number"],
            },
            Case {
                name: "an unknown key of cloud",
                files: &[(
                    "t.yaml",
                    "libvirt_uri: test:///default\ncloud:\n  opnerc: out/overcloudrc\n",
                )],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: unknown key 'cloud.opnerc' (did you mean 'cloud.openrc'?)"],
            },
            Case {
                name: "cloud a list",
                files: &[("t.yaml", "libvirt_uri: test:///default\ncloud: []\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: cloud must be a map of"],
            },
            Case {
                name: "an unknown domain type",
                files: &[("t.yaml", "libvirt_uri: test:///default\ndomain_type: xen\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: domain_type must be one of [\"qemu\", \"kvm\"], not xen"],
            },
            Case {
                name: "an empty file",
                files: &[("t.yaml", "")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: the file is empty: a target file is a map of keys"],
            },
            Case {
                name: "a list for a file",
                files: &[("t.yaml", "- libvirt_uri\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: a target file is a map of keys"],
            },
            Case {
                name: "profile values that are not a map",
                files: &[("t.yaml", "libvirt_uri: test:///default\nprofile: 3\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: profile must be a map of profile values"],
            },
            Case {
                name: "profile values with a bad key",
                files: &[(
                    "t.yaml",
                    "libvirt_uri: test:///default\nprofile:\n  vms:\n    ctrl: {memroy_mib: 1}\n",
                )],
                args: &[T, F],
                code: 1,
                says: &["t.yaml: unknown key 'vms.ctrl.memroy_mib'"],
            },
            Case {
                name: "YAML that does not parse",
                files: &[("t.yaml", "libvirt_uri: [unclosed\n")],
                args: &[T, F],
                code: 1,
                says: &["t.yaml"],
            },
            Case {
                name: "an unknown target name",
                files: &[],
                args: &[T, "nosuch"],
                code: 2,
                says: &["unknown target 'nosuch'", "the targets there are: sandbox"],
            },
            Case {
                name: "a target file that does not exist",
                files: &[],
                args: &[T, "{work}/missing.yaml"],
                code: 2,
                says: &["target file {work}/missing.yaml does not exist"],
            },
        ],
        "lab.rhai",
    );
}

/// install-config.yaml with what its release refuses: a field the release removed, a field it
/// refuses on OpenStack, a field behind a feature gate that is off. Each is an error naming the
/// key, and nothing is written: neither the kept copy nor the installer's file.
#[test]
fn install_configs_a_release_refuses_are_errors_naming_the_key_with_nothing_written() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "a field the release removed",
            "4.22",
            "cfg.platform.openstack.defaultMachinePlatform.failureDomains = [];",
            &["platform.openstack.defaultMachinePlatform.failureDomains: OpenShift 4.22 has no such field: it was removed after 4.13"],
        ),
        (
            "credentialsMode where the release refuses it on OpenStack",
            "4.20",
            "cfg.credentialsMode = \"Passthrough\";",
            &["credentialsMode: OpenShift 4.20 refuses it on OpenStack"],
        ),
        (
            "a credentials mode the release does not take on OpenStack",
            "4.21",
            "cfg.credentialsMode = \"Mint\";",
            &["credentialsMode: OpenShift 4.21 takes only Passthrough on OpenStack, not \"Mint\""],
        ),
        (
            "a field behind a feature gate that is off",
            "4.22",
            "cfg.osImageStream = \"rhel-10\";",
            &["osImageStream: OpenShift 4.22 takes it only with the OSStreams feature gate: set featureSet: TechPreviewNoUpgrade"],
        ),
        (
            "external DNS records without a user-managed load balancer",
            "4.21",
            "cfg.featureSet = \"TechPreviewNoUpgrade\"; cfg.platform.openstack.dnsRecordsType = \"External\";",
            &["platform.openstack.dnsRecordsType: OpenShift 4.21 takes External only with platform.openstack.loadBalancer.type: UserManaged"],
        ),
        (
            "a field of a later release",
            "4.21",
            "cfg.osImageStream = \"rhel-9\";",
            &["osImageStream: OpenShift 4.21 has no such field: it comes in 4.22"],
        ),
    ];
    for (name, version, change, says) in cases {
        let lab = lab_with_state();
        let out = lab.work().join("out");
        let f = lab.file(
            "config.rhai",
            &format!(
                "import \"seed\" as seed;\nimport \"openshift\" as openshift;\nlet p = seed::profile();\np.ocp.version = \"{version}\";\np.ocp.network_type = \"OVNKubernetes\";\nlet cfg = openshift::install_config(p, \"ssh-ed25519 AAAAC3Nza test\", \"{{}}\");\n{change}\nopenshift::write_config(p, cfg, \"{}\");\n",
                out.display()
            ),
        );
        let before = snapshot(&lab.state());
        let o = lab.run_file(&f);
        assert_eq!(o.code, 1, "{name}: {}", o.stderr);
        for s in *says {
            assert!(
                o.stderr.contains(s),
                "{name}: does not name {s:?}:\n{}",
                o.stderr
            );
        }
        assert!(!o.stderr.contains("panicked"), "{name}: {}", o.stderr);
        assert!(!out.exists(), "{name}: {} was made", out.display());
        assert_unchanged(name, &before, &lab.state());
    }
}

#[test]
fn bad_flags_are_usage_errors_with_nothing_changed() {
    run_cases(
        &[
            Case {
                name: "an unknown stage",
                files: &[],
                args: &["--only", "l9"],
                code: 2,
                says: &["unknown stage 'l9'"],
            },
            Case {
                name: "an empty profile (an unset variable)",
                files: &[],
                args: &["--profile", ""],
                code: 2,
                says: &["invalid value '' for '--profile <P>': the name is empty"],
            },
            Case {
                name: "a blank target",
                files: &[],
                args: &["--target", "  "],
                code: 2,
                says: &["invalid value '  ' for '--target <T>': the name is empty"],
            },
            Case {
                name: "--from after --only",
                files: &[],
                args: &["--from", "tenant", "--only", "l0"],
                code: 2,
                says: &["--from tenant with --only l0 leaves no stage to run"],
            },
            Case {
                name: "an unknown --set key",
                files: &[],
                args: &["--set", "stirct=true"],
                code: 2,
                says: &["unknown --set key 'stirct'", "did you mean 'strict'?"],
            },
            Case {
                name: "a --set value of the wrong type",
                files: &[],
                args: &["--set", "strict=maybe"],
                code: 2,
                says: &["--set strict=maybe: expected true or false"],
            },
            Case {
                name: "an unknown flag",
                files: &[],
                args: &["--nosuch"],
                code: 2,
                says: &["--nosuch"],
            },
        ],
        "lab.rhai",
    );
}

/// The INI and hosts-block editors, local and remote, refuse what would write lines, sections
/// or markers of their own, naming the argument, and leave the file as it was.
#[test]
fn edits_that_would_write_more_than_asked_are_refused_naming_the_argument() {
    let lab = Lab::new();
    const CONF: &str = "[DEFAULT]\n# keep\ndebug = false\n";
    const HOSTS: &str =
        "127.0.0.1 localhost\n# BEGIN labsh ocp4\n1.2.3.4 api\n# END labsh ocp4\n10.0.0.1 after\n";
    let host = r##"#{host: "director", user: "stack", offline: true}"##;
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "a section through an INI value",
            r##"files::ini_set(CONF, "DEFAULT", "debug", "true\n[evil]\nx = y");"##,
            &["files::ini_set: value holds a line break (\\n) at character 5"],
        ),
        (
            "a setting through a carriage return",
            r##"files::ini_set(CONF, "DEFAULT", "debug", "true\rx = y");"##,
            &["files::ini_set: value holds a carriage return (\\r)"],
        ),
        (
            "a second setting through an INI key",
            r##"files::ini_set(CONF, "DEFAULT", "x = y\ndebug", "true");"##,
            &["files::ini_set: key \"x = y\\ndebug\" holds a line break"],
        ),
        (
            "a key that is a key and a value",
            r##"files::ini_set(CONF, "DEFAULT", "x=y", "true");"##,
            &["files::ini_set: key \"x=y\" holds '='"],
        ),
        (
            "a section through a section name",
            r##"files::ini_set(CONF, "DEFAULT]\n[evil", "k", "v");"##,
            &["files::ini_set: section \"DEFAULT]\\n[evil\" holds a line break"],
        ),
        (
            "a bracket in a section name",
            r##"files::ini_set(CONF, "a]b", "k", "v");"##,
            &["files::ini_set: section \"a]b\" holds ']'"],
        ),
        (
            "a fake END marker in a hosts block",
            r##"files::hosts_block(HOSTS, "ocp4", ["5.6.7.8 api", "# END labsh ocp4", "6.6.6.6 left.behind"]);"##,
            &["files::hosts_block: lines[1] \"# END labsh ocp4\" is a labsh block marker"],
        ),
        (
            "a line break in a hosts line",
            r##"files::hosts_block(HOSTS, "ocp4", ["5.6.7.8 api\n6.6.6.6 evil"]);"##,
            &["files::hosts_block: lines[0] holds a line break"],
        ),
        (
            "a line break in a block's name",
            r##"files::hosts_block(HOSTS, "ocp4\n6.6.6.6 evil", ["5.6.7.8 api"]);"##,
            &["files::hosts_block: name \"ocp4\\n6.6.6.6 evil\" must be letters, digits"],
        ),
        (
            "a section through a remote INI value",
            r##"ssh::ini_set(HOST, "/etc/nova/nova.conf", "neutron", "timeout", "300\n[evil]", #{});"##,
            &["ssh::ini_set: value holds a line break"],
        ),
        (
            "a fake END marker in a remote hosts block",
            r##"ssh::hosts_block(HOST, "/etc/hosts", "ocp4", ["# END labsh ocp4"], #{});"##,
            &["ssh::hosts_block: lines[0] \"# END labsh ocp4\" is a labsh block marker"],
        ),
    ];
    for (name, call, says) in cases {
        let conf = lab.file("nova.conf", CONF);
        let hosts = lab.file("hosts", HOSTS);
        let text = call
            .replace("CONF", &format!("{:?}", conf.display().to_string()))
            .replace("HOSTS", &format!("{:?}", hosts.display().to_string()))
            .replace("HOST", host);
        let f = lab.file("edit.rhai", &format!("{text}\n"));
        let out = lab.run_file(&f);
        assert_eq!(out.code, 1, "{name}: exit code\n{}", out.stderr);
        for s in *says {
            assert!(
                out.stderr.contains(s),
                "{name}: no {s:?} in\n{}",
                out.stderr
            );
        }
        assert!(
            out.stderr.contains("edit.rhai:1:"),
            "{name}: {}",
            out.stderr
        );
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), CONF, "{name}");
        assert_eq!(std::fs::read_to_string(&hosts).unwrap(), HOSTS, "{name}");
    }
}

#[test]
fn bad_scripts_fail_with_file_and_line_never_an_abort() {
    let lab = Lab::new();
    let cases: &[(&str, &str, &[&str])] = &[
        ("syntax.rhai", "let x = ;\n", &["syntax.rhai:1:"]),
        (
            "unknown.rhai",
            "stage(\"a\", || nosuch(1));\n",
            &["unknown function 'nosuch'", "unknown.rhai:1:"],
        ),
        (
            "double.rhai",
            "let s = \"x\";\nloop { s += s; }\n",
            &["a string grew over 16 MiB", "double.rhai:2:"],
        ),
        (
            "recurse.rhai",
            "fn f(n) { f(n + 1) }\nf(0);\n",
            &["more than 256 nested calls", "recurse.rhai:"],
        ),
        (
            "missing.rhai",
            "run([\"/nonexistent/program\"]);\n",
            &["/nonexistent/program", "not found"],
        ),
    ];
    for (name, text, says) in cases {
        let f = lab.file(name, text);
        let out = lab.run_file(&f);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        for s in *says {
            assert!(
                out.stderr.contains(s),
                "{name}: no {s:?} in\n{}",
                out.stderr
            );
        }
        assert!(!out.stderr.contains("panicked") && !out.stderr.contains("backtrace"));
    }
}

#[test]
fn a_damaged_secrets_file_is_named_with_its_line_and_nothing_changes() {
    let lab = lab_with_state();
    let secrets = lab.state().join("secrets");
    let mut text = std::fs::read_to_string(&secrets).unwrap();
    text.push_str("half a line\n");
    std::fs::write(&secrets, &text).unwrap();
    let line = text.lines().count();
    let before = snapshot(&lab.state());
    let out = lab.run(["run", &script("lab.rhai")]);
    out.code(1)
        .stderr_has(&format!("secrets:{line}: expected NAME=value"))
        .stderr_has("correct or remove that line");
    assert_unchanged("damaged secrets", &before, &lab.state());
    // No journal either: the run did not start.
    assert_eq!(
        walk(&lab.state().join("runs")).len(),
        walk(&template().join("runs")).len()
    );
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

/// Runs labsh with `args` in `lab`, killing it after 20 s: labsh must not wait on a FIFO.
fn run_bounded(lab: &Lab, args: &[String]) -> crate::support::Out {
    use std::io::Read;
    let mut cmd = lab.labsh().args(args).command();
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("labsh {args:?} still ran after 20 s (waiting on a FIFO?)");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    crate::support::Out {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

#[test]
fn unreadable_scripts_modules_and_profiles_are_named_with_nothing_changed() {
    // Latin-1, not UTF-8: the é of "café" on line 2, column 13.
    let latin1: &[u8] = b"// ok\nlet s = \"caf\xe9\";\n";
    let big = format!("// {}\n", "x".repeat(5 << 20));
    let variant = "fn overrides() { #{} }\n";
    // (case, files to write in work/, FIFOs to make there, arguments, exit code, what it says)
    type Files<'a> = Vec<(&'a str, Vec<u8>)>;
    type Row<'a> = (
        &'a str,
        Files<'a>,
        Vec<&'a str>,
        Vec<String>,
        i32,
        Vec<String>,
    );
    let lab_rhai = script("lab.rhai");
    let cases: Vec<Row> = vec![
        (
            "a script that is not UTF-8",
            vec![("bad.rhai", latin1.to_vec())],
            vec![],
            vec!["run".into(), "{work}/bad.rhai".into()],
            2,
            vec!["{work}/bad.rhai:2:13: not UTF-8 text (byte 0xe9)".into()],
        ),
        (
            "a module that is not UTF-8",
            vec![
                ("main.rhai", b"import \"latin\" as latin;\n".to_vec()),
                ("latin.rhai", latin1.to_vec()),
            ],
            vec![],
            vec!["run".into(), "{work}/main.rhai".into()],
            1,
            vec!["latin.rhai:2:13: not UTF-8 text (byte 0xe9)".into()],
        ),
        (
            "a profile that is not UTF-8",
            vec![("profiles/v.rhai", latin1.to_vec())],
            vec![],
            vec![
                "run".into(),
                lab_rhai.clone(),
                "--profile".into(),
                "{work}/profiles/v.rhai".into(),
            ],
            1,
            vec!["{work}/profiles/v.rhai:2:13: not UTF-8 text".into()],
        ),
        (
            "a profile that is a device",
            vec![],
            vec![],
            vec![
                "run".into(),
                lab_rhai.clone(),
                "--profile".into(),
                "/dev/zero".into(),
            ],
            2,
            vec!["profile file /dev/zero is not a regular file (a character device)".into()],
        ),
        (
            "a profile that is a folder",
            vec![("profiles/v.rhai", variant.as_bytes().to_vec())],
            vec![],
            vec![
                "run".into(),
                lab_rhai.clone(),
                "--profile".into(),
                "{work}/profiles".into(),
            ],
            2,
            vec!["profile file {work}/profiles is not a regular file (a directory)".into()],
        ),
        (
            "a profile that is a FIFO",
            vec![],
            vec!["fifo.rhai"],
            vec![
                "run".into(),
                lab_rhai.clone(),
                "--profile".into(),
                "{work}/fifo.rhai".into(),
            ],
            2,
            vec!["profile file {work}/fifo.rhai is not a regular file (a FIFO)".into()],
        ),
        (
            "a script that is a FIFO",
            vec![],
            vec!["fifo.rhai"],
            vec!["run".into(), "{work}/fifo.rhai".into()],
            2,
            vec!["script {work}/fifo.rhai is not a regular file (a FIFO)".into()],
        ),
        (
            "a script that is a folder",
            vec![("dir.rhai/x", vec![])],
            vec![],
            vec!["check".into(), "{work}/dir.rhai".into()],
            2,
            vec!["script {work}/dir.rhai is not a regular file (a directory)".into()],
        ),
        (
            "a script over the limit",
            vec![("big.rhai", big.clone().into_bytes())],
            vec![],
            vec!["run".into(), "{work}/big.rhai".into()],
            2,
            vec![
                "script {work}/big.rhai is larger than 4 MiB, the limit of a script, module or profile file"
                    .into(),
            ],
        ),
        (
            "a module over the limit",
            vec![
                ("main.rhai", b"import \"big\" as big;\n".to_vec()),
                ("big.rhai", big.clone().into_bytes()),
            ],
            vec![],
            vec!["run".into(), "{work}/main.rhai".into()],
            1,
            vec!["module {work}/big.rhai is larger than 4 MiB".into()],
        ),
        (
            "a profile over the limit",
            vec![("profiles/v.rhai", format!("{variant}{big}").into_bytes())],
            vec![],
            vec![
                "run".into(),
                lab_rhai.clone(),
                "--profile".into(),
                "{work}/profiles/v.rhai".into(),
            ],
            1,
            vec!["profile {work}/profiles/v.rhai is larger than 4 MiB".into()],
        ),
    ];
    for (name, files, fifos, args, code, says) in cases {
        let lab = lab_with_state();
        let work = lab.work().display().to_string();
        for (f, bytes) in files {
            let p = lab.work().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
        }
        for f in fifos {
            mkfifo(&lab.work().join(f));
        }
        let before = snapshot(&lab.state());
        let args: Vec<String> = args.iter().map(|a| a.replace("{work}", &work)).collect();
        let out = run_bounded(&lab, &args);
        assert_eq!(out.code, code, "{name}: exit code\n{}", out.stderr);
        for s in says {
            let s = s.replace("{work}", &work);
            assert!(
                out.stderr.contains(&s),
                "{name}: no {s:?} in\n{}",
                out.stderr
            );
        }
        assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
        assert_unchanged(name, &before, &lab.state());
    }
}

#[test]
fn a_bom_at_the_start_of_a_script_or_module_is_read_past() {
    let lab = Lab::new();
    lab.file("bommod.rhai", "\u{feff}fn hi() { \"module ok\" }\n");
    let f = lab.file(
        "bom.rhai",
        "\u{feff}import \"bommod\" as m;\nprint(\"script ok\");\nprint(m::hi());\n",
    );
    lab.run_file(&f)
        .ok()
        .stdout_has("script ok")
        .stdout_has("module ok");
    lab.run(["check", f.to_str().unwrap()]).ok();
}

#[test]
fn a_missing_cwd_is_named_not_taken_for_a_missing_program() {
    let lab = Lab::new();
    let f = lab.file(
        "cwd.rhai",
        "run([\"true\"], #{cwd: \"/nonexistent/folder\"});\n",
    );
    let out = lab.run_file(&f);
    out.code(1)
        .stderr_has("cannot start true: its folder (cwd) /nonexistent/folder does not exist")
        .stderr_has("cwd.rhai:1:");
    assert!(!out.stderr.contains("not found on PATH"), "{}", out.stderr);
}

#[test]
fn check_finds_import_cycles_and_self_imports_before_anything_runs() {
    let lab = Lab::new();
    let marker = lab.work().join("ran");
    let a = lab.file(
        "a.rhai",
        &format!(
            "run([\"touch\", {:?}]);\nimport \"b\" as b;\nprint(b::f());\n",
            marker.display()
        ),
    );
    lab.file("b.rhai", "import \"c\" as c;\nfn f() { c::g() }\n");
    lab.file("c.rhai", "import \"a\" as a;\nfn g() { 1 }\n");
    let out = lab.run(["check", a.to_str().unwrap()]);
    out.code(1)
        .stderr_has("import cycle: ")
        .stderr_has("c.rhai:1:1");
    let cycle = out
        .stderr
        .lines()
        .find(|l| l.contains("import cycle: "))
        .unwrap();
    for f in ["a.rhai", "b.rhai", "c.rhai"] {
        assert!(cycle.contains(f), "{cycle}");
    }
    lab.run_file(&a).code(1).stderr_has("import cycle: ");
    assert!(!marker.exists(), "a script whose imports form a cycle ran");

    let own = lab.work().join("own.rhai");
    lab.file(
        "own.rhai",
        &format!("import {:?} as me;\nfn f() {{ 1 }}\n", own.display()),
    );
    let s = lab.file(
        "uses_own.rhai",
        "import \"own\" as own;\nprint(own::f());\n",
    );
    lab.run(["check", s.to_str().unwrap()])
        .code(1)
        .stderr_has("own.rhai imports itself");
}
