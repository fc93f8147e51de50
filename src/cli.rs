//! The command line.

use crate::error::Error;
use crate::paths::LabFile;
use clap::{ArgAction, Args, Parser, Subcommand};
use std::path::PathBuf;

/// An automation shell for nested virtualization labs: a Rhai REPL and script runner with
/// libvirt, disk image, virtual BMC, OpenStack and OpenShift bindings.
///
/// Run `labsh` alone for the REPL.
#[derive(Parser, Debug)]
#[command(name = "labsh", version, about, long_about = None)]
pub struct Cli {
    /// Evaluate EXPR and print its value.
    #[arg(short = 'e', long = "eval", value_name = "EXPR")]
    pub eval: Option<String>,

    #[command(flatten)]
    pub common: Common,

    #[command(subcommand)]
    pub command: Option<Cmd>,
}

/// The options of what runs a script (`run`, `-e`, the REPL).
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Show what would change, change nothing.
    #[arg(long)]
    pub plan: bool,

    /// Run up to N independent tasks at once (parallel, par_map, bindings); by default twice
    /// the CPUs, 4 to 16.
    #[arg(long, short = 'j', value_name = "N", default_value_t = default_jobs(), hide_default_value = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,

    #[command(flatten)]
    pub out: Output,
}

/// How every command prints.
#[derive(Args, Debug, Clone, Default)]
pub struct Output {
    /// One JSON object per line on stdout (a run's last line is its recap).
    #[arg(long)]
    pub json: bool,

    /// More log output on stderr (-v info, -vv debug, -vvv trace). LABSH_LOG overrides.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

impl Common {
    /// These options with those given before the subcommand (`labsh -v run ...`) laid under
    /// them.
    pub fn under(&self, top: &Common) -> Common {
        Common {
            plan: self.plan || top.plan,
            jobs: if self.jobs == default_jobs() {
                top.jobs
            } else {
                self.jobs
            },
            out: Output {
                json: self.out.json || top.out.json,
                verbose: self.out.verbose.max(top.out.verbose),
            },
        }
    }

    /// The options of a command that runs no script: how it prints, nothing else.
    pub fn printing(out: &Output, top: &Common) -> Common {
        Common {
            plan: false,
            jobs: default_jobs(),
            out: Output {
                json: out.json || top.out.json,
                verbose: out.verbose.max(top.out.verbose),
            },
        }
    }
}

pub fn default_jobs() -> u16 {
    std::thread::available_parallelism()
        .map(|n| (n.get() * 2).clamp(4, 16) as u16)
        .unwrap_or(4)
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run a script.
    Run(RunArgs),
    /// Compile and check a script without running it.
    Check {
        /// The script.
        file: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// Show the reference: all modules, one module, one function (MODULE::FUNCTION), or a topic
    /// (releases).
    Doc {
        /// A module, function or topic.
        topic: Option<String>,
        /// Write the whole reference as Markdown files into DIR.
        #[arg(long, value_name = "DIR")]
        markdown: Option<PathBuf>,
        /// Overwrite files in DIR that hold something else without asking.
        #[arg(long, short = 'y', requires = "markdown")]
        yes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// List past runs, or show one run's events (any unique part of its id, or `last`).
    Journal {
        /// The run: any unique part of its id, or `last`.
        run_id: Option<String>,
        /// Draw the run as a timeline into FILE (SVG): its stages and their longest steps.
        #[arg(long, value_name = "FILE", requires = "run_id")]
        timeline: Option<PathBuf>,
        #[command(flatten)]
        out: Output,
    },
    /// Start the REPL (the same as `labsh` alone).
    Repl {
        #[command(flatten)]
        common: Common,
    },
    /// Show the lab as it is now, every layer, changing nothing.
    ///
    /// From L0 up: the host, its networks, the VMs and their BMCs, the undercloud's Ironic
    /// nodes, the overcloud's deploy, the tenant and the cluster, each read from its own source
    /// at once. Exit code 0 when every layer is healthy, 1 when one is not (or cannot be read).
    Status(StatusArgs),
    /// Log into a node of the lab, or run a command there (`labsh ssh NODE -- COMMAND`)
    ///
    /// The director ("undercloud") at its address; an overcloud node by its host name
    /// (overcloud-controller-0, ...) through the director, at the ctlplane address the director
    /// lists for it, as the release's user. Exit code: the command's (255: ssh could not reach
    /// the node).
    Ssh(SshArgs),
    /// Attach the terminal to a VM's serial console, and show its VNC address
    ///
    /// The serial console through libvirt (`virsh console` on the target's URI; Ctrl+] leaves
    /// it); the address of the graphical console (VNC) is printed first.
    Console(ConsoleArgs),
    /// Keep the whole lab in one moment, and bring it back (save, list, revert, delete)
    ///
    /// Every VM of the lab kept in one moment with the lab's own state, and brought back with
    /// every layer (clocks, BMCs, Ironic, the overcloud, the cluster). Parameters (--set, seconds): shutdown_timeout (a cold snapshot's wait for the guests to
    /// shut down), revert_timeout, revert_every and revert_grace (a revert's waits for the
    /// layers above the VMs).
    Snapshot {
        #[command(subcommand)]
        action: SnapshotAction,
    },
}

/// Which lab a command that reaches into it means, as `run` names it.
#[derive(Args, Debug, Clone)]
pub struct LabArgs {
    /// The profile: what the lab is (as for `run`).
    #[arg(long, value_name = "P", value_parser = lab_file_name)]
    pub profile: Option<String>,

    /// The target: where the lab is (as for `run`).
    #[arg(long, value_name = "T", value_parser = lab_file_name)]
    pub target: Option<String>,

    /// Set a parameter of the lab's resolution (uri, images, out; repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    pub sets: Vec<(String, String)>,
}

#[derive(Args, Debug, Clone)]
pub struct StatusArgs {
    #[command(flatten)]
    pub lab: LabArgs,

    /// Read the lab again every SECONDS (5 when not given) until Ctrl-C.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "5", value_parser = parse_seconds)]
    pub watch: Option<f64>,

    /// Draw the lab (as `run --graph` does) with each VM in the state read, to FILE (.svg
    /// through Graphviz, else DOT); with --watch, at each reading.
    #[arg(long, value_name = "FILE")]
    pub graph: Option<PathBuf>,

    /// First bring back what a restart of the host left stale, as a run does (its BMCs, its VMs
    /// that should run, its Ironic nodes in power-failure maintenance), each repair said; it
    /// takes the lab's lock as a run does. Then the status after.
    #[arg(long, conflicts_with = "watch")]
    pub repair: bool,

    /// With --repair: show the repairs it would make, change nothing.
    #[arg(long)]
    pub plan: bool,

    /// With --repair, when a run holds the lab's state: wait for it to end instead of failing at
    /// once.
    #[arg(long, requires = "repair")]
    pub wait: bool,

    #[command(flatten)]
    pub out: Output,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.5..=86400.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "expected a number of seconds from 0.5 to 86400, got {s:?}"
        )),
    }
}

/// The subcommands of this labsh, by name.
pub fn subcommands() -> Vec<String> {
    <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

#[derive(Args, Debug, Clone)]
pub struct SshArgs {
    /// The node: "undercloud", or an overcloud node's host name.
    pub node: String,

    /// The command to run there, after `--` (its words joined by spaces, as ssh does); a login
    /// shell without one.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,

    #[command(flatten)]
    pub lab: LabArgs,

    /// More log output on stderr (-v info, -vv debug, -vvv trace). LABSH_LOG overrides.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Args, Debug, Clone)]
pub struct ConsoleArgs {
    /// The VM: its name in the lab ("undercloud" for the director's).
    pub node: String,

    #[command(flatten)]
    pub lab: LabArgs,

    /// More log output on stderr (-v info, -vv debug, -vvv trace). LABSH_LOG overrides.
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,
}

/// What `labsh snapshot` does.
#[derive(Subcommand, Debug)]
pub enum SnapshotAction {
    /// Take the lab's snapshot NAME: every VM paused at once (shut down with --cold), its
    /// disks and memory kept with the lab's output folder, then let run again together.
    Save {
        /// The snapshot's name (letters, digits, '.', '_', '-').
        name: String,
        /// Shut the VMs down first: no memory kept, less room needed.
        #[arg(long)]
        cold: bool,
        #[command(flatten)]
        lab: SnapshotLab,
    },
    /// List the lab's snapshots.
    List {
        #[command(flatten)]
        lab: SnapshotLab,
    },
    /// Bring the lab back to snapshot NAME, every layer; asks first unless --yes.
    Revert {
        /// The snapshot's name.
        name: String,
        /// Revert even a snapshot older than the cluster's certificate rotation.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        lab: SnapshotLab,
    },
    /// Delete snapshot NAME; asks first unless --yes.
    Delete {
        /// The snapshot's name.
        name: String,
        #[command(flatten)]
        lab: SnapshotLab,
    },
}

/// Which lab `labsh snapshot` is about, and how it runs (as for `run`).
#[derive(Args, Debug, Clone)]
pub struct SnapshotLab {
    #[command(flatten)]
    pub common: Common,

    #[command(flatten)]
    pub lab: LabArgs,

    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// When another run holds the lab's state, wait for it to end instead of failing at once.
    #[arg(long)]
    pub wait: bool,
}

impl SnapshotAction {
    /// The lab's options.
    pub fn lab(&self) -> &SnapshotLab {
        match self {
            SnapshotAction::Save { lab, .. }
            | SnapshotAction::List { lab }
            | SnapshotAction::Revert { lab, .. }
            | SnapshotAction::Delete { lab, .. } => lab,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[arg(help = script_help())]
    pub file: PathBuf,

    #[command(flatten)]
    pub common: Common,

    #[arg(long, value_name = "P", value_parser = lab_file_name, help = lab_file_help(LabFile::Profile))]
    pub profile: Option<String>,

    #[arg(long, value_name = "T", value_parser = lab_file_name, help = lab_file_help(LabFile::Target))]
    pub target: Option<String>,

    /// Set a script parameter (NAME=VALUE, a `param` of the script), or a profile key when KEY
    /// has a '.' (overcloud.networks.tenant.vlan=120), checked with the profile (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_set)]
    pub sets: Vec<(String, String)>,

    /// Run only this stage (repeatable).
    #[arg(long = "only", value_name = "STAGE")]
    pub only: Vec<String>,

    /// Run only the preflight stage: the checks, nothing else (the same as --only preflight).
    #[arg(long)]
    pub preflight: bool,

    /// Skip the stages before STAGE.
    #[arg(long = "from", value_name = "STAGE")]
    pub from: Option<String>,

    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Draw the lab into FILE (SVG when Graphviz's `dot` is installed, else DOT text); scripts
    /// read it as run_info().graph.
    #[arg(long, value_name = "FILE")]
    pub graph: Option<PathBuf>,

    /// When another run holds the lab's state, wait for it to end instead of failing at once.
    #[arg(long)]
    pub wait: bool,

    /// Take the lab's snapshot `after-STAGE` once STAGE is done (repeatable), to go back to that
    /// stage boundary later: labsh snapshot revert after-STAGE.
    #[arg(long = "snapshot-after", value_name = "STAGE")]
    pub snapshot_after: Vec<String>,
}

/// The help of a script's argument: the scripts labsh ships.
fn script_help() -> String {
    format!(
        "The script: a file, or one labsh ships ({}); a file of that name in the working folder \
         comes first",
        crate::paths::shipped_scripts().join(", ")
    )
}

/// The help of --profile and --target: the default and the ones labsh ships.
fn lab_file_help(kind: LabFile) -> String {
    let shipped = crate::paths::shipped_names(kind).join(", ");
    match kind {
        LabFile::Profile => format!(
            "The profile: what the lab is; its `name` names the lab, which keeps its own sandbox \
             and output folder (out/TARGET/LAB). By default the seed (the reference lab); \
             shipped: {shipped}; or a variant file (a path, or profiles/NAME.rhai in the working \
             folder, which comes before a shipped one)"
        ),
        LabFile::Target => format!(
            "The target: where the lab is applied. By default the sandbox (libvirt's test driver \
             modelled on the reference host: nothing real is touched); shipped: {shipped}; or a \
             target file (a path, or targets/NAME.yaml in the working folder)"
        ),
    }
}

fn parse_set(s: &str) -> Result<(String, String), Error> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(Error::invalid(format!(
            "expected KEY=VALUE, got {}",
            crate::util::shown(s)
        ))),
    }
}

/// A `--profile` or `--target` name: not empty (an unset variable in `--profile "$P"` would
/// otherwise be the default lab without a word).
fn lab_file_name(s: &str) -> Result<String, Error> {
    if s.trim().is_empty() {
        return Err(Error::invalid(
            "the name is empty: give a profile or target (leave the option out for the default)",
        ));
    }
    Ok(s.to_string())
}

impl RunArgs {
    /// The command line that runs the same again, from `stage`.
    pub fn continue_command(&self, common: &Common, stage: &str) -> String {
        use crate::effects::process::shell_quote as q;
        let mut parts = vec![
            "labsh".to_string(),
            "run".into(),
            q(&self.file.display().to_string()),
        ];
        if let Some(p) = &self.profile {
            parts.push(format!("--profile {}", q(p)));
        }
        if let Some(g) = &self.graph {
            parts.push(format!("--graph {}", q(&g.display().to_string())));
        }
        if let Some(t) = &self.target {
            parts.push(format!("--target {}", q(t)));
        }
        for (k, v) in &self.sets {
            parts.push(format!("--set {}", q(&format!("{k}={v}"))));
        }
        // The stages the run was limited to stay so (--from keeps those from `stage` on).
        for o in &self.only {
            parts.push(format!("--only {}", q(o)));
        }
        for s in &self.snapshot_after {
            parts.push(format!("--snapshot-after {}", q(s)));
        }
        if self.preflight {
            parts.push("--preflight".into());
        }
        if common.plan {
            parts.push("--plan".into());
        }
        if common.jobs != default_jobs() {
            parts.push(format!("--jobs {}", common.jobs));
        }
        if common.out.json {
            parts.push("--json".into());
        }
        if self.yes {
            parts.push("--yes".into());
        }
        parts.push(format!("--from {}", q(stage)));
        parts.join(" ")
    }
}
