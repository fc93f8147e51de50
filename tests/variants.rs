//! Variants built on any profile: `base` (a shipped or local profile, a variant of a variant),
//! a base that does not exist or forms a cycle, `labsh check` of a profile file, and profile
//! keys given with `--set`.

use crate::support::Lab;

/// Prints what a test looks at of the loaded profile, as JSON.
const SHOW: &str = r#"
import "profile" as profile;
let lp = profile::load(run_info().profile, ());
let p = lp.profile;
print(#{ name: p.name, release: p.overcloud.release, version: p.ocp.version, computes: p.vms.compute.count,
         workers: p.ocp.workers, ntp: p.overcloud.ntp_servers, ctrl_mem: p.vms.ctrl.memory_mib,
         vlan: p.overcloud.networks.tenant.vlan, cidr: p.overcloud.networks.tenant.cidr,
         bases: lp.bases, hooks: lp.hooks }.to_json());
"#;

/// A variant of `current`, and a variant of that one.
fn acme(lab: &Lab) {
    lab.file(
        "profiles/acme.rhai",
        "fn overrides() { #{ base: \"current\", name: \"acme\", vms: #{ compute: #{ count: 2 } }, overcloud: #{ ntp_servers: [\"10.1.1.1\"] } } }\nfn after_l1(p) { print(\"acme's hook\"); }\n",
    );
    lab.file(
        "profiles/acme-big.rhai",
        "fn overrides() { #{ base: \"acme\", ocp: #{ workers: 4 }, tenant: #{ quotas: #{ cores: 64, ram_mib: 131072 } } } }\n",
    );
}

fn shown(lab: &Lab, args: &[&str]) -> serde_json::Value {
    let s = lab.file("show.rhai", SHOW);
    let o = lab
        .labsh()
        .args(["run", s.to_str().unwrap()])
        .args(args)
        .run();
    o.ok();
    let line = o.stdout.lines().find(|l| l.starts_with('{')).unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {}", o.stdout))
}

#[test]
fn a_variant_builds_on_current_and_a_variant_on_a_variant() {
    let lab = Lab::new();
    acme(&lab);
    let current = std::fs::read_to_string(crate::support::root().join("profiles/current.rhai"));
    lab.file("profiles/current.rhai", &current.unwrap());
    let v = shown(&lab, &["--profile", "profiles/acme-big.rhai"]);
    // current's values (17.1, 4.22), acme's (two computes, its time server replacing the
    // seed's list), acme-big's (four workers), and the seed's under them all.
    assert_eq!(v["name"], "acme", "{v}");
    assert_eq!(v["release"], "17.1", "{v}");
    assert_eq!(v["version"], "4.22", "{v}");
    assert_eq!(v["computes"], 2, "{v}");
    assert_eq!(v["workers"], 4, "{v}");
    assert_eq!(v["ntp"], serde_json::json!(["10.1.1.1"]), "{v}");
    assert_eq!(v["ctrl_mem"], 16384, "{v}");
    assert_eq!(v["bases"].as_array().unwrap().len(), 2, "{v}");
    // The variant's own hooks, not its base's.
    assert_eq!(v["hooks"], serde_json::Value::Null, "{v}");
    // The lab plans it whole.
    let o = lab
        .run_script("lab.rhai")
        .args([
            "--plan",
            "--profile",
            "profiles/acme.rhai",
            "--only",
            "l0",
            "--only",
            "l1",
        ])
        .run();
    o.ok().stdout_has("acme's hook");
}

#[test]
fn a_base_that_does_not_exist_or_forms_a_cycle_is_named_and_nothing_runs() {
    let lab = Lab::new();
    lab.file(
        "profiles/typo.rhai",
        "fn overrides() { #{ base: \"curent\" } }\n",
    );
    lab.file("profiles/a.rhai", "fn overrides() { #{ base: \"b\" } }\n");
    lab.file(
        "profiles/b.rhai",
        "fn overrides() { #{ base: \"c.rhai\" } }\n",
    );
    lab.file("profiles/c.rhai", "fn overrides() { #{ base: \"a\" } }\n");
    lab.file("profiles/num.rhai", "fn overrides() { #{ base: 3 } }\n");
    for (v, want) in [
        ("typo", "profiles/typo.rhai: base: \"curent\": unknown profile 'curent'"),
        (
            "a",
            "profiles/c.rhai: base: \"a\" forms a cycle: profiles/a.rhai -> profiles/b.rhai -> profiles/c.rhai -> profiles/a.rhai",
        ),
        ("num", "profiles/num.rhai: base: must be a string naming a profile"),
    ] {
        let o = lab
            .run_script("lab.rhai")
            .args(["--profile", &format!("profiles/{v}.rhai")])
            .run();
        o.code(1).stderr_has(want);
        assert!(!lab.state().join("sandbox").exists(), "{v}: nothing made");
    }
}

#[test]
fn labsh_check_of_a_profile_runs_the_profile_checks() {
    let lab = Lab::new();
    let bad = lab.file(
        "profiles/bad.rhai",
        "fn overrides() { #{ vms: #{ ctrl: #{ cout: 2, memory_mib: \"16G\" } }, networks: #{ ext: #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\", forward: \"nating\" } } } }\n",
    );
    let o = lab.run(["check", bad.to_str().unwrap()]);
    o.code(1)
        .stderr_has("the profile has 3 problem(s)")
        .stderr_has(
            "profiles/bad.rhai: unknown key 'vms.ctrl.cout' (did you mean 'vms.ctrl.count'?)",
        )
        .stderr_has(
            "profiles/bad.rhai: vms.ctrl.memory_mib: must be an integer, not a string (16G)",
        )
        .stderr_has("profiles/bad.rhai: networks.ext.forward: \"nating\" is not a forward mode");
    assert!(!o.stdout.contains(": ok"), "{}", o.stdout);
    acme(&lab);
    let current = std::fs::read_to_string(crate::support::root().join("profiles/current.rhai"));
    lab.file("profiles/current.rhai", &current.unwrap());
    let good = lab.work().join("profiles/acme-big.rhai");
    lab.run(["check", good.to_str().unwrap()])
        .ok()
        .stdout_has("acme-big.rhai: ok; a profile, checked whole");
    // The shipped ones pass.
    for p in ["minimal", "large", "current"] {
        let f = crate::support::root().join(format!("profiles/{p}.rhai"));
        lab.run(["check", f.to_str().unwrap()]).ok();
    }
}

#[test]
fn set_gives_profile_keys_checked_with_the_profile() {
    let lab = Lab::new();
    // The customer's tenant VLAN and CIDR.
    let sets = [
        "--set",
        "overcloud.networks.tenant.vlan=150",
        "--set",
        "overcloud.networks.tenant.cidr=172.20.2.0/24",
        "--set",
        "overcloud.networks.tenant.pool=[\"172.20.2.10\",\"172.20.2.149\"]",
    ];
    let v = shown(&lab, &sets);
    assert_eq!(v["vlan"], 150, "{v}");
    assert_eq!(v["cidr"], "172.20.2.0/24", "{v}");
    let o = lab
        .run_script("lab.rhai")
        .args(["--plan", "--only", "preflight", "--only", "l0"])
        .args(sets)
        .run();
    o.ok();
    // A bad VLAN, a CIDR on another network's, a word for a number: refused, each named.
    let o = lab
        .run_script("lab.rhai")
        .args(["--set", "overcloud.networks.tenant.vlan=5000"])
        .args(["--set", "overcloud.networks.tenant.cidr=172.17.1.0/24"])
        .args(["--set", "ocp.workers=many", "--set", "ocp.wrokers=1"])
        .run();
    o.code(1)
        .stderr_has("--set: overcloud.networks.tenant.vlan: 5000 must be 1-4094")
        .stderr_has("--set: overcloud.networks.internal_api (172.17.1.0/24) overlaps overcloud.networks.tenant (172.17.1.0/24)")
        .stderr_has("--set: ocp.workers: must be an integer, not a string (many)")
        .stderr_has("--set: unknown key 'ocp.wrokers' (did you mean 'ocp.workers'?)");
    assert!(!lab.state().join("sandbox").exists(), "nothing made");
    // A profile key for a script that loads no profile is refused, not dropped.
    let plain = lab.file("plain.rhai", "print(param(\"n\", 1));\n");
    lab.run(["run", plain.to_str().unwrap(), "--set", "ocp.workers=3"])
        .code(2)
        .stderr_has("--set ocp.workers: a KEY with a '.' is a profile key")
        .stderr_has("loads no profile");
    // A key without a '.' is still a script parameter, checked as one.
    lab.run_script("lab.rhai")
        .args(["--plan", "--set", "strct=true"])
        .run()
        .code(2)
        .stderr_has("unknown --set key 'strct'");
}

#[test]
fn doc_profile_lists_every_key_from_the_schema_the_checks_read() {
    let lab = Lab::new();
    let o = lab.run(["doc", "profile"]);
    o.ok()
        .stdout_has("vms.*.memory_mib\n    integer, MiB; default: ceph: 4096, compute: 69632, ctrl: 16384, undercloud: 12288")
        .stdout_has("networks.*.forward\n    string; default: (not in the seed)")
        .stdout_has("host.memory_kib\n    integer, KiB; default: 167676348")
        .stdout_has("base\n    string; default: (not in the seed)")
        // The module's functions follow.
        .stdout_has("profile::load");
    // A key the seed gains without the schema is named, not left out (the seed overridden in
    // the user's stdlib folder).
    let seed = std::fs::read_to_string(crate::support::root().join("stdlib/seed.rhai")).unwrap();
    let grown = seed.replacen("name: \"lab\",", "name: \"lab\", extra_knob: 1,", 1);
    assert_ne!(grown, seed);
    std::fs::write(lab.lib().join("seed.rhai"), grown).unwrap();
    lab.run(["doc", "profile"])
        .code(1)
        .stderr_has("the seed's extra_knob is not in profile::key_schema()");
}
