#!/usr/bin/env python3
"""The install-config fields of each OpenShift release, read off openshift/installer's types: the
json tags of InstallConfig and Networking (pkg/types/installconfig.go), MachinePool
(pkg/types/machinepools.go), openstack.Platform (pkg/types/openstack/platform.go) and
openstack.MachinePool (pkg/types/openstack/machinepool.go) at a commit of a git directory of the
installer (a clone or a bare mirror). `json:",inline"` and `json:"-"` are not fields; the inlined
TypeMeta gives apiVersion and kind. A field is deprecated when its doc comment says so
("Deprecated", "is deprecated") or its Go name starts with Deprecated.

This is how tests/data/ocp/installer-schema.json is made; each release there is either read at
its `commit`, or, where that commit could not be read, `derived` from the newest commit that
could be and the fields merged pull requests added (`derived.added`, each with its source).

  tools/ocp-installer-fields.py GIT_DIR COMMIT
      prints the lists of one commit as the fixture holds them
  tools/ocp-installer-fields.py GIT_DIR --check tests/data/ocp/installer-schema.json
      reads every release of the fixture whose commit GIT_DIR has (and every derived one whose
      `derived.from` it has) and says where the fixture differs; exit 1 if it does anywhere
  tools/ocp-installer-fields.py GIT_DIR --write tests/data/ocp/installer-schema.json
      rewrites those releases' lists from GIT_DIR (a release whose commit GIT_DIR lacks is left
      as it is, and named)

To add a release: add its entry to the fixture with its `commit` (the branch point of
release-4.N on the installer's main line: the parent of the first "...consistent with ART for
4.N+1" commit that changed .ci-operator.yaml), then run --write with a clone that has it.
"""
import json
import re
import subprocess
import sys

SECTIONS = [
    ("top_level", "pkg/types/installconfig.go", "InstallConfig"),
    ("networking", "pkg/types/installconfig.go", "Networking"),
    ("machine_pool", "pkg/types/machinepools.go", "MachinePool"),
    ("openstack_platform", "pkg/types/openstack/platform.go", "Platform"),
    ("openstack_machine_pool", "pkg/types/openstack/machinepool.go", "MachinePool"),
]

# The inlined metav1.TypeMeta of InstallConfig.
TYPE_META = ["apiVersion", "kind"]


def show(git, commit, path):
    """The text of `path` at `commit`, or None when the git directory does not have it."""
    r = subprocess.run(
        ["git", "--git-dir", git, "show", f"{commit}:{path}"],
        capture_output=True,
        text=True,
    )
    return r.stdout if r.returncode == 0 else None


def has_commit(git, commit):
    r = subprocess.run(
        ["git", "--git-dir", git, "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
    )
    return r.returncode == 0


def struct_body(src, name):
    """The text between the braces of `type NAME struct { ... }`."""
    m = re.search(r"^type\s+" + name + r"\s+struct\s*\{", src, re.M)
    if not m:
        raise SystemExit(f"no struct {name}")
    depth, i = 1, m.end()
    while depth:
        if src[i] == "{":
            depth += 1
        elif src[i] == "}":
            depth -= 1
        i += 1
    return src[m.end() : i - 1]


def fields(body):
    """The json names of a struct's fields, and those deprecated."""
    names, deprecated, comment = [], [], []
    for line in body.split("\n"):
        s = line.strip()
        if s.startswith("//"):
            comment.append(s)
            continue
        m = re.search(r'`[^`]*json:"([^",]*)([^"]*)"', s)
        if m and m.group(1) not in ("", "-") and "inline" not in m.group(2):
            names.append(m.group(1))
            if s.startswith("Deprecated") or any("deprecated" in c.lower() for c in comment):
                deprecated.append(m.group(1))
        if s:
            comment = []
    return names, deprecated


def extract(git, commit):
    """The fixture's lists of one commit."""
    out, dep = {}, []
    for section, path, struct in SECTIONS:
        src = show(git, commit, path)
        if src is None:
            raise SystemExit(f"{commit}: no {path}")
        names, deprecated = fields(struct_body(src, struct))
        if section == "top_level":
            names += TYPE_META
        out[section] = sorted(set(names))
        dep += [f"{section}.{d}" for d in deprecated]
    out["deprecated"] = sorted(set(dep))
    return out


def derive(git, spec):
    """A release's lists from the newest commit that could be read, with the fields merged pull
    requests added (`added`: "section.field" -> source) and removed (`removed`, likewise)."""
    out = extract(git, spec["from"])
    for key in spec.get("added", {}):
        section, name = key.split(".", 1)
        out[section] = sorted(set(out[section]) | {name})
    for key in spec.get("removed", {}):
        section, name = key.split(".", 1)
        out[section] = [x for x in out[section] if x != name]
        out["deprecated"] = [x for x in out["deprecated"] if x != key]
    for key in spec.get("deprecated", {}):
        out["deprecated"] = sorted(set(out["deprecated"]) | {key})
    return out


def readable(git, entry):
    """How `entry` can be made from `git`: ("commit", lists), ("derived", lists), or (why, None)."""
    if entry.get("commit") and has_commit(git, entry["commit"]):
        return "commit", extract(git, entry["commit"])
    d = entry.get("derived")
    if d and has_commit(git, d["from"]):
        return "derived", derive(git, d)
    return "not in this git directory", None


def main(argv):
    if len(argv) == 3 and not argv[2].startswith("--"):
        print(json.dumps(extract(argv[1], argv[2]), indent=1))
        return 0
    if len(argv) != 4 or argv[2] not in ("--check", "--write"):
        print(__doc__, file=sys.stderr)
        return 2
    git, mode, path = argv[1], argv[2], argv[3]
    with open(path, encoding="utf-8") as f:
        fixture = json.load(f)
    differs = False
    for version, entry in fixture["releases"].items():
        how, lists = readable(git, entry)
        if lists is None:
            print(f"{version}: left as it is ({how})")
            continue
        changed = [k for k in lists if entry.get(k) != lists[k]]
        for k in changed:
            differs = True
            have, want = set(entry.get(k) or []), set(lists[k])
            print(f"{version} {k} ({how}): the fixture has {sorted(have - want)} more, {sorted(want - have)} fewer")
        if not changed:
            print(f"{version}: as read ({how})")
        if mode == "--write":
            entry.update(lists)
    if mode == "--write":
        with open(path, "w", encoding="utf-8") as f:
            json.dump(fixture, f, indent=1, ensure_ascii=False)
            f.write("\n")
        return 0
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
