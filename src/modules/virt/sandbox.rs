//! The sandbox: libvirt's test driver on a file that models the article's L0 host. A plan reads
//! the file the run will write from memory; what autostarts is kept beside the file (the test
//! driver's format has no place for it); the state is saved back as a test-driver file.

use super::libvirt::{self, Connect};
use crate::effects::Effects;
use crate::error::{Context, Error};
use std::collections::HashMap;
use std::sync::Mutex;

/// Sandbox files a plan has only planned to write, by path: what they would hold (in the plan's
/// state, [`Effects::plan_state`]).
#[derive(Default)]
struct PlannedFiles(Mutex<HashMap<String, String>>);

/// Lets the plan open the sandbox file at `path` that the run will write with `text`:
/// connections to `test://PATH` read it from memory until the file exists, so the plan sees the
/// host the run will make, and nothing is written. The plan's own: what comes after it opens the
/// file itself.
pub fn plan_file(fx: &Effects, path: &str, text: &str) {
    if let Ok(mut g) = fx.plan_state::<PlannedFiles>().0.lock() {
        g.insert(path.to_string(), text.to_string());
    }
}

/// An anonymous in-memory file holding `text`, and a path this process can open it by while
/// the file is kept.
#[allow(unsafe_code)]
fn memory_file(text: &str) -> Result<(std::fs::File, String), Error> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let name = c"labsh-sandbox";
    // SAFETY: memfd_create with a NUL-terminated name and no flags; the result is checked.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    if fd < 0 {
        return Err(Error::failed(format!(
            "cannot make an in-memory file: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: fd is a fresh descriptor this function owns; the File takes it over.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    f.write_all(text.as_bytes())
        .context("cannot write the in-memory file")?;
    Ok((f, format!("/proc/self/fd/{fd}")))
}

/// The URI to open for `uri`: a sandbox that the plan only planned to write is opened from
/// memory (its planned content in an anonymous file, returned with it: keep it until the
/// connection is open, libvirt reads it by its path then); anything else as it is.
pub(super) fn open_uri(fx: &Effects, uri: &str) -> Result<(String, Option<std::fs::File>), Error> {
    let planned = uri
        .strip_prefix("test://")
        .filter(|p| !std::path::Path::new(p).exists())
        .and_then(|p| {
            let files = fx.plan_state::<PlannedFiles>();
            files.0.lock().ok().and_then(|g| g.get(p).cloned())
        });
    Ok(match planned {
        Some(text) => {
            let (file, path) = memory_file(&text)?;
            (format!("test://{path}"), Some(file))
        }
        None => (uri.to_string(), None),
    })
}

/// The sidecar of a sandbox file that lists what autostarts (the test driver's file format has
/// no place for it).
pub fn autostart_file(path: &str) -> String {
    format!("{path}.autostart")
}

/// Puts back the autostart flags a saved sandbox had: part of opening it, not a change.
#[expect(
    clippy::let_underscore_must_use,
    reason = "part of opening a sandbox, in libvirt's test driver: a name it no longer has is skipped"
)]
pub(super) fn restore_autostart(c: &Connect, path: &str) {
    let Ok(text) = crate::util::read::text(autostart_file(path)) else {
        return;
    };
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("domain", n)) => {
                if let Ok(d) = c.lookup_domain_by_name(n) {
                    let _ = d.set_autostart(true);
                }
            }
            Some(("network", n)) => {
                if let Ok(net) = c.lookup_network_by_name(n) {
                    let _ = net.set_autostart(true);
                }
            }
            _ => {}
        }
    }
}

/// The state of a sandbox (`c`, a connection to a `test:///PATH` URI) as a test-driver file: the
/// node of `node_xml` with every network and domain now defined (domains with their run state),
/// and the names that autostart. Returns (file text, autostart sidecar text).
pub fn state(c: &Connect, node_xml: &str) -> Result<(String, String), Error> {
    let mut body = String::new();
    let mut auto = String::new();
    let nets = c
        .list_all_networks(0)
        .map_err(|e| format!("list networks: {}", e.message()))?;
    let mut nets: Vec<(String, String, bool)> = nets
        .iter()
        .filter_map(|n| {
            Some((
                n.name().ok()?,
                n.xml_desc(0).ok()?,
                n.autostart().unwrap_or(false),
            ))
        })
        .collect();
    nets.sort();
    for (name, x, a) in nets {
        body.push_str(&x);
        body.push('\n');
        if a {
            auto.push_str(&format!("network {name}\n"));
        }
    }
    let doms = c
        .list_all_domains(0)
        .map_err(|e| format!("list domains: {}", e.message()))?;
    let mut doms: Vec<(String, String, u32, bool)> = doms
        .iter()
        .filter_map(|d| {
            // The test driver's run states: 1 running, 3 paused, 5 shut off.
            let state = match d.state().map(libvirt::state_word).as_deref() {
                Ok("running") => 1,
                Ok("paused") => 3,
                _ => 5,
            };
            Some((
                d.name().ok()?,
                d.xml_desc(libvirt::VIR_DOMAIN_XML_INACTIVE).ok()?,
                state,
                d.autostart().unwrap_or(false),
            ))
        })
        .collect();
    doms.sort();
    for (name, x, state, a) in doms {
        let x = match x.rfind("</domain>") {
            Some(i) => format!(
                "{}  <test:runstate>{state}</test:runstate>\n</domain>",
                &x[..i]
            ),
            None => x,
        };
        body.push_str(&x);
        body.push('\n');
        if a {
            auto.push_str(&format!("domain {name}\n"));
        }
    }
    // The node's own part (cpu, memory) from the stock file; networks and domains from now.
    let head_end = node_xml.find("<network").unwrap_or(node_xml.len());
    let head = node_xml[..head_end].replacen(
        "<node>",
        "<node xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>",
        1,
    );
    Ok((format!("{head}{body}</node>\n"), auto))
}
