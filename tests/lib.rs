//! The integration tests: one binary that drives the real `labsh` binary.
//!
//! Every invocation goes through [`support::Labsh`], which gives each test its own state folder
//! and a canary secret, and fails the test if the canary's value ever shows up in stdout, stderr,
//! or any file under the state folder (journals, history, logs).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]
// Test code: tests start labsh and the components it drives, and make its files; what a test
// starts it stops, and what it makes it removes, as best it can.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::let_underscore_must_use,
    reason = "tests start programs and make files of their own; the seam binds what labsh does"
)]

mod support;

mod baremetal;
mod bmc;
mod cli;
mod cloud;
mod console;
mod devlab;
mod director;
mod errors;
mod guestfs;
mod hostile;
mod img;
mod kubeapi;
mod lab;
mod labs;
mod networks;
mod oc;
mod ocp;
mod picture;
mod plans;
mod preflight;
mod provision;
mod realstack;
mod redaction;
mod repl;
mod rhoso;
mod scripts;
mod secrets;
mod snapshot;
mod ssh;
mod ssh_node;
mod status;
mod substrate;
mod tenant;
mod tripleo;
mod variants;
mod virt;
