//! virt-customize, virt-resize, virt-filesystems and virt-inspector on a tiny busybox guest
//! image (libguestfs under software emulation). Slow (20-90 s each), so only these few.

use crate::support::{run_ok, Lab};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The busybox image, with `os` (a libosinfo id, "rhel9.4") in its /etc/os-release when given,
/// built once (tests/harness/busybox-image.sh).
fn built_image(os: Option<&str>) -> PathBuf {
    let cache = std::env::var_os("LABSH_GUESTFS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::support::cache("guestfs"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness/busybox-image.sh");
    // Two tests may ask at once: one builds, in a folder of its own, then renames.
    let mut cmd = Command::new("flock");
    cmd.arg(cache.with_extension("lock"))
        .arg("bash")
        .arg(&script)
        .arg(&cache);
    cmd.args(os);
    let out = run_ok(&mut cmd, "busybox image");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The busybox image, copied for a test as `name`.
fn guest_image(lab: &Lab, name: &str) -> PathBuf {
    let dst = lab.work().join(name);
    std::fs::copy(built_image(None), &dst).unwrap();
    dst
}

fn virt_cat(image: &Path, file: &str) -> String {
    let mut c = Command::new("virt-cat");
    c.args(["-a"])
        .arg(image)
        .arg(file)
        .env("LIBGUESTFS_BACKEND", "direct");
    if !(Path::new("/sys/module/kvm_intel").exists() || Path::new("/sys/module/kvm_amd").exists()) {
        c.env("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg");
    }
    let out = run_ok(&mut c, format!("virt-cat {file}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn virt_customize_sets_the_password_injects_the_key_and_runs_commands_once() {
    let lab = Lab::new();
    let image = guest_image(&lab, "undercloud.qcow2");
    let key = lab.file(
        "id_rsa.pub",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIlabshtestkey test@labsh\n",
    );
    let f = lab.file(
        "c.rhai",
        &format!(
            r#"
let pw = secret("guest-root", #{{generate: true}});
let done = img::customize("{image}", #{{root_password: pw, ssh_inject: ["root:file:{key}"],
    selinux_relabel: true, run: ["echo configured > /etc/labsh-marker"],
    write: #{{"/etc/sysconfig-eth1": "DEVICE=eth1\nONBOOT=yes\nIPADDR=192.168.122.253\n"}}}});
print(`first: ${{done}}`);
"#,
            image = image.display(),
            key = key.display()
        ),
    );
    lab.run_file(&f).ok().stdout_has("first: true");
    // The same again: already done.
    let o = lab.run(["run", "--json", f.to_str().unwrap()]);
    o.ok();
    assert_eq!(o.json_lines().pop().unwrap()["totals"]["changed"], 0);
    // Read back with a tool we did not write.
    let shadow = virt_cat(&image, "/etc/shadow");
    assert!(
        shadow.starts_with("root:$6$"),
        "a sha512 password hash: {shadow}"
    );
    // The hash is of the generated password, whole: virt-customize read it from its file.
    let secrets = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let pw = secrets
        .lines()
        .find_map(|l| l.strip_prefix("guest-root="))
        .unwrap();
    let hash = shadow.lines().next().unwrap().split(':').nth(1).unwrap();
    let mut py = Command::new("python3")
        .args(["-W", "ignore", "-c"])
        .arg("import crypt, sys; print(crypt.crypt(sys.stdin.read(), sys.argv[1]))")
        .arg(hash)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    py.stdin.take().unwrap().write_all(pw.as_bytes()).unwrap();
    let out = py.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), hash);
    assert!(virt_cat(&image, "/root/.ssh/authorized_keys").contains("labshtestkey"));
    assert_eq!(virt_cat(&image, "/etc/labsh-marker").trim(), "configured");
    assert!(virt_cat(&image, "/etc/sysconfig-eth1").contains("IPADDR=192.168.122.253"));
}

#[test]
fn virt_resize_expands_the_partition_into_a_bigger_image() {
    let lab = Lab::new();
    let image = guest_image(&lab, "small.qcow2");
    let big = lab.work().join("big.qcow2");
    let f = lab.file(
        "r.rhai",
        &format!(
            r#"
assert(img::virt_resize("{image}", "{big}", "512M", "/dev/sda1"));
assert(!img::virt_resize("{image}", "{big}", "512M", "/dev/sda1"), "second time: ok");
let fs = img::filesystems("{big}");
let part = fs.filter(|r| r.Name == "/dev/sda1" && r.Type == "partition")[0];
print(`size ${{part.Size}}`);
assert(parse_int(part.Size) > 500000000, part.Size);
"#,
            image = image.display(),
            big = big.display()
        ),
    );
    lab.run_file(&f).ok().stdout_has("size ");
    let out = Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(&big)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["virtual-size"], 536870912);
}

#[test]
fn an_images_guest_is_read_by_inspection_once_and_refused_for_another_release() {
    let lab = Lab::new();
    // A RHEL 9.4 guest under a name that says nothing: only the image itself tells.
    let built = built_image(Some("rhel9.4"));
    let image = lab.work().join("guest.qcow2");
    std::fs::copy(&built, &image).unwrap();
    let f = lab.file(
        "inspect.rhai",
        &format!(
            "let g = img::inspect(\"{}\");\nprint(`guest ${{g.os}} ${{g.name}} el ${{g.el}}`);\n",
            image.display()
        ),
    );
    lab.run_file(&f)
        .ok()
        .stdout_has("guest rhel9.4 RHEL 9.4 el 9");
    // Kept by the image's content in the state folder, private: read again with no
    // virt-inspector to be found.
    let kept: Vec<PathBuf> = std::fs::read_dir(lab.state().join("image-guests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&kept[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    lab.labsh()
        .args(["run", f.to_str().unwrap()])
        .env("PATH", "/nonexistent")
        .run()
        .ok()
        .stdout_has("guest rhel9.4 RHEL 9.4 el 9");

    // OSP 13 runs RHEL 7: preflight refuses the image, saying what it read and from where.
    let with = |name: &str, text: &str| {
        let v = lab.file(&format!("profiles/{name}.rhai"), text);
        lab.run_script("lab.rhai")
            .args(["--only", "preflight", "--profile", v.to_str().unwrap()])
            .run()
    };
    let o = with(
        "v13",
        &format!(
            "fn overrides() {{ #{{ base_image: #{{ name: \"guest.qcow2\", source: \"{}\" }} }} }}\n",
            image.display()
        ),
    );
    o.code(1).stdout_has(&format!(
        "base_image.source: {} is RHEL 9.4 (by libguestfs inspection), not RHEL 7, the guest of OSP 13 (Queens) (overcloud.release \"13\")",
        image.display()
    ));
    // OSP 17.1 takes it.
    let o = with(
        "v17",
        &format!(
            "fn overrides() {{ #{{ base_image: #{{ name: \"rhel9-guest.qcow2\", source: \"{}\" }}, overcloud: #{{ release: \"17.1\", registry_user: \"u\" }} }} }}\n",
            image.display()
        ),
    );
    o.ok().stdout_has(&format!(
        "base_image.source {} holds RHEL 9.4 (libguestfs inspection): RHEL 9, the guest of OSP 17.1 (Wallaby)",
        image.display()
    ));

    // The same image under Red Hat's RHEL 7 name contradicts it: l1 alone refuses it before it
    // copies or grows anything.
    let named = lab
        .work()
        .join("rhel-server-7.9-update-12-x86_64-kvm.qcow2");
    std::fs::copy(&built, &named).unwrap();
    let v = lab.file(
        "profiles/named.rhai",
        &format!(
            "fn overrides() {{ #{{ base_image: #{{ source: \"{}\" }} }} }}\n",
            named.display()
        ),
    );
    let o = lab
        .run_script("lab.rhai")
        .args(["--only", "l1", "--profile", v.to_str().unwrap()])
        .run();
    o.code(1).stderr_has(&format!(
        "base_image.source: {} is RHEL 9.4 (by libguestfs inspection) but RHEL 7.9 (by its file name): the two contradict each other",
        named.display()
    ));
    let images = lab.state().join("sandbox/lab/images");
    assert!(!images.join("rhel7-guest.qcow2").exists(), "no base image");
    assert!(!images.join("cache").exists(), "nothing cached");
}
