//! The lab picture (stdlib/graph.rhai) and the run timeline (`labsh journal RUN --timeline`),
//! checked on what a person sees: the SVG Graphviz and labsh draw, parsed.

use crate::support::Lab;
use std::collections::HashMap;
use std::path::Path;

/// A node of a Graphviz SVG: its centre, its lines of text and the colour it is filled with.
#[derive(Debug)]
struct Node {
    x: f64,
    y: f64,
    texts: Vec<String>,
    fill: Option<String>,
}

/// What a picture Graphviz drew holds: its viewBox's width and height, its nodes by DOT id, its
/// edges (tail, head), its clusters' boxes (x0, y0, x1, y1) and their titles' lines by name.
#[derive(Debug)]
struct Picture {
    width: f64,
    height: f64,
    nodes: HashMap<String, Node>,
    edges: Vec<(String, String)>,
    clusters: HashMap<String, (f64, f64, f64, f64)>,
    titles: HashMap<String, Vec<String>>,
}

fn points(s: &str) -> Vec<(f64, f64)> {
    s.split_whitespace()
        .filter_map(|p| p.split_once(','))
        .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
        .collect()
}

fn parse(svg: &str) -> Picture {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(svg, opts)
        .unwrap_or_else(|e| panic!("not SVG: {e}\n{svg}"));
    let root = doc.root_element();
    let vb: Vec<f64> = root
        .attribute("viewBox")
        .expect("a viewBox")
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let mut p = Picture {
        width: vb[2],
        height: vb[3],
        nodes: HashMap::new(),
        edges: vec![],
        clusters: HashMap::new(),
        titles: HashMap::new(),
    };
    for g in doc.descendants().filter(|n| n.tag_name().name() == "g") {
        let title = g
            .children()
            .find(|c| c.tag_name().name() == "title")
            .and_then(|t| t.text())
            .unwrap_or("")
            .to_string();
        match g.attribute("class") {
            Some("node") => {
                let texts: Vec<_> = g
                    .children()
                    .filter(|c| c.tag_name().name() == "text")
                    .collect();
                let n = texts.len().max(1) as f64;
                let coord = |a: &str| {
                    texts
                        .iter()
                        .map(|t| t.attribute(a).unwrap().parse::<f64>().unwrap())
                        .sum::<f64>()
                        / n
                };
                let fill = g
                    .children()
                    .find(|c| ["path", "polygon", "ellipse"].contains(&c.tag_name().name()))
                    .and_then(|s| s.attribute("fill"))
                    .map(str::to_string);
                p.nodes.insert(
                    title,
                    Node {
                        x: coord("x"),
                        y: coord("y"),
                        texts: texts
                            .iter()
                            .filter_map(|t| t.text().map(str::to_string))
                            .collect(),
                        fill,
                    },
                );
            }
            Some("edge") => {
                let (a, b) = title
                    .split_once("->")
                    .unwrap_or_else(|| panic!("edge {title}"));
                p.edges.push((a.to_string(), b.to_string()));
            }
            Some("cluster") => {
                let pts = g
                    .children()
                    .find(|c| ["path", "polygon"].contains(&c.tag_name().name()))
                    .map(|s| {
                        s.attribute("points")
                            .map(points)
                            .unwrap_or_else(|| path_points(s.attribute("d").unwrap_or("")))
                    })
                    .unwrap_or_default();
                let xs = pts.iter().map(|p| p.0);
                let ys = pts.iter().map(|p| p.1);
                p.titles.insert(
                    title.clone(),
                    g.children()
                        .filter(|c| c.tag_name().name() == "text")
                        .filter_map(|t| t.text().map(str::to_string))
                        .collect(),
                );
                p.clusters.insert(
                    title,
                    (
                        xs.clone().fold(f64::MAX, f64::min),
                        ys.clone().fold(f64::MAX, f64::min),
                        xs.fold(f64::MIN, f64::max),
                        ys.fold(f64::MIN, f64::max),
                    ),
                );
            }
            _ => {}
        }
    }
    p
}

/// The points of an SVG path's data (a rounded cluster is drawn as a path).
fn path_points(d: &str) -> Vec<(f64, f64)> {
    let nums: Vec<f64> = d
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    nums.chunks(2).map(|c| (c[0], c[1])).collect()
}

/// The overcloud networks a VM of `role` carries: TripleO's roles_data.yaml
/// (openstack/tripleo-heat-templates, roles_data.yaml, tags 8.4.1 and 14.3.0: Controller,
/// Compute and CephStorage's `networks`).
fn carried(role: &str) -> &'static [&'static str] {
    match role {
        "control" => &[
            "external",
            "internal_api",
            "storage",
            "storage_mgmt",
            "tenant",
        ],
        "compute" => &["internal_api", "storage", "tenant"],
        "ceph-storage" => &["storage", "storage_mgmt"],
        _ => &[],
    }
}

/// Whether a VM of `role` in a RHOSO lab whose tagged networks are `tagged` (rhoso::vlan_networks)
/// carries the drawn network `k`, as stdlib/rhoso.rhai builds the lab: the substrate's trunk
/// (its NodeNetworkConfigurationPolicy; every tagged network's VLAN is on it unless the profile
/// says otherwise) the tagged ones and Octavia's; the EDPM nodes (the NodeSet's networks, and
/// br-ex over the bond) the tagged ones and, untagged, the external one; no other role any.
fn rhoso_carried(role: &str, k: &str, tagged: &[&str]) -> bool {
    match role {
        "openshift" => tagged.contains(&k) || k == "octavia",
        "compute" => k != "octavia",
        _ => false,
    }
}

/// Draws the lab of profile `name` ("seed" or a shipped profile's file) with `tweak` (Rhai run
/// on `p` first) and `opts` (graph::write's options), and returns the picture's text and what
/// the profile says: its VMs (name, role), overcloud networks, overcloud nodes in BMC order, BMC,
/// whether it is a RHOSO lab, its tagged networks and whether its control plane has Octavia.
fn draw(lab: &Lab, name: &str, tweak: &str, opts: &str) -> (String, serde_json::Value) {
    let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let src = if name == "seed" {
        "seed".to_string()
    } else {
        profiles.join(format!("{name}.rhai")).display().to_string()
    };
    let svg = lab
        .work()
        .join(format!("{name}-{}.svg", tweak.len() + opts.len()));
    let script = format!(
        "import \"profile\" as profile; import \"seed\" as seed; import \"l1\" as l1; import \"graph\" as graph; import \"rhoso\" as rhoso;\n\
         let p = profile::load(\"{src}\", ()).profile;\n{tweak}\n\
         graph::write(p, \"{}\", {opts});\n\
         #{{vms: seed::vm_list(p).map(|v| #{{name: v.name, role: v.role}}), oc: p.overcloud.networks.keys(),\n\
            bmc_order: l1::overcloud_nodes(p).map(|v| v.name), bmc: p.bmc, ext: p.tenant.external_network,\n\
            rhoso: rhoso::releases().contains(p.overcloud.release), tagged: rhoso::vlan_networks(p).map(|n| n.key),\n\
            octavia: rhoso::settings(p).octavia.enabled}}",
        svg.display()
    );
    let o = lab.run(["-e", &script, "--json"]);
    o.ok();
    let facts = o
        .json_lines()
        .into_iter()
        .find(|l| l["event"] == "result")
        .unwrap()["value"]
        .clone();
    (std::fs::read_to_string(&svg).unwrap(), facts)
}

/// The VMs of `facts` in the order a person reads the article's figure: the director, the
/// controllers, Ceph, the compute nodes (a profile's other roles after them), by name within.
fn reading_order(facts: &serde_json::Value) -> Vec<(String, String)> {
    // A RHOSO lab's: the substrate that runs the control plane, then the EDPM computes.
    let order: &[&str] = if facts["rhoso"] == true {
        &["openshift", "compute"]
    } else {
        &["director", "control", "ceph-storage", "compute"]
    };
    let mut vms: Vec<(String, String)> = facts["vms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    vms.sort_by_key(|(n, r)| {
        (
            order.iter().position(|o| o == r).unwrap_or(order.len()),
            r.clone(),
            n.clone(),
        )
    });
    vms
}

/// The layout rules of the lab picture, on `svg` for the lab `facts` describe.
fn check_layout(what: &str, svg: &str, facts: &serde_json::Value) {
    let p = parse(svg);
    // A screen shows it whole.
    let aspect = p.width / p.height;
    assert!(
        aspect <= 2.5,
        "{what}: {aspect:.2} times wider than tall ({} x {})",
        p.width,
        p.height
    );
    // The VMs in their order, along a row (or, drawn left to right, down a column).
    let vms = reading_order(facts);
    let at: Vec<&Node> = vms
        .iter()
        .map(|(n, _)| {
            p.nodes
                .get(n)
                .unwrap_or_else(|| panic!("{what}: VM {n} is not drawn"))
        })
        .collect();
    let along_x = at.windows(2).all(|w| w[0].x < w[1].x);
    let along_y = at.windows(2).all(|w| w[0].y < w[1].y);
    let placed: Vec<_> = vms
        .iter()
        .zip(&at)
        .map(|((n, _), a)| format!("{n} ({:.0}, {:.0})", a.x, a.y))
        .collect();
    assert!(
        along_x || along_y,
        "{what}: the VMs are not in their order: {placed:?}"
    );
    // Top-down, L0's networks above the VMs, the overcloud's networks below them.
    if along_x {
        for (id, n) in &p.nodes {
            for v in &at {
                if id.starts_with("net_") {
                    assert!(n.y < v.y, "{what}: {id} is not above the VMs");
                }
                if id.starts_with("oc_") {
                    assert!(n.y > v.y, "{what}: {id} is not below the VMs");
                }
            }
        }
    }
    // Each overcloud network joined to each VM that carries it, and to no other.
    let rhoso = facts["rhoso"] == true;
    let strs = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let mut oc = strs(&facts["oc"]);
    let tagged = strs(&facts["tagged"]);
    let tagged: Vec<&str> = tagged.iter().map(String::as_str).collect();
    if rhoso && facts["octavia"] == true {
        oc.push("octavia".to_string());
    }
    assert!(!oc.is_empty(), "{what}: no overcloud networks");
    for (vm, role) in &vms {
        for k in &oc {
            let joined = p
                .edges
                .iter()
                .any(|(a, b)| a == vm && *b == format!("oc_{k}"));
            let want = if rhoso {
                rhoso_carried(role, k, &tagged)
            } else {
                carried(role).contains(&k.as_str())
            };
            assert_eq!(
                joined, want,
                "{what}: {vm} ({role}) and the overcloud network {k}: joined {joined}"
            );
        }
    }
    for k in &oc {
        assert!(
            p.edges.iter().any(|(_, b)| *b == format!("oc_{k}")),
            "{what}: the overcloud network {k} is joined to nothing"
        );
    }
    if rhoso {
        check_rhoso_groups(what, &p, &vms);
    } else {
        check_bmcs(what, &p, facts);
    }
    check_tenant(what, &p, facts);
}

/// A RHOSO lab's L1 groups, titled as what they are, each VM in its own; and no BMCs: no service
/// on the L0 host, no VM with one.
fn check_rhoso_groups(what: &str, p: &Picture, vms: &[(String, String)]) {
    for (role, title) in [
        ("openshift", "OpenShift substrate: RHOSO 18.0 control plane"),
        ("compute", "EDPM computes, Ceph OSDs"),
    ] {
        let id = format!("cluster_role_{role}");
        let lines = p
            .titles
            .get(&id)
            .unwrap_or_else(|| panic!("{what}: no group {id}"));
        assert_eq!(lines.first().map(String::as_str), Some(title), "{what}");
        let b = p.clusters[&id];
        for (vm, r) in vms {
            let n = &p.nodes[vm];
            let inside = n.x > b.0 && n.x < b.2 && n.y > b.1 && n.y < b.3;
            assert_eq!(
                inside,
                r == role,
                "{what}: {vm} ({r}) and the group {id} {b:?}"
            );
        }
    }
    assert!(
        !p.nodes.contains_key("bmcs"),
        "{what}: a BMC service is drawn"
    );
    for (id, n) in &p.nodes {
        assert!(
            !n.texts.iter().any(|t| t.contains("BMC")),
            "{what}: {id} names a BMC: {:?}",
            n.texts
        );
    }
}

/// Each overcloud node's BMC as the profile makes it, served from the L0 host.
fn check_bmcs(what: &str, p: &Picture, facts: &serde_json::Value) {
    let bmc = &facts["bmc"];
    let addr = bmc["address"].as_str().unwrap();
    let redfish = bmc["type"] == "redfish";
    let order = facts["bmc_order"].as_array().unwrap();
    assert!(!order.is_empty(), "{what}: no overcloud nodes");
    for (i, vm) in order.iter().enumerate() {
        let vm = vm.as_str().unwrap();
        let texts = &p.nodes[vm].texts;
        let want = if redfish {
            format!("BMC Redfish {addr}:{} system", bmc["redfish_port"])
        } else {
            format!(
                "BMC IPMI {addr}:{}",
                bmc["port_base"].as_i64().unwrap() + i as i64
            )
        };
        assert!(
            texts.contains(&want),
            "{what}: {vm} has no '{want}': {texts:?}"
        );
        if redfish {
            assert!(
                !texts.iter().any(|t| t.contains("IPMI")),
                "{what}: {vm} is a Redfish node with an IPMI port: {texts:?}"
            );
        }
    }
    assert!(
        p.edges
            .iter()
            .any(|(a, b)| a.starts_with("net_") && b == "bmcs"),
        "{what}: the BMCs are joined to no L0 network"
    );
    let service = p.nodes["bmcs"].texts.join(" ");
    assert_eq!(
        service.contains("Redfish"),
        redfish,
        "{what}: the BMCs' service: {service}"
    );
}

/// The floating IPs in the tenant, beside the cluster they serve.
fn check_tenant(what: &str, p: &Picture, facts: &serde_json::Value) {
    // The floating IPs in the tenant, beside the cluster they serve: within its width, above it,
    // each joined to its VIP and to the external network.
    let ocp = p.clusters["cluster_ocp"];
    let tenant = p.clusters["cluster_tenant"];
    for (fip, vip) in [("fip_api", "api_vip"), ("fip_ingress", "ingress_vip")] {
        let f = &p.nodes[fip];
        // Above it top-down; before it when the layers go left to right.
        let above = f.x > ocp.0 && f.x < ocp.2 && f.y < ocp.1;
        let before = f.y > ocp.1 && f.y < ocp.3 && f.x < ocp.0;
        assert!(
            above || before,
            "{what}: {fip} ({:.0}, {:.0}) is not beside the cluster {ocp:?}",
            f.x,
            f.y
        );
        assert!(
            f.x > tenant.0 && f.x < tenant.2 && f.y > tenant.1 && f.y < tenant.3,
            "{what}: {fip} is not in the tenant {tenant:?}"
        );
        assert!(
            p.edges.contains(&(fip.to_string(), vip.to_string())),
            "{what}: {fip} is not joined to {vip}"
        );
        let ext = format!("oc_{}", facts["ext"].as_str().unwrap());
        assert!(
            p.edges.contains(&(ext.clone(), fip.to_string())),
            "{what}: {fip} is not joined to {ext}"
        );
    }
}

#[test]
fn the_picture_of_the_seed_and_of_every_shipped_profile_reads_as_the_articles_figure() {
    let lab = Lab::new();
    let mut names = vec!["seed".to_string()];
    let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    for e in std::fs::read_dir(&profiles).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().to_string();
        if let Some(n) = n.strip_suffix(".rhai") {
            names.push(n.to_string());
        }
    }
    assert!(names.len() >= 4, "{names:?}");
    for name in &names {
        let (svg, facts) = draw(&lab, name, "", "#{}");
        check_layout(name, &svg, &facts);
    }
}

#[test]
fn a_redfish_lab_is_drawn_with_its_emulator_and_each_nodes_system() {
    let lab = Lab::new();
    let (svg, facts) = draw(&lab, "seed", "p.bmc.type = \"redfish\";", "#{}");
    assert_eq!(facts["bmc"]["type"], "redfish");
    check_layout("seed with Redfish BMCs", &svg, &facts);
    let p = parse(&svg);
    assert!(
        p.nodes["bmcs"]
            .texts
            .contains(&"http://172.16.0.254:8000".to_string()),
        "{:?}",
        p.nodes["bmcs"].texts
    );
}

#[test]
fn a_lab_too_wide_for_a_row_is_drawn_in_a_column() {
    // Twelve controllers and twelve compute nodes side by side would be far wider than a screen.
    let lab = Lab::new();
    let (svg, facts) = draw(
        &lab,
        "seed",
        "p.vms.ctrl.count = 12; p.vms.compute.count = 12;",
        "#{}",
    );
    assert_eq!(facts["vms"].as_array().unwrap().len(), 28);
    check_layout("seed with 24 more nodes", &svg, &facts);
}

#[test]
fn each_vm_is_filled_by_its_state() {
    let lab = Lab::new();
    let (svg, _) = draw(
        &lab,
        "seed",
        "",
        "#{ live: #{ undercloud: \"running\", \"overcloud-ctrl01\": \"shutoff\", \"overcloud-ctrl02\": \"paused\", \"overcloud-ceph01\": \"crashed\" } }",
    );
    let p = parse(&svg);
    for (vm, state, fill) in [
        ("undercloud", "running", "#cdeccd"),
        ("overcloud-ctrl01", "shutoff", "#dcdcdc"),
        ("overcloud-ctrl02", "paused", "#fff1b8"),
        ("overcloud-ceph01", "crashed", "#f6c6c6"),
        ("overcloud-compute01", "not defined", "white"),
    ] {
        let n = &p.nodes[vm];
        assert!(
            n.texts.contains(&format!("state: {state}")),
            "{vm}: {:?}",
            n.texts
        );
        assert_eq!(n.fill.as_deref(), Some(fill), "{vm}");
    }
    // Without the live state, no VM says one.
    let (svg, _) = draw(&lab, "seed", "", "#{}");
    let p = parse(&svg);
    assert!(!p.nodes["undercloud"]
        .texts
        .iter()
        .any(|t| t.starts_with("state:")));
    // An unknown option is an error naming the one meant.
    lab.run([
        "-e",
        "import \"graph\" as graph; import \"seed\" as seed; graph::write(seed::profile(), \"x.svg\", #{ lve: #{} })",
    ])
    .code(1)
    .stderr_has("unknown option 'lve' (did you mean 'live'?)");
}

#[test]
fn a_sandbox_run_draws_each_vm_as_libvirt_has_it_and_its_timeline_keeps_labels_apart() {
    let lab = Lab::new();
    let g = lab.work().join("lab.svg");
    lab.run_script("lab.rhai")
        .args(["--graph", g.to_str().unwrap()])
        .run()
        .ok()
        .stdout_has("(as the run left the lab)");
    let p = parse(&std::fs::read_to_string(&g).unwrap());
    for vm in [
        "undercloud",
        "overcloud-ctrl01",
        "overcloud-ceph03",
        "overcloud-compute01",
    ] {
        let n = &p.nodes[vm];
        assert!(
            n.texts.contains(&"state: running".to_string()),
            "{vm}: {:?}",
            n.texts
        );
        assert_eq!(n.fill.as_deref(), Some("#cdeccd"), "{vm}");
    }
    // The run's timeline: no two labels overlap, and files are named, not their paths.
    let t = lab.work().join("timeline.svg");
    lab.run(["journal", "last", "--timeline", t.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&t).unwrap();
    let boxes = text_boxes(&text);
    assert!(boxes.len() > 20, "{text}");
    assert_eq!(overlapping(&boxes), Vec::<(String, String)>::new());
    let state = lab.state().display().to_string();
    for b in &boxes {
        assert!(!b.4.contains(&state), "a full path: {}", b.4);
    }
    assert!(
        boxes
            .iter()
            .any(|b| b.4.starts_with("img.overlay overcloud-") && b.4.contains(".qcow2 (")),
        "{text}"
    );
}

#[test]
fn a_rhoso_run_draws_its_substrate_and_edpm_nodes_as_libvirt_has_them() {
    // On the sandbox a RHOSO lab's L1 is made in libvirt's test driver: the EDPM nodes started,
    // the substrate defined and not started (its stage is planned); no BMCs anywhere.
    let lab = Lab::new();
    let g = lab.work().join("rhoso.svg");
    lab.run_script("lab.rhai")
        .args(["--profile", "rhoso", "--graph", g.to_str().unwrap()])
        .run()
        .ok()
        .stdout_has("(as the run left the lab)");
    let p = parse(&std::fs::read_to_string(&g).unwrap());
    for (vm, state) in [
        ("rhoso-ocp01", "shutoff"),
        ("edpm-compute01", "running"),
        ("edpm-compute03", "running"),
    ] {
        let n = &p.nodes[vm];
        assert!(
            n.texts.contains(&format!("state: {state}")),
            "{vm}: {:?}",
            n.texts
        );
    }
    let vms: Vec<(String, String)> = [
        ("rhoso-ocp01", "openshift"),
        ("edpm-compute01", "compute"),
        ("edpm-compute02", "compute"),
        ("edpm-compute03", "compute"),
    ]
    .iter()
    .map(|(n, r)| (n.to_string(), r.to_string()))
    .collect();
    check_rhoso_groups("a RHOSO run", &p, &vms);
    // The substrate's group says what runs on it; its node, the VLANs on its trunk.
    let sub = p.titles["cluster_role_openshift"].join(" / ");
    assert!(
        sub.contains("single-node OpenShift 4.18")
            && sub.contains("OpenStackControlPlane in namespace openstack"),
        "{sub}"
    );
    assert!(
        p.nodes["rhoso-ocp01"]
            .texts
            .contains(&"trunk VLANs 20, 30, 40, 50, 60".to_string()),
        "{:?}",
        p.nodes["rhoso-ocp01"].texts
    );
    assert!(
        p.edges
            .contains(&("rhoso-ocp01".to_string(), "oc_octavia".to_string())),
        "the substrate does not carry Octavia's network"
    );
}

#[test]
fn labsh_status_draws_each_vm_in_the_state_it_read() {
    let lab = Lab::new();
    // Before any run: the lab as its profile makes it, no VM with a state, the reason said.
    let g = lab.work().join("before.svg");
    let o = lab.run(["status", "--graph", g.to_str().unwrap()]);
    o.code(1).stdout_has(&format!("picture: {}", g.display()));
    let p = parse(&std::fs::read_to_string(&g).unwrap());
    assert!(p.nodes["overcloud-ctrl01"]
        .texts
        .iter()
        .all(|t| !t.starts_with("state:")));
    // After a run, with one domain shut off behind labsh's back (the sandbox's libvirt).
    lab.run_script("lab.rhai").run().ok();
    let host = lab.state().join("sandbox/lab/host.xml");
    let xml = std::fs::read_to_string(&host).unwrap();
    let at = xml.find("<name>overcloud-ctrl02</name>").unwrap();
    let rs = at + xml[at..].find("runstate>1<").unwrap();
    let xml = format!(
        "{}runstate>5<{}",
        &xml[..rs],
        &xml[rs + "runstate>1<".len()..]
    );
    std::fs::write(&host, xml).unwrap();
    let dir = lab.work().join("pic");
    std::fs::create_dir_all(&dir).unwrap();
    let g = dir.join("lab.svg");
    lab.run(["status", "--graph", g.to_str().unwrap()])
        .stdout_has("overcloud-ctrl02");
    let p = parse(&std::fs::read_to_string(&g).unwrap());
    for (vm, state, fill) in [
        ("undercloud", "running", "#cdeccd"),
        ("overcloud-ctrl01", "running", "#cdeccd"),
        ("overcloud-ctrl02", "shutoff", "#dcdcdc"),
    ] {
        let n = &p.nodes[vm];
        assert!(
            n.texts.contains(&format!("state: {state}")),
            "{vm}: {:?}",
            n.texts
        );
        assert_eq!(n.fill.as_deref(), Some(fill), "{vm}");
    }
    // The picture is all a status writes.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn a_failed_stages_error_is_on_the_timeline() {
    let lab = Lab::new();
    let f = lab.file(
        "fail.rhai",
        "stage(\"prepare\", || run([\"true\"]));\n\
         stage(\"install\", || {\n    run([\"sh\", \"-c\", \"echo no space left on device >&2; exit 3\"]);\n});\n",
    );
    lab.run_file(&f).code(1);
    let t = lab.work().join("timeline.svg");
    lab.run(["journal", "last", "--timeline", t.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&t).unwrap();
    let boxes = text_boxes(&text);
    let all: Vec<&str> = boxes.iter().map(|b| b.4.as_str()).collect();
    for want in [
        "exit code 3",
        "no space left on device",
        "fail.rhai:3",
        "to continue: labsh run",
    ] {
        assert!(
            all.iter().any(|t| t.contains(want)),
            "'{want}' is not on the timeline: {all:#?}"
        );
    }
    assert_eq!(overlapping(&boxes), Vec::<(String, String)>::new());
}

/// The text boxes of an SVG labsh drew: (x0, x1, y0, y1, text), each as wide as its characters
/// at 0.6 of its font's size (sans-serif's average, capitals wider) and as tall as the font.
fn text_boxes(svg: &str) -> Vec<(f64, f64, f64, f64, String)> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not SVG: {e}\n{svg}"));
    let base: f64 = doc
        .root_element()
        .attribute("font-size")
        .map_or(12.0, |v| v.parse().unwrap());
    doc.descendants()
        .filter(|n| n.tag_name().name() == "text")
        .map(|n| {
            let text = n.text().unwrap_or("").to_string();
            let num = |a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
            let size = n
                .attribute("font-size")
                .map_or(base, |v| v.parse().unwrap());
            let w = text.chars().count() as f64 * size * 0.6;
            let x = num("x");
            let x0 = match n.attribute("text-anchor") {
                Some("end") => x - w,
                Some("middle") => x - w / 2.0,
                _ => x,
            };
            let y = num("y");
            (x0, x0 + w, y - size * 0.8, y + size * 0.2, text)
        })
        .collect()
}

/// The pairs of `boxes` that overlap.
fn overlapping(boxes: &[(f64, f64, f64, f64, String)]) -> Vec<(String, String)> {
    let mut out = vec![];
    for (i, p) in boxes.iter().enumerate() {
        for q in &boxes[i + 1..] {
            if p.0 < q.1 && q.0 < p.1 && p.2 < q.3 && q.2 < p.3 {
                out.push((p.4.clone(), q.4.clone()));
            }
        }
    }
    out
}
