#!/usr/bin/env python3
"""The status shapes of the resources labsh applies for Red Hat OpenStack Services on OpenShift
(RHOSO) 18.0, read mechanically off the operators' Go sources at the commits tools/rhoso-crds.py
pins, into tests/data/rhoso/status-shapes.json, which the Kubernetes API stand-in
(tests/harness/kubeapi.py) reads to set each object's status.

What is read, and from where (each entry of the output names repository, ref, commit and path):
- the served resources (plural, singular, short names, scope, group/version) of every kind in
  tools/rhoso-crds.py's SOURCES plus OLM's InstallPlan and ClusterServiceVersion, from the same
  CRD files at the same commits;
- lib-common's condition package (openstack-k8s-operators/lib-common modules/common/condition, at
  the commit openstack-operator's go.mod requires): the Severity values (types.go), the Reason
  values and the condition types and messages (conditions.go), and what Conditions.Init adds
  (funcs.go: Ready, RequestedReason, ReadyInitMessage);
- for OpenStackControlPlane, OpenStackDataPlaneNodeSet, OpenStackDataPlaneDeployment (their
  InitConditions) and OpenStack (its controller's condition.CreateList): every
  condition.UnknownCondition(TYPE, REASON, MESSAGE) the operator initialises, with the
  `if instance.Spec.X.Enabled` guard around it (as the JSON field the Go field's tag names), the
  constants resolved in the API package and lib-common; the messages a condition shows while in
  progress and when ready are the constants named like its init message with Init replaced by
  Running and by nothing (OpenStackControlPlaneNovaReadyInitMessage ->
  ...ReadyRunningMessage, ...ReadyMessage), and its error format ...ErrorMessage, when the
  package declares them;
- NodeNetworkConfigurationPolicy: the condition types and reasons (api/shared) and the three
  conditions.Set calls of SetPolicyProgressing, SetPolicySuccess and SetPolicyFailedToConfigure
  (pkg/policyconditions/conditions.go), with the message format setPolicyStatus gives each;
- OLM (operator-framework/api pkg/operators/v1alpha1): Subscription states, InstallPlan phases,
  ClusterServiceVersion phases and reasons.
What cannot be read off one declaration (which of OLM's values a fresh install passes through;
MetalLB's conditions, built field by field in a function) is written by hand in the output's
"by_hand" section, each with the source lines it follows.

  tools/rhoso-status-shapes.py --write tests/data/rhoso/status-shapes.json [--mirrors DIR]
  tools/rhoso-status-shapes.py --check tests/data/rhoso/status-shapes.json [--mirrors DIR]

Repositories are read as tools/rhoso-crds.py reads them (a bare mirror under DIR, or a cached
bare clone). --check rebuilds the file and says whether the stored one differs (exit 1).
"""
import argparse
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("rhoso_crds", os.path.join(HERE, "rhoso-crds.py"))
crds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crds)

OSO = "openstack-k8s-operators/openstack-operator"
LIB = "openstack-k8s-operators/lib-common"
NMSTATE = "openshift/kubernetes-nmstate"
OLM = "operator-framework/api"

# Kinds the stand-in serves beyond tools/rhoso-crds.py's: OLM's, which OLM makes for a
# Subscription, and the data plane's services (a node set's custom services, nova-custom-ceph).
# A kind in both lists is read once.
EXTRA_CRDS = [
    (OSO, "18.0-fr6", "394c46c151e68839192702c793f6ce401fca58ae",
     "api/bases/dataplane.openstack.org_openstackdataplaneservices.yaml", [("OpenStackDataPlaneService", "v1beta1")]),
    (OLM, "v0.27.0", "41cb4aea2c2d86ad903a414593a2079de7250c70",
     "crds/operators.coreos.com_installplans.yaml", [("InstallPlan", "v1alpha1")]),
    (OLM, "v0.27.0", "41cb4aea2c2d86ad903a414593a2079de7250c70",
     "crds/operators.coreos.com_clusterserviceversions.yaml", [("ClusterServiceVersion", "v1alpha1")]),
]

# (kind, repository, file holding the CreateList, function (None: the first CreateList), API package)
LIB_COMMON_KINDS = [
    ("OpenStackControlPlane", OSO, "api/core/v1beta1/openstackcontrolplane_types.go", "InitConditions",
     "api/core/v1beta1"),
    ("OpenStackDataPlaneNodeSet", OSO, "api/dataplane/v1beta1/openstackdataplanenodeset_types.go",
     "InitConditions", "api/dataplane/v1beta1"),
    ("OpenStackDataPlaneDeployment", OSO, "api/dataplane/v1beta1/openstackdataplanedeployment_types.go",
     "InitConditions", "api/dataplane/v1beta1"),
    ("OpenStack", OSO, "internal/controller/operator/openstack_controller.go", None, "api/operator/v1beta1"),
]

LIB_CONDITION = "modules/common/condition"


class Repo:
    """One repository at one commit."""

    def __init__(self, repo, ref, commit, mirrors):
        self.repo, self.ref = repo, ref
        self.gdir = crds.git_dir(repo, mirrors)
        self.commit = crds.resolve(self.gdir, ref, commit) if len(commit) == 40 else self.full(commit)

    def full(self, short):
        return crds.git(self.gdir, "rev-parse", "--verify", f"{short}^{{commit}}").strip()

    def show(self, path):
        return crds.git(self.gdir, "show", f"{self.commit}:{path}")

    def ls(self, path):
        return [p for p in crds.git(self.gdir, "ls-tree", "--name-only", f"{self.commit}:{path}").split()]

    def cite(self, path, **more):
        return dict({"repository": self.repo, "ref": self.ref, "commit": self.commit, "path": path}, **more)


def pinned(repo):
    """The ref and commit tools/rhoso-crds.py pins for `repo`."""
    for r, ref, commit, _path, _kinds in crds.SOURCES + EXTRA_CRDS:
        if r == repo:
            return ref, commit
    sys.exit(f"{repo}: not among tools/rhoso-crds.py's sources")


def strip_comments(go):
    return re.sub(r"//[^\n]*", "", go)


def go_consts(text):
    """NAME -> string value of every `NAME [TYPE] = "value"` in Go source text."""
    out = {}
    for m in re.finditer(r'^\s*(\w+)(?:\s+[\w.]+)?\s*=\s*"((?:[^"\\]|\\.)*)"', strip_comments(text), re.M):
        out[m.group(1)] = m.group(2)
    return out


def typed_consts(text, typ):
    """[(NAME, value)] of the constants declared with type `typ`, in source order."""
    pat = r'^\s*(\w+)\s+' + re.escape(typ) + r'\s*=\s*"((?:[^"\\]|\\.)*)"'
    return [(m.group(1), m.group(2)) for m in re.finditer(pat, strip_comments(text), re.M)]


def package_consts(repo, pkg):
    out = {}
    for name in repo.ls(pkg):
        if name.endswith(".go") and not name.endswith("_test.go") and not name.startswith("zz_"):
            out.update(go_consts(repo.show(f"{pkg}/{name}")))
    return out


def function_body(text, func):
    """The text of Go function `func` (a method or a plain function), up to its closing brace."""
    m = re.search(r"^func (?:\([^)]*\) )?" + re.escape(func) + r"\(", text, re.M)
    if not m:
        sys.exit(f"no function {func}")
    depth, i = 0, text.index("{", m.end())
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i:j + 1], text[: m.start()].count("\n") + 1
    sys.exit(f"{func}: unbalanced braces")


def json_field(types_go, go_field):
    """The JSON name the struct tag of Go field `go_field` gives (the first declaration of it)."""
    m = re.search(r"^\s*" + re.escape(go_field) + r'\s+[\w.*\[\]]+\s+`json:"([^",]+)', types_go, re.M)
    if not m:
        sys.exit(f"no JSON tag for field {go_field}")
    return m.group(1)


def lib_common(mirrors):
    """lib-common's condition package at the commit openstack-operator's go.mod requires."""
    ref, commit = pinned(OSO)
    oso = Repo(OSO, ref, commit, mirrors)
    gomod = oso.show("go.mod")
    m = re.search(r"github.com/openstack-k8s-operators/lib-common/modules/common (v\S+-([0-9a-f]{12}))", gomod)
    if not m:
        sys.exit("openstack-operator go.mod: no lib-common/modules/common requirement")
    lib = Repo(LIB, m.group(1), m.group(2), mirrors)
    types_go = lib.show(f"{LIB_CONDITION}/types.go")
    conds_go = lib.show(f"{LIB_CONDITION}/conditions.go")
    funcs_go = strip_comments(lib.show(f"{LIB_CONDITION}/funcs.go"))
    consts = go_consts(conds_go)
    init, line = function_body(funcs_go, "Init")
    im = re.search(r"UnknownCondition\((\w+), (\w+), (\w+)\)", init)
    if not im:
        sys.exit("lib-common Conditions.Init: no UnknownCondition")
    return oso, lib, {
        "source": lib.cite(LIB_CONDITION, go_mod=f"{OSO} go.mod@{oso.commit[:12]}"),
        "severity": {n: v for n, v in typed_consts(types_go, "Severity")},
        "reasons": {n: consts[n] for n in re.findall(r"^\s*(\w+Reason\w*)\s*=", strip_comments(conds_go), re.M)
                    if n in consts and not n.endswith("Condition")},
        "types": {n: v for n, v in typed_consts(conds_go, "Type")},
        "init_adds": {"type": consts[im.group(1)], "status": "Unknown", "reason": consts[im.group(2)],
                      "message": consts[im.group(3)], "at": lib.cite(f"{LIB_CONDITION}/funcs.go", function="Init")},
        "consts": consts,
    }


def resolve_const(expr, local, libc):
    expr = re.sub(r"^string\((.*)\)$", r"\1", expr.strip())
    qual, _, name = expr.rpartition(".")
    table = libc if qual == "condition" else local
    if name not in table:
        sys.exit(f"constant {expr} not found")
    return name, table[name]


def guard_terms(expr, types_go):
    """The `if` around a condition as [{field, test}] (all must hold), fields as JSON paths:
    instance.Spec.X.Enabled (test "true"), instance.Spec.X != nil ("present"),
    !instance.Spec.X ("false"), len(instance.Spec.X) > 0 ("nonempty")."""
    out = []
    for term in expr.split("&&"):
        term = term.strip()
        pats = [(r"instance\.Spec\.(\w+)\.Enabled", "true", ".enabled"),
                (r"instance\.Spec\.(\w+) != nil", "present", ""),
                (r"!instance\.Spec\.(\w+)", "false", ""),
                (r"len\(instance\.Spec\.(\w+)\) > 0", "nonempty", "")]
        for pat, test, tail in pats:
            m = re.fullmatch(pat, term)
            if m:
                out.append({"field": f"spec.{json_field(types_go, m.group(1))}{tail}", "test": test})
                break
        else:
            sys.exit(f"a condition guard labsh cannot read: if {expr}")
    return out


def lib_common_kind(kind, repo, path, func, pkg, libc, types_go):
    """The conditions `kind` initialises, with their in-progress, ready and error messages."""
    text = strip_comments(repo.show(path))
    if func:
        body, line = function_body(text, func)
    else:
        at = text.index("condition.CreateList(")
        line = text[:at].count("\n") + 1
        body = text[at: text.index(".Init(&cl)", at)]
    local = package_consts(repo, pkg)
    lc = libc["consts"]
    out = []
    guard = None
    depth = 0
    for raw in body.split("\n"):
        g = re.match(r"\s*if (.*) \{\s*$", raw)
        if g:
            guard, depth = g.group(1), 0
        if guard is not None:
            depth += raw.count("{") - raw.count("}")
        for m in re.finditer(r"condition\.UnknownCondition\(\s*([\w.]+),\s*([\w.]+),\s*(string\([\w.]+\)|[\w.]+)\)", raw):
            tname, tval = resolve_const(m.group(1), local, lc)
            _, reason = resolve_const(m.group(2), local, lc)
            mname, mval = resolve_const(m.group(3), local, lc)
            table = lc if re.sub(r"^string\(", "", m.group(3)).startswith("condition.") else local

            def sibling(suffix):
                if not mname.endswith("InitMessage"):
                    return None
                return table.get(mname[: -len("InitMessage")] + suffix)

            c = {"type": tval, "init_reason": reason, "init_message": mval,
                 "running_message": sibling("RunningMessage"), "ready_message": sibling("Message"),
                 "error_message": sibling("ErrorMessage")}
            if guard is not None:
                c["when"] = guard_terms(guard, types_go)
            out.append(c)
        if guard is not None and depth <= 0 and "}" in raw:
            guard = None
    init = libc["init_adds"]
    if not any(c["type"] == init["type"] for c in out):
        out.insert(0, {"type": init["type"], "init_reason": init["reason"], "init_message": init["message"],
                       "running_message": None, "ready_message": lc.get("ReadyMessage"),
                       "error_message": None})
    for c in out:
        if c["type"] == init["type"] and c["ready_message"] is None:
            c["ready_message"] = lc.get("ReadyMessage")
    return {"style": "lib-common", "source": repo.cite(path, function=func or "condition.CreateList", line=line),
            "conditions": out}


def nncp(mirrors):
    ref, commit = pinned(NMSTATE)
    r = Repo(NMSTATE, ref, commit, mirrors)
    types_path = "api/shared/nodenetworkconfigurationpolicy_types.go"
    tgo = r.show(types_path)
    types = dict(typed_consts(tgo, "ConditionType"))
    reasons = dict(typed_consts(tgo, "ConditionReason"))
    cpath = "pkg/policyconditions/conditions.go"
    cgo = strip_comments(r.show(cpath))
    status_body, _ = function_body(cgo, "setPolicyStatus")
    messages = {}
    last = None
    for m in re.finditer(r'message = (?:fmt\.Sprintf\(\s*)?"([^"]*)"|Set(Policy\w+)\(', status_body):
        if m.group(1) is not None:
            last = m.group(1)
        else:
            messages[m.group(2)] = last
    shapes = {}
    for fn in ("SetPolicyProgressing", "SetPolicySuccess", "SetPolicyFailedToConfigure"):
        body, line = function_body(cgo, fn)
        conds = []
        for m in re.finditer(r"conditions\.Set\(\s*nmstate\.(\w+),\s*corev1\.Condition(\w+),\s*nmstate\.(\w+),\s*(\"\"|message),?\s*\)", body):
            conds.append({"type": types[m.group(1)], "status": m.group(2), "reason": reasons[m.group(3)],
                          "message": messages.get(fn[3:]) if m.group(4) == "message" else ""})
        if len(conds) != 3:
            sys.exit(f"{cpath} {fn}: {len(conds)} conditions, expected 3")
        shapes[fn] = {"at": r.cite(cpath, function=fn, line=line), "conditions": conds}
    return {"style": "nmstate", "source": r.cite(types_path), "types": sorted(types.values()),
            "reasons": sorted(reasons.values()), "progressing": shapes["SetPolicyProgressing"],
            "ready": shapes["SetPolicySuccess"], "failed": shapes["SetPolicyFailedToConfigure"]}


def olm(mirrors):
    ref, commit = pinned(OLM)
    r = Repo(OLM, ref, commit, mirrors)
    base = "pkg/operators/v1alpha1"
    sub = r.show(f"{base}/subscription_types.go")
    ip = r.show(f"{base}/installplan_types.go")
    csv = r.show(f"{base}/clusterserviceversion_types.go")
    states = [(n, v) for n, v in go_consts(sub).items() if n.startswith("SubscriptionState")]
    return {
        "Subscription": {"style": "olm", "source": r.cite(f"{base}/subscription_types.go"),
                         "states": dict(states)},
        "InstallPlan": {"style": "olm", "source": r.cite(f"{base}/installplan_types.go"),
                        "phases": dict(typed_consts(ip, "InstallPlanPhase"))},
        "ClusterServiceVersion": {"style": "olm", "source": r.cite(f"{base}/clusterserviceversion_types.go"),
                                  "phases": dict(typed_consts(csv, "ClusterServiceVersionPhase")),
                                  "reasons": {n: v for n, v in typed_consts(csv, "ConditionReason") if n.startswith("CSVReason")}},
    }


def resources(mirrors):
    """The served resource of each kind, from its CRD (plural, names, scope), by kind."""
    import yaml

    out = {}
    for repo, ref, commit, path, kinds in crds.SOURCES + EXTRA_CRDS:
        r = Repo(repo, ref, commit, mirrors)
        crd = yaml.safe_load(r.show(path))
        spec = crd["spec"]
        for kind, version in kinds:
            if kind in out:
                continue
            names = spec["names"]
            out[kind] = {
                "group": spec["group"], "version": version, "plural": names["plural"],
                "singular": names.get("singular", kind.lower()), "shortNames": names.get("shortNames", []),
                "namespaced": spec["scope"] == "Namespaced",
                "statusSubresource": any(v["name"] == version and "status" in (v.get("subresources") or {})
                                         for v in spec["versions"]),
                "source": r.cite(path),
            }
    return out


def by_hand():
    """What no single declaration says, with the lines it follows."""
    return {
        "note": "written by hand from the cited lines; tools/rhoso-status-shapes.py copies it as is",
        "olm_install": {
            "follows": [
                "operator-framework/api v0.27.0 pkg/operators/v1alpha1/subscription_types.go "
                "(SubscriptionState*; SubscriptionStatus.CurrentCSV, InstalledCSV, InstallPlanRef, State)",
                "operator-framework/api v0.27.0 pkg/operators/v1alpha1/installplan_types.go "
                "(InstallPlanPhase*; InstallPlanSpec.ClusterServiceVersionNames, Approval, Approved)",
                "operator-framework/api v0.27.0 pkg/operators/v1alpha1/clusterserviceversion_types.go "
                "(ClusterServiceVersionPhase*, CSVReason*)",
            ],
            "subscription": {"progressing": "UpgradePending", "ready": "AtLatestKnown"},
            "installplan": {"progressing": "Installing", "ready": "Complete", "failed": "Failed"},
            "csv": {"progressing": {"phase": "Installing", "reason": "InstallWaiting"},
                    "ready": {"phase": "Succeeded", "reason": "InstallSucceeded"},
                    "failed": {"phase": "Failed", "reason": "InstallComponentFailed"}},
        },
        "status_fields": {
            "OpenStackDataPlaneDeployment": {
                "follows": "openstack-k8s-operators/openstack-operator 18.0-fr6 (394c46c151e6) "
                           "api/dataplane/v1beta1/openstackdataplanedeployment_types.go:138 (Deployed) and :198 "
                           "(InitConditions: false); internal/controller/dataplane/"
                           "openstackdataplanedeployment_controller.go:376 (true once every node set is deployed)",
                "progressing": {"deployed": False},
                "ready": {"deployed": True},
            },
        },
        "no_status": {
            "NMState": "openshift/kubernetes-nmstate release-4.18 (0fe75f490a01) declares NMStateStatus.Conditions "
                       "(api/v1/nmstate_types.go:72) but nothing outside api/ sets them "
                       "(controllers/operator/nmstate_controller.go writes no status): an NMState shows none",
        },
        "CatalogSource": {
            "follows": "operator-framework/api v0.27.0 pkg/operators/v1alpha1/catalogsource_types.go "
                       "GRPCConnectionState.LastObservedState, which OLM fills with the gRPC connection's "
                       "state name (google.golang.org/grpc/connectivity State.String: CONNECTING, READY)",
            "progressing": {"connectionState": {"lastObservedState": "CONNECTING"}},
            "ready": {"connectionState": {"lastObservedState": "READY"}},
        },
        "MetalLB": {
            "follows": "openshift/metallb-operator release-4.18 (4e1442fe4cfd) pkg/status/status.go "
                       "getBaseConditions (Available, Upgradeable, Progressing, Degraded, each False with its "
                       "type as reason) and getConditions (Available: Available and Upgradeable True; "
                       "Progressing/Degraded: that one True with the given reason and message)",
            "progressing": [
                {"type": "Available", "status": "False", "reason": "Available", "message": ""},
                {"type": "Upgradeable", "status": "False", "reason": "Upgradeable", "message": ""},
                {"type": "Progressing", "status": "True", "reason": "Progressing", "message": ""},
                {"type": "Degraded", "status": "False", "reason": "Degraded", "message": ""},
            ],
            "ready": [
                {"type": "Available", "status": "True", "reason": "Available", "message": ""},
                {"type": "Upgradeable", "status": "True", "reason": "Upgradeable", "message": ""},
                {"type": "Progressing", "status": "False", "reason": "Progressing", "message": ""},
                {"type": "Degraded", "status": "False", "reason": "Degraded", "message": ""},
            ],
        },
    }


def build(mirrors):
    oso, lib, libc = lib_common(mirrors)
    kinds = {}
    for kind, repo_name, path, func, pkg in LIB_COMMON_KINDS:
        # the Go struct fields of the kind's spec, to name a guard's field as JSON does
        own = [n for n in oso.ls(pkg) if n.endswith("_types.go")]
        own.sort(key=lambda n: n != kind.lower() + "_types.go")
        types_go = "\n".join(strip_comments(oso.show(f"{pkg}/{n}")) for n in own)
        kinds[kind] = lib_common_kind(kind, oso, path, func, pkg, libc, types_go)
    kinds["NodeNetworkConfigurationPolicy"] = nncp(mirrors)
    kinds.update(olm(mirrors))
    lc = {k: v for k, v in libc.items() if k != "consts"}
    return {
        "release": "18.0",
        "made_by": "tools/rhoso-status-shapes.py",
        "lib_common": lc,
        "resources": resources(mirrors),
        "kinds": kinds,
        "by_hand": by_hand(),
    }


def render(data):
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", metavar="FILE")
    g.add_argument("--check", metavar="FILE")
    ap.add_argument("--mirrors", default=os.environ.get("LABSH_CRD_MIRRORS", "/work/.mirror"))
    a = ap.parse_args()
    text = render(build(a.mirrors))
    if a.write:
        with open(a.write, "w") as f:
            f.write(text)
        data = json.loads(text)
        for kind, k in sorted(data["kinds"].items()):
            s = k["source"]
            n = len(k.get("conditions") or k.get("types") or k.get("states") or k.get("phases") or [])
            print(f"{kind:30} {k['style']:10} {n:3} {s['repository']}@{s['commit'][:12]} {s['path']}")
        return 0
    with open(a.check) as f:
        stored = f.read()
    if stored == text:
        print(f"{a.check}: as the sources have it")
        return 0
    print(f"{a.check}: differs from what the sources give; rewrite it with --write")
    return 1


if __name__ == "__main__":
    sys.exit(main())
