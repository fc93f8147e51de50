//! Secrets never show: the canary is used every way a script can use a value, and the support
//! module fails the test if its value appears in any output or file.

use crate::support::{Lab, CANARY_VALUE};

#[test]
fn the_canary_never_appears_anywhere() {
    let lab = Lab::new();
    let f = lab.file(
        "leak.rhai",
        r#"
let c = secret("canary");
print(c);
debug(c);
print(`interpolated ${c}`);
print("concatenated " + c);
print(#{nested: [c]});
stage("uses", || {
    // The program sees the real value and prints it: labsh masks it in the stream and the result.
    let r = run(["sh", "-c", "echo \"$1\"; echo \"$1\" >&2", "sh", c]);
    print(r.stdout);
    run(["printenv", "VALUE"], #{env: #{VALUE: c}});
    let e = run(["sh", "-c", "echo \"failing with $1\" >&2; exit 2", "sh", c], #{check: false});
    print(e.stderr);
});
stage("fails", || {
    run(["sh", "-c", "echo \"$1\" >&2; exit 9", "sh", c]);
});
"#,
    );
    for extra in [vec![], vec!["--json"], vec!["--plan"], vec!["-vvv"]] {
        let mut args = vec!["run", f.to_str().unwrap()];
        args.extend(extra.iter().copied());
        let o = lab.run(&args);
        let all = format!("{}{}", o.stdout, o.stderr);
        assert!(all.contains("«secret canary»"), "{all}");
        assert!(!all.contains(CANARY_VALUE));
    }
    // The journals hold the mask too (the builder already checked they lack the value).
    let journals: String = lab
        .journals()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(journals.contains("«secret canary»"));
}

#[test]
fn missing_secrets_say_how_to_provide_them() {
    let lab = Lab::new();
    lab.run(["-e", "secret(\"db-password\")"])
        .code(1)
        .stderr_has("export LABSH_SECRET_DB_PASSWORD=")
        .stderr_has("#{generate: true}");
    lab.run(["-e", "secret(\"x\", #{genrate: true})"])
        .code(1)
        .stderr_has("did you mean 'generate'");
    lab.labsh()
        .args(["-e", "secret(\"short\")"])
        .env("LABSH_SECRET_SHORT", "ab")
        .run()
        .code(1)
        .stderr_has("shorter than 4");
}

#[test]
fn secrets_come_from_env_then_file_then_generation() {
    let lab = Lab::new();
    std::fs::write(lab.state().join("secrets"), "from-file=value-in-the-file\n").unwrap();
    // The mask is all a script can see; compare lengths through a binding that reads the value.
    let o = lab.run(["-e", "run([\"sh\", \"-c\", \"printf %s \\\"$1\\\" | wc -c\", \"sh\", secret(\"from-file\")], #{quiet: true}).stdout"]);
    o.ok();
    assert_eq!(o.stdout.trim(), "17");
    let o = lab
        .labsh()
        .args(["-e", "run([\"sh\", \"-c\", \"printf %s \\\"$1\\\" | wc -c\", \"sh\", secret(\"from-file\")], #{quiet: true}).stdout"])
        .env("LABSH_SECRET_FROM_FILE", "env-wins")
        .run();
    assert_eq!(o.stdout.trim(), "8");
    lab.run(["-e", "secret(\"made\", #{generate: true, length: 40})"])
        .ok();
    let text = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let made = text.lines().find_map(|l| l.strip_prefix("made=")).unwrap();
    assert_eq!(made.len(), 40);
}

#[test]
fn a_secret_set_in_an_ini_file_is_written_for_real_shown_masked_and_the_file_made_private() {
    let lab = Lab::new();
    let ini = lab.work().join("service.conf");
    std::fs::write(&ini, "[DEFAULT]\n# keep\ndebug = false\n").unwrap();
    let f = lab.file(
        "ini.rhai",
        &format!(
            "files::ini_set(\"{p}\", \"keystone_authtoken\", \"password\", secret(\"canary\"));\nfiles::ini_set(\"{p}\", \"keystone_authtoken\", \"password\", secret(\"canary\"));",
            p = ini.display()
        ),
    );
    let o = lab.run(["run", "--json", f.to_str().unwrap()]);
    o.ok();
    assert!(o.stdout.contains("«secret canary»"), "{}", o.stdout);
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(
        recap["totals"]["changed"], 1,
        "the second set is ok: {recap}"
    );
    let text = std::fs::read_to_string(&ini).unwrap();
    assert!(text.contains(&format!("password = {}", crate::support::CANARY_VALUE)));
    assert!(text.starts_with("[DEFAULT]\n# keep\ndebug = false\n"));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&ini).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_plain_text_password_in_a_cloud_map_is_not_in_the_connection_it_gives() {
    let lab = Lab::new();
    // Nothing listens there: in a plan the cloud is offline, and its map is what connect keeps.
    // The password is plain text, not a secret labsh knows to mask.
    let closed = crate::support::ports::free_port(23000);
    let pw = "plain-pw-5d1e77";
    let f = lab.file(
        "plain.rhai",
        &format!(
            "let c = cloud::connect(#{{auth_url: \"http://127.0.0.1:{closed}/v3\", username: \"u\", password: \"{pw}\", project_name: \"p\"}});\nprint(`key ${{c.key}}`);\nprint(c);\nassert(c.offline);\n"
        ),
    );
    let o = lab.run(["run", f.to_str().unwrap(), "--plan", "--json"]);
    o.ok().stdout_has("key spec:");
    assert!(
        !o.stdout.contains(pw) && !o.stderr.contains(pw),
        "{}{}",
        o.stdout,
        o.stderr
    );
}
