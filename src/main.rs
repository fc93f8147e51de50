//! labsh: parse the command line, set up logging, dispatch, exit with the command's code.

#![cfg_attr(
    test,
    allow(
        clippy::disallowed_methods,
        clippy::disallowed_types,
        reason = "tests make their own files and programs; the seam binds what labsh does"
    )
)]

mod cli;
mod doc;
mod effects;
mod engine;
mod error;
mod modules;
mod oom;
mod paths;
mod printer;
mod redact;
mod repl;
mod runner;
mod session;
mod util;

use clap::Parser;
use std::process::ExitCode;

/// The allocator guard: process-wide, as the allocator is.
#[global_allocator]
static ALLOC: oom::Guarded = oom::Guarded;

/// Log lines go to stderr through the secret filter.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(redact::redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var("LABSH_LOG").unwrap_or_else(|_| format!("labsh={level},warn"));
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    #[expect(
        clippy::let_underscore_must_use,
        reason = "logging set up once: a second set up keeps the first"
    )]
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    // First thing, before any thread starts: labsh executes itself again without its
    // LABSH_SECRET_* variables (same PID), so neither a child nor /proc/PID/environ has them.
    effects::secret::take_env_secrets();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                runner::USAGE
            } else {
                runner::OK
            };
            #[expect(
                clippy::let_underscore_must_use,
                reason = "clap's usage message on stderr or stdout: there is nowhere else to report it"
            )]
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The options of the command given (each subcommand has its own).
    let common = match &cli.command {
        Some(cli::Cmd::Run(args)) => args.common.under(&cli.common),
        Some(cli::Cmd::Repl { common }) => common.under(&cli.common),
        Some(cli::Cmd::Snapshot { action }) => action.lab().common.under(&cli.common),
        Some(cli::Cmd::Check { out, .. })
        | Some(cli::Cmd::Doc { out, .. })
        | Some(cli::Cmd::Journal { out, .. }) => cli::Common::printing(out, &cli.common),
        Some(cli::Cmd::Status(args)) => cli::Common {
            plan: args.plan || cli.common.plan,
            ..cli::Common::printing(&args.out, &cli.common)
        },
        // A session on a node: text only (its output is the node's, on the terminal).
        Some(cli::Cmd::Ssh(cli::SshArgs { verbose, .. }))
        | Some(cli::Cmd::Console(cli::ConsoleArgs { verbose, .. })) => cli::Common::printing(
            &cli::Output {
                json: false,
                verbose: *verbose,
            },
            &cli::Common {
                out: cli::Output::default(),
                ..cli.common.clone()
            },
        ),
        None => cli.common.clone(),
    };
    init_logging(common.out.verbose);
    if cli.eval.is_some() && cli.command.is_some() {
        eprintln!(
            "error: -e cannot be combined with a command\n\nFor more information, try '--help'."
        );
        return ExitCode::from(runner::USAGE);
    }
    if let Some(cli::Cmd::Run(args)) = &cli.command {
        oom::set_script(&args.file.display().to_string());
    }
    let code = match (&cli.eval, &cli.command) {
        (Some(expr), _) => runner::eval(expr, &common),
        (None, Some(cli::Cmd::Run(args))) => runner::run(args, &common),
        (None, Some(cli::Cmd::Check { file, .. })) => runner::check(file, &common),
        (
            None,
            Some(cli::Cmd::Doc {
                topic,
                markdown,
                yes,
                ..
            }),
        ) => runner::doc_cmd(topic.as_deref(), markdown.as_deref(), *yes, &common),
        (
            None,
            Some(cli::Cmd::Journal {
                run_id, timeline, ..
            }),
        ) => runner::journal_cmd(run_id.as_deref(), timeline.as_deref(), &common),
        (None, Some(cli::Cmd::Status(args))) => {
            runner::status::status(args, &common, cli.common.jobs)
        }
        (None, Some(cli::Cmd::Ssh(args))) => runner::access::ssh(args, &common),
        (None, Some(cli::Cmd::Console(args))) => runner::access::console(args, &common),
        (None, Some(cli::Cmd::Snapshot { action })) => runner::snapshot::snapshot(action, &common),
        (None, Some(cli::Cmd::Repl { .. })) | (None, None) => repl::start(&common),
    };
    ExitCode::from(code)
}
