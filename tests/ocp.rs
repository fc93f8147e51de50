//! The installer run and the tools: a stand-in `openshift-install` (a script that prints the
//! article's log lines; no OpenShift can be installed on this machine) shows that progress is
//! followed, the log kept, a converged cluster left alone and an expired wait diagnosed; tools
//! are fetched from a local mirror with their checksum checked.

use crate::support::{spawn_and_read_line, Lab};
use std::path::Path;
use std::process::{Command, Stdio};

const LOG: &str = r#"DEBUG OpenShift Installer v4.2.4
DEBUG Built from commit 425e4ff0037487e32571258640b39f56d5ee5572
DEBUG Fetching "Terraform Variables"...
DEBUG Still waiting for the cluster to initialize: Working towards 4.2.4: 98% complete
DEBUG Still waiting for the cluster to initialize: Working towards 4.2.4: 99% complete
DEBUG Cluster is initialized
INFO Waiting up to 10m0s for the openshift-console route to be created...
DEBUG Route found in openshift-console namespace: console
INFO Install complete!
INFO To access the cluster as the system:admin user when using 'oc', run 'export KUBECONFIG=/home/stack/osd-ocp-demo/auth/kubeconfig'
INFO Access the OpenShift web-console here: https://console-openshift-console.apps.ocp4.osd2019.local"#;

fn installer(lab: &Lab, name: &str, body: &str) -> std::path::PathBuf {
    let p = lab.file(name, &format!("#!/bin/sh\n{body}\n"));
    let mut perm = std::fs::metadata(&p).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&p, perm).unwrap();
    p
}

/// The folder work/ocp and the call that installs into it with the installer `inst` and the
/// further `options` of ocp::install's map.
fn install_call(lab: &Lab, inst: &Path, options: &str) -> (std::path::PathBuf, String) {
    let dir = lab.work().join("ocp");
    let call = format!(
        "ocp::install(\"{}\", #{{installer: \"{}\", {options}}})",
        dir.display(),
        inst.display()
    );
    (dir, call)
}

#[test]
fn the_installer_run_follows_progress_keeps_its_log_and_converges() {
    let lab = Lab::new();
    let lines: String = LOG
        .lines()
        .map(|l| format!("echo '{}' >&2; sleep 0.05\n", l.replace('\'', "'\\''")))
        .collect();
    let inst = installer(
        &lab,
        "openshift-install",
        &format!("[ \"$1 $2\" = \"create cluster\" ] || exit 9\ndir=\"$4\"\n{lines}mkdir -p \"$dir/auth\"\necho kubeconfig > \"$dir/auth/kubeconfig\"\necho \"$OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE\" > \"$dir/release-image\"\necho '{{\"infraID\":\"ocp4-ll4qz\"}}' > \"$dir/metadata.json\"\n"),
    );
    let (dir, call) = install_call(
        &lab,
        &inst,
        "timeout: 60, release_image: \"registry.lab:5000/ocp4/openshift4:4.2.4\"",
    );
    let f = lab.file(
        "install.rhai",
        &format!("let r = {call};\nprint(`changed: ${{r.changed}}`);"),
    );
    let o = lab.run_file(&f);
    o.ok()
        .stderr_has("progress 4.2.4: 98% complete")
        .stderr_has("progress 4.2.4: 99% complete")
        .stderr_has("INFO Install complete!")
        .stdout_has("changed: true");
    let log = std::fs::read_to_string(dir.join("labsh-install.log")).unwrap();
    assert!(log.contains("Working towards 4.2.4: 99% complete"));
    // A disconnected install: the installer was told the release in the mirror.
    assert_eq!(
        std::fs::read_to_string(dir.join("release-image")).unwrap(),
        "registry.lab:5000/ocp4/openshift4:4.2.4\n"
    );
    // Installed: a second run leaves it alone.
    lab.run_file(&f).ok().stdout_has("changed: false");
}

#[test]
fn an_install_stopped_with_sigterm_ends_the_run_even_inside_a_try() {
    let lab = Lab::new();
    let started = lab.work().join("started");
    let inst = installer(
        &lab,
        "openshift-install",
        &format!("touch {}\nexec sleep 60", started.display()),
    );
    let (_, call) = install_call(&lab, &inst, "timeout: 120");
    let f = lab.file(
        "install.rhai",
        &format!(
            "try {{ {call}; }} catch (e) {{ print(`caught: ${{e}}`); }}\nprint(\"went on\");\n"
        ),
    );
    let mut c = lab.labsh().args(["run", f.to_str().unwrap()]).command();
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !started.exists() && t0.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(started.exists(), "the installer did not start");
    // SIGTERM, as a service manager or a CI runner stops a run.
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let o = child.wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(143), "{out}{err}");
    assert!(!out.contains("caught") && !out.contains("went on"), "{out}");
}

#[test]
fn an_expired_wait_is_diagnosed_with_the_last_progress_and_the_log() {
    let lab = Lab::new();
    let inst = installer(
        &lab,
        "openshift-install",
        "echo 'DEBUG Still waiting for the cluster to initialize: Working towards 4.2.4: 42% complete' >&2\necho 'level=error msg=\"Cluster operator authentication Degraded\"' >&2\nsleep 60",
    );
    let (_, call) = install_call(&lab, &inst, "timeout: 2");
    let f = lab.file("install.rhai", &format!("{call};"));
    lab.run_file(&f)
        .code(1)
        .stderr_has("openshift-install did not finish in 2.0s")
        .stderr_has("last progress: 4.2.4 42%")
        .stderr_has("Cluster operator authentication Degraded")
        .stderr_has("labsh-install.log")
        .stderr_has("gather bootstrap");
}

#[test]
fn tools_come_from_a_mirror_only_with_the_right_checksum() {
    let lab = Lab::new();
    let mirror = lab.work().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let src = lab.work().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("openshift-install"), "#!/bin/sh\necho 4.2.4\n").unwrap();
    let tar = mirror.join("openshift-install-linux-4.2.4.tar.gz");
    assert!(Command::new("tar")
        .arg("-czf")
        .arg(&tar)
        .arg("-C")
        .arg(&src)
        .arg("openshift-install")
        .status()
        .unwrap()
        .success());
    let sum =
        String::from_utf8(Command::new("sha256sum").arg(&tar).output().unwrap().stdout).unwrap();
    let sum = sum.split_whitespace().next().unwrap().to_string();
    let (mut server, port) = spawn_and_read_line(
        Command::new("python3")
            .args(["-u", "-c", "import http.server,functools,sys; h=functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1]); s=http.server.ThreadingHTTPServer(('127.0.0.1', 0), h); print(s.server_address[1], flush=True); s.serve_forever()"])
            .arg(&mirror)
            .stderr(Stdio::null()),
    );
    let url = format!("http://127.0.0.1:{}", port.trim());
    let bin = lab.work().join("bin");
    let script = |sha: &str| {
        format!(
            "let p = ocp::tool(\"openshift-install\", #{{dir: \"{}\", mirror: \"{url}\", archive: \"openshift-install-linux-4.2.4.tar.gz\", sha256: \"{sha}\"}});\nprint(p);",
            bin.display()
        )
    };
    let bad = lab.file("bad.rhai", &script(&"0".repeat(64)));
    lab.run_file(&bad).code(1).stderr_has("is not the expected");
    assert!(!bin.join("openshift-install").exists(), "nothing installed");
    let good = lab.file("good.rhai", &script(&sum));
    lab.run_file(&good).ok();
    assert!(Path::new(&bin.join("openshift-install")).is_file());
    // Found there now: no download.
    lab.run_file(&good)
        .ok()
        .stdout_has(&bin.join("openshift-install").display().to_string());
    let _ = server.kill();
    let _ = server.wait();
}

/// install-config.yaml as the lab writes it for every release labsh writes for (4.2 to the
/// newest), for the seed lab and for profiles/current.rhai, checked field by field against that
/// release's schema: the fixture tests/data/ocp/installer-schema.json, read off the installer's
/// types at each release's commit. No field the release does not define, and no field it
/// deprecates: each is written as the release converts it (machineCIDR as machineNetwork,
/// lbFloatingIP as apiFloatingIP, computeFlavor as defaultMachinePlatform.type), but on the
/// article's own release, whose file is the article's.
#[test]
fn every_release_gets_only_the_fields_its_installer_defines() {
    let lab = Lab::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let current = root.join("profiles/current.rhai");
    let f = lab.file(
        "configs.rhai",
        &format!(
            r#"import "seed" as seed;
import "openshift" as openshift;
import "util" as util;
let out = #{{}};
let cur = load_variant("{}", []).overrides;
for v in ocp::releases() {{
    let r = ocp::release(v);
    let s = seed::profile();
    s.ocp.version = v;
    // The seed's OpenShiftSDN is refused from 4.15.
    if r.refused_network_types.contains("OpenShiftSDN") {{ s.ocp.network_type = "OVNKubernetes"; }}
    let c = util::merge(seed::profile(), cur);
    c.ocp.version = v;
    for pair in [["seed", s], ["current", c]] {{
        let cfg = openshift::install_config(pair[1], "ssh-ed25519 AAAAC3Nza test", "{{}}");
        openshift::check(pair[1], cfg);
        out[`${{pair[0]}} ${{v}}`] = cfg;
    }}
}}
print(#{{ releases: ocp::releases(), configs: out }}.to_json());
"#,
            current.display()
        ),
    );
    let o = lab.run_file(&f);
    o.ok();
    let got: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    let configs = &got["configs"];
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/data/ocp/installer-schema.json")).unwrap(),
    )
    .unwrap();
    // Every release of the fixture is written for, and the newest ones are among them.
    let releases: Vec<&str> = got["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut in_fixture: Vec<&str> = fixture["releases"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut ours = releases.clone();
    ours.sort();
    in_fixture.sort();
    assert_eq!(ours, in_fixture);
    assert!(releases.contains(&"4.21") && releases.contains(&"4.22"));
    let keys = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|v| v.as_object())
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut checked = 0;
    for (name, cfg) in configs.as_object().unwrap() {
        let (_, v) = name.split_once(' ').unwrap();
        let schema = &fixture["releases"][v];
        let has =
            |section: &str, k: &str| schema[section].as_array().unwrap().iter().any(|x| x == k);
        let deprecated = |section: &str, k: &str| {
            schema["deprecated"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == &format!("{section}.{k}"))
        };
        let (major, minor) = v.split_once('.').unwrap();
        let (major, minor): (u32, u32) = (major.parse().unwrap(), minor.parse().unwrap());
        // The release is 4.m or later.
        let from = |m: u32| major > 4 || minor >= m;
        // The article's own release keeps its file's fields: the two no release defines; and to
        // 4.5 the release reads octaviaSupport, trunkSupport and region though its types call
        // region deprecated.
        let article = v == "4.2";
        let extra = |k: &str| article && (k == "clusterID" || k == "type");
        let read = |k: &str| !from(6) && ["octaviaSupport", "trunkSupport", "region"].contains(&k);
        let mut walk = |section: &str, at: &str, obj: Option<&serde_json::Value>| {
            for k in keys(obj) {
                assert!(
                    has(section, &k) || extra(&k),
                    "{name}: {at}{k} is not a field of OpenShift {v} (installer commit {})",
                    schema["commit"]
                );
                assert!(
                    article || read(&k) || !deprecated(section, &k),
                    "{name}: {at}{k} is deprecated in OpenShift {v}"
                );
                checked += 1;
            }
        };
        walk("top_level", "", Some(cfg));
        walk("networking", "networking.", cfg.get("networking"));
        walk("machine_pool", "controlPlane.", cfg.get("controlPlane"));
        for pool in cfg["compute"].as_array().unwrap() {
            walk("machine_pool", "compute[].", Some(pool));
        }
        let osp = &cfg["platform"]["openstack"];
        walk("openstack_platform", "platform.openstack.", Some(osp));
        walk(
            "openstack_machine_pool",
            "platform.openstack.defaultMachinePlatform.",
            osp.get("defaultMachinePlatform"),
        );
        // What each release takes for what the lab needs, by name.
        let net = &cfg["networking"];
        assert_eq!(net.get("machineCIDR").is_some(), !from(3), "{name}");
        assert_eq!(net.get("machineNetwork").is_some(), from(3), "{name}");
        assert_eq!(osp.get("lbFloatingIP").is_some(), !from(7), "{name}");
        assert_eq!(osp.get("apiFloatingIP").is_some(), from(7), "{name}");
        assert_eq!(osp.get("ingressFloatingIP").is_some(), from(6), "{name}");
        assert_eq!(osp.get("computeFlavor").is_some(), !from(7), "{name}");
        assert_eq!(
            osp.get("defaultMachinePlatform").is_some(),
            from(7),
            "{name}"
        );
        assert_eq!(osp.get("octaviaSupport").is_some(), !from(6), "{name}");
        assert_eq!(cfg.get("clusterID").is_some(), article, "{name}");
    }
    assert_eq!(configs.as_object().unwrap().len(), 2 * releases.len());
    assert!(checked > 2 * releases.len() * 15, "{checked}");
}

/// The Markdown `labsh -e CALL` prints is what docs/guide.md holds between CALL's markers.
fn guide_holds(call: &str) {
    let lab = Lab::new();
    let o = lab.run(["-e", call]);
    o.ok();
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/guide.md"))
            .unwrap();
    let begin = format!("<!-- BEGIN {call} -->\n");
    let end = format!("<!-- END {call} -->");
    let i = guide
        .find(&begin)
        .unwrap_or_else(|| panic!("docs/guide.md has the markers of {call}"))
        + begin.len();
    let j = guide[i..].find(&end).unwrap() + i;
    assert_eq!(
        guide[i..j].trim(),
        o.stdout.trim(),
        "docs/guide.md's table is stale: replace it with `labsh -e '{call}'`"
    );
}

/// docs/guide.md's table of what changes by release is the one the rules print, with every
/// release.
#[test]
fn the_guides_release_table_is_the_rules_own() {
    guide_holds("ocp::release_table()");
    guide_holds("ocp::support_table()");
}

/// `labsh doc releases` shows the releases, the support matrix with what "documented" means and
/// the source of each fact; the overview names the topic.
#[test]
fn the_reference_shows_the_releases_and_the_support_matrix() {
    let lab = Lab::new();
    lab.run(["doc", "releases"])
        .ok()
        .stdout_has("| 4.22 | OSP 17.1, RHOSO 18.0 |")
        .stdout_has("| 4.9 | OSP 16.1, OSP 16.2 |")
        .stdout_has("5.0   not written for")
        .stdout_has("An OpenStack release is documented for an OpenShift release when")
        .stdout_has("credentials_modes\n    4.2 ")
        .stdout_has("| 4.21 | `machineNetwork`");
    lab.run(["doc"])
        .ok()
        .stdout_has("releases     OpenShift releases");
}
