"""labsh's overcloud files and commands checked with a TripleO release's own code and templates.

  PY check.py tht TREE ENV...              every parameter_defaults key is a parameter some
                                           template of TREE declares; every resource_registry
                                           target resolves (to a Heat template whose get_files
                                           resolve) or is a resource type the release knows
  PY check.py commands TREE OUT HOME FILE  each `openstack` command of the command lines in FILE
                                           (JSON) parsed by the release's own parser (parsers.py
                                           check), and each -e/-n file of the deploy found: in
                                           TREE (the release's templates), in OUT (the lab uploads
                                           it to HOME) or made by an earlier command
  PY check.py undercloud FILE              undercloud.conf: options the release knows, values its
                                           types accept, its own network checks
  PY check.py instackenv FILE              tripleo-common's validate_nodes, as node import runs it
  PY check.py v2 TA_SRC NETDATA VIPDATA BAREMETAL
                                           tripleo-ansible's network_data v2 schema, vip_data's
                                           module options, baremetal_deployment's expand()
  PY check.py heat-nic TEMPLATE ENV --node JSON
                                           the os-net-config content of a Queens Heat nic-config
                                           with Heat's functions resolved for one node, as JSON
  PY check.py j2-nic TEMPLATE VARS         a Wallaby Jinja nic template rendered with one node's
                                           variables, as JSON
  PY check.py j2-vars ROLE NETDATA BAREMETAL INDEX
                                           the variables tripleo-ansible gives a node of ROLE

PY is the release's python-tripleoclient venv (tht, commands, undercloud, instackenv, v2), any
Python with yaml and jinja2 (heat-nic, j2-nic, j2-vars). Prints one problem a line; exit 1 when
there is any. THT paths given as /usr/share/openstack-tripleo-heat-templates/... are read in TREE.
"""
import ipaddress
import json
import os
import shlex
import sys

import yaml

THT = "/usr/share/openstack-tripleo-heat-templates"
HERE = os.path.dirname(os.path.abspath(__file__))

try:
    Loader = yaml.CSafeLoader
except AttributeError:
    Loader = yaml.SafeLoader


def load(path):
    with open(path) as f:
        return yaml.load(f, Loader=Loader)


def tht_path(tree, path, base):
    """Where a template path of the plan is: THT's own under TREE, else relative to `base`."""
    if path.startswith(THT + "/"):
        return os.path.join(tree, path[len(THT) + 1:])
    if os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base, path))


_declared = {}


def declared(tree):
    """Every parameter a Heat template of the tree declares (test fixtures under ci/ and tools/
    aside), with the first file that does."""
    if tree in _declared:
        return _declared[tree]
    out = {}
    for root, dirs, files in os.walk(tree):
        rel = os.path.relpath(root, tree)
        if rel.split(os.sep)[0] in ("ci", "tools", "releasenotes", "doc"):
            continue
        for f in files:
            if not f.endswith(".yaml") or f.endswith(".j2.yaml"):
                continue
            p = os.path.join(root, f)
            try:
                d = load(p)
            except Exception:
                continue
            if isinstance(d, dict) and "heat_template_version" in d:
                for k in (d.get("parameters") or {}):
                    out.setdefault(k, os.path.relpath(p, tree))
    _declared[tree] = out
    return out


def default_registry(tree):
    return (load(os.path.join(tree, "overcloud-resource-registry-puppet.yaml")) or {}).get("resource_registry") or {}


def get_files(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "get_file" and isinstance(v, str):
                yield v
            else:
                yield from get_files(v)
    elif isinstance(node, list):
        for v in node:
            yield from get_files(v)


def check_tht(tree, envs):
    problems = []
    params = dict(declared(tree))
    registry = default_registry(tree)
    # The templates the environment files register are part of the plan: they declare too.
    for env in envs:
        d = load(env) or {}
        base = os.path.dirname(os.path.abspath(env))
        for key, target in (d.get("resource_registry") or {}).items():
            if isinstance(target, str) and target.endswith(".yaml"):
                p = tht_path(tree, target, base)
                if os.path.isfile(p):
                    t = load(p) or {}
                    if isinstance(t, dict):
                        for k in (t.get("parameters") or {}):
                            params.setdefault(k, p)
    for env in envs:
        d = load(env) or {}
        name = os.path.basename(env)
        if not isinstance(d, dict):
            problems.append("%s: not a map" % name)
            continue
        for section in d:
            if section not in ("parameter_defaults", "parameters", "resource_registry", "parameter_merge_strategies"):
                problems.append("%s: %s is not a section of a Heat environment" % (name, section))
        for section in ("parameter_defaults", "parameters"):
            for k in (d.get(section) or {}):
                if k not in params:
                    problems.append("%s: %s.%s is a parameter no template of the release declares" % (name, section, k))
        base = os.path.dirname(os.path.abspath(env))
        for key, target in (d.get("resource_registry") or {}).items():
            if key == "resources":
                continue
            if key.startswith("OS::TripleO::") and key not in registry:
                problems.append("%s: resource_registry %s is no resource type of the release's registry" % (name, key))
            if not isinstance(target, str):
                continue
            if target.endswith(".yaml"):
                p = tht_path(tree, target, base)
                if not os.path.isfile(p):
                    problems.append("%s: resource_registry %s -> %s does not exist" % (name, key, target))
                    continue
                t = load(p)
                if not isinstance(t, dict) or "heat_template_version" not in t:
                    problems.append("%s: resource_registry %s -> %s is not a Heat template" % (name, key, target))
                    continue
                for gf in get_files(t):
                    q = tht_path(tree, gf, os.path.dirname(p))
                    if not os.path.exists(q):
                        problems.append("%s: %s: get_file %s does not exist" % (name, target, gf))
            elif target.startswith("OS::Heat::") or target.startswith("OS::Nova::") or target.startswith("OS::Neutron::"):
                continue
            elif target not in registry:
                problems.append("%s: resource_registry %s -> %s is no resource type of the release" % (name, key, target))
    return problems


def openstack_segments(line):
    """The `openstack ...` commands of a shell line: `a && . stackrc && sudo openstack x`."""
    out = []
    body = line.split("\n")[0]
    for seg in body.split("&&"):
        words = shlex.split(seg)
        if words and words[0] == "sudo":
            words = words[1:]
        if words and words[0] == "openstack":
            out.append(words)
    return out


def local_copy(path, out, home):
    """The lab's local copy of a file it uploads to the stack user's home (templates/F is F)."""
    if not path.startswith(home + "/"):
        return None
    rel = path[len(home) + 1:]
    for c in (os.path.join(out, rel), os.path.join(out, rel[len("templates/"):]) if rel.startswith("templates/") else None):
        if c and os.path.isfile(c):
            return c
    return None


def check_commands(tree, out, home, commands_file):
    import contextlib
    import io
    import warnings
    sys.path.insert(0, HERE)
    import parsers
    warnings.simplefilter("ignore")
    eps = parsers.entry_points()
    problems = []
    made = set()
    for line in json.load(open(commands_file)):
        for words in openstack_segments(line):
            # A file the command opens as it parses (node import's env_file) is read from the
            # lab's copy of it.
            argv = [local_copy(w, out, home) or w for w in words]
            err = io.StringIO()
            try:
                with contextlib.redirect_stderr(err):
                    name, a = parsers.parse(argv, eps=eps)
            except SystemExit:
                last = [l for l in err.getvalue().splitlines() if l.strip()][-1:] or ["(no message)"]
                problems.append("%s: %s" % (" ".join(words[:4]), last[0]))
                continue
            a = {k: (v.name if hasattr(v, "name") and hasattr(v, "read") else v) for k, v in a.items()}
            parsed = {"command": name}
            for k in ("output", "output_env_file", "output_images_file"):
                if a.get(k):
                    made.add(os.path.normpath(a[k]))
            files = list(a.get("environment_files") or [])
            if a.get("networks_file") and parsed["command"] == "overcloud deploy":
                files.append(a["networks_file"])
            for f in files:
                if f.startswith(THT + "/"):
                    if not os.path.exists(tht_path(tree, f, tree)):
                        problems.append("%s: -e %s is not in the release's templates" % (parsed["command"], f))
                elif os.path.normpath(f) in made:
                    continue
                elif f.startswith(home + "/") or f.startswith(out + "/"):
                    if not (local_copy(f, out, home) or os.path.isfile(f)):
                        problems.append("%s: -e %s is neither uploaded by the lab nor made by an earlier step" % (parsed["command"], f))
                else:
                    problems.append("%s: -e %s is outside the templates and the stack user's home" % (parsed["command"], f))
    return problems


def check_undercloud(path):
    """The release's own reading of undercloud.conf (host checks aside: hostname, memory, the
    interface)."""
    import configparser
    problems = []
    try:
        import tripleoclient.config.undercloud  # noqa: F401  (Wallaby and later)
        wallaby = True
    except ImportError:
        wallaby = False
    if wallaby:
        from oslo_config import cfg
        from tripleoclient import utils
        from tripleoclient.v1 import undercloud_config as ucc
        from tripleoclient.v1 import undercloud_preflight as pf
        conf = cfg.CONF
        utils.load_config(conf, path)
        ucc._load_subnets_config_groups()
    else:
        import logging
        from instack_undercloud import undercloud as u
        from instack_undercloud import validator
        u.LOG = logging.getLogger("instack_undercloud.undercloud")
        u.CONF(["--config-file", path], project="undercloud")
        u._load_subnets_config_groups()
        u.CONF(["--config-file", path], project="undercloud")
        conf = u.CONF
    subnets = list(conf.subnets)
    known = {"DEFAULT": set()}
    for o in conf._opts.values():
        known["DEFAULT"].add(o["opt"].dest)
        for dep in o["opt"].deprecated_opts:
            if dep.group in (None, "DEFAULT") and dep.name:
                known["DEFAULT"].add(dep.name.replace("-", "_"))
    for s in subnets:
        if s in conf:
            known[s] = {o["opt"].dest for o in conf._groups[s]._opts.values()}
    raw = configparser.RawConfigParser(strict=False)
    raw.optionxform = str
    raw.read(path)
    for k in raw.defaults():
        if k not in known["DEFAULT"]:
            problems.append("[DEFAULT] %s: not an option of this release" % k)
    for sec in raw.sections():
        if sec not in known:
            problems.append("[%s]: not a subnet of 'subnets' (%s)" % (sec, ",".join(subnets)))
            continue
        for k in raw[sec]:
            if k not in raw.defaults() and k not in known[sec]:
                problems.append("[%s] %s: not an option of this release" % (sec, k))
    for name in list(conf):
        if name in subnets:
            continue
        try:
            conf[name]
        except Exception as e:
            problems.append("[DEFAULT] %s: %s" % (name, e))
    for s in subnets:
        for name in list(conf.get(s)):
            try:
                conf.get(s)[name]
            except Exception as e:
                problems.append("[%s] %s: %s" % (s, name, e))
    if wallaby:
        checks = [pf._validate_value_formats,
                  pf._check_routed_networks_enabled_if_multiple_subnets_defined,
                  pf._check_all_or_no_subnets_use_dns_nameservers]
        if hasattr(pf, "_validate_deprecetad_now_invalid_parameters"):
            checks.insert(0, pf._validate_deprecetad_now_invalid_parameters)
        for s in subnets:
            g = conf.get(s)
            checks += [lambda g=g, s=s: pf._validate_in_cidr(g, s),
                       lambda g=g, s=s: pf._validate_dhcp_range(g, s),
                       lambda g=g: pf._validate_inspection_range(g),
                       lambda g=g: pf._validate_dnsnameservers(g)]
        checks.append(pf._validate_ips)
        for c in checks:
            try:
                c()
            except Exception as e:
                problems.append("validation: %s" % e)
    else:
        validator._validate_interface_exists = lambda params, cb: None
        try:
            u._validate_network()
        except Exception as e:
            problems.append("validation: %s" % e)
    return problems


def check_instackenv(path):
    from tripleo_common import exception
    from tripleo_common.utils import nodes as node_utils
    data = json.load(open(path))
    nodes = data["nodes"] if isinstance(data, dict) else data
    if hasattr(node_utils, "convert_nodes_json_mac_to_ports"):
        nodes = node_utils.convert_nodes_json_mac_to_ports(nodes)
    try:
        node_utils.validate_nodes(nodes)
    except exception.InvalidNode as e:
        return ["instackenv.json: %s" % e]
    return []


def _module(path, name):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _argspec_errors(module_file, params):
    """AnsibleModule's own validation of a module's options (its DOCUMENTATION, as the module
    passes it)."""
    src = open(module_file).read()
    doc = src.split("DOCUMENTATION = '''", 1)[1].split("'''", 1)[0]
    options = yaml.safe_load(doc)["options"]
    from ansible.module_utils import basic
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": params}).encode()
    got = {}

    def fail_json(self, **kw):
        got.update(kw)
        raise SystemExit(1)
    basic.AnsibleModule.fail_json = fail_json
    try:
        basic.AnsibleModule(argument_spec=options, supports_check_mode=True)
    except SystemExit:
        return [got.get("msg", str(got))]
    return []


def check_v2(ta, netdata_path, vip_path, bm_path):
    import collections
    import collections.abc
    for n in ("Mapping", "MutableMapping", "Sequence"):
        if not hasattr(collections, n):
            setattr(collections, n, getattr(collections.abc, n))
    plug = os.path.join(ta, "tripleo_ansible", "ansible_plugins")
    problems = []
    nets = load(netdata_path)
    nd = _module(os.path.join(plug, "module_utils", "network_data_v2.py"), "network_data_v2")
    lowers = {}
    for i, net in enumerate(nets):
        for e in nd.validate_json_schema(net):
            problems.append("network_data.yaml: network %d (%s): %s" % (i, net.get("name"), e))
        for e in _argspec_errors(os.path.join(plug, "modules", "tripleo_composable_network.py"), {"net_data": net, "idx": i}):
            problems.append("network_data.yaml: network %d (%s): %s" % (i, net.get("name"), e))
        lowers[net.get("name_lower", net["name"].lower())] = net
    lowers.setdefault("ctlplane", {"subnets": {"ctlplane-subnet": {}}})
    vips = load(vip_path)
    for e in _argspec_errors(os.path.join(plug, "modules", "tripleo_overcloud_network_vip_provision.py"),
                             {"stack_name": "overcloud", "vip_data": vips}):
        problems.append("vip_data.yaml: %s" % e)
    for v in vips:
        # tripleo-ansible modules/tripleo_overcloud_network_vip_provision.py
        # validate_vip_nets_in_net_map, against network_data instead of Neutron.
        if v.get("network") not in lowers:
            problems.append("vip_data.yaml: Network %s for Virtual IP not found." % v.get("network"))
        elif v.get("subnet") and v["subnet"] not in lowers[v["network"]]["subnets"]:
            problems.append("vip_data.yaml: Subnet %s for Virtual IP not found on network %s." % (v["subnet"], v["network"]))
        if v.get("ip_address"):
            ip = ipaddress.ip_address(v["ip_address"])
            subs = (lowers.get(v.get("network")) or {}).get("subnets") or {}
            if subs and not any(s.get("ip_subnet") and ip in ipaddress.ip_network(s["ip_subnet"]) for s in subs.values()):
                problems.append("vip_data.yaml: %s is on no subnet of %s" % (ip, v["network"]))
    bm = load(bm_path)
    bd = _module(os.path.join(plug, "module_utils", "baremetal_deploy.py"), "baremetal_deploy")
    try:
        instances, env, _, _ = bd.expand(bm, "overcloud", expand_provisioned=True,
                                         default_image={"href": "file:///var/lib/ironic/images/overcloud-full.raw"},
                                         default_network=[{"network": "ctlplane", "vif": True}])
    except Exception as e:
        problems.append("baremetal_deployment.yaml: %s: %s" % (type(e).__name__, str(e).split("\n\nFailed validating")[0]))
        instances = []
    for inst in instances:
        for n in inst.get("networks", []):
            if n.get("network") not in lowers:
                problems.append("baremetal_deployment.yaml: %s: network %s is not in network_data" % (inst.get("hostname"), n.get("network")))
            elif n.get("subnet") and n["subnet"] not in lowers[n["network"]]["subnets"]:
                problems.append("baremetal_deployment.yaml: %s: subnet %s is not on %s" % (inst.get("hostname"), n["subnet"], n["network"]))
    if not problems:
        print("expanded %d instance(s): %s" % (len(instances), ", ".join(i.get("hostname", "?") for i in instances)), file=sys.stderr)
    return problems


def heat_nic(template, env, node):
    """The network_config of a Queens nic-config for one node: get_param from the node's own
    values (ControlPlaneIp, <Net>IpSubnet: what the role template passes), the environment's
    parameter_defaults and the template's defaults; list_join; then run-os-net-config.sh's
    placeholders (bridge_name, interface_name) as THT 8.4.1 network/scripts replaces them."""
    t = load(template)
    params = {k: v.get("default") for k, v in (t.get("parameters") or {}).items()}
    params.update((load(env) or {}).get("parameter_defaults") or {})
    params.update(node)

    def resolve(x):
        if isinstance(x, dict):
            if list(x) == ["get_param"]:
                name = x["get_param"] if isinstance(x["get_param"], str) else x["get_param"][0]
                if name not in params:
                    raise SystemExit("%s: get_param %s is not a parameter of the template" % (template, name))
                return params[name]
            if list(x) == ["list_join"]:
                sep, items = x["list_join"]
                return sep.join(str(resolve(i)) for i in resolve(items))
            return {k: resolve(v) for k, v in x.items()}
        if isinstance(x, list):
            return [resolve(v) for v in x]
        return x
    res = t["resources"]["OsNetConfigImpl"]["properties"]["config"]["str_replace"]
    nc = resolve(res["params"]["$network_config"])
    text = json.dumps(nc)
    text = text.replace('"bridge_name"', '"%s"' % node.get("bridge_name", "br-ex"))
    text = text.replace('"interface_name"', '"%s"' % node.get("interface_name", "nic1"))
    return json.loads(text)


def j2_vars(role, netdata_path, bm_path, index):
    """The variables tripleo-ansible's tripleo_network_config gives a node's nic template (THT
    14.3.0 overcloud.yaml <Role>GroupVars and tripleo-common inventory.py host vars): the
    ctlplane's, and for each of the role's networks its address (here the pool's first free
    address + index), prefix, VLAN, MTU and routes; the default route where baremetal_deployment
    puts it."""
    nets = {n["name"]: n for n in load(netdata_path)}
    roles = {r["name"]: r for r in load(bm_path)}
    r = roles[role]
    nc = r["defaults"].get("network_config", {})
    default_nets = nc.get("default_route_network", ["ctlplane"])
    role_nets = []
    for n in r["defaults"]["networks"]:
        if n["network"] == "ctlplane":
            continue
        role_nets.append([k for k, v in nets.items() if v["name_lower"] == n["network"]][0])
    v = {
        "ctlplane_ip": "172.16.0.%d" % (30 + index), "ctlplane_subnet_cidr": "24", "ctlplane_mtu": 1500,
        "ctlplane_host_routes": [{"default": True, "next_hop": "172.16.0.254"}] if "ctlplane" in default_nets else [],
        "ctlplane_dns_nameservers": ["192.168.122.1"], "dns_search_domains": [],
        "neutron_physical_bridge_name": nc.get("physical_bridge_name", "br-ex"),
        "bond_interface_ovs_options": nc.get("bond_interface_ovs_options", "bond_mode=active-backup"),
        "role_networks": role_nets,
        "networks_lower": {k: n["name_lower"] for k, n in nets.items()},
    }
    for name in role_nets:
        n = nets[name]
        sub = list(n["subnets"].values())[0]
        net = ipaddress.ip_network(sub["ip_subnet"])
        start = ipaddress.ip_address(sub["allocation_pools"][0]["start"])
        low = n["name_lower"]
        v[low + "_ip"] = str(start + index)
        v[low + "_cidr"] = str(net.prefixlen)
        v[low + "_vlan_id"] = sub.get("vlan", 1)
        v[low + "_mtu"] = n.get("mtu", 1500)
        routes = list(sub.get("routes") or [])
        if low in default_nets and sub.get("gateway_ip"):
            routes.append({"default": True, "next_hop": sub["gateway_ip"]})
        v[low + "_host_routes"] = routes
    return v


def j2_nic(template, vars_path):
    """The template rendered as tripleo-ansible renders it (jinja2 with Ansible's
    lookup('vars', ...) and undefined variables an error), parsed as YAML."""
    import jinja2
    variables = json.load(open(vars_path))

    def lookup(kind, name):
        if kind != "vars":
            raise ValueError("lookup %s" % kind)
        return variables[name]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    text = env.from_string(open(template).read()).render(lookup=lookup, **variables)
    return yaml.safe_load(text)


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    kind = a[0]
    if kind == "tht":
        problems = check_tht(a[1], a[2:])
    elif kind == "commands":
        problems = check_commands(a[1], a[2], a[3], a[4])
    elif kind == "undercloud":
        problems = check_undercloud(a[1])
    elif kind == "instackenv":
        problems = check_instackenv(a[1])
    elif kind == "v2":
        problems = check_v2(a[1], a[2], a[3], a[4])
    elif kind == "heat-nic":
        node = json.loads(a[a.index("--node") + 1])
        print(json.dumps({"network_config": heat_nic(a[1], a[2], node)["network_config"]}, indent=1))
        return
    elif kind == "j2-nic":
        print(json.dumps(j2_nic(a[1], a[2]), indent=1))
        return
    elif kind == "j2-vars":
        print(json.dumps(j2_vars(a[1], a[2], a[3], int(a[4])), indent=1))
        return
    else:
        sys.exit(__doc__)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
