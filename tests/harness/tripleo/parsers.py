"""The command-line parsers of a release's `openstack` commands, taken from the release's own
code: each command's cliff class (python-tripleoclient, and the clients it installs:
ironicclient, ironic-inspector-client, heatclient, openstackclient) builds its argparse parser
with get_parser, as `openstack` does before it runs the command.

  VENV/bin/python parsers.py dump              the parsers of COMMANDS as JSON (argparse actions)
  VENV/bin/python parsers.py check -- ARGV...  parses `openstack ARGV...` with the real parser:
                                               exit 0, or 2 with argparse's message
  python3 parsers.py replay DUMP -- ARGV...    the same with a dump (no client installed): what
                                               the stand-in director runs

Only the commands labsh runs are listed; a command the release lacks is absent from its dump.
"""
import argparse
import json
import sys
import warnings

COMMANDS = [
    "undercloud install",
    "overcloud image upload",
    "overcloud container image prepare",
    "overcloud container image upload",
    "tripleo container image prepare default",
    "overcloud node import",
    "overcloud node introspect",
    "overcloud node provide",
    "overcloud node provision",
    "overcloud profiles list",
    "overcloud network provision",
    "overcloud network vip provision",
    "overcloud ceph deploy",
    "overcloud deploy",
    "overcloud status",
    "overcloud credentials",
    "baremetal node list",
    "baremetal node set",
    "baremetal introspection list",
    "image list",
    "stack list",
    "stack failures list",
    "server list",
]


def entry_points():
    """Every `openstack.*` command entry point: {"overcloud deploy": EntryPoint}."""
    from importlib.metadata import distributions
    found = {}
    for d in distributions():
        for ep in d.entry_points:
            if ep.group.startswith("openstack.") and "cli" not in ep.group.split(".")[-1]:
                # image list exists as v1 and v2: the v2 one is what `openstack` runs.
                name = ep.name.replace("_", " ")
                if name in found and ep.group.endswith(".v1") and not found[name].group.endswith(".v1"):
                    continue
                found[name] = ep
    return found


class _App:
    """What a cliff command may ask of its app while it builds its parser."""
    stdout = sys.stdout
    stderr = sys.stderr
    options = argparse.Namespace()


def real_parser(name, ep):
    cls = ep.load()
    cmd = cls(_App(), None)
    return cmd.get_parser("openstack " + name)


def describe(parser):
    out = []
    for a in parser._actions:
        out.append({
            "options": list(a.option_strings),
            "dest": a.dest,
            "nargs": a.nargs,
            "required": bool(a.required),
            "kind": type(a).__name__,
            "choices": [str(c) for c in a.choices] if a.choices else None,
            "const": a.const if isinstance(a.const, (str, int, float, bool, type(None))) else None,
            "default": a.default if isinstance(a.default, (str, int, float, bool, type(None))) else None,
        })
    return out


def dump():
    warnings.simplefilter("ignore")
    eps = entry_points()
    result = {}
    for name in COMMANDS:
        if name in eps:
            result[name] = describe(real_parser(name, eps[name]))
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


def from_dump(name, actions):
    """An argparse parser that reads the command line as the dumped one does."""
    p = argparse.ArgumentParser(prog="openstack " + name, add_help=False)
    for a in actions:
        kind = a["kind"]
        kw = {"dest": a["dest"]} if a["options"] else {}
        if a.get("default") is not None and a["default"] != "==SUPPRESS==":
            kw["default"] = a["default"]
        if kind == "_HelpAction":
            p.add_argument(*a["options"], action="help")
            continue
        if kind in ("_StoreTrueAction", "_StoreFalseAction", "_StoreConstAction",
                    "_AppendConstAction", "_CountAction"):
            action = {"_StoreTrueAction": "store_true", "_StoreFalseAction": "store_false",
                      "_StoreConstAction": "store_const", "_AppendConstAction": "append_const",
                      "_CountAction": "count"}[kind]
            if action in ("store_const", "append_const"):
                kw["const"] = a["const"]
            p.add_argument(*a["options"], action=action, **kw)
            continue
        if a["nargs"] is not None:
            kw["nargs"] = a["nargs"]
        if a["choices"]:
            kw["choices"] = a["choices"]
        if a["options"]:
            kw["required"] = a["required"]
            if kind == "_AppendAction":
                kw["action"] = "append"
            p.add_argument(*a["options"], **kw)
        else:
            p.add_argument(a["dest"], **kw)
    return p


# cliff's App reads its own options wherever they are on the line (parse_known_args over the
# whole argv), so `openstack overcloud container image upload --config-file F --verbose` is valid.
GLOBAL_FLAGS = ("-v", "--verbose", "-q", "--quiet", "--debug")


def without_globals(argv):
    return [a for a in argv if a not in GLOBAL_FLAGS]


def parse(argv, eps=None, table=None):
    """`openstack ARGV` read by the release's parser (eps: its entry points) or by a dump
    (table): (command, args), or SystemExit(2) with argparse's message on stderr."""
    argv = without_globals(argv[1:] if argv and argv[0] == "openstack" else argv)
    names = list(table) if table is not None else [n for n in COMMANDS if n in eps]
    name, args = split(argv, names)
    if name is None:
        sys.stderr.write("openstack: '%s' is not an openstack command of this release\n" % " ".join(argv[:3]))
        raise SystemExit(2)
    parser = from_dump(name, table[name]) if table is not None else real_parser(name, eps[name])
    return name, vars(parser.parse_args(args))


def split(argv, names):
    """The command name at the start of argv (the longest that is known) and the rest."""
    for n in sorted(names, key=lambda x: -len(x.split())):
        w = n.split()
        if argv[:len(w)] == w:
            return n, argv[len(w):]
    return None, argv


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    mode = sys.argv[1]
    if mode == "dump":
        return dump()
    rest = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    if mode == "check":
        warnings.simplefilter("ignore")
        name, args = parse(rest, eps=entry_points())
    elif mode == "replay":
        name, args = parse(rest, table=json.load(open(sys.argv[2])))
    else:
        sys.exit(__doc__)
    print(json.dumps({"command": name, "args": args}, default=str, sort_keys=True))


if __name__ == "__main__":
    main()
