"""A stand-in for cephadm on an EDPM node, for labsh's tests: no Ceph can run here (cephadm
deploys containers of Ceph's daemons on RHEL with podman), so this program plays the
`cephadm` (Ceph 7, reef 18.2) of the commands labsh's stdlib/rhoso.rhai runs over ssh, on the
stand-in sshd of tests/harness/director.sh (whose /etc is an overlay of its own: the files
written below land there, never on this machine). It keeps the cluster in DIR/ceph.json and
logs every call to DIR/ceph.jsonl (its arguments, uid, exit code and what it printed on
stdout); DIR/cephadm.json says how it behaves: "hostname" (the bootstrapped node's name),
"fail" (a command prefix after `ceph`, such as "osd pool create", that fails as Ceph fails when
the PGs per OSD are exceeded).

Where each answer comes from (repository ceph/ceph, branch reef):
- bootstrap: src/cephadm/cephadm.py command_bootstrap: refuses when --output-config (default
  /etc/ceph/ceph.conf), the admin keyring or ceph.pub already exist unless --allow-overwrite;
  writes the minimal ceph.conf ("# minimal ceph.conf for FSID", [global] fsid and mon_host with
  the v2 and v1 addresses of --mon-ip), /etc/ceph/ceph.client.admin.keyring (0600) and the
  cluster's public ssh key /etc/ceph/ceph.pub; ends with "Bootstrap complete.". Where its lines
  go: cephadm_init_logging picks interactive_logging_config when an argument is `bootstrap`
  (or `rm-cluster`): INFO on STDOUT (console_stdout, level INFO, which ExcludeErrorsFilter
  keeps below WARNING), WARNING and above on stderr (console_stderr); main() logs a failure as
  "ERROR: ..." (logger.error, so stderr) and exits 1. Every other command uses logging_config,
  whose one console handler is a StreamHandler on stderr.
- shell: src/cephadm/cephadm.py infer_fsid/infer_image say on stderr (logging_config) which
  cluster and image. command_shell mounts the config at /etc/ceph/ceph.conf and the keyring at
  /etc/ceph/ceph.keyring, nothing else under /etc/ceph; with no --name it mounts as for an OSD
  (get_container_mounts: the host's / at /rootfs). So a file ceph writes with -o under /etc/ceph
  stays in the container and goes with it; only one under /rootfs reaches the node.
- orch host add/ls: src/pybind/mgr/cephadm/module.py _add_host ("Added host '{}' with addr
  '{}'"); src/pybind/mgr/orchestrator/module.py _get_hosts, --format json through to_format
  (json.dumps(..., sort_keys=True)) of src/python-common/ceph/deployment/hostspec.py
  HostSpec.to_json: {"addr", "hostname", "labels", "status"} ("location" and "oob" only when
  set, never here); the bootstrapped host is listed from bootstrap on, with the _admin label.
- orch apply osd --all-available-devices / orch ls osd --format json: the service spec
  osd.all-available-devices ("Scheduled osd.all-available-devices update..."). With nothing to
  list, src/pybind/mgr/orchestrator/module.py _list_services prints "No services reported"
  whatever the format (it checks for no services before it looks at --format), exit 0.
- osd pool create / ls detail --format json / application enable: src/mon/OSDMonitor.cc
  ("pool 'NAME' created", "pool 'NAME' already exists", "enabled application 'rbd' on pool
  'NAME'"; ls detail lists pool_name and application_metadata).
- auth: src/mon/AuthMonitor.cc. get-or-create ENTITY CAPS...: a new entity is made with those
  caps, and the keyring of its key only ("[client.openstack]\n\tkey = ...", KeyRing::
  encode_plaintext of a keyring holding no caps) on stdout; an existing one gives the same
  key again, unless a cap asked for is not the one it has: "Error EINVAL: key for ENTITY exists
  but cap SYS does not match", exit 22. auth get ENTITY: the keyring with the key and the caps
  it was made with ("\tcaps mgr = \"allow *\"", one line a cap, in the order of their names);
  of an unknown entity "Error ENOENT: failed to find ENTITY in keyring", exit 2.
- keys: src/auth/Crypto.cc CryptoKey::encode, base64 as a keyring shows it.
What it cannot be: no daemon runs; OSDs are the service spec only.
"""
import base64
import fcntl
import hashlib
import json
import os
import struct
import sys
import time
import uuid

DIR = sys.argv[1]
ARGS = sys.argv[2:]
FLAGS = json.load(open(os.path.join(DIR, "cephadm.json"))) if os.path.exists(os.path.join(DIR, "cephadm.json")) else {}
IMAGE = "registry.redhat.io/rhceph/rhceph-7-rhel9:latest"


OUT = []


def out(t):
    text(t + "\n")


def text(t):
    OUT.append(t)
    sys.stdout.write(t)
    sys.stdout.flush()


def err(t):
    sys.stderr.write(t + "\n")
    sys.stderr.flush()


def load():
    p = os.path.join(DIR, "ceph.json")
    return json.load(open(p)) if os.path.exists(p) else {}


def save(s):
    p = os.path.join(DIR, "ceph.json")
    with open(p + ".tmp", "w") as f:
        json.dump(s, f)
    os.replace(p + ".tmp", p)


def key(name):
    # A cephx key as CryptoKey::encode writes it (ceph/ceph src/auth/Crypto.cc, reef): type
    # (u16 LE, 1 = CEPH_CRYPTO_AES), created (utime_t: u32 seconds, u32 nanoseconds), the
    # secret's length (u16 LE, 16) and the 16 secret bytes: 28 bytes, 40 base64 characters
    # ("AQ...=="). Fixed per entity here, so that a second get-or-create gives the same key.
    d = hashlib.sha256(name.encode()).digest()
    return base64.b64encode(struct.pack("<HIIH", 1, 1714521600, int.from_bytes(d[16:20], "little") % 1000000000, 16)
                            + d[:16]).decode()


def keyring(entity, caps=None):
    # KeyRing::encode_plaintext (ceph/ceph src/auth/KeyRing.cc, reef): the key, then one line a
    # cap in the order of their names, a '"' in a cap escaped.
    t = "[%s]\n\tkey = %s\n" % (entity, key(entity))
    for sys_, cap in sorted((caps or {}).items()):
        t += "\tcaps %s = \"%s\"\n" % (sys_, cap.replace('"', '\\"'))
    return t


def bootstrap(s, a):
    opt = {}
    i = 0
    while i < len(a):
        if a[i].startswith("--") and i + 1 < len(a) and not a[i + 1].startswith("--"):
            opt[a[i]] = a[i + 1]
            i += 2
        else:
            opt[a[i]] = True
            i += 1
    if "--mon-ip" not in opt:
        err("ERROR: must specify --mon-ip or --mon-addrv")
        return 1
    conf, admin, pub = "/etc/ceph/ceph.conf", "/etc/ceph/ceph.client.admin.keyring", "/etc/ceph/ceph.pub"
    if "--allow-overwrite" not in opt:
        for f in (conf, admin, pub):
            if os.path.exists(f):
                err("ERROR: %s already exists; delete or pass --allow-overwrite to overwrite" % f)
                return 1
    fsid = str(uuid.uuid5(uuid.NAMESPACE_URL, "labsh-standin-edpm-ceph"))
    ip = opt["--mon-ip"]
    os.makedirs("/etc/ceph", mode=0o755, exist_ok=True)
    with open(conf, "w") as f:
        f.write("# minimal ceph.conf for %s\n[global]\n\tfsid = %s\n\tmon_host = [v2:%s:3300/0,v1:%s:6789/0]\n" % (fsid, fsid, ip, ip))
    os.chmod(conf, 0o644)
    with open(admin, "w") as f:
        f.write("[client.admin]\n\tkey = %s\n" % key("client.admin"))
    os.chmod(admin, 0o600)
    with open(pub, "w") as f:
        f.write("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDstandin ceph-%s\n" % fsid)
    os.chmod(pub, 0o644)
    host = FLAGS.get("hostname", "localhost")
    s.update({"fsid": fsid, "hosts": [{"addr": ip, "hostname": host, "labels": ["_admin"], "status": ""}],
              "services": [], "pools": {}, "auth": {}})
    out("Verifying podman|docker is present...")
    out("Cluster fsid: %s" % fsid)
    out("Wrote config to %s" % conf)
    out("Wrote keyring to %s" % admin)
    out("Wrote public SSH key to %s" % pub)
    out("Bootstrap complete.")
    return 0


def ceph(s, a):
    cmd = " ".join(a)
    fail = FLAGS.get("fail")
    if fail and cmd.startswith(fail):
        # As the ceph CLI prints it ("Error ERANGE: " and the monitor's message): ceph/ceph
        # src/mon/OSDMonitor.cc check_pg_num (reef) names the pool ("pool id N") only for an
        # existing one and then writes " pg_num ...", so for a new pool the message starts with
        # a space: two after the colon.
        err("Error ERANGE:  pg_num 32 size 3 for this pool would result in 264 cumulative PGs per OSD "
            "(792 total PG replicas on 3 'in' root OSDs by crush rule) which exceeds the mon_max_pg_per_osd value of 250")
        return 34
    if "fsid" not in s:
        err("Error: no cluster here: /etc/ceph/ceph.conf not found")
        return 1
    fmt_json = "--format" in a and a[a.index("--format") + 1] == "json"
    if a[:3] == ["orch", "host", "ls"]:
        out(json.dumps(s["hosts"], sort_keys=True) if fmt_json else "\n".join(h["hostname"] for h in s["hosts"]))
        return 0
    if a[:3] == ["orch", "host", "add"] and len(a) >= 5:
        if not any(h["hostname"] == a[3] for h in s["hosts"]):
            s["hosts"].append({"addr": a[4], "hostname": a[3], "labels": [], "status": ""})
        out("Added host '%s' with addr '%s'" % (a[3], a[4]))
        return 0
    if a[:2] == ["orch", "ls"]:
        svcs = [x for x in s["services"] if len(a) < 3 or a[2].startswith("--") or x["service_type"] == a[2]]
        if not svcs:
            out("No services reported")
        else:
            out(json.dumps(svcs) if fmt_json else "\n".join(x["service_name"] for x in svcs))
        return 0
    if a[:4] == ["orch", "apply", "osd", "--all-available-devices"]:
        if not any(x["service_name"] == "osd.all-available-devices" for x in s["services"]):
            s["services"].append({"placement": {"host_pattern": "*"}, "service_id": "all-available-devices",
                                  "service_name": "osd.all-available-devices", "service_type": "osd",
                                  "spec": {"data_devices": {"all": True}, "filter_logic": "AND", "objectstore": "bluestore"},
                                  "status": {"running": 0, "size": len(s["hosts"])}})
        out("Scheduled osd.all-available-devices update...")
        return 0
    if a[:3] == ["osd", "pool", "create"] and len(a) >= 4:
        if a[3] in s["pools"]:
            err("pool '%s' already exists" % a[3])
        else:
            s["pools"][a[3]] = {}
            err("pool '%s' created" % a[3])
        return 0
    if a[:3] == ["osd", "pool", "ls"]:
        if len(a) > 3 and a[3] == "detail":
            out(json.dumps([{"pool_name": n, "application_metadata": m} for n, m in s["pools"].items()]))
        else:
            out(json.dumps(list(s["pools"])) if fmt_json else "\n".join(s["pools"]))
        return 0
    if a[:4] == ["osd", "pool", "application", "enable"] and len(a) >= 6:
        if a[4] not in s["pools"]:
            err("Error ENOENT: unrecognized pool '%s'" % a[4])
            return 2
        s["pools"][a[4]][a[5]] = {}
        err("enabled application '%s' on pool '%s'" % (a[5], a[4]))
        return 0
    if a[:2] == ["auth", "get"] and len(a) >= 3:
        if a[2] not in s["auth"]:
            err("Error ENOENT: failed to find %s in keyring" % a[2])
            return 2
        text(keyring(a[2], s["auth"][a[2]]))
        return 0
    if a[:2] == ["auth", "get-or-create"] and len(a) >= 3:
        rest = a[3:a.index("-o")] if "-o" in a else a[3:]
        wanted = dict(zip(rest[0::2], rest[1::2]))
        have = s["auth"].get(a[2])
        if have is not None:
            for sys_, cap in sorted(wanted.items()):
                if have.get(sys_) != cap:
                    err("Error EINVAL: key for %s exists but cap %s does not match" % (a[2], sys_))
                    return 22
        else:
            s["auth"][a[2]] = wanted
        ring = keyring(a[2])
        if "-o" in a and a.index("-o") + 1 < len(a):
            # Written inside cephadm shell's container: only a path under /rootfs is the node's.
            dest = a[a.index("-o") + 1]
            if dest.startswith("/rootfs/"):
                with open(dest[len("/rootfs"):], "w") as f:
                    f.write(ring)
        else:
            text(ring)
        return 0
    err("stand-in cephadm: ceph %s is not a command labsh runs" % cmd)
    return 22


def main():
    t0 = time.time()
    rc = 1
    with open(os.path.join(DIR, "ceph.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        s = load()
        if ARGS[:1] == ["bootstrap"]:
            rc = bootstrap(s, ARGS[1:])
        elif ARGS[:3] == ["shell", "--", "ceph"]:
            if "fsid" in s:
                err("Inferring fsid %s" % s["fsid"])
                err("Using ceph image with id 'standin' and tag 'latest' created on 2024-05-01 %s" % IMAGE)
            rc = ceph(s, ARGS[3:])
        else:
            err("stand-in cephadm: %s is not a command labsh runs" % " ".join(ARGS))
            rc = 2
        if rc == 0:
            save(s)
    with open(os.path.join(DIR, "ceph.jsonl"), "a") as f:
        f.write(json.dumps({"args": ARGS, "uid": os.geteuid(), "rc": rc, "out": "".join(OUT), "start": t0,
                            "end": time.time()}) + "\n")
    sys.exit(rc)


if __name__ == "__main__":
    main()
