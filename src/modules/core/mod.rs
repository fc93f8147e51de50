//! The global functions, by kind: programs (process.rs); how a script runs: stages, plans, waits,
//! parallel work, parameters (flow.rs); secrets (secrets.rs); assertions and checks
//! (assertions.rs); and help, here.

mod assertions;
mod flow;
mod process;
mod secrets;

pub use flow::parse_param;

/// The option maps of the global functions.
pub fn options() -> Vec<(&'static str, &'static [crate::modules::opts::OptField])> {
    [
        process::OPTIONS,
        flow::OPTIONS,
        secrets::OPTIONS,
        assertions::OPTIONS,
    ]
    .concat()
}
pub use process::output_map;

use crate::session::{interrupted, rt_err, session};
use rhai::plugin::*;
use rhai::Module;

use crate::session::Res;

/// Every global function, as one module (registered in the global namespace).
pub fn module() -> Module {
    let mut m = rhai::exported_module!(core_fns);
    rhai::combine_with_exported_module!(&mut m, "process", process::process_fns);
    rhai::combine_with_exported_module!(&mut m, "flow", flow::flow_fns);
    rhai::combine_with_exported_module!(&mut m, "secrets", secrets::secrets_fns);
    rhai::combine_with_exported_module!(&mut m, "assertions", assertions::assertions_fns);
    m
}

#[export_module]
pub mod core_fns {
    /// Lists the modules and global functions.
    ///
    /// ```rhai
    /// help();
    /// ```
    #[rhai_fn(name = "help")]
    pub fn help(ctx: NativeCallContext) {
        let cat = crate::engine::catalog::Catalog::full(ctx.engine());
        if let Ok(s) = super::session(&ctx) {
            s.effects.printer().out(&crate::doc::overview(&cat));
        }
    }

    /// Shows the signature, doc and example of a function (`"run"`, `"virt::domain_ensure"`) or
    /// lists a module's functions (`"virt"`).
    ///
    /// ```rhai
    /// help("par_map");
    /// ```
    #[rhai_fn(name = "help", return_raw)]
    pub fn help_topic(ctx: NativeCallContext, topic: &str) -> Res<()> {
        let cat = crate::engine::catalog::Catalog::full(ctx.engine());
        let text = crate::doc::topic(&cat, topic).map_err(|e| super::rt_err(&ctx, e))?;
        super::session(&ctx)?.effects.printer().out(&text);
        Ok(())
    }
}
