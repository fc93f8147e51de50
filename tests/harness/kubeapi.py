#!/usr/bin/env python3
"""A stand-in for a Kubernetes API server on 127.0.0.1, for a real kubectl (or oc) to be pointed
at: `python3 tests/harness/kubeapi.py DATA` prints its port on stdout and serves until killed.
No cluster can run on this machine.

What is real and what stands in:
- Real: the HTTP API kubectl speaks (discovery at /api, /apis, /apis/G and /apis/G/V; GET of one
  object; LIST in a namespace and across all; PATCH with the server-side apply content type
  application/apply-patch+yaml as `kubectl apply --server-side` sends it, a JSON merge patch
  (merge-patch+json; strategic-merge-patch+json is taken as one too), POST to create, PUT to
  replace, DELETE; Status objects with the reasons and codes the API gives: NotFound (an object,
  or the namespace it is written to), AlreadyExists, Conflict (a stale resourceVersion on PUT),
  BadRequest, UnsupportedMediaType), the resources served (plural, short names,
  scope: from the operators' CRDs, tests/data/rhoso/status-shapes.json's "resources", and
  Kubernetes core v1's Namespace, Secret, ConfigMap), and the condition types, reasons, messages
  and OLM phases an object's status shows (read off the operators' sources into
  status-shapes.json by tools/rhoso-status-shapes.py; what was written by hand is in its
  "by_hand" section, each part citing the lines it follows).
- Stands in: there are no controllers. An object's status is made by this file at each read from
  the recorded shapes: its first N reads (DATA/progress.json: a number, or {"reads": N,
  "Kind/name": M}; default 2) show the "in progress" shape, later ones the "ready" one
  (OpenStackControlPlane's conditions are the ones its InitConditions sets for the services its
  spec enables, the CRD's default taken when a service is not named; a
  NodeNetworkConfigurationPolicy's are nmstate's SetPolicyProgressing, then SetPolicySuccess,
  for one matching node; MetalLB's and an OpenStackDataPlaneDeployment's status.deployed are
  the "by_hand" ones; an NMState shows none, as its operator sets none: "by_hand"."no_status").
  DATA/unavailable.json makes GETs of a path answer 503 for a while (see H.unavailable).
  DATA/fail.json {"Kind/name": {"condition":..., "reason":..., "message":...}} makes that condition False
  with severity Error (lib-common's SeverityError) after the N reads, and Ready with it, as
  lib-common's Mirror does. A change of an object's spec (a new generation) starts its progress
  again, after one read that still shows the status of the generation before (its
  observedGeneration the old one: no controller has reconciled the change yet). A Subscription makes, as OLM would, an InstallPlan (install-XXXXX; approved
  unless the Subscription's installPlanApproval is Manual: then RequiresApproval until a client
  sets its spec.approved, and only then the CSV) and a
  ClusterServiceVersion (spec.startingCSV, or PACKAGE.v0.0.0 when none is named: the stand-in's
  invention) in its namespace; each goes through its phases by its own reads (InstallPlan
  Installing then Complete; CSV Installing then Succeeded; the Subscription UpgradePending, then
  AtLatestKnown with status.installedCSV); a CatalogSource's connection goes CONNECTING, then
  READY. OLM's own objects are not written to writes.log. A Secret's stringData is stored in its
  data, base64-encoded, as the API server does.
- Server-side apply, simplified: the applied configuration is merged into the live object (maps
  merged key by key, lists and scalars replaced), and the fields the same field manager applied
  last time and leaves out now are removed. There are no managedFields, no conflicts between
  managers (every apply is forced), no defaulting and no schema validation (/openapi/v2 is not
  served: kubectl needs --validate=false, as labsh gives it). resourceVersion changes only when
  the stored object changes, generation only when something outside metadata does; status is
  never taken from a client (a write to the status subresource is refused).
- Every write is appended to DATA/writes.log, one line each: VERB Kind NAMESPACE/NAME RESULT
  (VERB PATCH, POST, PUT or DELETE; RESULT created, changed, unchanged or deleted; NAMESPACE
  empty for a cluster-scoped object), so a test can count creations and see that a second run
  writes nothing. Objects live in memory for the life of the process; there is no watch (a
  client polls).

What the older parts serve, unchanged (each file read at each request, so a test can change it
while the server runs): nodes.json and pods-NAMESPACE.json (the article's cluster, in
tests/data/k8s), clusteroperators.json (config.openshift.io/v1), and what a lab's revert asks of
a cluster:
- secrets-NAMESPACE.json: the secrets of a namespace (a SecretList), with the certificate
  annotations of openshift/library-go pkg/operator/certrotation/annotations.go (listed with the
  secrets written through the API);
- csrs.json: certificate signing requests (a CertificateSigningRequestList, k8s.io/api
  certificates/v1 types.go), approved through their approval subresource as `kubectl
  certificate approve` does (kubectl pkg/cmd/certificates/certificates.go: a GET, then a PUT of
  the object with an Approved condition to .../NAME/approval); approvals are kept in memory.
  With csrs.json there, the cluster operators' conditions are the stand-in's: Available, and
  Progressing while a certificate request waits for approval (the kube-apiserver operator waits
  for the nodes' kubelet certificates), never Degraded. A simplification: a real operator
  reports its own.

clusteroperators.json is not a recording (the article shows no operators): it holds the cluster
operators of OpenShift 4.2 written after the ClusterOperator type (openshift/api,
config/v1/types_cluster_operator.go, release-4.2), each Available, not Progressing, not Degraded."""
import base64, copy, datetime, hashlib, json, os, re, sys, threading, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DATA = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
APPROVED = {}
LOCK = threading.Lock()

def load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)

def load_or(name, kind, api="v1"):
    if os.path.exists(os.path.join(DATA, name)):
        return load(name)
    return {"kind": kind, "apiVersion": api, "metadata": {}, "items": []}

def now():
    return datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")

T = [None]  # the transition time of the status being made (under LOCK)

def csrs():
    """The certificate requests with the approvals made here."""
    l = load_or("csrs.json", "CertificateSigningRequestList", "certificates.k8s.io/v1")
    with LOCK:
        for c in l["items"]:
            if c["metadata"]["name"] in APPROVED:
                c.setdefault("status", {})["conditions"] = APPROVED[c["metadata"]["name"]]
    return l

def pending():
    return [c for c in csrs()["items"] if not (c.get("status") or {}).get("conditions")]

def operators():
    l = load_or("clusteroperators.json", "ClusterOperatorList", "config.openshift.io/v1")
    if not os.path.exists(os.path.join(DATA, "csrs.json")):
        return l
    waiting = bool(pending())
    t = now()
    for co in l["items"]:
        co["status"] = {"conditions": [
            {"type": "Available", "status": "True", "lastTransitionTime": t},
            {"type": "Progressing", "status": "True" if waiting else "False", "lastTransitionTime": t,
             "message": "NodeInstallerProgressing: waiting for the nodes' kubelet certificates" if waiting else ""},
            {"type": "Degraded", "status": "False", "lastTransitionTime": t},
        ]}
    return l

# ---- the kinds served through the store -------------------------------------------------------

def shapes_file():
    own = os.path.join(DATA, "status-shapes.json")
    return own if os.path.exists(own) else os.path.join(HERE, "..", "data", "rhoso", "status-shapes.json")

with open(shapes_file()) as f:
    SHAPES = json.load(f)

def crd_schemas():
    """The CRDs' schemas, for a default the spec leaves out (OpenStackControlPlane's services)."""
    p = os.path.join(HERE, "..", "data", "rhoso", "crd-schemas.json")
    if not os.path.exists(p):
        return {}
    with open(p) as f:
        return {s["kind"]: s["schema"] for s in json.load(f)["schemas"]}

SCHEMAS = crd_schemas()

# Kubernetes core v1 (k8s.io/api core/v1): the kinds labsh writes there.
CORE = {
    "Namespace": {"group": "", "version": "v1", "plural": "namespaces", "singular": "namespace", "shortNames": ["ns"], "namespaced": False},
    "Secret": {"group": "", "version": "v1", "plural": "secrets", "singular": "secret", "shortNames": [], "namespaced": True},
    "ConfigMap": {"group": "", "version": "v1", "plural": "configmaps", "singular": "configmap", "shortNames": ["cm"], "namespaced": True},
}
KINDS = dict(CORE)
KINDS.update(SHAPES["resources"])
BY_PLURAL = {(k["group"], k["version"], k["plural"]): kind for kind, k in KINDS.items()}
VERBS = ["create", "delete", "get", "list", "patch", "update"]

OBJECTS = {}   # (kind, namespace, name) -> {"obj", "reads", "applied": {manager: config}}
RV = [1]

def next_rv():
    RV[0] += 1
    return str(RV[0])

def api_version(kind):
    k = KINDS[kind]
    return "%s/%s" % (k["group"], k["version"]) if k["group"] else k["version"]

def groups():
    """The API groups of the stored kinds: name -> [versions]."""
    out = {}
    for k in KINDS.values():
        if k["group"]:
            vs = out.setdefault(k["group"], [])
            if k["version"] not in vs:
                vs.append(k["version"])
    for vs in out.values():
        vs.sort(key=lambda v: (not v.startswith("v1") or "alpha" in v or "beta" in v, v))
    return out

def group_doc(name, versions):
    gvs = [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}

def resource_list(group, version):
    res = []
    for kind, k in sorted(KINDS.items()):
        if k["group"] == group and k["version"] == version:
            res.append({"name": k["plural"], "singularName": k["singular"], "namespaced": k["namespaced"],
                        "kind": kind, "verbs": VERBS, "shortNames": k.get("shortNames") or []})
            if k.get("statusSubresource"):
                res.append({"name": k["plural"] + "/status", "singularName": "", "namespaced": k["namespaced"],
                            "kind": kind, "verbs": ["get", "patch", "update"]})
    return res

# ---- status from the recorded shapes ----------------------------------------------------------

def data_json(name, default):
    p = os.path.join(DATA, name)
    if not os.path.exists(p):
        return default
    with open(p) as f:
        return json.load(f)

def reads_needed(kind, name):
    p = data_json("progress.json", 2)
    if isinstance(p, dict):
        return int(p.get("%s/%s" % (kind, name), p.get("reads", 2)))
    return int(p)

def failure(kind, name):
    return data_json("fail.json", {}).get("%s/%s" % (kind, name))

def fill(fmt, *args):
    """A Go format with its verbs given `args` in order (the rest empty)."""
    it = iter(args)
    return re.sub(r"%[sdv]", lambda m: str(next(it, "")), fmt or "")

def lookup(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return None, False
        cur = cur[p]
    return cur, True

def schema_default(kind, path):
    node = SCHEMAS.get(kind)
    for p in path.split("."):
        if not isinstance(node, dict):
            return None
        node = (node.get("properties") or {}).get(p)
    return node.get("default") if isinstance(node, dict) else None

def guard_holds(kind, obj, when):
    for t in when or []:
        v, present = lookup(obj, t["field"])
        if not present:
            v = schema_default(kind, t["field"])
            present = v is not None
        ok = {"true": v is True, "false": not v, "present": present,
              "nonempty": bool(v)}[t["test"]]
        if not ok:
            return False
    return True

def cond(type_, status, reason, message, severity=None, t=None):
    c = {"type": type_, "status": status, "lastTransitionTime": t or T[0] or now()}
    if severity:
        c["severity"] = severity
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c

def with_failure(conds, fail, mirror_ready):
    """`conds` with the failed one False, severity Error (and Ready mirroring it)."""
    sev = SHAPES["lib_common"]["severity"]["SeverityError"]
    names = [c["type"] for c in conds]
    if fail["condition"] not in names:
        conds.append(cond(fail["condition"], "True", "", ""))
    out = []
    for c in conds:
        if c["type"] == fail["condition"] or (mirror_ready and c["type"] == "Ready"):
            c = cond(c["type"], "False", fail.get("reason") or "Error", fail.get("message") or "", sev)
        out.append(c)
    return out

def lib_common_status(kind, obj, phase, fail):
    lc = SHAPES["lib_common"]
    r = lc["reasons"]
    info = lc["severity"]["SeverityInfo"]
    conds = []
    for c in SHAPES["kinds"][kind]["conditions"]:
        if not guard_holds(kind, obj, c.get("when")):
            continue
        if phase == "progressing":
            conds.append(cond(c["type"], "False", r["RequestedReason"], fill(c["running_message"] or c["init_message"]), info))
        else:
            conds.append(cond(c["type"], "True", r["ReadyReason"], fill(c["ready_message"] or "")))
    if fail:
        conds = with_failure(conds, fail, True)
    st = {"conditions": sorted(conds, key=lambda c: (c["type"] != "Ready", c["type"])),
          "observedGeneration": obj["metadata"]["generation"]}
    more = SHAPES["by_hand"].get("status_fields", {}).get(kind)
    if more:
        st.update(more["ready" if phase == "ready" and not fail else "progressing"])
    return st

def nmstate_status(kind, obj, phase, fail):
    s = SHAPES["kinds"][kind]
    shape = s["failed"] if fail else (s["progressing"] if phase == "progressing" else s["ready"])
    args = (0, 1) if phase == "progressing" else (1, 1)
    conds = [cond(c["type"], c["status"], c["reason"], fail["message"] if fail and c["message"] else fill(c["message"], *args))
             for c in shape["conditions"]]
    if fail:
        conds = with_failure(conds, fail, False)
    return {"conditions": conds}

def by_hand_status(kind, obj, phase, fail):
    shape = SHAPES["by_hand"][kind][phase if phase == "progressing" else "ready"]
    if isinstance(shape, dict):
        st = copy.deepcopy(shape)
        if fail:
            st["conditions"] = with_failure([], fail, False)
        return st
    conds = [cond(c["type"], c["status"], c["reason"], c["message"]) for c in shape]
    if fail:
        conds = with_failure(conds, fail, False)
    return {"conditions": conds}

def olm_status(kind, obj, phase, fail):
    hand = SHAPES["by_hand"]["olm_install"]
    t = T[0] or now()
    if kind == "Subscription":
        ns = obj["metadata"].get("namespace", "")
        csv = csv_name(obj)
        st = {"state": hand["subscription"]["progressing"], "currentCSV": csv, "lastUpdated": t,
              "installPlanRef": {"apiVersion": api_version("InstallPlan"), "kind": "InstallPlan",
                                 "name": plan_name(obj), "namespace": ns},
              "installplan": {"apiVersion": api_version("InstallPlan"), "kind": "InstallPlan", "name": plan_name(obj)}}
        # A Subscription has its CSV installed once its InstallPlan has done so: not while the
        # plan waits for approval (no CSV yet), nor when the plan failed.
        installed = ("ClusterServiceVersion", ns, csv) in OBJECTS and not failure("InstallPlan", plan_name(obj))
        if phase == "ready" and not fail and installed:
            st["state"] = hand["subscription"]["ready"]
            st["installedCSV"] = csv
        if fail:
            st["state"] = SHAPES["kinds"]["Subscription"]["states"]["SubscriptionStateFailed"]
            st["conditions"] = with_failure([], fail, False)
        return st
    if kind == "InstallPlan":
        st = {"phase": hand["installplan"][phase], "catalogSources": []}
        if not (obj.get("spec") or {}).get("approved", True):
            # operator-framework/api v0.27.0 pkg/operators/v1alpha1/installplan_types.go:
            # InstallPlanPhaseRequiresApproval, until spec.approved is set.
            st["phase"] = "RequiresApproval"
            return st
        if fail:
            st["phase"] = hand["installplan"]["failed"]
            st["conditions"] = with_failure([], fail, False)
        return st
    if kind == "ClusterServiceVersion":
        p = hand["csv"]["failed" if fail else phase]
        st = {"phase": p["phase"], "reason": p["reason"], "message": "", "lastUpdateTime": t, "lastTransitionTime": t}
        if fail:
            st.update(reason=fail.get("reason") or p["reason"], message=fail.get("message", ""),
                      conditions=with_failure([], fail, False))
        return st
    return None

def status_of(kind, entry):
    """The status an object shows at its entry["reads"]-th read."""
    obj = entry["obj"]
    name = obj["metadata"]["name"]
    phase = "progressing" if entry["reads"] <= reads_needed(kind, name) else "ready"
    fail = failure(kind, name) if phase == "ready" else None
    # the time the object entered what it shows now, kept so that a condition's
    # lastTransitionTime moves only when the condition does
    T[0] = entry.setdefault("since", {}).setdefault(json.dumps([obj["metadata"]["generation"], phase, fail]), now())
    if kind == "Namespace":
        return {"phase": "Active"}
    shape = SHAPES["kinds"].get(kind)
    if shape and shape["style"] == "lib-common":
        return lib_common_status(kind, obj, phase, fail)
    if shape and shape["style"] == "nmstate":
        return nmstate_status(kind, obj, phase, fail)
    if shape and shape["style"] == "olm":
        return olm_status(kind, obj, phase, fail)
    if kind in SHAPES["by_hand"]:
        return by_hand_status(kind, obj, phase, fail)
    return None

def shown(kind, entry, read):
    """The object as a client sees it; a read counts towards its progress."""
    with LOCK:
        o = copy.deepcopy(entry["obj"])
        if entry.get("stale") is not None:
            st = entry["stale"]
            if read:
                entry["stale"] = None
        else:
            if read:
                entry["reads"] += 1
            st = status_of(kind, entry)
    if st is not None:
        o["status"] = st
    return o

# ---- OLM's part: a Subscription's InstallPlan and CSV -----------------------------------------

def csv_name(sub):
    spec = sub.get("spec") or {}
    return spec.get("startingCSV") or "%s.v0.0.0" % spec.get("name", sub["metadata"]["name"])

def plan_name(sub):
    h = hashlib.sha256(("%s/%s" % (sub["metadata"].get("namespace", ""), sub["metadata"]["name"])).encode()).hexdigest()
    return "install-" + "".join(c for c in h if c.isalpha())[:5].ljust(5, "x")

def olm_follow(sub):
    """What OLM makes for a Subscription (not written to writes.log: OLM's writes, not labsh's)."""
    ns = sub["metadata"].get("namespace", "")
    csv = csv_name(sub)
    owner = [{"apiVersion": api_version("Subscription"), "kind": "Subscription", "name": sub["metadata"]["name"],
              "uid": sub["metadata"]["uid"]}]
    approval = (sub.get("spec") or {}).get("installPlanApproval", "Automatic")
    plan = {"apiVersion": api_version("InstallPlan"), "kind": "InstallPlan",
            "metadata": {"name": plan_name(sub), "namespace": ns, "ownerReferences": owner},
            "spec": {"approval": approval, "approved": approval == "Automatic",
                     "clusterServiceVersionNames": [csv], "generation": 1}}
    if ("InstallPlan", ns, plan_name(sub)) not in OBJECTS:
        store_new("InstallPlan", plan)
    # A Manual plan waits for its approval (spec.approved) before OLM installs its CSV.
    if plan["spec"]["approved"]:
        olm_install(ns, csv, sub)

def olm_install(ns, csv, sub):
    """The ClusterServiceVersion an approved InstallPlan installs."""
    cv = {"apiVersion": api_version("ClusterServiceVersion"), "kind": "ClusterServiceVersion",
          "metadata": {"name": csv, "namespace": ns},
          "spec": {"displayName": (sub.get("spec") or {}).get("name", csv), "version": csv.split(".v", 1)[-1],
                   "install": {"strategy": "deployment"}}}
    if ("ClusterServiceVersion", ns, csv) not in OBJECTS:
        store_new("ClusterServiceVersion", cv)

def olm_approved(plan):
    """An InstallPlan approved by a client: OLM goes on with its CSVs."""
    ns = plan["metadata"].get("namespace", "")
    if not (plan.get("spec") or {}).get("approved"):
        return
    for sub in [e["obj"] for (k, n, _), e in list(OBJECTS.items()) if k == "Subscription" and n == ns]:
        if plan_name(sub) == plan["metadata"]["name"]:
            for csv in plan["spec"].get("clusterServiceVersionNames", []):
                olm_install(ns, csv, sub)

# ---- the store --------------------------------------------------------------------------------

SERVER_META = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")

def content(o):
    """What a write can change: all but status and the server's metadata."""
    c = copy.deepcopy(o)
    c.pop("status", None)
    for k in SERVER_META:
        c.get("metadata", {}).pop(k, None)
    return c

def store_new(kind, body):
    o = content(body)
    m = o.setdefault("metadata", {})
    m.update({"uid": str(uuid.uuid4()), "resourceVersion": next_rv(), "generation": 1, "creationTimestamp": now()})
    o["apiVersion"], o["kind"] = api_version(kind), kind
    entry = {"obj": o, "reads": 0, "applied": {}}
    OBJECTS[(kind, m.get("namespace", ""), m["name"])] = entry
    if kind == "Subscription":
        olm_follow(o)
    return entry

def merge(live, cfg):
    """cfg merged into live: maps key by key, everything else replaced."""
    if not isinstance(live, dict) or not isinstance(cfg, dict):
        return copy.deepcopy(cfg)
    out = dict(live)
    for k, v in cfg.items():
        out[k] = merge(live.get(k), v)
    return out

def merge_patch(live, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(live) if isinstance(live, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out

def prune(live, old, new):
    """live without the fields `old` set and `new` leaves out."""
    if not isinstance(live, dict) or not isinstance(old, dict):
        return live
    out = dict(live)
    for k, v in old.items():
        if not isinstance(new, dict) or k not in new:
            out.pop(k, None)
        elif isinstance(v, dict):
            out[k] = prune(out.get(k), v, new[k])
    return out

def update(kind, entry, new):
    """Store `new` as the object's content: 'changed' or 'unchanged'."""
    o = entry["obj"]
    new = content(new)
    if new == content(o):
        return "unchanged"
    spec_changed = {k: v for k, v in new.items() if k != "metadata"} != {k: v for k, v in content(o).items() if k != "metadata"}
    m = new.setdefault("metadata", {})
    for k in ("uid", "creationTimestamp", "generation"):
        m[k] = o["metadata"][k]
    m["resourceVersion"] = next_rv()
    if spec_changed:
        # A controller sees a new generation only once it reconciles: until then (the first
        # read after the change) the object shows the status it had, with that status's
        # observedGeneration, as a real API server does before its operator catches up.
        before = status_of(kind, entry)
        if before is not None and "observedGeneration" in before:
            entry["stale"] = before
        m["generation"] += 1
        entry["reads"] = 0
    new["apiVersion"], new["kind"] = o["apiVersion"], kind
    entry["obj"] = new
    return "changed"

def log_write(verb, kind, ns, name, result):
    with open(os.path.join(DATA, "writes.log"), "a") as f:
        f.write("%s %s %s/%s %s\n" % (verb, kind, ns, name, result))

# ---- HTTP ---------------------------------------------------------------------------------------

RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
    {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node", "verbs": ["get", "list"], "shortNames": ["no"]},
    {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"]},
] + resource_list("", "v1")}

CONFIG = {"name": "config.openshift.io", "versions": [{"groupVersion": "config.openshift.io/v1", "version": "v1"}],
          "preferredVersion": {"groupVersion": "config.openshift.io/v1", "version": "v1"}}

CONFIG_RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "config.openshift.io/v1", "resources": [
    {"name": "clusteroperators", "singularName": "clusteroperator", "namespaced": False, "kind": "ClusterOperator", "verbs": ["get", "list"], "shortNames": ["co"]},
]}

CERTIFICATES = {"name": "certificates.k8s.io", "versions": [{"groupVersion": "certificates.k8s.io/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": "certificates.k8s.io/v1", "version": "v1"}}

CERTIFICATES_RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "certificates.k8s.io/v1", "resources": [
    {"name": "certificatesigningrequests", "singularName": "certificatesigningrequest", "namespaced": False,
     "kind": "CertificateSigningRequest", "verbs": ["get", "list", "update"], "shortNames": ["csr"]},
    {"name": "certificatesigningrequests/approval", "singularName": "", "namespaced": False,
     "kind": "CertificateSigningRequest", "verbs": ["get", "update"]},
]}

def status_doc(code, reason, message, details=None):
    d = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": reason,
         "code": code, "message": message}
    if details:
        d["details"] = details
    return d

def not_found(kind, name):
    k = KINDS[kind]
    res = k["plural"] + ("." + k["group"] if k["group"] else "")
    return status_doc(404, "NotFound", '%s "%s" not found' % (res, name),
                      {"name": name, "group": k["group"], "kind": k["plural"]})

def route(p):
    """(kind, namespace, name, subresource) of a path to a stored kind, or None."""
    parts = [x for x in p.split("/") if x]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    ns = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    kind = BY_PLURAL.get((group, version, rest[0]))
    if kind is None:
        return None
    if not KINDS[kind]["namespaced"] and ns:
        return None
    return kind, ns, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None

def selected(o, q):
    """Whether `o` matches the query's label selector (k=v, k==v, k!=v, k, !k) and field selector."""
    labels = o["metadata"].get("labels") or {}
    for sel in q.get("labelSelector", []):
        for term in [t.strip() for t in sel.split(",") if t.strip()]:
            m = re.fullmatch(r"([^!=]+?)\s*(!=|==|=)\s*(.*)", term)
            if m:
                k, op, v = m.groups()
                if (labels.get(k) == v) != (op != "!="):
                    return False
            elif term.startswith("!"):
                if term[1:] in labels:
                    return False
            elif term not in labels:
                return False
    for sel in q.get("fieldSelector", []):
        for term in [t for t in sel.split(",") if t]:
            k, _, v = term.partition("=")
            got, _ = lookup(o, k)
            if str(got) != v.lstrip("="):
                return False
    return True

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body):
        b = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        text = raw.decode() or "{}"
        try:
            return json.loads(text)
        except ValueError:
            import yaml  # an apply patch may be YAML
            return yaml.safe_load(text)

    def unavailable(self, p):
        """DATA/unavailable.json {"path": SUBSTRING, "skip": N, "count": M}: of the GETs whose
        path holds SUBSTRING, the first N are served, the next M answered 503 ServiceUnavailable
        as an API server does while it (or its etcd, or an aggregated API) restarts; the file
        keeps the count."""
        f = os.path.join(DATA, "unavailable.json")
        u = data_json("unavailable.json", None)
        if not u or u.get("path", "") not in p:
            return False
        seen = u.get("seen", 0)
        u["seen"] = seen + 1
        with open(f, "w") as out:
            json.dump(u, out)
        if not (u.get("skip", 0) <= seen < u.get("skip", 0) + u.get("count", 0)):
            return False
        self.send(503, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": "the server is currently unable to handle the request",
                        "reason": "ServiceUnavailable", "code": 503})
        return True

    def do_GET(self):
        u = urlparse(self.path)
        p = u.path.rstrip("/")
        q = parse_qs(u.query)
        if self.unavailable(p):
            return
        if p == "/api":
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if p == "/apis":
            gs = [CONFIG, CERTIFICATES] + [group_doc(g, vs) for g, vs in sorted(groups().items())]
            return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
        if p == "/apis/config.openshift.io":
            return self.send(200, dict(CONFIG, kind="APIGroup", apiVersion="v1"))
        if p == "/apis/config.openshift.io/v1":
            return self.send(200, CONFIG_RESOURCES)
        if p == "/apis/config.openshift.io/v1/clusteroperators":
            return self.send(200, operators())
        if p == "/apis/certificates.k8s.io":
            return self.send(200, dict(CERTIFICATES, kind="APIGroup", apiVersion="v1"))
        if p == "/apis/certificates.k8s.io/v1":
            return self.send(200, CERTIFICATES_RESOURCES)
        if p == "/apis/certificates.k8s.io/v1/certificatesigningrequests":
            return self.send(200, csrs())
        if p.startswith("/apis/certificates.k8s.io/v1/certificatesigningrequests/"):
            name = p.split("/")[5]
            for c in csrs()["items"]:
                if c["metadata"]["name"] == name:
                    return self.send(200, c)
        if p == "/api/v1":
            return self.send(200, RESOURCES)
        parts = p.split("/")
        gs = groups()
        if len(parts) == 3 and parts[1] == "apis" and parts[2] in gs:
            return self.send(200, dict(group_doc(parts[2], gs[parts[2]]), kind="APIGroup", apiVersion="v1"))
        if len(parts) == 4 and parts[1] == "apis" and parts[3] in gs.get(parts[2], []):
            return self.send(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "%s/%s" % (parts[2], parts[3]),
                                   "resources": resource_list(parts[2], parts[3])})
        if p == "/version":
            return self.send(200, {"major": "1", "minor": "14", "gitVersion": "v1.14.6+c7d2111b9"})
        if p == "/api/v1/nodes":
            return self.send(200, load("nodes.json"))
        if p.startswith("/api/v1/nodes/"):
            name = p.rsplit("/", 1)[1]
            for n in load("nodes.json")["items"]:
                if n["metadata"]["name"] == name:
                    return self.send(200, n)
        if len(parts) == 6 and parts[3] == "namespaces" and parts[5] == "pods":
            f = "pods-%s.json" % parts[4]
            if os.path.exists(os.path.join(DATA, f)):
                return self.send(200, load(f))
            return self.send(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []})
        r = route(p)
        if r:
            return self.get_stored(r, q)
        self.send(404, status_doc(404, "NotFound", "%s not found" % p))

    def get_stored(self, r, q):
        kind, ns, name, sub = r
        if name is None:
            with LOCK:
                keys = sorted(k for k in OBJECTS if k[0] == kind and (not ns or k[1] == ns))
            items = [shown(kind, e, True) for e in (OBJECTS.get(k) for k in keys) if e is not None]
            if kind == "Secret" and ns:
                items = load_or("secrets-%s.json" % ns, "SecretList")["items"] + items
            items = [o for o in items if selected(o, q)]
            return self.send(200, {"kind": kind + "List", "apiVersion": api_version(kind),
                                   "metadata": {"resourceVersion": str(RV[0])}, "items": items})
        entry = OBJECTS.get((kind, ns, name))
        if entry is None:
            if kind == "Secret":
                for s in load_or("secrets-%s.json" % ns, "SecretList")["items"]:
                    if s["metadata"]["name"] == name:
                        return self.send(200, s)
            return self.send(404, not_found(kind, name))
        self.send(200, shown(kind, entry, True))

    def namespace_missing(self, kind, ns):
        if not KINDS[kind]["namespaced"] or ("Namespace", "", ns) in OBJECTS:
            return False
        for f in ("secrets-%s.json" % ns, "pods-%s.json" % ns):
            if os.path.exists(os.path.join(DATA, f)):
                return False
        self.send(404, status_doc(404, "NotFound", 'namespaces "%s" not found' % ns,
                                  {"name": ns, "kind": "namespaces"}))
        return True

    def checked(self, kind, ns, name, body):
        """The body's kind, apiVersion, name and namespace agree with the path (or a 400 sent)."""
        if not isinstance(body, dict):
            self.send(400, status_doc(400, "BadRequest", "the body is not an object"))
            return False
        m = body.get("metadata") or {}
        want = api_version(kind)
        if body.get("kind") not in (None, kind) or body.get("apiVersion") not in (None, want):
            self.send(400, status_doc(400, "BadRequest", "the body is %s %s, the path is for %s %s" % (
                body.get("apiVersion"), body.get("kind"), want, kind)))
            return False
        if name is not None and m.get("name") not in (None, name):
            self.send(400, status_doc(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)" % (m.get("name"), name)))
            return False
        if m.get("namespace") not in (None, "", ns):
            self.send(400, status_doc(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"))
            return False
        return True

    def normalise(self, kind, ns, name, body):
        body = copy.deepcopy(body)
        body.pop("status", None)
        if kind == "Secret" and isinstance(body.get("stringData"), dict):
            # as the API server does (kubernetes pkg/apis/core/v1/conversion.go, Secret): stringData is
            # written into data, base64-encoded, and never stored
            data = body.setdefault("data", {})
            for k, v in body.pop("stringData").items():
                data[k] = base64.b64encode(str(v).encode()).decode()
        m = body.setdefault("metadata", {})
        m["name"] = name or m.get("name")
        if KINDS[kind]["namespaced"]:
            m["namespace"] = ns
        else:
            m.pop("namespace", None)
        body["apiVersion"], body["kind"] = api_version(kind), kind
        return body

    def do_PATCH(self):
        u = urlparse(self.path)
        r = route(u.path.rstrip("/"))
        if not r or r[2] is None or r[3] is not None:
            # an object's status is the stand-in's to set, never a client's
            return self.send(405, status_doc(405, "MethodNotAllowed", "the stand-in does not patch %s" % u.path))
        kind, ns, name, sub = r
        q = parse_qs(u.query)
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            body = self.body()
        except Exception as e:
            return self.send(400, status_doc(400, "BadRequest", "the body cannot be read: %s" % e))
        if ctype == "application/apply-patch+yaml":
            manager = (q.get("fieldManager") or [""])[0]
            if not manager:
                return self.send(400, status_doc(400, "BadRequest", "PATCH request with apply content type requires fieldManager"))
            if not self.checked(kind, ns, name, body):
                return
            cfg = self.normalise(kind, ns, name, body)
            with LOCK:
                entry = OBJECTS.get((kind, ns, name))
                if entry is None:
                    if self.namespace_missing(kind, ns):
                        return
                    entry = store_new(kind, cfg)
                    result, code = "created", 201
                else:
                    live = prune(content(entry["obj"]), entry["applied"].get(manager), cfg)
                    result, code = update(kind, entry, merge(live, cfg)), 200
                entry["applied"][manager] = cfg
                log_write("PATCH", kind, ns, name, result)
                if kind == "InstallPlan":
                    olm_approved(entry["obj"])
            return self.send(code, shown(kind, entry, False))
        if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            with LOCK:
                entry = OBJECTS.get((kind, ns, name))
                if entry is None:
                    return self.send(404, not_found(kind, name))
                if not isinstance(body, dict):
                    return self.send(400, status_doc(400, "BadRequest", "a merge patch is an object"))
                body = copy.deepcopy(body)
                body.pop("status", None)
                new = merge_patch(content(entry["obj"]), body)
                new["metadata"]["name"], new["metadata"]["namespace"] = name, ns
                if not KINDS[kind]["namespaced"]:
                    new["metadata"].pop("namespace")
                result = update(kind, entry, new)
                log_write("PATCH", kind, ns, name, result)
                if kind == "InstallPlan":
                    olm_approved(entry["obj"])
            return self.send(200, shown(kind, entry, False))
        self.send(415, status_doc(415, "UnsupportedMediaType", "the stand-in does not take %s patches" % ctype))

    def do_POST(self):
        u = urlparse(self.path)
        r = route(u.path.rstrip("/"))
        if not r or r[2] is not None:
            return self.send(405, status_doc(405, "MethodNotAllowed", "the stand-in does not create at %s" % u.path))
        kind, ns, _, _ = r
        try:
            body = self.body()
        except Exception as e:
            return self.send(400, status_doc(400, "BadRequest", "the body cannot be read: %s" % e))
        if not self.checked(kind, ns, None, body):
            return
        name = (body.get("metadata") or {}).get("name")
        if not name:
            return self.send(400, status_doc(400, "BadRequest", "metadata.name: Required value: name is required"))
        with LOCK:
            if (kind, ns, name) in OBJECTS:
                k = KINDS[kind]
                return self.send(409, status_doc(409, "AlreadyExists", '%s%s "%s" already exists' % (
                    k["plural"], "." + k["group"] if k["group"] else "", name)))
            if self.namespace_missing(kind, ns):
                return
            entry = store_new(kind, self.normalise(kind, ns, name, body))
            log_write("POST", kind, ns, name, "created")
        self.send(201, shown(kind, entry, False))

    def do_DELETE(self):
        u = urlparse(self.path)
        r = route(u.path.rstrip("/"))
        if not r or r[2] is None or r[3] is not None:
            return self.send(405, status_doc(405, "MethodNotAllowed", "the stand-in does not delete %s" % u.path))
        kind, ns, name, _ = r
        with LOCK:
            entry = OBJECTS.pop((kind, ns, name), None)
            if entry is None:
                return self.send(404, not_found(kind, name))
            if kind == "Namespace":
                for k in [k for k in OBJECTS if k[1] == name]:
                    del OBJECTS[k]
            log_write("DELETE", kind, ns, name, "deleted")
        k = KINDS[kind]
        self.send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": name, "group": k["group"], "kind": k["plural"], "uid": entry["obj"]["metadata"]["uid"]}})

    def do_PUT(self):
        p = urlparse(self.path).path.rstrip("/")
        parts = p.split("/")
        r = route(p)
        if r and r[2] is not None and r[3] is None:
            return self.put_stored(r)
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Type", "").startswith("application/vnd.kubernetes.protobuf"):
            # kubectl's clientset sends built-in types as protobuf (k8s.io/apimachinery
            # runtime/serializer/protobuf: "k8s\0" then the Unknown envelope); the stand-in has no
            # schema for it and reads only which condition kubectl added, as its bytes name it.
            kind = "Denied" if b"KubectlDeny" in raw else "Approved"
            t = now()
            body = {"status": {"conditions": [{"type": kind, "status": "True", "reason": "KubectlApprove" if kind == "Approved" else "KubectlDeny",
                                               "message": "This CSR was %s by kubectl certificate %s." % (kind.lower(), "approve" if kind == "Approved" else "deny"),
                                               "lastUpdateTime": t, "lastTransitionTime": t}]}}
        else:
            body = json.loads(raw or b"{}")
        if len(parts) == 7 and parts[1:5] == ["apis", "certificates.k8s.io", "v1", "certificatesigningrequests"] and parts[6] == "approval":
            name = parts[5]
            if not any(c["metadata"]["name"] == name for c in csrs()["items"]):
                return self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                                       "message": 'certificatesigningrequests.certificates.k8s.io "%s" not found' % name})
            with LOCK:
                APPROVED[name] = (body.get("status") or {}).get("conditions") or []
            for c in csrs()["items"]:
                if c["metadata"]["name"] == name:
                    return self.send(200, c)
        self.send(405, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "MethodNotAllowed", "code": 405,
                        "message": "the stand-in does not change %s" % p})

    def put_stored(self, r):
        kind, ns, name, _ = r
        try:
            body = self.body()
        except Exception as e:
            return self.send(400, status_doc(400, "BadRequest", "the body cannot be read: %s" % e))
        if not self.checked(kind, ns, name, body):
            return
        with LOCK:
            entry = OBJECTS.get((kind, ns, name))
            if entry is None:
                return self.send(404, not_found(kind, name))
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if rv and rv != entry["obj"]["metadata"]["resourceVersion"]:
                k = KINDS[kind]
                return self.send(409, status_doc(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; please apply your changes to the latest version and try again' % (k["plural"], name)))
            result = update(kind, entry, self.normalise(kind, ns, name, body))
            log_write("PUT", kind, ns, name, result)
        self.send(200, shown(kind, entry, False))

if DATA == "--plan-name":
    # `kubeapi.py --plan-name NAMESPACE/NAME`: the name the stand-in gives the InstallPlan of that
    # Subscription, for a test to name it in fail.json before a run; no server.
    ns, name = sys.argv[2].split("/", 1)
    print(plan_name({"metadata": {"namespace": ns, "name": name}}))
    sys.exit(0)

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
