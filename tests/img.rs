//! The img binding against the real qemu-img.

use crate::support::Lab;

#[test]
fn images_converge_and_are_never_overwritten() {
    let lab = Lab::new();
    let d = lab.work();
    let f = lab.file(
        "i.rhai",
        &format!(
            r#"
let d = "{d}";
assert(img::create(`${{d}}/base.qcow2`, "100M"), "created");
assert(!img::create(`${{d}}/base.qcow2`, "100M"), "second time: ok");
let i = img::info(`${{d}}/base.qcow2`);
assert_eq([i.format, i.virtual_size], ["qcow2", 104857600]);
assert(img::overlay(`${{d}}/vm1.qcow2`, `${{d}}/base.qcow2`));
assert(!img::overlay(`${{d}}/vm1.qcow2`, `${{d}}/base.qcow2`));
assert_eq(img::info(`${{d}}/vm1.qcow2`).backing, `${{d}}/base.qcow2`);
assert(img::resize(`${{d}}/vm1.qcow2`, "200M"));
assert(!img::resize(`${{d}}/vm1.qcow2`, "150M"), "never shrinks");
assert(img::convert(`${{d}}/base.qcow2`, `${{d}}/base.raw`, "raw"));
assert_eq(img::info(`${{d}}/base.raw`).format, "raw");
assert_eq(img::info(`${{d}}/missing.qcow2`), ());
let e = "";
try {{ img::create(`${{d}}/base.qcow2`, "200M", "raw"); }} catch (x) {{ e = x; }}
assert(e.contains("labsh does not overwrite it"), e);
"#,
            d = d.display()
        ),
    );
    let o = lab.run(["run", "--json", f.to_str().unwrap()]);
    o.ok();
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 4, "{recap}");
    assert_eq!(recap["totals"]["ok"], 3, "{recap}");
    // A client we did not write agrees.
    let out = std::process::Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(d.join("vm1.qcow2"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["virtual-size"], 209715200);
    assert_eq!(
        v["backing-filename"],
        d.join("base.qcow2").display().to_string()
    );
}

#[test]
fn sizes_without_a_unit_are_refused() {
    let lab = Lab::new();
    let p = lab.work().join("x.qcow2");
    for (size, want) in [
        ("100", "surely not meant"),
        ("\"100\"", "has no unit"),
        ("\"ten G\"", "is not a size"),
        ("#{}", "must be a string like"),
    ] {
        lab.run([
            "-e",
            &format!("img::create({:?}, {size})", p.display().to_string()),
        ])
        .code(1)
        .stderr_has(want);
    }
    assert!(!p.exists());
}

#[test]
fn base_images_are_cached_once_by_content_hash() {
    let lab = Lab::new();
    let d = lab.work();
    std::fs::write(d.join("a.img"), b"same content").unwrap();
    std::fs::write(d.join("b.img"), b"same content").unwrap();
    let f = lab.file(
        "c.rhai",
        &format!(
            r#"
let cache = "{d}/cache";
let a = img::cache_base("{d}/a.img", cache);
let b = img::cache_base("{d}/b.img", cache);
assert_eq(a, b, "same content, one cached copy");
print(a);
"#,
            d = d.display()
        ),
    );
    let o = lab.run(["run", "--json", f.to_str().unwrap()]);
    o.ok();
    let lines = o.json_lines();
    let recap = lines.last().unwrap();
    assert_eq!(recap["totals"]["changed"], 1);
    assert_eq!(recap["totals"]["ok"], 1);
    let cached: Vec<_> = std::fs::read_dir(d.join("cache")).unwrap().collect();
    assert_eq!(cached.len(), 1);
    // sha256("same content")
    let name = lines.iter().find(|l| l["event"] == "print").unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        name.ends_with(
            "/cache/a636bd7cd42060a4d07fa1bfbcc010eb7794c2ba721e1e3e4c20335a15b66eaf.img"
        ),
        "{name}"
    );
}

#[test]
fn a_base_image_from_a_url_is_downloaded_once() {
    let lab = Lab::new();
    let site = lab.work().join("site");
    std::fs::create_dir_all(&site).unwrap();
    let src = site.join("guest.qcow2");
    crate::support::qcow2(&src, "16M");
    // A web server of the test's own, on 127.0.0.1.
    let port = crate::support::ports::free_port(28000);
    let mut server = std::process::Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(&site)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let cache = lab.work().join("cache");
    let f = lab.file(
        "u.rhai",
        &format!(
            r#"
let url = "http://127.0.0.1:{port}/guest.qcow2?mirror=1";
let p = img::cache_base(url, "{cache}");
assert(p.ends_with(".qcow2"), p);
assert_eq(img::cache_base(url, "{cache}"), p);
assert_eq(img::info(p).virtual_size, 16777216);
let e = "";
try {{ img::cache_base("http://127.0.0.1:{port}/missing.qcow2", "{cache}"); }} catch (x) {{ e = x; }}
assert(e.contains("missing.qcow2"), e);
print(p);
"#,
            cache = cache.display()
        ),
    );
    let o = lab.run(["run", "--json", f.to_str().unwrap()]);
    let _ = server.kill();
    let _ = server.wait();
    o.ok();
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 1, "downloaded once: {recap}");
    // Named by the content's sha256, as sha256sum computes it; nothing of the failed download left.
    let sum = std::process::Command::new("sha256sum")
        .arg(&src)
        .output()
        .unwrap();
    let sum = String::from_utf8_lossy(&sum.stdout);
    let hash = sum.split_whitespace().next().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [format!("{hash}.qcow2"), "sources.txt".to_string()]);
}
