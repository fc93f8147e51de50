//! Independent work on up to `--jobs` threads: one helper for `parallel`, `par_map` and the
//! bindings that ensure many things at once.

use crate::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `task(0..n)` on up to `jobs` threads and returns the results in index order. Each
/// worker runs in the task context of the caller (its plan override and stage).
pub fn run_indexed<T: Send>(jobs: usize, n: usize, task: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let slots: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let parent = super::current_task();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, n.max(1)) {
            let ctx = parent.clone();
            let (next, slots, task) = (&next, &slots, &task);
            scope.spawn(move || {
                super::in_task(ctx, || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let r = task(i);
                    if let Ok(mut g) = slots.lock() {
                        g[i] = Some(r);
                    }
                })
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every index runs once"))
        .collect()
}

/// Runs fallible tasks; an error lists every failure, one line each, named by `name(i)`.
pub fn run_all<T: Send>(
    jobs: usize,
    n: usize,
    what: &str,
    name: impl Fn(usize) -> String,
    task: impl Fn(usize) -> Result<T, Error> + Sync,
) -> Result<Vec<T>, Error> {
    let results = run_indexed(jobs, n, task);
    let mut out = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => out.push(v),
            Err(e) => errors.push((i, e)),
        }
    }
    if errors.is_empty() {
        return Ok(out);
    }
    let lines: Vec<String> = errors
        .iter()
        .map(|(i, e)| format!("  {}: {}", name(*i), e.message().replace('\n', "\n    ")))
        .collect();
    Err(Error::of_several(
        format!(
            "{} of {n} {what} failed:\n{}",
            errors.len(),
            lines.join("\n")
        ),
        errors.iter().map(|(_, e)| e),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_order_and_errors_are_all_listed() {
        let r = run_indexed(3, 10, |i| i * i);
        assert_eq!(r, (0..10).map(|i| i * i).collect::<Vec<_>>());
        let e = run_all(
            4,
            5,
            "items",
            |i| format!("#{i}"),
            |i| {
                if i % 2 == 1 {
                    Err(Error::failed(format!("odd {i}")))
                } else {
                    Ok(i)
                }
            },
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "2 of 5 items failed:\n  #1: odd 1\n  #3: odd 3"
        );
        assert_eq!(e.cause().map(Error::message), Some("odd 1"));
        assert_eq!(
            run_all(2, 0, "items", |_| String::new(), |_| Ok::<u8, Error>(1)).unwrap(),
            Vec::<u8>::new()
        );
    }
}
