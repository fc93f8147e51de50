//! The crate's [`Error`] as scripts see it: the value a `catch` gets from a native function (or
//! from `fail`), of type `Error`. A script reads what kind of failure it is and what to do:
//!
//! ```text
//! try { cloud::project_delete("devcloud", "gone") } catch (e) {
//!     if e.kind == "unreachable" { print(`not now: ${e.message}`) } else { throw e; }
//! }
//! ```
//!
//! `e.kind` is the kind's name (`"not_found"`, `"conflict"`, `"unauthorized"`, `"unreachable"`,
//! `"timed_out"`, `"invalid"`, `"refused"`, `"failed"`), `e.message` the message, `e.advice` and
//! `e.at` text or `()`, `e.cause` the error it was caused by or `()`. Where text is wanted it
//! reads as its message, as the strings errors were: `${e}`, `print(e)`, `e.contains(..)`,
//! `e == ".."`, `"x" + e`, and JSON. Thrown again (`throw e`) it stays the same error.

use crate::error::Error;
use rhai::{Dynamic, Engine, ImmutableString};

/// The type name scripts see (`type_of(e)`, signatures).
pub const TYPE_NAME: &str = "Error";

fn text_or_unit(s: Option<&str>) -> Dynamic {
    s.map_or(Dynamic::UNIT, |s| Dynamic::from(s.to_string()))
}

/// Registers the type, its getters and what makes it read as its message.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Error>(TYPE_NAME)
        .register_get("kind", |e: &mut Error| e.kind().name().to_string())
        .register_get("message", |e: &mut Error| e.message().to_string())
        .register_get("advice", |e: &mut Error| text_or_unit(e.advice()))
        .register_get("at", |e: &mut Error| {
            text_or_unit(e.at().map(|a| a.to_string()).as_deref())
        })
        .register_get("cause", |e: &mut Error| {
            e.cause().cloned().map_or(Dynamic::UNIT, Dynamic::from)
        })
        .register_fn("to_string", |e: &mut Error| e.message().to_string())
        .register_fn("to_debug", |e: &mut Error| {
            format!("{TYPE_NAME}({}): {:?}", e.kind().name(), e.message())
        })
        .register_fn("contains", |e: &mut Error, s: &str| e.message().contains(s))
        .register_fn("==", |e: &mut Error, s: ImmutableString| {
            e.message() == s.as_str()
        })
        .register_fn("!=", |e: &mut Error, s: ImmutableString| {
            e.message() != s.as_str()
        })
        .register_fn("==", |s: ImmutableString, e: Error| {
            e.message() == s.as_str()
        })
        .register_fn("!=", |s: ImmutableString, e: Error| {
            e.message() != s.as_str()
        })
        .register_fn("==", |a: &mut Error, b: Error| *a == b)
        .register_fn("!=", |a: &mut Error, b: Error| *a != b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    fn engine_with(e: Error) -> (Engine, rhai::Scope<'static>) {
        let mut engine = Engine::new();
        register(&mut engine);
        let mut scope = rhai::Scope::new();
        scope.push("e", e);
        (engine, scope)
    }

    fn eval<T: Clone + Send + Sync + 'static>(e: Error, script: &str) -> T {
        let (engine, mut scope) = engine_with(e);
        engine
            .eval_with_scope::<T>(&mut scope, script)
            .unwrap_or_else(|x| panic!("{script}: {x}"))
    }

    #[test]
    fn scripts_read_kind_message_advice_place_and_cause() {
        let e = Error::not_found("no flavor master")
            .with_advice("create it with cloud::flavor_ensure")
            .in_input(Some("p.rhai"), Some("tenant.flavor"))
            .with_cause(Error::failed("GET /flavors: 404"));
        assert_eq!(eval::<String>(e.clone(), "e.kind"), "not_found");
        assert_eq!(eval::<String>(e.clone(), "e.message"), "no flavor master");
        assert_eq!(
            eval::<String>(e.clone(), "e.advice"),
            "create it with cloud::flavor_ensure"
        );
        assert_eq!(eval::<String>(e.clone(), "e.at"), "p.rhai: tenant.flavor");
        assert_eq!(eval::<String>(e.clone(), "e.cause.kind"), "failed");
        assert_eq!(eval::<String>(e.clone(), "type_of(e)"), "Error");
        let bare = Error::failed("boom");
        assert!(eval::<bool>(
            bare.clone(),
            "e.advice == () && e.at == () && e.cause == ()"
        ));
        for k in Kind::ALL {
            let name = eval::<String>(Error::new(k, "x"), "e.kind");
            assert_eq!(Kind::from_name(&name), Some(k));
        }
    }

    #[test]
    fn an_error_reads_as_its_message_where_text_is_wanted() {
        let e = || Error::conflict("port 6230 is already used by node1");
        assert_eq!(
            eval::<String>(e(), "`caught: ${e}`"),
            "caught: port 6230 is already used by node1"
        );
        assert!(eval::<bool>(e(), r#"e.contains("already used by node1")"#));
        assert!(eval::<bool>(e(), r#"e != "" && !(e == "") && "" != e"#));
        assert!(eval::<bool>(
            e(),
            r#"e == "port 6230 is already used by node1""#
        ));
        assert_eq!(
            eval::<String>(e(), r#""x: " + e"#),
            "x: port 6230 is already used by node1"
        );
        assert_eq!(
            eval::<String>(e(), "e.to_debug()"),
            "Error(conflict): \"port 6230 is already used by node1\""
        );
        // A variable that held a string holds the error after the catch, as scripts do.
        assert!(eval::<bool>(
            e(),
            r#"let x = ""; try { throw e; } catch (c) { x = c; } x.contains("node1") && x.kind == "conflict""#
        ));
    }
}
