//! A run drawn as a timeline (`labsh journal RUN --timeline FILE.svg`): one row per stage, its
//! span from start to end, and under it its longest steps, side by side in lanes where they ran
//! in parallel, so a user sees where the time of a long lab went.

use super::time;
use serde_json::Value;

/// One bar: what, from and to (ms since the run started).
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub start: u64,
    pub end: u64,
    pub failed: bool,
}

/// A stage and its longest steps, each step in a lane where it overlaps no other.
#[derive(Clone, Debug)]
pub struct Row {
    pub stage: Bar,
    pub lanes: Vec<Vec<Bar>>,
}

/// Milliseconds since the epoch of an event's `ts` (RFC 3339, UTC, as the journal writes it).
fn ms_of(ts: &str) -> Option<u64> {
    time::parse_rfc3339(ts)
}

/// How many of a stage's steps the picture names.
const STEPS_PER_STAGE: usize = 8;

/// The rows of a run's events.
pub fn rows(events: &[Value]) -> Vec<Row> {
    let t0 = events
        .iter()
        .find(|e| e["event"] == "run")
        .and_then(|e| e["ts"].as_str())
        .and_then(ms_of)
        .or_else(|| {
            events
                .iter()
                .filter_map(|e| e["ts"].as_str().and_then(ms_of))
                .min()
        })
        .unwrap_or(0);
    let rel = |ms: u64| ms.saturating_sub(t0);
    let mut rows: Vec<Row> = vec![];
    let mut open: Vec<(String, u64)> = vec![];
    let mut steps: Vec<(String, Bar)> = vec![];
    for e in events {
        let Some(ts) = e["ts"].as_str().and_then(ms_of) else {
            continue;
        };
        match e["event"].as_str().unwrap_or("") {
            "stage" => {
                let name = e["stage"].as_str().unwrap_or("").to_string();
                match e["status"].as_str().unwrap_or("") {
                    "started" => open.push((name, rel(ts))),
                    "skipped" => {}
                    status => {
                        if let Some(i) = open.iter().rposition(|(n, _)| *n == name) {
                            let (_, start) = open.remove(i);
                            rows.push(Row {
                                stage: Bar {
                                    label: name,
                                    start,
                                    end: rel(ts).max(start),
                                    failed: status != "done",
                                },
                                lanes: vec![],
                            });
                        }
                    }
                }
            }
            "effect" => {
                let ms = e["ms"].as_u64().unwrap_or(0);
                // A check that found all as wanted, or a planned step, in no time is not a step
                // of the picture; a change is, however quick (its bar is a line).
                if ms == 0 && matches!(e["outcome"].as_str(), Some("ok" | "planned")) {
                    continue;
                }
                let end = rel(ts);
                steps.push((
                    e["stage"].as_str().unwrap_or("main").to_string(),
                    Bar {
                        label: format!(
                            "{} {}",
                            e["op"].as_str().unwrap_or(""),
                            e["target"].as_str().unwrap_or("")
                        ),
                        start: end.saturating_sub(ms),
                        end,
                        failed: e["outcome"] == "failed",
                    },
                ));
            }
            _ => {}
        }
    }
    for row in &mut rows {
        let mut mine: Vec<Bar> = steps
            .iter()
            .filter(|(s, _)| *s == row.stage.label)
            .map(|(_, b)| b.clone())
            .collect();
        mine.sort_by_key(|b| std::cmp::Reverse(b.end - b.start));
        mine.truncate(STEPS_PER_STAGE);
        mine.sort_by_key(|b| b.start);
        for b in mine {
            let lane = row
                .lanes
                .iter()
                .position(|l| l.iter().all(|o| o.end <= b.start || o.start >= b.end));
            match lane {
                Some(i) => row.lanes[i].push(b),
                None => row.lanes.push(vec![b]),
            }
        }
    }
    rows.sort_by_key(|r| r.stage.start);
    rows
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The run as an SVG picture.
pub fn svg(run_id: &str, events: &[Value]) -> String {
    let rows = rows(events);
    let total = rows.iter().map(|r| r.stage.end).max().unwrap_or(0).max(1);
    let (left, width, bar, gap) = (150.0, 900.0, 18.0, 6.0);
    let x = |ms: u64| left + width * ms as f64 / total as f64;
    let mut body = String::new();
    let mut y = 40.0;
    for r in &rows {
        let s = &r.stage;
        let colour = if s.failed { "#d9534f" } else { "#4a7bd0" };
        body.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"bold\">{}</text>\n\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar}\" fill=\"{colour}\"><title>{} {}</title></rect>\n",
            left - 6.0,
            y + 13.0,
            esc(&s.label),
            x(s.start),
            y,
            (x(s.end) - x(s.start)).max(1.0),
            esc(&s.label),
            super::fmt_ms((s.end - s.start) as u128)
        ));
        y += bar + gap;
        for lane in &r.lanes {
            for b in lane {
                let colour = if b.failed { "#f0a8a6" } else { "#a9c1ec" };
                let w = (x(b.end) - x(b.start)).max(1.0);
                body.push_str(&format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{} {}</title></rect>\n\
                     <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{} ({})</text>\n",
                    x(b.start),
                    y,
                    bar - 4.0,
                    esc(&b.label),
                    super::fmt_ms((b.end - b.start) as u128),
                    x(b.start) + 2.0,
                    y + 10.0,
                    esc(&truncate(&b.label, 60)),
                    super::fmt_ms((b.end - b.start) as u128)
                ));
            }
            y += bar - 2.0;
        }
        y += gap;
    }
    let height = y + 30.0;
    let mut axis = String::new();
    let mut ticks: Vec<u64> = (0..=10).map(|i| total * i / 10).collect();
    // A run of a few milliseconds has fewer whole-millisecond ticks than ten.
    ticks.dedup();
    for ms in ticks {
        axis.push_str(&format!(
            "<line x1=\"{0:.1}\" y1=\"28\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#ddd\"/>\n<text x=\"{0:.1}\" y=\"22\" text-anchor=\"middle\" font-size=\"10\">{2}</text>\n",
            x(ms),
            height - 20.0,
            super::fmt_ms(ms as u128)
        ));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>labsh run {}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{axis}{body}</svg>\n",
        left + width + 40.0,
        esc(run_id)
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Journal events as a run writes them, at `ms` after 10:00:00 UTC.
    fn at(ms: u64) -> String {
        format!("2026-12-01T10:00:{:02}.{:03}Z", ms / 1000, ms % 1000)
    }

    /// A run of one stage, `name`, from `start` to `end` ms, with its effects.
    fn one_stage(name: &str, start: u64, end: u64, effects: Vec<Value>) -> Vec<Value> {
        let stage = |status: &str, ms| json!({"event": "stage", "stage": name, "status": status, "ts": at(ms)});
        let mut ev = vec![
            json!({"event": "run", "ts": at(0)}),
            stage("started", start),
        ];
        ev.extend(effects);
        ev.push(stage("done", end));
        ev
    }

    fn effect(stage: &str, op: &str, target: &str, took: u64, outcome: &str, end: u64) -> Value {
        json!({"event": "effect", "stage": stage, "op": op, "target": target, "ms": took, "outcome": outcome, "ts": at(end)})
    }

    #[test]
    fn stages_and_their_parallel_steps_fall_into_lanes() {
        let steps = vec![
            effect("l1", "virt.domain.start", "a", 1000, "changed", 1200),
            effect("l1", "virt.domain.start", "b", 900, "changed", 1100),
            effect("l1", "file.write", "x", 100, "changed", 1400),
        ];
        let ev = one_stage("l1", 100, 1500, steps);
        let r = rows(&ev);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].stage.start, r[0].stage.end), (100, 1500));
        // a and b overlap: two lanes; the write after them shares the first.
        assert_eq!(r[0].lanes.len(), 2);
        assert_eq!(r[0].lanes[0].len(), 2);
        let s = svg("run-1", &ev);
        assert!(s.starts_with("<svg") && s.contains("virt.domain.start a"));
    }

    #[test]
    fn a_change_of_no_measurable_time_is_drawn_a_check_is_not() {
        let quick = effect("a", "run", "true", 0, "changed", 1);
        let checked = effect("a", "file.write", "x", 0, "ok", 1);
        let ev = one_stage("a", 0, 2, vec![quick, checked]);
        let r = rows(&ev);
        let labels: Vec<&str> = r[0]
            .lanes
            .iter()
            .flatten()
            .map(|b| b.label.as_str())
            .collect();
        assert_eq!(labels, ["run true"]);
        let s = svg("run-2", &ev);
        // Ticks of a 2 ms run: 0, 1 and 2 ms, each once.
        assert_eq!(s.matches(">0ms</text>").count(), 1, "{s}");
        assert_eq!(s.matches(">1ms</text>").count(), 1, "{s}");
    }
}
