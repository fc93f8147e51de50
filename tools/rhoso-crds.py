#!/usr/bin/env python3
"""The OpenAPI schemas of the custom resources labsh writes for Red Hat OpenStack Services on
OpenShift (RHOSO) 18.0, read off each operator's own CRD at the commit of its release, into the
fixture tests/data/rhoso/crd-schemas.json that labsh's schema check (src/util/k8s_schema.rs) reads.

Each SOURCE below names the repository, the ref (a release branch or tag) and the commit it
resolved to when the fixture was made, the CRD file's path and the kinds taken from it. The
schema kept is the openAPIV3Schema of the version labsh writes (the `version` of the entry,
`served`), mechanically trimmed: `description` is dropped (prose, not structure) and so are
`example`/`examples`, and the top-level `status` (the operator writes it, labsh never does);
everything the structural check reads is kept as the CRD has it. One schema a line, compact.

Which refs, and why:
- openstack-k8s-operators/openstack-operator and infra-operator: RHOSO 18.0 ships from the
  branches 18.0-frN (one per feature release; 18.0.0-proposed was the GA). The operators tag no
  releases (only their Go API modules, apis/v0.x), so the newest feature-release branch, 18.0-fr6,
  pinned by commit, is the release. 18-stable (VERSION 0.7.0) is the next one, not yet released.
  The OpenStackControlPlane CRD embeds every service's template (OctaviaSpecCore, NovaSpecCore,
  ...), so the sub-operators' CRDs are not needed for what labsh writes. OpenStack
  (operator.openstack.org) is the CR that starts the operator's services from 18.0-fr2 on.
- openshift/kubernetes-nmstate, openshift/metallb and openshift/metallb-operator, release-4.18:
  the NMState and MetalLB operators OpenShift 4.18 ships are built from these forks; 4.18 is the OpenShift the profile's
  substrate runs (RHOSO 18.0's feature releases support it).
- k8snetworkplumbingwg/network-attachment-definition-client v1.7.7: the version the
  openstack-operator's go.mod (18.0-fr6) requires.
- operator-framework/api v0.27.0: OLM's operators.coreos.com/v1alpha1 and v1 types, which have
  not changed shape for the fields labsh writes; the tag is chosen, the newest before OpenShift
  4.18 branched.

  tools/rhoso-crds.py --write tests/data/rhoso/crd-schemas.json [--mirrors DIR]
  tools/rhoso-crds.py --check tests/data/rhoso/crd-schemas.json [--mirrors DIR]

A repository is read from DIR/OWNER+NAME/repo (a bare mirror) when it exists there, or
LABSH_CRD_MIRRORS, else cloned bare into a cache (~/.cache/labsh/crds) with blobs fetched as read.
--check rebuilds the fixture and says where the stored one differs (exit 1).
"""
import argparse
import json
import os
import subprocess
import sys

# (repository, ref, commit, path, [(kind, version)])
SOURCES = [
    (
        "openstack-k8s-operators/openstack-operator",
        "18.0-fr6",
        "394c46c151e68839192702c793f6ce401fca58ae",
        "api/bases/core.openstack.org_openstackcontrolplanes.yaml",
        [("OpenStackControlPlane", "v1beta1")],
    ),
    (
        "openstack-k8s-operators/openstack-operator",
        "18.0-fr6",
        "394c46c151e68839192702c793f6ce401fca58ae",
        "api/bases/dataplane.openstack.org_openstackdataplanenodesets.yaml",
        [("OpenStackDataPlaneNodeSet", "v1beta1")],
    ),
    (
        "openstack-k8s-operators/openstack-operator",
        "18.0-fr6",
        "394c46c151e68839192702c793f6ce401fca58ae",
        "api/bases/dataplane.openstack.org_openstackdataplanedeployments.yaml",
        [("OpenStackDataPlaneDeployment", "v1beta1")],
    ),
    (
        "openstack-k8s-operators/openstack-operator",
        "18.0-fr6",
        "394c46c151e68839192702c793f6ce401fca58ae",
        "api/bases/dataplane.openstack.org_openstackdataplaneservices.yaml",
        [("OpenStackDataPlaneService", "v1beta1")],
    ),
    (
        "openstack-k8s-operators/infra-operator",
        "18.0-fr6",
        "cd3a988257511f41a4d20924038f216845e159ad",
        "config/crd/bases/network.openstack.org_netconfigs.yaml",
        [("NetConfig", "v1beta1")],
    ),
    (
        "openshift/kubernetes-nmstate",
        "release-4.18",
        "0fe75f490a015b654027f988a17847f17e0812b7",
        "deploy/crds/nmstate.io_nodenetworkconfigurationpolicies.yaml",
        [("NodeNetworkConfigurationPolicy", "v1")],
    ),
    (
        "openstack-k8s-operators/openstack-operator",
        "18.0-fr6",
        "394c46c151e68839192702c793f6ce401fca58ae",
        "api/bases/operator.openstack.org_openstacks.yaml",
        [("OpenStack", "v1beta1")],
    ),
    (
        "openshift/kubernetes-nmstate",
        "release-4.18",
        "0fe75f490a015b654027f988a17847f17e0812b7",
        "deploy/crds/nmstate.io_nmstates.yaml",
        [("NMState", "v1")],
    ),
    (
        "openshift/metallb-operator",
        "release-4.18",
        "4e1442fe4cfde399c9c00e4bdc336224ef840173",
        "config/crd/bases/metallb.io_metallbs.yaml",
        [("MetalLB", "v1beta1")],
    ),
    (
        "openshift/metallb",
        "release-4.18",
        "660fe8a44e1bb0d4217209e6e204acf7e0fa981a",
        "config/crd/bases/metallb.io_ipaddresspools.yaml",
        [("IPAddressPool", "v1beta1")],
    ),
    (
        "openshift/metallb",
        "release-4.18",
        "660fe8a44e1bb0d4217209e6e204acf7e0fa981a",
        "config/crd/bases/metallb.io_l2advertisements.yaml",
        [("L2Advertisement", "v1beta1")],
    ),
    (
        "k8snetworkplumbingwg/network-attachment-definition-client",
        "v1.7.7",
        "46fcc4112dcb9af0b277dc85fec8178acbddd5ab",
        "artifacts/networks-crd.yaml",
        [("NetworkAttachmentDefinition", "v1")],
    ),
    (
        "operator-framework/api",
        "v0.27.0",
        "41cb4aea2c2d86ad903a414593a2079de7250c70",
        "crds/operators.coreos.com_catalogsources.yaml",
        [("CatalogSource", "v1alpha1")],
    ),
    (
        "operator-framework/api",
        "v0.27.0",
        "41cb4aea2c2d86ad903a414593a2079de7250c70",
        "crds/operators.coreos.com_operatorgroups.yaml",
        [("OperatorGroup", "v1")],
    ),
    (
        "operator-framework/api",
        "v0.27.0",
        "41cb4aea2c2d86ad903a414593a2079de7250c70",
        "crds/operators.coreos.com_subscriptions.yaml",
        [("Subscription", "v1alpha1")],
    ),
]

DROPPED = ("description", "example", "examples")


def git_dir(repo, mirrors):
    """A git directory holding `repo`: a mirror under `mirrors`, or a bare clone in the cache."""
    local = os.path.join(mirrors, repo.replace("/", "+"), "repo") if mirrors else None
    if local and os.path.isdir(local):
        return local
    cache = os.path.join(os.path.expanduser("~/.cache/labsh/crds"), repo.replace("/", "+"))
    if not os.path.isdir(cache):
        subprocess.run(
            ["git", "clone", "--bare", "--filter=blob:none", f"https://github.com/{repo}", cache],
            check=True,
        )
    return cache


def git(gdir, *args):
    r = subprocess.run(["git", "--git-dir", gdir, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"git {' '.join(args)} in {gdir}: {r.stderr.strip()}")
    return r.stdout


def resolve(gdir, ref, commit):
    """The pinned commit, checked to be the ref's or one of its ancestors (a branch moves on)."""
    for cand in (f"refs/tags/{ref}", f"refs/heads/{ref}", f"refs/remotes/origin/{ref}", ref):
        r = subprocess.run(
            ["git", "--git-dir", gdir, "rev-parse", "--verify", "-q", f"{cand}^{{commit}}"],
            capture_output=True,
            text=True,
        )
        if r.returncode == 0:
            head = r.stdout.strip()
            ok = subprocess.run(["git", "--git-dir", gdir, "merge-base", "--is-ancestor", commit, head])
            if ok.returncode != 0:
                sys.exit(f"{commit} is not on {ref} in {gdir}")
            return commit
    sys.exit(f"{ref}: no such tag or branch in {gdir}")


def trim(node):
    if isinstance(node, dict):
        return {k: trim(v) for k, v in node.items() if k not in DROPPED}
    if isinstance(node, list):
        return [trim(v) for v in node]
    return node


def without_status(schema):
    schema.get("properties", {}).pop("status", None)
    return schema


def render(data):
    """The fixture's text: its header, then one schema entry a line (sorted keys, compact)."""
    lines = [json.dumps(s, sort_keys=True, separators=(",", ":")) for s in data["schemas"]]
    head = {k: v for k, v in data.items() if k != "schemas"}
    return (
        json.dumps(head, sort_keys=True)[:-1]
        + ',\n "schemas": [\n'
        + ",\n".join(lines)
        + "\n]}\n"
    )


def build(mirrors):
    import yaml  # PyYAML: the CRDs are YAML

    out = []
    for repo, ref, pinned, path, kinds in SOURCES:
        gdir = git_dir(repo, mirrors)
        commit = resolve(gdir, ref, pinned)
        crd = yaml.safe_load(git(gdir, "show", f"{commit}:{path}"))
        spec = crd["spec"]
        for kind, version in kinds:
            if spec["names"]["kind"] != kind:
                sys.exit(f"{repo} {path}: the CRD is of kind {spec['names']['kind']}, not {kind}")
            vers = [v for v in spec["versions"] if v["name"] == version and v.get("served")]
            if not vers:
                sys.exit(f"{repo} {path}: no served version {version} of {kind}")
            out.append(
                {
                    "kind": kind,
                    "apiVersion": f"{spec['group']}/{version}",
                    "repository": repo,
                    "ref": ref,
                    "commit": commit,
                    "path": path,
                    "schema": without_status(trim(vers[0]["schema"]["openAPIV3Schema"])),
                }
            )
    return {
        "release": "18.0",
        "made_by": "tools/rhoso-crds.py",
        "schemas": out,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", metavar="FIXTURE")
    g.add_argument("--check", metavar="FIXTURE")
    ap.add_argument("--mirrors", default=os.environ.get("LABSH_CRD_MIRRORS", "/work/.mirror"))
    a = ap.parse_args()
    data = build(a.mirrors)
    text = render(data)
    if a.write:
        with open(a.write, "w") as f:
            f.write(text)
        for s in data["schemas"]:
            print(f"{s['kind']:32} {s['repository']}@{s['ref']} ({s['commit'][:12]}) {s['path']}")
        return 0
    with open(a.check) as f:
        stored = f.read()
    if stored == text:
        print(f"{a.check}: as the sources have it")
        return 0
    old = {s["kind"]: s for s in json.loads(stored)["schemas"]}
    for s in data["schemas"]:
        if old.get(s["kind"]) != s:
            print(f"{a.check}: {s['kind']} differs from {s['repository']}@{s['commit'][:12]}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
