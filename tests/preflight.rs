//! Preflight stops what cannot work, on the sandbox (no daemon): the VMs' memory over the host's,
//! a base image that is not there or not the release's guest; and warns of what will hurt: a
//! control-plane flavor under the documented minimum where the installer does not check it, a
//! proxy whose noProxy sends the overcloud's API through the proxy. The image inspection on a real
//! guest is in tests/guestfs.rs.

use crate::support::Lab;

/// `lab.rhai --only preflight` on the sandbox with the variant `overrides` (a Rhai map).
fn preflight(lab: &Lab, overrides: &str) -> crate::support::Out {
    let v = lab.file(
        "profiles/v.rhai",
        &format!("fn overrides() {{ {overrides} }}\n"),
    );
    lab.run_script("lab.rhai")
        .args(["--only", "preflight", "--profile", v.to_str().unwrap()])
        .run()
}

/// The row of preflight's table that starts with `check`, as printed.
fn row(out: &crate::support::Out, check: &str) -> String {
    out.stdout
        .lines()
        .find(|l| l.starts_with(check))
        .unwrap_or_else(|| panic!("no row {check}:\n{}", out.stdout))
        .to_string()
}

#[test]
fn red_hats_image_names_are_accepted_for_their_release_and_refused_for_the_other() {
    // (base_image.name or source, overcloud.release, accepted): Red Hat's published names of
    // its KVM guest images, CentOS's and Fedora's, and names that say nothing.
    let table = [
        ("rhel-9.4-x86_64-kvm.qcow2", "17.1", true),
        ("rhel-9.4-x86_64-kvm.qcow2", "13", false),
        ("rhel-baseos-9.0-update-4-x86_64-kvm.qcow2", "17.1", true),
        ("rhel-8.10-x86_64-kvm.qcow2", "17.1", false),
        ("rhel-8.10-x86_64-kvm.qcow2", "13", false),
        ("rhel-server-7.9-x86_64-kvm.qcow2", "13", true),
        ("rhel-server-7.9-update-12-x86_64-kvm.qcow2", "13", true),
        ("rhel-server-7.9-update-12-x86_64-kvm.qcow2", "17.1", false),
        ("rhel-guest-image-7.6-210.x86_64.qcow2", "13", true),
        ("rhel-guest-image-7.6-210.x86_64.qcow2", "17.1", false),
        ("CentOS-7-x86_64-GenericCloud-2009.qcow2", "13", true),
        (
            "CentOS-Stream-GenericCloud-9-20230828.0.x86_64.qcow2",
            "17.1",
            true,
        ),
        (
            "CentOS-Stream-GenericCloud-9-20230828.0.x86_64.qcow2",
            "13",
            false,
        ),
        (
            "Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2",
            "17.1",
            false,
        ),
        ("guest.qcow2", "13", true),
        ("guest.qcow2", "17.1", true),
    ];
    let lab = Lab::new();
    let mut script = String::from(
        "import \"seed\" as seed;\nimport \"tripleo\" as tripleo;\nimport \"util\" as util;\n",
    );
    for (name, release, _) in table {
        // The same name as the image's own name, and as the file name of its source (with
        // base_image.name one that says nothing).
        for over in [
            format!("#{{ base_image: #{{ name: \"{name}\" }} }}"),
            format!("#{{ base_image: #{{ name: \"base.qcow2\", source: \"/images/{name}\" }} }}"),
        ] {
            script.push_str(&format!(
                "{{ let p = util::merge(seed::profile(), {over}); p.overcloud.release = \"{release}\";\n  print(`{name} {release} ${{tripleo::profile_problems(p, \"v.rhai\").filter(|b| b.contains(\"base_image\"))}}`); }}\n"
            ));
        }
    }
    let f = lab.file("names.rhai", &script);
    let out = lab.run_file(&f);
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2 * table.len(), "{}", out.stdout);
    for (i, (name, release, accepted)) in table.iter().enumerate() {
        for line in &lines[2 * i..2 * i + 2] {
            assert!(line.starts_with(&format!("{name} {release} ")), "{line}");
            if *accepted {
                assert!(line.ends_with(" []"), "{name} on {release} refused: {line}");
            } else {
                let guest = if *release == "13" { "RHEL 7" } else { "RHEL 9" };
                assert!(
                    line.contains(&format!("not {guest}, the guest of OSP {release}")),
                    "{name} on {release} accepted, or without its reason: {line}"
                );
            }
        }
    }
    // The refusal names the key, what was read, from where, and what to do.
    let o = preflight(
        &lab,
        "#{ base_image: #{ name: \"rhel-9.4-x86_64-kvm.qcow2\" } }",
    );
    o.code(1).stderr_has(
        "profiles/v.rhai: base_image.name: rhel-9.4-x86_64-kvm.qcow2 is RHEL 9.4 (by its file name), not RHEL 7, the guest of OSP 13 (Queens) (overcloud.release \"13\"): name the image for its guest (such as rhel7-guest.qcow2), or set overcloud.release to \"17.1\"",
    );
    // A base_image.os that names no system, and one that contradicts the image's name.
    preflight(&lab, "#{ base_image: #{ os: \"rhel\" } }")
        .code(1)
        .stderr_has("base_image.os: \"rhel\" is not an operating system as libosinfo names it");
    preflight(&lab, "#{ base_image: #{ os: \"centos7.9\" } }")
        .code(1)
        .stderr_has("base_image.name: rhel7-guest.qcow2 is RHEL 7 (by its file name), but base_image.os centos7.9 is CentOS 7.9 (as base_image.os says): the two contradict each other");
    // An image whose name says nothing, with its guest given.
    preflight(
        &lab,
        "#{ base_image: #{ name: \"guest.qcow2\", os: \"rhel7.9\" } }",
    )
    .ok();
}

#[test]
fn a_missing_base_image_source_is_refused_by_the_plan_before_anything() {
    let lab = Lab::new();
    let v = lab.file(
        "profiles/v.rhai",
        "fn overrides() { #{ base_image: #{ source: \"/nonexistent/rhel-server-7.9-update-12-x86_64-kvm.qcow2\" } } }\n",
    );
    let o = lab
        .run_script("lab.rhai")
        .args(["--plan", "--profile", v.to_str().unwrap()])
        .run();
    o.code(1)
        .stdout_has("base_image.source: /nonexistent/rhel-server-7.9-update-12-x86_64-kvm.qcow2 does not exist")
        .stdout_has("fix: give base_image.source its path: the RHEL 7 guest image (Red Hat's rhel-server-7.9-update-12-x86_64-kvm.qcow2)")
        .stdout_has("plan: 1 preflight check(s) fail: a run would stop here");
    // The plan goes on past preflight, and l1 cannot be planned past the missing image: one failed
    // check, nothing planned from the image.
    o.stderr_has("failed   check l1 (plan): base_image.source: /nonexistent/rhel-server-7.9-update-12-x86_64-kvm.qcow2 does not exist");
    assert!(
        !o.stderr.contains("img.copy") && !o.stderr.contains("rhel7-guest.qcow2"),
        "nothing planned from the missing image:\n{}",
        o.stderr
    );
    // l1 alone names it too, before it makes anything.
    let o = lab
        .run_script("lab.rhai")
        .args(["--only", "l1", "--profile", v.to_str().unwrap()])
        .run();
    o.code(1).stderr_has(
        "base_image.source: /nonexistent/rhel-server-7.9-update-12-x86_64-kvm.qcow2 does not exist",
    );
    assert!(
        !lab.state()
            .join("sandbox/lab/images/rhel7-guest.qcow2")
            .exists(),
        "nothing made"
    );
}

#[test]
fn the_vms_memory_over_the_hosts_fails_unless_overcommit_is_allowed() {
    let lab = Lab::new();
    // 208 GiB of VMs on the article's 160 GiB host: the seed's 140 GiB with a bigger compute node.
    let big = "vms: #{ compute: #{ memory_mib: 139264 } }";
    let o = preflight(&lab, &format!("#{{ {big} }}"));
    o.code(1)
        .stderr_has("1 preflight check(s) failed")
        .stderr_has("memory: 212992 MiB for 8 VMs; host has 163746 MiB");
    assert!(
        row(&o, "memory").contains(" fail "),
        "{}",
        row(&o, "memory")
    );
    o.stdout_has("or allow overcommit with host.memory_overcommit");
    // Allowed: a warning, and the run goes on.
    let o = preflight(
        &lab,
        &format!("#{{ {big}, host: #{{ memory_overcommit: 1.5 }} }}"),
    );
    o.ok();
    let r = row(&o, "memory");
    assert!(
        r.contains(" warn ")
            && r.contains("overcommitted as host.memory_overcommit 1.5 allows (up to 245619 MiB)"),
        "{r}"
    );
    // Allowed, but not that much.
    let o = preflight(
        &lab,
        &format!("#{{ {big}, host: #{{ memory_overcommit: 1.2 }} }}"),
    );
    o.code(1);
    assert!(row(&o, "memory").contains("x 1.2 host.memory_overcommit = 196495 MiB"));
    // The sandbox stands in for the profile's host: the large variant fits the host it is for.
    lab.run_script("lab.rhai")
        .args(["--only", "preflight", "--profile", "large"])
        .run()
        .ok();
    // An overcommit of nothing is refused with the profile.
    preflight(&lab, "#{ host: #{ memory_overcommit: 0.0 } }")
        .code(1)
        .stderr_has("host.memory_overcommit: 0.0 must be above 0");
}

#[test]
fn a_small_control_plane_flavor_is_a_warning_where_the_installer_does_not_check_it() {
    let lab = Lab::new();
    let small = "tenant: #{ flavor: #{ ram_mib: 8192, vcpus: 2 } }";
    // 4.2's installer checks no flavor: preflight says what its documentation asks.
    let o = preflight(&lab, &format!("#{{ {small} }}"));
    o.ok();
    let r = row(&o, "control-plane flavor");
    assert!(r.contains(" warn "), "{r}");
    assert!(
        r.contains("tenant.flavor master: 2 vCPUs, 8192 MiB, 25 GB is under the documented minimum of the control plane (4 vCPUs, 16384 MiB, 25 GB), which OpenShift 4.2's installer does not check: vcpus 2 < 4, ram_mib 8192 < 16384"),
        "{r}"
    );
    // Strict, it stops the run.
    let v = lab.file(
        "profiles/s.rhai",
        &format!("fn overrides() {{ #{{ {small} }} }}\n"),
    );
    lab.run_script("lab.rhai")
        .args([
            "--only",
            "preflight",
            "--profile",
            v.to_str().unwrap(),
            "--set",
            "strict=true",
        ])
        .run()
        .code(1)
        .stderr_has("control-plane flavor: tenant.flavor master");
    // 4.7 checks the vCPUs itself (the profile is refused for them) but, comparing 16 with MiB,
    // never the RAM: preflight warns of the RAM alone.
    let o = preflight(
        &lab,
        "#{ ocp: #{ version: \"4.7\" }, tenant: #{ flavor: #{ ram_mib: 8192 } } }",
    );
    o.ok();
    let r = row(&o, "control-plane flavor");
    assert!(
        r.contains(" warn ")
            && r.contains("OpenShift 4.7's installer does not check: ram_mib 8192 < 16384")
            && !r.contains("vcpus"),
        "{r}"
    );
    // The seed's flavor is the documented one.
    let o = preflight(&lab, "#{}");
    assert!(row(&o, "control-plane flavor").contains(" pass "));
}

#[test]
fn a_no_proxy_without_the_overclouds_api_is_a_warning_naming_each_address() {
    let lab = Lab::new();
    let o = preflight(
        &lab,
        "#{ ocp: #{ proxy: #{ http: \"http://proxy.acme.lab:3128\", no_proxy: \".acme.lab\" } } }",
    );
    o.ok();
    let r = row(&o, "proxy noProxy");
    assert!(
        r.contains(" warn ")
            && r.contains("ocp.proxy.no_proxy lacks 192.168.122.150 (the overcloud's Keystone, overcloud.keystone, and its public VIP)")
            && r.contains("the installer adds 10.0.0.0/16 and 169.254.169.254 itself"),
        "{r}"
    );
    o.stdout_has("fix: add them to ocp.proxy.no_proxy: \".acme.lab,192.168.122.150\"");
    // The overcloud on names, its public VIP elsewhere: each missing one is named.
    let o = preflight(
        &lab,
        "#{ overcloud: #{ keystone: \"https://overcloud.acme.lab:13000/v3\" }, ocp: #{ proxy: #{ https: \"http://proxy.acme.lab:3128\", no_proxy: \"192.168.0.0/16\" } } }",
    );
    let r = row(&o, "proxy noProxy");
    assert!(
        r.contains("lacks overcloud.acme.lab (the overcloud's Keystone, overcloud.keystone)")
            && !r.contains("192.168.122.150 ("),
        "{r}"
    );
    // Covered by a domain, a CIDR or "*": no warning.
    for no_proxy in [
        ".acme.lab,192.168.122.0/24",
        "acme.lab,192.168.122.150:5000",
        "*",
    ] {
        let o = preflight(
            &lab,
            &format!("#{{ overcloud: #{{ keystone: \"https://overcloud.acme.lab:13000/v3\" }}, ocp: #{{ proxy: #{{ http: \"http://p:3128\", no_proxy: \"{no_proxy}\" }} }} }}"),
        );
        let r = row(&o, "proxy noProxy");
        assert!(r.contains(" pass "), "{no_proxy}: {r}");
    }
    // No proxy, no row.
    let o = preflight(&lab, "#{}");
    assert!(!o.stdout.contains("proxy noProxy"), "{}", o.stdout);
}
