//! `labsh ssh NODE [-- COMMAND]`: the director at its address and an overcloud node through it as
//! a jump host, as the release's user, for both releases. The director is the stand-in
//! (tests/harness/director.sh: an sshd on 127.0.0.1 in a mount namespace); the node is a second
//! one, with only the release's user on it, which the director's own ssh reaches at the node's
//! ctlplane address (its ~/.ssh/config sends that address to the node's port on 127.0.0.1).
//! A name the lab does not have, and a director the target only stands in for, are refused
//! with nothing changed.

use crate::director::Director;
use crate::repl::Term;
use crate::support::{bin, run_ok, Lab};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The node's ctlplane address as the director lists it.
const CTLPLANE_IP: &str = "172.16.0.21";

/// Runs `line` as root on a stand-in (director.sh authorises its client key for root).
pub(crate) fn as_root(d: &Director, line: &str) -> String {
    let out = run_ok(
        Command::new("ssh")
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-i",
            ])
            .arg(d.path("clientkey"))
            .args(["-p", &d.port.to_string(), "root@127.0.0.1", "--", line]),
        format!("as root on the stand-in: {line}"),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The test's lab on `release`: its profile file.
fn profile(lab: &Lab, release: &str) -> PathBuf {
    let more = if release == "13" {
        ""
    } else {
        r#", registry_user: "123|lab""#
    };
    let image = if release == "13" {
        ""
    } else {
        r#", base_image: #{ name: "rhel9-guest.qcow2" }"#
    };
    lab.file(
        "profiles/ssh-test.rhai",
        &format!(
            "fn overrides() {{\n    #{{ name: \"sshtest\", overcloud: #{{ release: \"{release}\"{more} }}{image} }}\n}}\n"
        ),
    )
}

/// A director whose stack user reaches the node `node` (a second stand-in) at the ctlplane
/// address with the director's own key, as the release's user; the director lists the node
/// overcloud-controller-0 at that address as the release does.
fn director_and_node(release: &str, user: &str) -> (Director, Director) {
    let director = Director::start(release);
    let node = Director::start(release);
    let mut setup = format!(
        "set -e\n\
         id stack >/dev/null 2>&1 || useradd -m -s /bin/sh stack\n\
         install -d -m 0700 -o stack -g stack /home/stack/.ssh\n\
         install -m 0600 -o stack -g stack /root/.ssh/authorized_keys /home/stack/.ssh/authorized_keys\n\
         [ -f /home/stack/.ssh/id_ed25519 ] || su -s /bin/sh stack -c \"ssh-keygen -q -t ed25519 -N '' -f /home/stack/.ssh/id_ed25519\"\n\
         printf 'Host {CTLPLANE_IP}\\n  HostName 127.0.0.1\\n  Port {}\\n  StrictHostKeyChecking no\\n  UserKnownHostsFile /dev/null\\n  LogLevel ERROR\\n' > /home/stack/.ssh/config\n\
         chown stack:stack /home/stack/.ssh/config && chmod 0600 /home/stack/.ssh/config\n\
         su -s /bin/sh stack -c 'touch /home/stack/stackrc'\n",
        node.port
    );
    if release != "13" {
        // tripleo-common 15.4.0 tripleo_common/inventory.py: a group per role, each host's
        // ansible_host and ctlplane_ip.
        setup.push_str(&format!(
            "su -s /bin/sh stack -c 'mkdir -p /home/stack/overcloud-deploy/overcloud && printf \"Undercloud:\\n  hosts:\\n    undercloud: {{}}\\nController:\\n  hosts:\\n    overcloud-controller-0:\\n      ansible_host: {CTLPLANE_IP}\\n      ctlplane_ip: {CTLPLANE_IP}\\n\" > /home/stack/overcloud-deploy/overcloud/tripleo-ansible-inventory.yaml'\n"
        ));
    }
    setup.push_str("cat /home/stack/.ssh/id_ed25519.pub\n");
    let key = as_root(&director, &setup);
    assert!(key.starts_with("ssh-ed25519 "), "{key}");
    // The director's record of its overcloud (OSP 13's Nova lists it; its ssh reaches it).
    std::fs::write(
        director.path("state.json"),
        format!(
            r#"{{"servers": [{{"name": "overcloud-controller-0", "role": "Controller", "ip": "{CTLPLANE_IP}", "sshd": true}}]}}"#
        ),
    )
    .unwrap();
    // The node has the release's user only, which the director's key reaches.
    as_root(
        &node,
        &format!(
            "set -e\nuseradd -m -s /bin/sh {user}\ninstall -d -m 0700 -o {user} /home/{user}/.ssh\n\
             echo '{}' > /home/{user}/.ssh/authorized_keys\nchown {user} /home/{user}/.ssh/authorized_keys\n\
             echo overcloud-controller-0 > /home/{user}/where && chown {user} /home/{user}/where\n",
            key.trim()
        ),
    );
    (director, node)
}

fn labsh_ssh(
    lab: &Lab,
    director: &Director,
    profile: &std::path::Path,
    node: &str,
    cmd: &[&str],
) -> crate::support::Out {
    let target = director.target(lab);
    let mut args: Vec<String> = vec![
        "ssh".into(),
        node.into(),
        "--target".into(),
        target.display().to_string(),
        "--profile".into(),
        profile.display().to_string(),
    ];
    if !cmd.is_empty() {
        args.push("--".into());
        args.extend(cmd.iter().map(|s| s.to_string()));
    }
    lab.labsh().args(args).run()
}

fn ssh_reaches_the_director_and_a_node_through_it(release: &str, user: &str) {
    let (director, _node) = director_and_node(release, user);
    let lab = Lab::new();
    let profile = profile(&lab, release);

    // The director: a command's output and exit code passed through, its errors on stderr.
    let hostname = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    let out = labsh_ssh(&lab, &director, &profile, "undercloud", &["hostname"]);
    out.ok();
    assert_eq!(out.stdout, hostname, "{}", out.stderr);
    let out = labsh_ssh(
        &lab,
        &director,
        &profile,
        "undercloud",
        &[
            "echo", "out;", "echo", "err", ">&2;", "id", "-un;", "exit", "3",
        ],
    );
    out.code(3);
    assert_eq!(out.stdout, "out\nstack\n");
    assert!(out.stderr.contains("err"), "{}", out.stderr);

    // The node, through the director, as the release's user.
    let out = labsh_ssh(
        &lab,
        &director,
        &profile,
        "overcloud-controller-0",
        &["echo", "\"$(id -un) on $(cat where)\";", "exit", "7"],
    );
    out.code(7);
    assert_eq!(out.stdout, format!("{user} on overcloud-controller-0\n"));

    // A login shell on the node, in a terminal.
    let target = director.target(&lab);
    let argv = [
        bin().display().to_string(),
        "ssh".into(),
        "overcloud-controller-0".into(),
        "--target".into(),
        target.display().to_string(),
        "--profile".into(),
        profile.display().to_string(),
    ];
    let shell = format!(
        "{}; echo \"labsh exited $?\"; sleep 60",
        argv.iter()
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let t = Term::command(&lab, &[], &["sh".into(), "-c".into(), shell]);
    t.wait_for_in(
        &format!(
            "ssh {user}@{CTLPLANE_IP} via stack@127.0.0.1:{}",
            director.port
        ),
        Duration::from_secs(30),
    );
    std::thread::sleep(Duration::from_millis(1500));
    t.line("tty; echo \"shell of $(id -un)\"");
    let s = t.wait_for_in(&format!("shell of {user}"), Duration::from_secs(30));
    assert!(
        s.contains("/dev/pts/"),
        "the login shell has no terminal:\n{s}"
    );
    t.line("exit 5");
    t.wait_for_in("labsh exited 5", Duration::from_secs(30));

    // A host name the deploy has not given: the director lists what it has.
    labsh_ssh(
        &lab,
        &director,
        &profile,
        "overcloud-controller-2",
        &["true"],
    )
    .code(1)
    .stderr_has(
        "overcloud-controller-2 is not deployed: the director lists overcloud-controller-0",
    );
    lab.assert_no_canary_in_files();
}

#[test]
fn osp13_ssh_reaches_the_director_and_a_node_through_it_as_heat_admin() {
    // tripleoclient 9.3.1 v1/overcloud_deploy.py: --overcloud-ssh-user heat-admin.
    ssh_reaches_the_director_and_a_node_through_it("13", "heat-admin");
}

#[test]
fn osp17_1_ssh_reaches_the_director_and_a_node_through_it_as_tripleo_admin() {
    // tripleoclient 16.5.0 workflows/deployment.py: "Enabling ssh admin (tripleo-admin)".
    ssh_reaches_the_director_and_a_node_through_it("17.1", "tripleo-admin");
}

#[test]
fn sandbox_an_unknown_node_is_named_with_a_did_you_mean_and_nothing_changes() {
    let lab = Lab::new();
    let before = lab.state_files();
    lab.run(["ssh", "overcloud-controler-0", "--", "hostname"])
        .code(1)
        .stderr_has("the lab 'lab' has no node 'overcloud-controler-0' (did you mean 'overcloud-controller-0'?)")
        .stderr_has("its nodes: undercloud, overcloud-controller-0,");
    lab.run(["ssh", "undrcloud"])
        .code(1)
        .stderr_has("(did you mean 'undercloud'?)");
    // A name with quotes is a name, not Rhai.
    lab.run(["ssh", "a\"b\\c${x}"])
        .code(1)
        .stderr_has("has no node 'a\"b\\c${x}'");
    // A VM's name points to its console and to the host names.
    lab.run(["ssh", "overcloud-compute01"])
        .code(1)
        .stderr_has("overcloud-compute01 is a VM of the lab, not a host name of the overcloud")
        .stderr_has("labsh console overcloud-compute01");
    // The sandbox only stands in for the director: nothing is run.
    lab.run(["ssh", "undercloud", "--", "touch", "/tmp/never"])
        .code(1)
        .stderr_has("the target only stands in for the director (the sandbox has no undercloud, cloud or cluster); nothing was run");
    lab.run(["ssh", "overcloud-controller-0"])
        .code(1)
        .stderr_has("only stands in for the director");
    // Without `--`, a command is a usage error; so are a lab that does not exist and a --set
    // key the lab's resolution does not take.
    lab.run(["ssh", "undercloud", "hostname"]).code(2);
    lab.run(["ssh", "undercloud", "--target", "nosuch"])
        .code(2)
        .stderr_has("unknown target 'nosuch'");
    lab.run(["ssh", "undercloud", "--profile", "nosuch"])
        .code(2)
        .stderr_has("unknown profile 'nosuch'");
    lab.run(["ssh", "undercloud", "--set", "urii=x"])
        .code(2)
        .stderr_has("unknown --set key 'urii' (did you mean 'uri'?)");
    assert_eq!(lab.state_files(), before, "a refused ssh changed the state");
}

#[test]
fn an_openshift_node_is_named_with_its_address_and_how_to_reach_it() {
    let lab = Lab::new();
    // The cluster's API stands in (tests/harness/kubeapi.py serves the article's nodes); the
    // lab's folder in the target's out folder holds its kubeconfig where the installer writes it.
    let api = crate::oc::KubeApi::start(&lab);
    let out = lab.work().join("labout");
    std::fs::create_dir_all(out.join("lab/ocp/auth")).unwrap();
    std::fs::copy(&api.kubeconfig, out.join("lab/ocp/auth/kubeconfig")).unwrap();
    let target = lab.file(
        "ocp-target.yaml",
        &format!(
            "libvirt_uri: test:///default\nout: {}\nundercloud: {{host: 127.0.0.1, offline: true}}\n",
            out.display()
        ),
    );
    let target = target.display().to_string();
    let before = lab.state_files();
    lab.run(["ssh", "ocp4-4p5fd-master-0", "--target", &target])
        .code(1)
        .stderr_has("ocp4-4p5fd-master-0 is a node of the OpenShift cluster at 10.0.0.11 on the tenant's machine network")
        .stderr_has("its ssh user is core")
        .stderr_has("oc debug node/ocp4-4p5fd-master-0 -- chroot /host");
    // A name the cluster does not have either: the lab's names, as before.
    lab.run(["ssh", "ocp4-4p5fd-master-9", "--target", &target])
        .code(1)
        .stderr_has("the lab 'lab' has no node 'ocp4-4p5fd-master-9'");
    assert_eq!(lab.state_files(), before, "a refused ssh changed the state");
}

#[test]
fn a_stop_signal_to_labsh_ssh_ends_the_remote_command_with_it() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    use std::time::Instant;
    let (director, _node) = director_and_node("13", "heat-admin");
    let lab = Lab::new();
    let profile = profile(&lab, "13");
    let target = director.target(&lab);
    let mut child = lab
        .labsh()
        .args([
            "ssh",
            "undercloud",
            "--target",
            &target.display().to_string(),
            "--profile",
            &profile.display().to_string(),
            "--",
            "echo started; sleep 30; echo late",
        ])
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert_eq!(first, "started\n");
    // SIGTERM to labsh alone, as a service manager or CI stops it.
    let t0 = Instant::now();
    run_ok(
        Command::new("kill").args(["-TERM", &child.id().to_string()]),
        "kill -TERM labsh",
    );
    // The session ends with it: ssh is not left running (holding the output) until the remote
    // command ends by itself.
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the session outlived labsh's stop by {:?}",
        t0.elapsed()
    );
    assert!(!rest.contains("late"), "{rest}");
    // labsh stopped by SIGTERM: 128 + 15, as a run.
    assert_eq!(status.code(), Some(143), "{status:?}");
}
