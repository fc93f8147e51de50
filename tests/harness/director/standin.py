"""A stand-in for a TripleO director's tools, for labsh's tests: no director can run here (it is
a RHEL machine with TripleO's services), so these programs play its `openstack` client, yum or
dnf, rpm, hostnamectl, subscription-manager, its ssh to the overcloud's nodes, and on them
docker/systemctl, chronyc, pcs and cephadm (what a lab's revert reads and restarts), keeping the
director's state in DIR/state.json and logging every command to DIR/log.jsonl.

THIS FILE IS THE FIXTURE of the release's behaviour, and says where each piece comes from:
- every `openstack` command line is read by the release's own parser: the argparse actions its
  cliff command builds (tests/harness/tripleo/parsers.py dump, run in the release's
  python-tripleoclient venv), so a flag the release lacks is refused as the release refuses it;
- what each command prints is taken from the release's source, named beside it (OSP 13:
  python-tripleoclient 9.3.1, instack-undercloud 8.4.9, tripleo-common 8.7.1; OSP 17.1:
  python-tripleoclient 16.5.0, tripleo-ansible's tripleo_dense callback; both: cliff's JSON
  and value formatters, python-ironicclient's, python-heatclient's and openstackclient's
  columns);
- the checks a release makes before it acts (instackenv.json by tripleo-common's own
  validate_nodes, environment files that must exist, NtpServer for several controllers) are
  made the same way; the files the director's steps write are in their release's format.
What it cannot be is said where it is simplified (the deploy does not build an overcloud: it
records one, and writes each compute node's nova.conf from the deploy's hieradata).

Invoked as `standin.py DIR PROGRAM ARGS...` by the wrappers tests/harness/director.sh puts in
DIR/bin. DIR/flags.json: step_seconds (default 0.05), deploy_seconds (default 0.5), fail_deploy
(how many deploys fail before one succeeds).
"""
import contextlib
import datetime
import fcntl
import hashlib
import io
import ipaddress
import json
import os
import shlex
import subprocess
import sys
import tarfile
import time
import uuid

DIR = sys.argv[1]
PROG = sys.argv[2]
ARGS = sys.argv[3:]
CONF = json.load(open(os.path.join(DIR, "config.json")))
RELEASE = CONF["release"]
Q = RELEASE == "13"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parsers  # noqa: E402

FLAGS = json.load(open(os.path.join(DIR, "flags.json")))
STEP = float(FLAGS.get("step_seconds", 0.05))


def now():
    return datetime.datetime.utcnow()


def out(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@contextlib.contextmanager
def state():
    """The director's state, read and written under a lock (DIR/state.lock), replaced whole so
    that a reader never sees half of it."""
    path = os.path.join(DIR, "state.json")
    with open(os.path.join(DIR, "state.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        with open(path) as f:
            s = json.load(f)
        yield s
        tmp = "%s.%d" % (path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(s, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o666)
        os.rename(tmp, path)


def peek():
    with state() as s:
        return json.loads(json.dumps(s))


def log(rc, t0):
    with open(os.path.join(DIR, "log.jsonl"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps({"prog": PROG, "args": ARGS, "uid": os.geteuid(), "cwd": os.getcwd(),
                            "node": os.environ.get("LABSH_STANDIN_NODE"), "start": t0,
                            "end": time.time(), "rc": rc}) + "\n")


def home():
    return os.environ.get("HOME", "/root")


def stamp():
    # The log line prefix of python logging's '%(asctime)s' (instack-undercloud's format).
    return now().strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (now().microsecond // 1000)


def dense(state_word, task, host=None, extra=None):
    """One line of tripleo-ansible ansible_plugins/callback/tripleo_dense.py: the timestamp,
    the task's UUID (36 columns), the state right-aligned in 10, the task, the host."""
    parts = [now().strftime("%Y-%m-%d %H:%M:%S.%f"), str(uuid.uuid5(uuid.NAMESPACE_DNS, task)),
             "{:>10}".format(state_word), task]
    if host:
        parts.append(host)
    if extra:
        parts.append(extra)
    out(" | ".join(parts))


def table(columns, rows):
    """A PrettyTable as python-tripleoclient prints it (centered cells, +---+ borders)."""
    w = [max(len(str(c)), *(len(str(r[i])) for r in rows)) + 2 for i, c in enumerate(columns)]
    line = "+" + "+".join("-" * x for x in w) + "+"
    fmt = lambda cells: "|" + "|".join(str(c).center(w[i]) for i, c in enumerate(cells)) + "|"
    return "\n".join([line, fmt(columns), line] + [fmt(r) for r in rows] + [line])


def emit(columns, rows, a):
    """A cliff Lister's output: -f json (cliff formatters/json_format.py: a list of objects,
    indent 2), -f value (cells joined by spaces), -c to pick columns."""
    picked = a.get("columns") or list(columns)
    idx = [columns.index(c) for c in picked]
    fmt = a.get("formatter") or "table"
    if fmt == "json":
        out(json.dumps([{columns[i]: r[i] for i in idx} for r in rows], indent=2))
    elif fmt == "value":
        for r in rows:
            out(" ".join("" if r[i] is None else str(r[i]) for i in idx))
    else:
        out(table([columns[i] for i in idx], [[r[i] for i in idx] for r in rows]))


def node_uuid(name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "labsh-standin/" + name))


def slow(lines, seconds=None):
    per = (STEP if seconds is None else seconds) / max(len(lines), 1)
    for l in lines:
        out(l)
        time.sleep(per)


def need_root(what):
    if os.geteuid() != 0:
        err("You need to be root to perform this command." if what in ("yum", "dnf") else
            "Call failed: Interactive authentication required.")
        raise SystemExit(1)


# ------------------------------------------------------------------------------------------
# Packages. The director's packages of each release ([downstream] Red Hat's names), with the
# image archives rhosp-director-images installs.

PACKAGES = {
    "13": {"python-tripleoclient": "9.3.1-5.el7ost", "ceph-ansible": "3.2.59-1.el7cp",
           "rhosp-director-images": "13.0-20210521.1.el7ost", "rhosp-director-images-ipa": "13.0-20210521.1.el7ost"},
    "17.1": {"python3-tripleoclient": "16.5.1-17.1.20240815.el9ost",
             "rhosp-director-images-uefi-x86_64": "17.1-20240909.1.el9ost",
             "rhosp-director-images-ipa-x86_64": "17.1-20240909.1.el9ost"},
}
ARCHIVES = {
    "rhosp-director-images": ("overcloud-full-latest-13.0.tar", ["overcloud-full.qcow2", "overcloud-full.initrd", "overcloud-full.vmlinuz"]),
    "rhosp-director-images-ipa": ("ironic-python-agent-latest-13.0.tar", ["ironic-python-agent.initramfs", "ironic-python-agent.kernel"]),
    "rhosp-director-images-uefi-x86_64": ("overcloud-hardened-uefi-full-17.1.tar", ["overcloud-hardened-uefi-full.qcow2"]),
    "rhosp-director-images-ipa-x86_64": ("ironic-python-agent-17.1.tar", ["ironic-python-agent.initramfs", "ironic-python-agent.kernel"]),
}


def prog_pkg():
    """yum (RHEL 7) or dnf (RHEL 9): install -y PACKAGES."""
    need_root(PROG)
    if not ARGS or ARGS[0] != "install":
        err("%s: only install is played here" % PROG)
        return 1
    pkgs = [a for a in ARGS[1:] if not a.startswith("-")]
    known = PACKAGES[RELEASE]
    missing = [p for p in pkgs if p not in known]
    if missing:
        for p in missing:
            out("No package %s available." % p)
        err("Error: Nothing to do" if PROG == "yum" else "Error: Unable to find a match: %s" % " ".join(missing))
        return 1
    with state() as s:
        have = s.setdefault("packages", [])
        new = [p for p in pkgs if p not in have]
        have.extend(new)
    for p in pkgs:
        if p in ARCHIVES:
            name, files = ARCHIVES[p]
            os.makedirs("/usr/share/rhosp-director-images", exist_ok=True)
            with tarfile.open(os.path.join("/usr/share/rhosp-director-images", name), "w") as t:
                for f in files:
                    data = ("stand-in %s of %s\n" % (f, p)).encode()
                    ti = tarfile.TarInfo(f)
                    ti.size = len(data)
                    t.addfile(ti, io.BytesIO(data))
    slow(["Installing:"] + [" %s  noarch  %s" % (p, known[p]) for p in new] + ["", "Complete!"])
    return 0


def prog_rpm():
    """rpm -q PACKAGES: NAME-VERSION, or 'package NAME is not installed' (exit 1)."""
    have = peek().get("packages", [])
    rc = 0
    for p in [a for a in ARGS if not a.startswith("-")]:
        if p in have:
            out("%s-%s.noarch" % (p, PACKAGES[RELEASE][p]))
        else:
            out("package %s is not installed" % p)
            rc = 1
    return rc


def prog_hostnamectl():
    if ARGS[:1] == ["--static"]:
        out(peek().get("hostname", "localhost.localdomain"))
        return 0
    if ARGS[:1] == ["set-hostname"]:
        need_root("hostnamectl")
        name = [a for a in ARGS[1:] if not a.startswith("-")][0]
        with state() as s:
            key = "transient_hostname" if "--transient" in ARGS else "hostname"
            s[key] = name
        return 0
    out("   Static hostname: %s" % peek().get("hostname", "localhost.localdomain"))
    return 0


def prog_subscription_manager():
    if ARGS[:1] == ["repos"]:
        if "--list-enabled" in ARGS:
            out("+----------------------------------------------------------+")
            out("    Available Repositories in /etc/yum.repos.d/redhat.repo")
            out("+----------------------------------------------------------+")
            for r in peek().get("repos", []):
                out("Repo ID:   %s\nRepo Name: %s\nRepo URL:  https://cdn.redhat.com/content/%s\nEnabled:   1\n" % (r, r, r))
            return 0
        need_root("subscription-manager")
        repos = [a.split("=", 1)[1] for a in ARGS if a.startswith("--enable=")]
        with state() as s:
            s.setdefault("repos", [])
            for r in repos:
                if r not in s["repos"]:
                    s["repos"].append(r)
                out("Repository '%s' is enabled for this system." % r)
        return 0
    err("subscription-manager: only repos is played here")
    return 1


# ------------------------------------------------------------------------------------------
# The overcloud's nodes, reached from the director: their files are DIR/nodes/IP/...

def node_of(ip):
    for n in peek().get("servers", []):
        if n["ip"] == ip:
            return n
    return None


def prog_ssh():
    """The director's ssh to an overcloud node: `ssh [-o X]... [-p P] [-i K] USER@IP -- LINE`.
    The line runs here with the node's /var/lib/config-data in DIR/nodes/IP (its sudo is the
    node's own root); a node whose state has "sshd" is reached with the real ssh."""
    a = list(ARGS)
    dest = None
    while a:
        x = a.pop(0)
        if x in ("-o", "-p", "-i", "-l", "-F"):
            a.pop(0)
        elif x == "--":
            break
        elif not x.startswith("-") and dest is None:
            dest = x
            if a and a[0] != "--":
                break
    line = " ".join(a)
    ip = dest.split("@")[-1] if dest else ""
    n = node_of(ip)
    if n is not None and n.get("sshd"):
        # A node a test stands up as an sshd of its own: the director's real ssh reaches it
        # (the test's ~/.ssh/config names where it listens).
        os.execv("/usr/bin/ssh", ["ssh"] + ARGS)
    if n is None:
        err("ssh: connect to host %s port 22: No route to host" % ip)
        return 255
    root = os.path.join(DIR, "nodes", ip)
    line = line.replace("/var/lib/config-data/", root + "/var/lib/config-data/")
    env = dict(os.environ, LABSH_STANDIN_NODE=ip)
    return subprocess.call(["sh", "-c", line], env=env)


def prog_sudo():
    """On a node: the node's root (the command runs as is). On the director: the real sudo."""
    if not os.environ.get("LABSH_STANDIN_NODE"):
        os.execv("/usr/bin/sudo", ["sudo"] + ARGS)
    a = list(ARGS)
    while a and a[0].startswith("-"):
        x = a.pop(0)
        if x == "--":
            break
        if x in ("-u", "-g"):
            a.pop(0)
    return subprocess.call(a)


def prog_restart():
    """docker restart CONTAINER (OSP 13 nodes) or systemctl restart UNIT (OSP 17.1 nodes)."""
    ip = os.environ.get("LABSH_STANDIN_NODE")
    want = "docker" if Q else "systemctl"
    if not ip or PROG != want or ARGS[:1] != ["restart"]:
        err("%s: not on an overcloud node of this release" % PROG)
        return 1
    with state() as s:
        for n in s.get("servers", []):
            if n["ip"] == ip:
                n.setdefault("restarts", []).extend(ARGS[1:])
    if PROG == "docker":
        out(ARGS[1])
    return 0


# ------------------------------------------------------------------------------------------
# The overcloud as a revert finds it. DIR/flags.json says how it comes back: pcs_stopped_reads
# (how many reads of `pcs status xml` show the resources still stopped), ceph_warn_reads (how
# many reads of Ceph's health are HEALTH_WARN), stale (binaries of compute services and network
# agents that stay down, as with a dead message-queue connection, until their container is
# restarted on their node), dead (binaries down whatever is done). Each read is counted in the state (reads).

def count_read(what):
    """How many times `what` was read before this read (its count in the state, then one more)."""
    with state() as s:
        r = s.setdefault("reads", {})
        n = r.get(what, 0)
        r[what] = n + 1
    return n


def the_node():
    ip = os.environ.get("LABSH_STANDIN_NODE")
    return node_of(ip) if ip else None


def time_service():
    """The time service: OSP 13's nodes keep time with ntpd (puppet-tripleo 8.x
    profile::base::time::ntp), OSP 17.1's with chronyd (tripleo-ansible's tripleo_chrony role);
    the stand-in's director as its nodes."""
    return "ntpd" if Q else "chronyd"


def prog_systemctl():
    """systemctl is-active [-q] UNIT (the time service is active), systemctl restart UNIT (the
    time service: its clock stepped; on a node: a container's unit restarted)."""
    a = [x for x in ARGS if x not in ("-q", "--quiet")]
    if a[:1] == ["is-active"] and len(a) == 2:
        active = a[1] in (time_service(), time_service() + ".service")
        if "-q" not in ARGS and "--quiet" not in ARGS:
            out("active" if active else "inactive")
        return 0 if active else 3
    if a[:1] == ["restart"] and len(a) == 2 and a[1] in ("ntpd", "ntpd.service"):
        if Q:
            step_clock("ntpd restarted")
            return 0
        err("Failed to restart ntpd.service: Unit ntpd.service not found.")
        return 5
    return prog_restart()


def step_clock(how):
    node = the_node()
    with state() as s:
        s.setdefault("clock_steps", []).append({"node": node["name"] if node else "director", "how": how})


def prog_chronyc():
    """chronyc -a makestep: chrony's reply to a command it carried out, "200 OK"."""
    if ARGS[-1:] != ["makestep"] or Q:
        err("506 Cannot talk to daemon")
        return 1
    step_clock("chronyc makestep")
    out("200 OK")
    return 0


def prog_pcs():
    """`pcs status xml`: pcs runs `crm_mon -1 -r -X` (ClusterLabs/pcs pcs/status.py xml_status,
    0.9 and 0.11 alike) whose --as-xml is Pacemaker's legacy XML (pacemaker 1.1's crm_mon.c;
    2.1's keeps it as legacy-xml, xml/crm_mon.rng): <crm_mon version> with <nodes> and
    <resources>, each resource's role, active and failed. Only on a controller."""
    node = the_node()
    if ARGS != ["status", "xml"]:
        err("pcs: the stand-in answers only `pcs status xml`")
        return 1
    if node is None or node["role"] != "Controller":
        err("Error: cluster is not currently running on this node")
        return 1
    stopped = count_read("pcs") < int(FLAGS.get("pcs_stopped_reads", 0))
    ctrls = [x["name"] for x in peek().get("servers", []) if x["role"] == "Controller"]
    version = "1.1.23" if Q else "2.1.5"
    rows = ["<?xml version=\"1.0\"?>", '<crm_mon version="%s">' % version, "    <summary>",
            '        <nodes_configured number="%d" />' % len(ctrls), "    </summary>", "    <nodes>"]
    for i, c in enumerate(ctrls):
        rows.append('        <node name="%s" id="%d" online="true" standby="false" standby_onfail="false" maintenance="false" '
                    'pending="false" unclean="false" shutdown="false" expected_up="true" is_dc="%s" resources_running="%d" type="member" />'
                    % (c, i + 1, "true" if i == 0 else "false", 0 if stopped else 2))
    rows.append("    </nodes>")
    rows.append("    <resources>")
    agents = [("ip-192.168.24.10", "ocf::heartbeat:IPaddr2"), ("haproxy-bundle-podman-0" if not Q else "haproxy-bundle-docker-0", "ocf::heartbeat:podman" if not Q else "ocf::heartbeat:docker"),
              ("rabbitmq-bundle-0", "ocf::pacemaker:remote"), ("galera-bundle-0", "ocf::pacemaker:remote")]
    for rid, agent in agents:
        role = "Stopped" if stopped else "Started"
        active = "false" if stopped else "true"
        rows.append('        <resource id="%s" resource_agent="%s" role="%s" active="%s" orphaned="false" blocked="false" '
                    'managed="true" failed="false" failure_ignored="false" nodes_running_on="%d" >' % (rid, agent, role, active, 0 if stopped else 1))
        if not stopped and ctrls:
            rows.append('            <node name="%s" id="1" cached="false"/>' % ctrls[0])
        rows.append("        </resource>")
    rows += ["    </resources>", "</crm_mon>"]
    out("\n".join(rows))
    return 0


def ceph_health():
    """`ceph health -f json` of Luminous (RHCS 3, OSP 13) and Quincy (RHCS 6, OSP 17.1): the
    status, the checks by name (ceph src/mon/health_check.h dump, 12.2 and 17.2)."""
    if count_read("ceph") < int(FLAGS.get("ceph_warn_reads", 0)):
        body = {"status": "HEALTH_WARN", "checks": {"PG_DEGRADED": {"severity": "HEALTH_WARN", "summary": {
            "message": "Degraded data redundancy: 12/180 objects degraded (6.667%), 4 pgs degraded", "count": 4}}}}
    else:
        body = {"status": "HEALTH_OK", "checks": {}}
    if not Q:
        body["mutes"] = []
    out(json.dumps(body))
    return 0


def prog_docker():
    """On an OSP 13 node: docker exec ceph-mon-HOST ceph health -f json, or docker restart."""
    if ARGS[:1] == ["exec"] and len(ARGS) > 2 and ARGS[1].startswith("ceph-mon-") and ARGS[2:4] == ["ceph", "health"]:
        node = the_node()
        if not Q or node is None or node["role"] != "Controller":
            err("Error: No such container: %s" % ARGS[1])
            return 1
        return ceph_health()
    return prog_restart()


def prog_cephadm():
    """On an OSP 17.1 controller: cephadm shell -- ceph health -f json (cephadm says on stderr
    which cluster and image it uses, src/cephadm/cephadm.py infer_fsid and infer_image)."""
    node = the_node()
    if Q or node is None or node["role"] != "Controller" or ARGS[:3] != ["shell", "--", "ceph"]:
        err("cephadm: not a Ceph node of this release")
        return 1
    fsid = peek().get("ceph") or str(uuid.uuid5(uuid.NAMESPACE_URL, "labsh-standin-ceph"))
    err("Inferring fsid %s" % fsid)
    err("Using recent ceph image undercloud-0.ctlplane.localdomain:8787/rhceph/rhceph-6-rhel9:latest")
    return ceph_health()


# The overcloud's compute services and network agents by role: 13 is ML2/OVS (THT 8.4.1
# environments: neutron-ovs-agent, l3, dhcp and metadata agents on the controllers), 17.1 is
# ML2/OVN (THT 14.3.0: ovn-controller on every node, the OVN metadata agent on the computes).
SERVICES = {
    "13": {"Controller": ["nova-consoleauth", "nova-scheduler", "nova-conductor"], "Compute": ["nova-compute"]},
    "17.1": {"Controller": ["nova-scheduler", "nova-conductor"], "Compute": ["nova-compute"]},
}
AGENTS = {
    "13": {"Controller": [("Open vSwitch agent", "neutron-openvswitch-agent"), ("L3 agent", "neutron-l3-agent"),
                          ("DHCP agent", "neutron-dhcp-agent"), ("Metadata agent", "neutron-metadata-agent")],
           "Compute": [("Open vSwitch agent", "neutron-openvswitch-agent")]},
    "17.1": {"Controller": [("OVN Controller Gateway agent", "ovn-controller")],
             "Compute": [("OVN Controller agent", "ovn-controller"), ("OVN Metadata agent", "neutron-ovn-metadata-agent")]},
}
# The container of each binary, as the node's restart names it (labsh's snapshot.rhai
# restart_line; THT's docker/services and deployment/ templates).
CONTAINER = {"nova-compute": "nova_compute", "nova-scheduler": "nova_scheduler", "nova-conductor": "nova_conductor",
             "nova-consoleauth": "nova_consoleauth", "neutron-openvswitch-agent": "neutron_ovs_agent",
             "neutron-l3-agent": "neutron_l3_agent", "neutron-dhcp-agent": "neutron_dhcp",
             "neutron-metadata-agent": "neutron_metadata_agent", "ovn-controller": "ovn_controller",
             "neutron-ovn-metadata-agent": "ovn_metadata_agent"}


def is_up(server, binary):
    """Down when the flags make it dead (for good), or stale and its container was not restarted
    on its node."""
    if binary in (FLAGS.get("dead") or []):
        return False
    if binary not in (FLAGS.get("stale") or []):
        return True
    unit = CONTAINER[binary] if Q else "tripleo_" + CONTAINER[binary]
    return unit in server.get("restarts", [])


def overcloud_lists():
    """`openstack compute service list` and `network agent list` with the overcloud's
    credentials (the overcloudrc sourced: OS_CLOUDNAME names the stack). These are
    python-openstackclient's commands, not the director's: the parser dump of the release's
    tripleoclient does not hold them, so their one option, -f json, is read here. Columns:
    openstackclient compute/v2/service.py ListService and network/v2/network_agent.py
    ListNetworkAgent; Alive as each release prints it in JSON (3.14.3's formatter ":-)"/"XXX" and
    State "UP"; 5.5.1's AliveColumn true/false and AdminStateColumn "UP")."""
    if not os.environ.get("OS_CLOUDNAME") or not peek().get("servers"):
        err("Missing value auth-url required for auth plugin password" if not os.environ.get("OS_CLOUDNAME") else
            "Unable to establish connection to http://192.168.122.150:5000/v3/auth/tokens")
        return 1
    servers = peek()["servers"]
    fqdn = lambda x: x["name"] + ".localdomain"
    updated = now().strftime("%Y-%m-%dT%H:%M:%S.000000")
    if ARGS[:3] == ["compute", "service", "list"]:
        cols = ["ID", "Binary", "Host", "Zone", "Status", "State", "Updated At"]
        rows, i = [], 1
        for x in servers:
            for b in SERVICES[RELEASE].get(x["role"], []):
                rows.append([i, b, fqdn(x), "nova" if b == "nova-compute" else "internal", "enabled",
                             "up" if is_up(x, b) else "down", updated])
                i += 1
    else:
        cols = ["ID", "Agent Type", "Host", "Availability Zone", "Alive", "State", "Binary"]
        rows = []
        for x in servers:
            for kind, b in AGENTS[RELEASE].get(x["role"], []):
                up = is_up(x, b)
                alive = (":-)" if up else "XXX") if Q else up
                rows.append([node_uuid(x["name"] + b), kind, fqdn(x), "nova" if "L3" in kind or "DHCP" in kind else None,
                             alive, "UP", b])
    emit(cols, rows, {"formatter": "json" if "json" in ARGS else "table"})
    return 0


# ------------------------------------------------------------------------------------------
# openstack

def undercloud_install(a):
    conf = os.path.join(home(), "undercloud.conf")
    if not os.path.isfile(conf):
        err("undercloud.conf not found" if Q else "Config file %s not found" % conf)
        return 1
    if not Q:
        import configparser
        c = configparser.ConfigParser()
        c.read(conf)
        images = c["DEFAULT"].get("container_images_file")
        if images and not os.path.isfile(images):
            # tripleoclient 16.5.0 v1/undercloud_config.py _container_images_config
            err("Container images file %s does not exist" % images)
            return 1
    if Q:
        # instack-undercloud 8.4.9 instack_undercloud/undercloud.py install() and COMPLETION_MESSAGE.
        slow(["%s INFO: Logging to /home/stack/.instack/install-undercloud.log" % stamp(),
              "%s INFO: Checking for a FQDN hostname..." % stamp(),
              "%s INFO: Static hostname detected as %s" % (stamp(), peek().get("hostname", "localhost.localdomain")),
              "%s INFO: Running instack" % stamp(),
              "%s INFO: Running os-refresh-config" % stamp(),
              "%s INFO: Configuring Mistral workbooks" % stamp()])
        passwords = "undercloud-passwords.conf"
    else:
        # tripleoclient 16.5.0 v1/undercloud.py and v1/tripleo_deploy.py DEPLOY_COMPLETION_MESSAGE.
        slow(["Running: sudo --preserve-env openstack tripleo deploy --standalone --standalone-role Undercloud --stack undercloud --local-domain=localdomain --local-ip=172.16.0.1/24 --templates=/usr/share/openstack-tripleo-heat-templates/ --networks-file=network_data_undercloud.yaml --heat-native -e /usr/share/openstack-tripleo-heat-templates/environments/undercloud.yaml",
              "########################################################",
              "",
              "Deployment successful!",
              "",
              "########################################################",
              "Install artifact is located at /home/stack/undercloud-install-%s.tar.bzip2" % now().strftime("%Y%m%d%H%M%S")])
        passwords = "tripleo-undercloud-passwords.yaml"
    with open(os.path.join(home(), "stackrc"), "w") as f:
        f.write("# Clear any old environment that may conflict.\nexport OS_CLOUD=undercloud\n"
                "export OS_AUTH_URL=https://172.16.0.2:13000\nexport OS_USERNAME=admin\n")
    with open(os.path.join(home(), passwords), "w") as f:
        f.write("[auth]\nundercloud_admin_password: stand-in\n" if Q else "parameter_defaults:\n  AdminPassword: stand-in\n")
    os.chmod(os.path.join(home(), passwords), 0o600)
    with state() as s:
        s["installs"] = s.get("installs", 0) + 1
    if Q:
        out("#############################################################################\n"
            "Undercloud install complete.\n\n"
            "The file containing this installation's passwords is at\n"
            "/home/stack/undercloud-passwords.conf.\n\n"
            "There is also a stackrc file at /home/stack/stackrc.\n\n"
            "These files are needed to interact with the OpenStack services, and should be\n"
            "secured.\n\n"
            "#############################################################################")
    else:
        out("\n\nThe Undercloud has been successfully installed.\n\nUseful files:\n\n"
            "Password file is at /home/stack/tripleo-undercloud-passwords.yaml\n"
            "The stackrc file is at ~/stackrc\n\n"
            "Use these files to interact with OpenStack services, and\nensure they are secured.\n")
    return 0


def image_upload(a):
    path = a["image_path"]
    if Q:
        files = ["overcloud-full.qcow2", "overcloud-full.initrd", "overcloud-full.vmlinuz",
                 "ironic-python-agent.initramfs", "ironic-python-agent.kernel"]
    else:
        files = ["overcloud-hardened-uefi-full.qcow2", "ironic-python-agent.initramfs", "ironic-python-agent.kernel"]
    for f in files:
        if not os.path.isfile(os.path.join(path, f)):
            # tripleoclient v1/overcloud_image.py check_file_exists
            err('Required file "%s" does not exist.' % os.path.join(path, f))
            return 1
    if Q:
        # tripleoclient 9.3.1 v1/overcloud_image.py: 'Image "%s" was uploaded.' and the table.
        names = ["overcloud-full-vmlinuz", "overcloud-full-initrd", "overcloud-full", "bm-deploy-kernel", "bm-deploy-ramdisk"]
        with state() as s:
            have = s.setdefault("glance", [])
            for n in names:
                if n in have:
                    out('Image "%s" is up-to-date, skipping.' % n)
                    continue
                have.append(n)
                out('Image "%s" was uploaded.' % n)
                out(table(["ID", "Name", "Disk Format", "Size", "Status"],
                          [[str(uuid.uuid5(uuid.NAMESPACE_URL, n)), n, "qcow2" if n == "overcloud-full" else "aki", 1024, "active"]]))
    else:
        # tripleoclient 16.5.0 v1/overcloud_image.py FileImageClientAdapter: the qcow2 converted to
        # raw beside it, copied into --local-path.
        local = a.get("local_path") or "/var/lib/ironic/images"
        raw = os.path.join(path, "overcloud-hardened-uefi-full.raw")
        with open(os.path.join(path, "overcloud-hardened-uefi-full.qcow2"), "rb") as src, open(raw, "wb") as dst:
            dst.write(src.read())
        subprocess.check_call(["sudo", "mkdir", "-p", local])
        dest = os.path.join(local, "overcloud-hardened-uefi-full.raw")
        subprocess.check_call(["sudo", "cp", raw, dest])
        out('Image "file://%s" was copied.' % dest)
        out(table(["Path", "Name", "Size"], [["file://" + dest, "overcloud-hardened-uefi-full", os.path.getsize(raw)]]))
    return 0


def env_files_exist(files, command):
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        # tripleoclient v1/overcloud_deploy.py _validate_args (both releases)
        err("Error: The following files were not found: %s" % ", ".join(missing))
        return False
    return True


def container_prepare(a):
    envs = a.get("environment_files") or []
    if not env_files_exist(envs, "prepare"):
        return 1
    images = ["nova-compute", "keystone", "neutron-server", "ceph-3-rhel7"]
    tag = "13.0-%d" % 150
    params = {}
    for i in images:
        ns = a["namespace"] if not i.startswith("ceph") else [x.split("=", 1)[1] for x in (a.get("set") or []) if x.startswith("ceph_namespace=")][0]
        key = "DockerCephDaemonImage" if i.startswith("ceph") else "Docker" + "".join(p.capitalize() for p in i.split("-")) + "Image"
        key = key.replace("NeutronServer", "NeutronApi")
        params[key] = "%s/%s%s:%s" % (a["push_destination"], "" if i.startswith("ceph") else a["prefix"], i, tag)
    params["DockerInsecureRegistryAddress"] = [a["push_destination"]]
    # tripleoclient 9.3.1 v1/container_image.py write_env_file: the header, then the parameters.
    with open(a["output_env_file"], "w") as f:
        f.write("# Generated with the following on %s\n#\n" % now().isoformat())
        f.write("#   openstack %s\n#\n\n" % " ".join(["overcloud", "container", "image", "prepare"]))
        import yaml
        yaml.safe_dump({"parameter_defaults": params}, f, default_flow_style=False)
    with open(a["output_images_file"], "w") as f:
        f.write("container_images:\n")
        for i in images:
            f.write("- imagename: %s/%s%s:%s\n  push_destination: %s\n" % (a["namespace"], a["prefix"], i, tag, a["push_destination"]))
    time.sleep(STEP)
    return 0


def container_upload(a):
    if os.geteuid() != 0:
        err("[Errno 13] Permission denied: '/etc/docker/daemon.json'")
        return 1
    for cf in a.get("config_files") or []:
        if not os.path.isfile(cf):
            err("[Errno 2] No such file or directory: '%s'" % cf)
            return 1
        slow(["Pushing %s" % l.split()[-1] for l in open(cf) if "imagename" in l])
    with state() as s:
        s["registry"] = s.get("registry", 0) + 1
    return 0


def validate_instackenv(path):
    """tripleo-common's own validate_nodes, in the release's venv (check.py instackenv; the venv
    is root's, so through sudo)."""
    r = subprocess.run(["sudo", "-n", "env", "PYTHONWARNINGS=ignore", CONF["release_python"], os.path.join(HERE, "check.py"), "instackenv", path],
                       capture_output=True, text=True)
    return r.returncode == 0, r.stdout.strip()


def node_import(a):
    path = a["env_file"].name if hasattr(a["env_file"], "name") else a["env_file"]
    ok, why = validate_instackenv(path)
    if not ok:
        # Queens: tripleo-common 8.7.1 workbooks/baremetal.yaml validate_input, through
        # tripleoclient 9.3.1 workflows/baremetal.py; Wallaby raises InvalidNode.
        err(("Exception registering nodes: %s" if Q else "Exception occured while running the command\n%s") % why.replace("instackenv.json: ", ""))
        return 1
    nodes = json.load(open(path))["nodes"]
    lines = []
    with state() as s:
        known = s.setdefault("nodes", {})
        for n in nodes:
            u = node_uuid(n["name"])
            if n["name"] in known:
                lines.append("Node UUID %s is already registered" % u)
                continue
            caps = dict(x.split(":", 1) for x in n.get("capabilities", "").split(",") if ":" in x)
            known[n["name"]] = {"uuid": u, "state": "manageable", "power": "power off", "caps": caps, "introspected": False}
            lines.append("Successfully registered node UUID %s" % u)
    if Q:
        # tripleoclient 9.3.1 workflows/baremetal.py: the workflow's messages.
        slow(['%d node(s) successfully moved to the "manageable" state.' % len(nodes)] + lines)
    else:
        slow(lines)
    return 0


def node_rows(s):
    rows = []
    for name in sorted(s.get("nodes", {})):
        n = s["nodes"][name]
        rows.append([n["uuid"], name, n.get("instance"), n["power"], n["state"], False])
    return rows


def node_list(a):
    # python-ironicclient v1/resource_fields.py NODE_RESOURCE labels (ironicclient 2.2.2 and 4.6.4).
    emit(["UUID", "Name", "Instance UUID", "Power State", "Provisioning State", "Maintenance"], node_rows(peek()), a)
    return 0


def introspection_list(a):
    # ironic-inspector-client shell.py StatusListCommand COLUMNS.
    rows = []
    for name, n in sorted(peek().get("nodes", {}).items()):
        if n.get("introspected"):
            rows.append([n["uuid"], n["introspected"], n["introspected"], None])
    emit(["UUID", "Started at", "Finished at", "Error"], rows, a)
    return 0


def introspect(a):
    if not a.get("all_manageable") and not a.get("node_uuids"):
        err("Provide either UUIDs or --all-manageable")
        return 1
    with state() as s:
        todo = [n for n in s.get("nodes", {}).values() if n["state"] == "manageable"]
    if Q:
        # tripleoclient 9.3.1 workflows/baremetal.py introspect_manageable_nodes / provide.
        out("Waiting for introspection to finish...")
    else:
        out("Waiting for introspection to finish...")
        dense("TASK", "Start baremetal introspection")
    time.sleep(STEP)
    with state() as s:
        for n in s.get("nodes", {}).values():
            if n["state"] == "manageable":
                n["introspected"] = now().isoformat()
                if Q:
                    out("Introspection of node %s completed. Status:SUCCESS. Errors:None" % n["uuid"])
    uuids = [n["uuid"] for n in todo]
    if Q:
        out("Successfully introspected %d node(s)." % len(todo))
        out("Introspection completed.")
    else:
        dense("CHANGED", "Start baremetal introspection", "localhost")
        out("Successfully introspected nodes: %s" % uuids)
    if a.get("provide"):
        return provide({"all_manageable": True})
    return 0


def provide(a):
    with state() as s:
        moved = [n["uuid"] for n in s.get("nodes", {}).values() if n["state"] == "manageable"]
        for n in s.get("nodes", {}).values():
            if n["state"] == "manageable":
                n["state"] = "available"
    time.sleep(STEP)
    if Q:
        out('%d node(s) successfully moved to the "available" state.' % len(moved))
    else:
        out("Successfully provided nodes: %s" % moved)
    return 0


def node_set(a):
    props = a.get("property") or []
    with state() as s:
        n = s.get("nodes", {}).get(a["node"]) or next((x for x in s.get("nodes", {}).values() if x["uuid"] == a["node"]), None)
        if n is None:
            err("Node %s could not be found. (HTTP 404)" % a["node"])
            return 1
        for p in props:
            k, v = p.split("=", 1)
            if k == "capabilities":
                n["caps"] = dict(x.split(":", 1) for x in v.split(",") if ":" in x)
        s["node_sets"] = s.get("node_sets", 0) + 1
    return 0


def profiles_list(a):
    # tripleoclient 9.3.1 v1/overcloud_profiles.py ListProfiles: nodes available to the deploy.
    rows = []
    for name, n in sorted(peek().get("nodes", {}).items()):
        if n["state"] in ("available", "active"):
            rows.append([n["uuid"], name, n["state"], n["caps"].get("profile"), ""])
    emit(["Node UUID", "Node Name", "Provision State", "Current Profile", "Possible Profiles"], rows, a)
    return 0


def image_list(a):
    rows = [[str(uuid.uuid5(uuid.NAMESPACE_URL, n)), n, "active"] for n in peek().get("glance", [])]
    emit(["ID", "Name", "Status"], rows, a)
    return 0


def yaml_load(path):
    import yaml
    with open(path) as f:
        return yaml.safe_load(f)


def yaml_dump(path, data):
    import yaml
    with open(path, "w") as f:
        yaml.safe_dump(data, f, default_flow_style=False)


def will_not_overwrite(a, path):
    # tripleoclient 16.5.0 v2/overcloud_network.py: an output that exists needs --yes.
    if os.path.exists(path) and not a.get("yes"):
        err("Will not overwrite existing file: %s" % path)
        return True
    return False


def ansible_run(play, hosts, seconds=None):
    dense("TASK", "Gathering Facts")
    for h in hosts:
        dense("OK", "Gathering Facts", h)
    time.sleep(STEP if seconds is None else seconds)
    dense("TASK", play)
    for h in hosts:
        dense("CHANGED", play, h)


def network_provision(a):
    if will_not_overwrite(a, a["output"]):
        return 1
    nets = yaml_load(a["networks_file"])
    ansible_run("Create/Update composable networks", ["localhost"])
    # tripleo-ansible modules/tripleo_network_populate_environment.py: the deployed networks.
    cidr = {n["name_lower"]: [s["ip_subnet"] for s in n["subnets"].values()] for n in nets}
    yaml_dump(a["output"], {
        "parameter_defaults": {"DeployedNetworkEnvironment": {
            "net_cidr_map": cidr,
            "net_ip_version_map": {k: 4 for k in cidr},
            "net_attributes_map": {n["name_lower"]: {"network": {"name": n["name_lower"], "mtu": n.get("mtu", 1500)},
                                                     "subnets": {k: {"cidr": s["ip_subnet"], "tags": ["tripleo_vlan_id=%s" % s.get("vlan", 1)]}
                                                                 for k, s in n["subnets"].items()}} for n in nets}}},
        "resource_registry": {"OS::TripleO::Network": "/usr/share/openstack-tripleo-heat-templates/network/deployed_networks.yaml"}})
    with state() as s:
        s["networks"] = sorted(cidr)
    return 0


def vip_provision(a):
    if will_not_overwrite(a, a["output"]):
        return 1
    vips = yaml_load(a["vip_file"])
    nets = peek().get("networks")
    if nets is None:
        # tripleo-ansible modules/tripleo_overcloud_network_vip_provision.py validate_vip_nets_in_net_map
        err("Network %s for Virtual IP not found." % vips[0]["network"])
        return 1
    for v in vips:
        if v["network"] != "ctlplane" and v["network"] not in nets:
            err("Network %s for Virtual IP not found." % v["network"])
            return 1
    ansible_run("Provision Virtual IPs", ["localhost"])
    # tripleo-ansible modules/tripleo_overcloud_network_vip_populate_environment.py
    reg = {}
    for v in vips:
        if v["network"] != "ctlplane":
            name = "".join(x.capitalize() for x in v["network"].split("_"))
            reg["OS::TripleO::Network::Ports::%sVipPort" % name] = "/usr/share/openstack-tripleo-heat-templates/network/ports/deployed_vip_%s.yaml" % v["network"]
    yaml_dump(a["output"], {"parameter_defaults": {"ControlPlaneVipData": {"name": "control_virtual_ip"},
                                                   "VipPortMap": {v["network"]: {"ip_address": v.get("ip_address", "")} for v in vips if v["network"] != "ctlplane"}},
                            "resource_registry": reg})
    return 0


def node_provision(a):
    roles = yaml_load(a["input"])
    with state() as s:
        avail = sorted((n for n in s.get("nodes", {}).items() if n[1]["state"] in ("available", "active")), key=lambda x: x[0])
        servers = []
        ports = {}
        hmap = {}
        counts = {}
        ip = 30
        for r in roles:
            count = r.get("count", 1)
            want = r.get("defaults", {}).get("profile")
            cands = [x for x in avail if x[1]["caps"].get("profile") == want]
            if len(cands) < count:
                # metalsmith's scheduler, through tripleo-ansible's provision playbook.
                err("%s: only %d of %d nodes with profile %s are available" % (r["name"], len(cands), count, want))
                return 1
            fmt = r.get("hostname_format", "%stackname%-" + r["name"].lower() + "-%index%")
            for i in range(count):
                name, n = cands[i]
                host = fmt.replace("%stackname%", a.get("stack") or "overcloud").replace("%index%", str(i))
                n["state"] = "active"
                n["instance"] = node_uuid("instance-" + host)
                addr = "172.16.0.%d" % ip
                ip += 1
                ports["%s-ctlplane" % host] = {"fixed_ips": [{"ip_address": addr}]}
                hmap[host] = host
                servers.append({"name": host, "role": r["name"], "ip": addr, "node": name})
            counts[r["name"]] = count
        s["provisioned"] = servers
    ansible_run("Provision instances", [x["name"] for x in servers])
    # tripleo-ansible tripleo_baremetal_populate_environment / tripleo_network_ports_populate_environment
    pd = {"DeployedServerPortMap": ports, "HostnameMap": hmap}
    for r, c in counts.items():
        pd["%sCount" % r] = c
        pd["%sDeployedServerCount" % r] = c
    yaml_dump(a["output"], {"parameter_defaults": pd, "resource_registry": {
        "OS::TripleO::DeployedServer::ControlPlanePort": "/usr/share/openstack-tripleo-heat-templates/deployed-server/deployed-neutron-port.yaml"}})
    # tripleoclient 16.5.0 v2/overcloud_node.py ProvisionNode
    out("Nodes deployed successfully, add %s to your deployment environment" % a["output"])
    return 0


def ceph_deploy(a):
    if not os.path.isfile(a["baremetal_env"]):
        err("Baremetal environment file does not exist: %s" % a["baremetal_env"])
        return 1
    if will_not_overwrite(a, a["output"]):
        return 1
    if not peek().get("provisioned"):
        # tripleoclient 16.5.0 v2/overcloud_ceph.py
        err("Inventory file not found in working directory: %s/overcloud-deploy/overcloud. It should have been created by 'openstack overcloud node provision'." % home())
        return 1
    for k in ("network_data", "osd_spec", "container_image_prepare"):
        if a.get(k) and not os.path.isfile(a[k]):
            err("%s file not found --%s %s." % (k.replace("_", " ").title(), k.replace("_", "-"), a[k]))
            return 1
    hosts = [s["name"] for s in peek()["provisioned"] if s["role"] == "CephStorage"]
    ansible_run("Deploy ceph cluster with cephadm", hosts)
    fsid = str(uuid.uuid5(uuid.NAMESPACE_URL, "labsh-standin-ceph"))
    yaml_dump(a["output"], {"parameter_defaults": {"CephClusterFSID": fsid, "CephClientKey": "AQ==stand-in",
                                                   "DeployedCephSpec": True}})
    with state() as s:
        s["ceph"] = fsid
    return 0


# The nova.conf settings of the deploy's parameters and hieradata, per release (puppet-nova
# 12.5.0 / 18.6.0 manifests/network/neutron.pp and init.pp; THT nova-compute templates).
NOVA = {
    "13": {"nova::network::neutron::neutron_url_timeout": ("neutron", "timeout"),
           "nova::network::neutron::vif_plugging_timeout": ("DEFAULT", "vif_plugging_timeout"),
           "nova::cpu_allocation_ratio": ("DEFAULT", "cpu_allocation_ratio"),
           "nova::ram_allocation_ratio": ("DEFAULT", "ram_allocation_ratio")},
    "17.1": {"nova::network::neutron::timeout": ("neutron", "timeout"),
             "nova::network::neutron::vif_plugging_timeout": ("DEFAULT", "vif_plugging_timeout")},
}
NOVA_PARAMS = {"NovaReservedHostMemory": ("DEFAULT", "reserved_host_memory_mb"),
               "NovaCPUAllocationRatio": ("DEFAULT", "cpu_allocation_ratio"),
               "NovaRAMAllocationRatio": ("DEFAULT", "ram_allocation_ratio")}


def nova_conf(params):
    """A compute node's nova.conf as the deploy would leave it: nova's defaults, with the
    settings the deploy's parameters set."""
    conf = {"DEFAULT": {"compute_driver": "libvirt.LibvirtDriver", "vif_plugging_is_fatal": "True",
                        "vif_plugging_timeout": "300", "reserved_host_memory_mb": "4096"},
            "neutron": {"url": "http://172.17.1.150:9696", "ovs_bridge": "br-int", "timeout": "30"}}
    for k, v in (params.get("ComputeExtraConfig") or {}).items():
        if k in NOVA[RELEASE]:
            sec, key = NOVA[RELEASE][k]
            conf[sec][key] = str(v)
    for k, (sec, key) in NOVA_PARAMS.items():
        if k in params and (Q is False or k == "NovaReservedHostMemory"):
            conf[sec][key] = str(params[k])
    text = ""
    for sec in ("DEFAULT", "neutron"):
        text += "[%s]\n" % sec + "".join("%s=%s\n" % kv for kv in conf[sec].items()) + "\n"
    return text


def deploy(a):
    envs = list(a.get("environment_files") or [])
    if a.get("networks_file"):
        envs.append(a["networks_file"])
    if not env_files_exist(envs, "deploy"):
        return 1
    if not Q and not peek().get("provisioned"):
        err("Nova endpoint not available and no provisioned nodes: run openstack overcloud node provision first")
        return 1
    params = {}
    for e in a.get("environment_files") or []:
        params.update((yaml_load(e) or {}).get("parameter_defaults") or {})
    stack = a.get("stack") or "overcloud"
    if Q and int(params.get("ControllerCount", 1)) > 1 and not params.get("NtpServer") and not a.get("ntp_server"):
        # tripleoclient 9.3.1 v1/overcloud_deploy.py _deploy_tripleo_heat_templates
        err("Specify --ntp-server as parameter or NtpServer in environments when using multiple controllers (with HA).")
        return 1
    fail = int(FLAGS.get("fail_deploy", 0)) > peek().get("deploy_failures", 0)
    seconds = float(FLAGS.get("deploy_seconds", 0.5))
    with state() as s:
        s["deploys"] = s.get("deploys", 0) + 1
        old = s.get("stack")
        action = "UPDATE" if old else "CREATE"
        if Q:
            s["stack"] = {"name": stack, "status": action + "_IN_PROGRESS", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, stack)),
                          "created": (old or {}).get("created", now().strftime("%Y-%m-%dT%H:%M:%SZ")), "updated": now().strftime("%Y-%m-%dT%H:%M:%SZ")}
    wd = os.path.join(home(), "overcloud-deploy", stack)
    os.makedirs(wd, exist_ok=True)
    status = os.path.join(wd, "%s-deployment_status.yaml" % stack)
    if Q:
        # tripleoclient 9.3.1: the plan, then Heat's events (heatclient event_log_formatter).
        out("Started Mistral Workflow tripleo.validations.v1.check_pre_deployment_validations. Execution ID: %s" % uuid.uuid4())
        out("Creating Swift container to store the plan")
        out("Deploying templates in the directory /tmp/tripleoclient-stand-in/tripleo-heat-templates")
        steps = ["overcloud.Networks", "overcloud.Controller", "overcloud.Compute", "overcloud.CephStorage", "overcloud.AllNodesDeploySteps"]
        for i, r in enumerate(steps):
            out("%s [%s]: %s_IN_PROGRESS  state changed" % (now().strftime("%Y-%m-%d %H:%M:%SZ"), r, action))
            time.sleep(seconds / len(steps))
            if fail and i == len(steps) - 1:
                break
            out("%s [%s]: %s_COMPLETE  state changed" % (now().strftime("%Y-%m-%d %H:%M:%SZ"), r, action))
    else:
        yaml_dump(status, {"deployment_status": "DEPLOYING"})
        # tripleoclient 16.5.0 v1/overcloud_deploy.py and workflows/deployment.py
        out("Checking for blacklisted hosts from stack: %s" % stack)
        out("Executing deployment playbook for stack: %s" % stack)
        hosts = [x["name"] for x in peek()["provisioned"]]
        tasks = ["Wait for connection to become available", "Deploy step tasks for step 1", "Deploy step tasks for step 5"]
        for i, t in enumerate(tasks):
            dense("TASK", t)
            time.sleep(seconds / len(tasks))
            if fail and i == len(tasks) - 1:
                dense("FATAL", "Run puppet host configuration for step 5", hosts[0],
                      'error={"changed": true, "msg": "non-zero return code", "rc": 6}')
                break
            for h in hosts:
                dense("OK", t, h)
    if fail:
        with state() as s:
            s["deploy_failures"] = s.get("deploy_failures", 0) + 1
            if Q:
                s["stack"]["status"] = action + "_FAILED"
        if Q:
            # tripleoclient 9.3.1 utils.wait_for_stack_ready / deploy: the failures, then the error.
            out("\n Stack %s %s_FAILED \n" % (stack, action))
            out(failures_text(stack, False, action))
            err("Heat Stack %s failed." % action.lower())
        else:
            yaml_dump(status, {"deployment_status": "DEPLOY_FAILED"})
            out("Overcloud Endpoint: http://192.168.122.150:5000")
            out("Overcloud Horizon Dashboard URL: http://192.168.122.150:80/dashboard")
            out("Overcloud rc file: %s/overcloudrc and %s/overcloudrc" % (wd, home()))
            out("Overcloud Deployed with error")
            err("Ansible execution failed. playbook: %s/config-download/%s/deploy_steps_playbook.yaml, Run Status: failed, Return Code: 2, "
                "To rerun the failed command manually execute the following script: %s/config-download/%s/ansible-playbook-command.sh" % (wd, stack, wd, stack))
        return 1
    # The deploy is done: the overcloud's nodes and each compute node's nova.conf.
    with state() as s:
        if Q:
            s["stack"]["status"] = action + "_COMPLETE"
            servers = []
            ip = 21
            counts = [("Controller", "controller", int(params.get("ControllerCount", 1))),
                      ("Compute", "novacompute", int(params.get("ComputeCount", 1))),
                      ("CephStorage", "cephstorage", int(params.get("CephStorageCount", 0)))]
            free = sorted((n for n in s.get("nodes", {}).items() if n[1]["state"] in ("available", "active")), key=lambda x: x[0])
            for role, short, c in counts:
                for i in range(c):
                    servers.append({"name": "%s-%s-%d" % (stack, short, i), "role": role, "ip": "172.16.0.%d" % ip})
                    ip += 1
            for name, n in free[:len(servers)]:
                n["state"] = "active"
        else:
            servers = s["provisioned"]
        old = {x["ip"]: x for x in s.get("servers", [])}
        for x in servers:
            x["restarts"] = old.get(x["ip"], {}).get("restarts", [])
        s["servers"] = servers
    for x in servers:
        if x["role"] == "Compute":
            d = os.path.join(DIR, "nodes", x["ip"], "var/lib/config-data/puppet-generated/nova_libvirt/etc/nova")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "nova.conf"), "w") as f:
                f.write(nova_conf(params))
    # The overcloudrc of tripleo-common's create_overcloudrc (utils/overcloudrc.py), the
    # password a stand-in's.
    rc = ("# Clear any old environment that may conflict.\n"
          "for key in $( set | awk '{FS=\"=\"}  /^OS_/ {print $1}' ); do unset $key ; done\n"
          "export OS_NO_CACHE=True\nexport OS_CLOUDNAME=%s\nexport OS_AUTH_URL=http://192.168.122.150:5000/v3\n"
          "export OS_USERNAME=admin\nexport OS_PASSWORD=stand-in-overcloud-admin\nexport OS_PROJECT_NAME=admin\n"
          "export OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\nexport OS_IDENTITY_API_VERSION=3\n"
          "export OS_AUTH_TYPE=password\n" % stack)
    for p in [os.path.join(os.getcwd(), "%src" % stack)] + ([] if Q else [os.path.join(wd, "%src" % stack), os.path.join(home(), "%src" % stack)]):
        with open(p, "w") as f:
            f.write(rc)
        os.chmod(p, 0o600)
    if Q:
        # tripleoclient 9.3.1 v1/overcloud_deploy.py take_action
        out("\n Stack %s %s_COMPLETE \n" % (stack, action))
        out("Overcloud Endpoint: http://192.168.122.150:5000/")
        out("Overcloud Horizon Dashboard URL: http://192.168.122.150:80/dashboard")
        out("Overcloud rc file: %s/%src" % (os.getcwd(), stack))
        out("Overcloud Deployed")
    else:
        yaml_dump(status, {"deployment_status": "DEPLOY_SUCCESS"})
        inv = {"Undercloud": {"hosts": {"undercloud": {}}}}
        for role in sorted({x["role"] for x in servers}):
            inv[role] = {"hosts": {x["name"]: {"ansible_host": x["ip"], "ctlplane_ip": x["ip"]} for x in servers if x["role"] == role}}
        yaml_dump(os.path.join(wd, "tripleo-ansible-inventory.yaml"), inv)
        out("Overcloud configuration completed for stack: %s" % stack)
        out("Overcloud Endpoint: http://192.168.122.150:5000")
        out("Overcloud Horizon Dashboard URL: http://192.168.122.150:80/dashboard")
        out("Overcloud rc file: %s/%src and %s/%src" % (wd, stack, home(), stack))
        out("Overcloud Deployed successfully")
    return 0


def failures_text(stack, long, action="CREATE"):
    """python-heatclient osc/v1/stack_failures.py (1.14.1 and 2.3.1 alike): each failed resource
    with its type, id, status and reason indented by 4."""
    rid = str(uuid.uuid5(uuid.NAMESPACE_URL, "failed"))
    return ("%s.AllNodesDeploySteps.ControllerDeployment_Step5:\n"
            "  resource_type: OS::Heat::StructuredDeploymentGroup\n"
            "  physical_resource_id: %s\n"
            "  status: %s_FAILED\n"
            "  status_reason: |\n"
            "    Error: resources.ControllerDeployment_Step5.resources[0]: Deployment to server failed: deploy_status_code: Deployment exited with non-zero status code: 2\n"
            "  deploy_stdout: |\n"
            "    ...\n"
            "            \"Error: Systemd start for pcsd failed!\"\n"
            "    (truncated, view all with --long)\n" % (stack, rid, action))


def stack_list(a):
    s = peek().get("stack")
    rows = [[s["id"], s["name"], s["status"], s["created"], s["updated"]]] if s else []
    # python-heatclient osc/v1/stack.py _list columns.
    emit(["ID", "Stack Name", "Stack Status", "Creation Time", "Updated Time"], rows, a)
    return 0


def stack_failures(a):
    s = peek().get("stack")
    if not s or s["name"] != a["stack"]:
        err("Stack not found: %s" % a["stack"])
        return 1
    if s["status"].endswith("_FAILED"):
        out(failures_text(s["name"], a.get("long"), s["status"].split("_")[0]))
    return 0


def server_list(a):
    if not Q:
        err("public endpoint for compute service not found")
        return 1
    rows = [[node_uuid(x["name"]), x["name"], "ACTIVE", "ctlplane=%s" % x["ip"], "overcloud-full", "baremetal"]
            for x in peek().get("servers", [])]
    # openstackclient compute/v2/server.py ListServer and _format_servers_list_networks.
    emit(["ID", "Name", "Status", "Networks", "Image Name", "Flavor Name"], rows, a)
    return 0


def overcloud_status(a):
    stack = a.get("plan") or "overcloud"
    p = os.path.join(home(), "overcloud-deploy", stack, "%s-deployment_status.yaml" % stack)
    if not os.path.isfile(p):
        # tripleoclient 16.5.0 v1/overcloud_deploy.py GetDeploymentStatus
        out("No deployment was found for %s" % stack)
        return 0
    out(table(["Stack Name", "Deployment Status"], [[stack, yaml_load(p)["deployment_status"]]]))
    return 0


COMMANDS = {
    "undercloud install": undercloud_install,
    "overcloud image upload": image_upload,
    "overcloud container image prepare": container_prepare,
    "overcloud container image upload": container_upload,
    "overcloud node import": node_import,
    "overcloud node introspect": introspect,
    "overcloud node provide": provide,
    "overcloud node provision": node_provision,
    "overcloud profiles list": profiles_list,
    "overcloud network provision": network_provision,
    "overcloud network vip provision": vip_provision,
    "overcloud ceph deploy": ceph_deploy,
    "overcloud deploy": deploy,
    "overcloud status": overcloud_status,
    "baremetal node list": node_list,
    "baremetal node set": node_set,
    "baremetal introspection list": introspection_list,
    "image list": image_list,
    "stack list": stack_list,
    "stack failures list": stack_failures,
    "server list": server_list,
}


def prog_openstack():
    if ARGS[:3] in (["compute", "service", "list"], ["network", "agent", "list"]):
        return overcloud_lists()
    table_ = json.load(open(CONF["parsers"]))
    try:
        name, a = parsers.parse(list(ARGS), table=table_)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 2
    if name != "undercloud install" and not os.path.isfile(os.path.join(home(), "stackrc")) and os.geteuid() != 0:
        err("Missing value auth-url required for auth plugin password")
        return 1
    return COMMANDS[name](a)


def main():
    t0 = time.time()
    fn = {"openstack": prog_openstack, "yum": prog_pkg, "dnf": prog_pkg, "rpm": prog_rpm,
          "hostnamectl": prog_hostnamectl, "subscription-manager": prog_subscription_manager,
          "ssh": prog_ssh, "sudo": prog_sudo, "docker": prog_docker, "systemctl": prog_systemctl,
          "chronyc": prog_chronyc, "pcs": prog_pcs, "cephadm": prog_cephadm}[PROG]
    rc = 1
    try:
        rc = fn()
    finally:
        if PROG != "sudo":
            log(rc, t0)
    sys.exit(rc)


if __name__ == "__main__":
    main()
