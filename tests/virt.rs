//! The virt binding on libvirt's test driver (each labsh process gets a fresh `test:///default`).

use crate::support::Lab;

const URI: &str = "test:///default";

fn script(lab: &Lab, body: &str) -> std::path::PathBuf {
    lab.file("v.rhai", &format!("const URI = \"{URI}\";\n{body}"))
}

#[test]
fn networks_converge_and_dhcp_is_removed_live() {
    let lab = Lab::new();
    let f = script(
        &lab,
        r#"
let prov = #{lab: "lab", name: "provisioning", address: "172.16.0.254", netmask: "255.255.255.0", dhcp: false};
let dflt = #{lab: "lab", name: "default", address: "192.168.122.1", netmask: "255.255.255.0", dhcp: false, forward: "nat"};
let a = virt::network_ensure(URI, prov);
assert(a.changed, "first ensure defines");
let b = virt::network_ensure(URI, prov);
assert(!b.changed, "second ensure changes nothing");
assert(virt::network_xml(URI, "default").contains("<range"), "the test driver's default has a DHCP range");
let c = virt::network_ensure(URI, dflt);
assert(c.changed);
assert(!virt::network_xml(URI, "default").contains("<range"), "range removed");
assert(!virt::network_ensure(URI, dflt).changed);
let nets = virt::network_list(URI);
let p = nets.filter(|n| n.name == "provisioning")[0];
assert_eq([p.active, p.autostart, p.lab], [true, true, "lab"]);
assert_eq(nets.filter(|n| n.name == "default")[0].lab, ());
"#,
    );
    lab.run_file(&f).ok();
}

#[test]
fn an_existing_network_that_differs_is_not_redefined() {
    let lab = Lab::new();
    let f = script(
        &lab,
        r#"virt::network_ensure(URI, #{lab: "lab", name: "default", address: "10.9.9.1", netmask: "255.255.255.0"});"#,
    );
    lab.run_file(&f)
        .code(1)
        .stderr_has("network default exists (a network labsh did not create) and differs: address");
}

#[test]
fn domains_converge_with_stable_macs_and_ownership() {
    let lab = Lab::new();
    let f = script(
        &lab,
        r#"
let vm = #{lab: "lab", name: "undercloud", memory_mib: 12288, vcpus: 8,
           nics: ["default", "default"], disks: [#{path: "/var/lib/libvirt/images/undercloud.qcow2"}]};
assert(virt::domain_ensure(URI, vm).changed);
assert(!virt::domain_ensure(URI, vm).changed, "second run changes nothing");
let x = virt::domain_xml(URI, "undercloud");
assert(x.contains(virt::mac("lab", "undercloud", 0)) && x.contains(virt::mac("lab", "undercloud", 1)));
assert(x.contains("https://labsh.dev/xmlns/lab/1"));
assert_eq(virt::domain_state(URI, "undercloud"), "running");
vm.memory_mib = 16384;
let r = virt::domain_ensure(URI, vm);
assert(r.changed && r.notes[0].contains("memory 12288 MiB, wanted 16384 MiB"));
// Another lab's VM of the same name is refused; so is a domain labsh did not create.
let other = vm;
other.lab = "other";
let e1 = "";
try { virt::domain_ensure(URI, other); } catch (e) { e1 = e; }
assert(e1.contains("belongs to lab lab"), e1);
let e2 = "";
try { virt::domain_ensure(URI, #{lab: "lab", name: "test", memory_mib: 512, vcpus: 1}); } catch (e) { e2 = e; }
assert(e2.contains("was not created by labsh"), e2);
let e3 = "";
try { virt::domain_undefine(URI, "test", #{lab: "lab"}); } catch (e) { e3 = e; }
assert(e3.contains("removes only what this lab created"), e3);
assert(virt::domain_destroy(URI, "undercloud"));
assert(!virt::domain_destroy(URI, "undercloud"), "already off: ok");
assert(virt::domain_undefine(URI, "undercloud", #{lab: "lab"}));
assert(!virt::domain_list(URI).some(|d| d.name == "undercloud"));
"#,
    );
    lab.run_file(&f).ok();
}

#[test]
fn bad_domain_specs_name_the_vm_and_field_and_create_nothing() {
    let lab = Lab::new();
    for (spec, want) in [
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: "16G", vcpus: 4}"#,
            "domain ctrl01: option 'memory_mib' expected int, found string \"16G\"",
        ),
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: 16384, vcpus: 4, memory_mb: 3}"#,
            "domain ctrl01: unknown option 'memory_mb' (did you mean 'memory_mib'?)",
        ),
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: 16384, vcpus: 4, disks: [#{path: "/a.qcow2", buss: "sata"}]}"#,
            "domain ctrl01: disks[0]: unknown option 'buss' (did you mean 'bus'?)",
        ),
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: 16384, vcpus: 4, autostart: "yes"}"#,
            "domain ctrl01: option 'autostart' expected bool, found string \"yes\"",
        ),
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: 16384}"#,
            "domain ctrl01: 'vcpus' is required",
        ),
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: 16384, vcpus: 4, memory: 3}"#,
            "domain ctrl01: unknown option 'memory'",
        ),
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: 16384, vcpus: 4, nics: [#{network: "default", mac: "zz"}]}"#,
            "domain ctrl01: nics[0]: 'mac' \"zz\"",
        ),
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: 16384, vcpus: 4, images_dir: "/srv/lab", disks: [#{path: "/etc/passwd"}]}"#,
            "outside the lab's image folder /srv/lab",
        ),
        (
            r#"#{lab: "lab", name: "ctrl01", memory_mib: 16384, vcpus: 4, nics: ["provisoning"]}"#,
            "domain ctrl01 nics[0]: no network \"provisoning\" at test:///default",
        ),
    ] {
        let f = script(
            &lab,
            &format!("virt::domain_ensure(URI, {spec});\nprint(virt::domain_list(URI).len());"),
        );
        lab.run_file(&f).code(1).stderr_has(want);
    }
    let f = script(
        &lab,
        r#"
let a = #{lab: "lab", name: "a", memory_mib: 256, vcpus: 1, nics: [#{network: "default", mac: "52:54:00:00:00:01"}]};
let b = #{lab: "lab", name: "b", memory_mib: 256, vcpus: 1, nics: [#{network: "default", mac: "52:54:00:00:00:01"}]};
try { virt::domains_ensure(URI, [a, b]); } catch (e) { print(e); }
assert_eq(virt::domain_list(URI).len(), 1, "nothing created: only the driver's own domain");
try { virt::domains_ensure(URI, [a, a]); } catch (e) { print(e); }
"#,
    );
    lab.run_file(&f)
        .ok()
        .stdout_has("domain b nics[0]: MAC 52:54:00:00:00:01 is also used by a nics[0]")
        .stdout_has("domain a: the name is used twice");
}

#[test]
fn plan_mode_shows_the_domain_and_creates_nothing() {
    let lab = Lab::new();
    let f = script(
        &lab,
        r#"
virt::network_ensure(URI, #{lab: "lab", name: "provisioning", address: "172.16.0.254", netmask: "255.255.255.0"});
virt::domains_ensure(URI, [#{lab: "lab", name: "c1", memory_mib: 256, vcpus: 1, nics: ["provisioning"]},
                           #{lab: "lab", name: "c2", memory_mib: 256, vcpus: 1, nics: ["provisioning"]}]);
print(`domains: ${virt::domain_list(URI).len()} networks: ${virt::network_list(URI).len()}`);
"#,
    );
    let o = lab.run(["run", "--plan", "--json", f.to_str().unwrap()]);
    o.ok();
    let lines = o.json_lines();
    assert!(
        lines.iter().any(|l| l["text"] == "domains: 1 networks: 1"),
        "{}",
        o.stdout
    );
    let recap = lines.last().unwrap();
    // network define + start + autostart, and per domain define + autostart + start
    assert_eq!(recap["totals"]["planned"], 9, "{recap}");
}

#[test]
fn an_unreachable_uri_is_named() {
    let lab = Lab::new();
    lab.run([
        "-e",
        "virt::node_info(\"qemu:///system?socket=/nonexistent/sock\")",
    ])
    .code(1)
    .stderr_has("cannot connect to libvirt at qemu:///system?socket=/nonexistent/sock");
}
