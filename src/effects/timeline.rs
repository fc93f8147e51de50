//! A run drawn as a timeline (`labsh journal RUN --timeline FILE.svg`): one row per stage, its
//! span from start to end, and under it its longest steps, side by side in lanes where neither
//! they nor their labels overlap, so a user sees where the time of a long lab went; under a
//! failed stage, its error and the command that continues the run.

use super::time;
use serde_json::Value;

/// One bar: what, from and to (ms since the run started).
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// What the picture writes beside it.
    pub label: String,
    /// What a pointer over it shows: the step's whole target and error.
    pub detail: String,
    pub start: u64,
    pub end: u64,
    pub failed: bool,
}

/// A stage, its longest steps in the order they started, and for a failed stage its error and
/// the command that continues the run from it.
#[derive(Clone, Debug)]
pub struct Row {
    pub stage: Bar,
    pub steps: Vec<Bar>,
    pub error: Option<String>,
    pub continue_with: Option<String>,
}

/// Milliseconds since the epoch of an event's `ts` (RFC 3339, UTC, as the journal writes it).
fn ms_of(ts: &str) -> Option<u64> {
    time::parse_rfc3339(ts)
}

/// How many of a stage's steps the picture names.
const STEPS_PER_STAGE: usize = 8;

/// The most characters of a step's label.
const LABEL_CHARS: usize = 60;

/// Whether a step's target is a file's path (its label then names the file, not the path).
fn is_path(target: &str) -> bool {
    target.starts_with('/') && !target.contains(char::is_whitespace)
}

/// The shortest end of each path of `paths` (its last components) that no other path of them
/// ends with: `/a/out/install-config.yaml` and `/a/out/ocp/install-config.yaml` are
/// `out/install-config.yaml` and `ocp/install-config.yaml`, `/a/out/hosts` is `hosts`.
fn short_paths(paths: &[&str]) -> std::collections::HashMap<String, String> {
    let mut all: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| p.split('/').filter(|c| !c.is_empty()).collect())
        .collect();
    all.sort();
    all.dedup();
    let mut out = std::collections::HashMap::new();
    for p in &all {
        let mut k = 1;
        while k < p.len() {
            let tail = &p[p.len() - k..];
            let shared = all
                .iter()
                .filter(|o| o.len() >= k && o[o.len() - k..] == *tail)
                .count();
            if shared == 1 {
                break;
            }
            k += 1;
        }
        out.insert(
            format!("/{}", p.join("/")),
            p[p.len() - k.min(p.len())..].join("/"),
        );
    }
    out
}

/// A step's target as its label names it: a file by the end of its path that tells it from the
/// run's other files, a libvirt object by its name (`default@qemu:///system`: `default`), else
/// as it is.
fn short_target(target: &str, short: &std::collections::HashMap<String, String>) -> String {
    if let Some(s) = short.get(target.trim_end_matches('/')) {
        return s.clone();
    }
    match target.split_once('@') {
        Some((name, uri)) if uri.contains("://") && !name.contains(char::is_whitespace) => {
            name.to_string()
        }
        _ => target.to_string(),
    }
}

/// The rows of a run's events.
pub fn rows(events: &[Value]) -> Vec<Row> {
    let t0 = start_of(events);
    let rel = |ms: u64| ms.saturating_sub(t0);
    let paths: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "effect")
        .filter_map(|e| e["target"].as_str())
        .filter(|t| is_path(t))
        .collect();
    let short = short_paths(&paths);
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
                                    label: name.clone(),
                                    detail: name,
                                    start,
                                    end: rel(ts).max(start),
                                    failed: status != "done",
                                },
                                steps: vec![],
                                error: None,
                                continue_with: None,
                            });
                        }
                    }
                }
            }
            "effect" => steps.extend(step_of(e, rel(ts), &short)),
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
        row.steps = mine;
    }
    failures_of(&mut rows, events);
    rows.sort_by_key(|r| r.stage.start);
    rows
}

/// When the run started: its `run` event's time, else its earliest event's (ms).
fn start_of(events: &[Value]) -> u64 {
    events
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
        .unwrap_or(0)
}

/// The step an `effect` event that ended at `end` (ms into the run) draws, with its stage; none
/// for a check that found all as wanted, or a planned step, in no time (a change is a step,
/// however quick: its bar is a line). `short` names the paths it shows.
fn step_of(
    e: &Value,
    end: u64,
    short: &std::collections::HashMap<String, String>,
) -> Option<(String, Bar)> {
    let ms = e["ms"].as_u64().unwrap_or(0);
    if ms == 0 && matches!(e["outcome"].as_str(), Some("ok" | "planned")) {
        return None;
    }
    let op = e["op"].as_str().unwrap_or("");
    let target = e["target"].as_str().unwrap_or("");
    let mut detail = format!("{op} {target}");
    if let Some(err) = e["error"].as_str() {
        detail.push_str(&format!(": {err}"));
    }
    Some((
        e["stage"].as_str().unwrap_or("main").to_string(),
        Bar {
            label: format!("{op} {}", short_target(target, short)),
            detail,
            start: end.saturating_sub(ms),
            end,
            failed: e["outcome"] == "failed",
        },
    ))
}

/// A failed stage's error and how to continue from it (the last of each for a stage that ran
/// more than once), in its row.
fn failures_of(rows: &mut [Row], events: &[Value]) {
    for e in events {
        let (Some(kind), Some(stage)) = (e["event"].as_str(), e["stage"].as_str()) else {
            continue;
        };
        let Some(row) = rows
            .iter_mut()
            .rev()
            .find(|r| r.stage.failed && r.stage.label == stage)
        else {
            continue;
        };
        match kind {
            "error" => row.error = e["message"].as_str().map(str::to_string),
            "continue" => row.continue_with = e["command"].as_str().map(str::to_string),
            _ => {}
        }
    }
}

/// The error of a run that failed outside any stage it drew, if it did.
fn run_error(events: &[Value], rows: &[Row]) -> Option<String> {
    events
        .iter()
        .filter(|e| e["event"] == "error")
        .filter(|e| {
            !e["stage"]
                .as_str()
                .is_some_and(|s| rows.iter().any(|r| r.stage.label == s && r.error.is_some()))
        })
        .filter_map(|e| e["message"].as_str())
        .next_back()
        .map(str::to_string)
}

/// Text for SVG: XML's special characters as entities, control characters as escapes.
fn esc(s: &str) -> String {
    crate::printer::escaped(s, false)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How wide `s` is drawn at `size` px, at most: sans-serif characters are narrower than 0.62 of
/// the font's size (capitals and bold ones the widest).
fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.62
}

/// `s` cut to at most `n` characters, an ellipsis for what was cut.
fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The lines of an error as the picture shows them: its message (the program's last words
/// included) and where it was raised, without the source line and caret, which only a fixed
/// font lines up; each line cut to `width` characters, at most `most` lines.
fn error_lines(message: &str, width: usize, most: usize) -> Vec<String> {
    let mut out = vec![];
    let mut lines = message.lines();
    for l in lines.by_ref() {
        let t = l.trim();
        if let Some(at) = t.strip_prefix("--> ") {
            out.push(format!("at {at}"));
            break;
        }
        if t.is_empty() {
            continue;
        }
        out.push(t.to_string());
    }
    // What the call chain says ("in closure at fail.rhai:2:1") after the source excerpt.
    for l in lines {
        let t = l.trim();
        if t.starts_with("in ") {
            out.push(t.to_string());
        }
    }
    let mut wrapped = vec![];
    for l in out {
        let chars: Vec<char> = l.chars().collect();
        for chunk in chars.chunks(width.max(8)) {
            wrapped.push(chunk.iter().collect::<String>());
        }
    }
    if wrapped.len() > most {
        wrapped.truncate(most);
        if let Some(last) = wrapped.last_mut() {
            *last = truncate(&format!("{last} …"), width);
        }
    }
    wrapped
}

/// The picture's scale and sizes: the bars' area from `left` to `right` (`width` px for the
/// run's `total` ms), a stage's bar's height and a step's font size.
struct Scale {
    left: f64,
    right: f64,
    width: f64,
    total: u64,
    bar: f64,
    step_size: f64,
}

impl Scale {
    /// Where `ms` into the run is drawn.
    fn x(&self, ms: u64) -> f64 {
        self.left + self.width * ms as f64 / self.total as f64
    }
}

/// The run as an SVG picture.
pub fn svg(run_id: &str, events: &[Value]) -> String {
    let rows = rows(events);
    let total = rows.iter().map(|r| r.stage.end).max().unwrap_or(0).max(1);
    let (width, bar, gap, step_size, error_size) = (900.0, 18.0, 6.0, 10.0, 11.0);
    // The stages' names right-aligned before the bars: room for the longest (bold, 12 px).
    let longest = rows
        .iter()
        .map(|r| text_width(&truncate(&r.stage.label, 40), 12.0) * 1.1)
        .fold(0.0, f64::max);
    let left = (longest + 20.0).max(150.0);
    let right = left + width;
    let g = Scale {
        left,
        right,
        width,
        total,
        bar,
        step_size,
    };
    let wrap = (width / (error_size * 0.62)) as usize;
    let mut body = String::new();
    let mut y = 40.0;
    let error_text = |body: &mut String, y: &mut f64, lines: Vec<String>, colour: &str| {
        for l in lines {
            *y += error_size + 4.0;
            body.push_str(&format!(
                "<text x=\"{left:.1}\" y=\"{:.1}\" font-size=\"{error_size}\" fill=\"{colour}\">{}</text>\n",
                *y,
                esc(&l)
            ));
        }
    };
    for r in &rows {
        let s = &r.stage;
        let colour = if s.failed { "#d9534f" } else { "#4a7bd0" };
        let took = super::fmt_ms((s.end - s.start) as u128);
        body.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"bold\">{}</text>\n\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bar}\" fill=\"{colour}\"><title>{} {took}</title></rect>\n",
            left - 6.0,
            y + 13.0,
            esc(&truncate(&s.label, 40)),
            g.x(s.start),
            y,
            (g.x(s.end) - g.x(s.start)).max(1.0),
            esc(&s.detail),
        ));
        y += bar + gap;
        let (placed, lanes) = steps_svg(r, &g, y);
        body.push_str(&placed);
        y += lanes as f64 * (bar - 2.0);
        // A failed stage's error under it, and how to continue.
        if let Some(e) = &r.error {
            error_text(&mut body, &mut y, error_lines(e, wrap, 8), "#b52b27");
        }
        if let Some(c) = &r.continue_with {
            let lines = error_lines(&format!("to continue: {c}"), wrap, 2);
            error_text(&mut body, &mut y, lines, "#555555");
        }
        if r.error.is_some() || r.continue_with.is_some() {
            y += 6.0;
        }
        y += gap;
    }
    if let Some(e) = run_error(events, &rows) {
        let mut lines = vec!["the run failed:".to_string()];
        lines.extend(error_lines(&e, wrap, 8));
        error_text(&mut body, &mut y, lines, "#b52b27");
        y += gap;
    }
    let height = y + 30.0;
    let axis = axis_svg(&g, height);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>labsh run {}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{axis}{body}</svg>\n",
        right + 40.0,
        esc(run_id)
    )
}

/// A stage's steps as SVG from `y` down, each in the first lane where neither its bar nor its
/// label meets another's; how many lanes they took.
fn steps_svg(r: &Row, g: &Scale, y: f64) -> (String, usize) {
    let (bar, step_size) = (g.bar, g.step_size);
    let mut lanes: Vec<Vec<(f64, f64)>> = vec![];
    let mut placed = String::new();
    let mut lane_of = vec![];
    for b in &r.steps {
        let text = format!(
            "{} ({})",
            truncate(&b.label, LABEL_CHARS),
            super::fmt_ms((b.end - b.start) as u128)
        );
        let (x0, x1) = (g.x(b.start), g.x(b.end).max(g.x(b.start) + 1.0));
        let w = text_width(&text, step_size);
        // A label that would run past the right end ends there instead.
        let lx = (x0 + 2.0).min(g.right - w).max(g.left);
        let span = (x0.min(lx), x1.max(lx + w));
        let free =
            |l: &Vec<(f64, f64)>| l.iter().all(|o| o.1 + 4.0 <= span.0 || o.0 >= span.1 + 4.0);
        let lane = match lanes.iter().position(free) {
            Some(i) => i,
            None => {
                lanes.push(vec![]);
                lanes.len() - 1
            }
        };
        lanes[lane].push(span);
        lane_of.push((lane, b, text, lx, x0, x1));
    }
    for (lane, b, text, lx, x0, x1) in lane_of {
        let ly = y + lane as f64 * (bar - 2.0);
        let colour = if b.failed { "#f0a8a6" } else { "#a9c1ec" };
        placed.push_str(&format!(
            "<rect x=\"{x0:.1}\" y=\"{ly:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{} {}</title></rect>\n\
             <text x=\"{lx:.1}\" y=\"{:.1}\" font-size=\"{step_size}\">{}</text>\n",
            x1 - x0,
            bar - 4.0,
            esc(&b.detail),
            super::fmt_ms((b.end - b.start) as u128),
            ly + 10.0,
            esc(&text),
        ));
    }
    (placed, lanes.len())
}

/// The time axis: ten ticks (fewer for a run of a few milliseconds), their lines `height` long.
fn axis_svg(g: &Scale, height: f64) -> String {
    let mut axis = String::new();
    let mut ticks: Vec<u64> = (0..=10).map(|i| g.total * i / 10).collect();
    // A run of a few milliseconds has fewer whole-millisecond ticks than ten.
    ticks.dedup();
    for ms in ticks {
        axis.push_str(&format!(
            "<line x1=\"{0:.1}\" y1=\"28\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#ddd\"/>\n<text x=\"{0:.1}\" y=\"22\" text-anchor=\"middle\" font-size=\"10\">{2}</text>\n",
            g.x(ms),
            height - 20.0,
            super::fmt_ms(ms as u128)
        ));
    }
    axis
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

    /// The text boxes of a picture: (x0, x1, y0, y1, text), each as wide as its characters at
    /// 0.6 of its font's size and as tall as the font.
    fn text_boxes(svg: &str) -> Vec<(f64, f64, f64, f64, String)> {
        let attr = |tag: &str, name: &str| -> Option<String> {
            let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
            Some(tag[at..].split('"').next()?.to_string())
        };
        let mut out = vec![];
        for part in svg.split("<text").skip(1) {
            let (tag, rest) = part.split_once('>').unwrap();
            let text = rest.split("</text>").next().unwrap().to_string();
            let x: f64 = attr(tag, "x").unwrap().parse().unwrap();
            let y: f64 = attr(tag, "y").unwrap().parse().unwrap();
            let size: f64 = attr(tag, "font-size").map_or(12.0, |v| v.parse().unwrap());
            let w = text.chars().count() as f64 * size * 0.6;
            let x0 = match attr(tag, "text-anchor").as_deref() {
                Some("end") => x - w,
                Some("middle") => x - w / 2.0,
                _ => x,
            };
            out.push((x0, x0 + w, y - size * 0.8, y + size * 0.2, text));
        }
        out
    }

    /// The pairs of text boxes of `svg` that overlap.
    fn overlapping(svg: &str) -> Vec<(String, String)> {
        let b = text_boxes(svg);
        let mut out = vec![];
        for i in 0..b.len() {
            for j in i + 1..b.len() {
                let (p, q) = (&b[i], &b[j]);
                if p.0 < q.1 && q.0 < p.1 && p.2 < q.3 && q.2 < p.3 {
                    out.push((p.4.clone(), q.4.clone()));
                }
            }
        }
        out
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
        assert_eq!(r[0].steps.len(), 3);
        let s = svg("run-1", &ev);
        assert!(s.starts_with("<svg") && s.contains("virt.domain.start a"));
        // a and b overlap: two lanes; the write after them shares the first.
        let y_of = |label: &str| {
            text_boxes(&s)
                .into_iter()
                .find(|b| b.4.starts_with(label))
                .map(|b| b.2)
                .unwrap()
        };
        assert_ne!(y_of("virt.domain.start a"), y_of("virt.domain.start b"));
        assert_eq!(y_of("virt.domain.start a"), y_of("file.write x"));
        assert!(overlapping(&s).is_empty(), "{:?}", overlapping(&s));
    }

    #[test]
    fn a_change_of_no_measurable_time_is_drawn_a_check_is_not() {
        let quick = effect("a", "run", "true", 0, "changed", 1);
        let checked = effect("a", "file.write", "x", 0, "ok", 1);
        let ev = one_stage("a", 0, 2, vec![quick, checked]);
        let r = rows(&ev);
        let labels: Vec<&str> = r[0].steps.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["run true"]);
        let s = svg("run-2", &ev);
        // Ticks of a 2 ms run: 0, 1 and 2 ms, each once.
        assert_eq!(s.matches(">0ms</text>").count(), 1, "{s}");
        assert_eq!(s.matches(">1ms</text>").count(), 1, "{s}");
    }

    #[test]
    fn files_are_named_by_the_end_of_their_path_that_tells_them_apart() {
        let short = short_paths(&[
            "/s/out/lab/install-config.yaml",
            "/s/out/lab/ocp/install-config.yaml",
            "/s/out/lab/hosts",
            "/s/out/lab/hosts",
            "/etc/hosts.d/x",
        ]);
        assert_eq!(
            short["/s/out/lab/install-config.yaml"],
            "lab/install-config.yaml"
        );
        assert_eq!(
            short["/s/out/lab/ocp/install-config.yaml"],
            "ocp/install-config.yaml"
        );
        assert_eq!(short["/s/out/lab/hosts"], "hosts");
        assert_eq!(short_target("default@qemu:///system", &short), "default");
        assert_eq!(short_target("sh -c 'a@b://c'", &short), "sh -c 'a@b://c'");
    }

    #[test]
    fn steps_at_the_same_moment_with_long_paths_keep_their_labels_apart() {
        // What a sandbox run's l0 stage does: eight writes in the same millisecond, and a long
        // step whose label would run past the right end.
        let mut steps: Vec<Value> = (0..8)
            .map(|i| {
                effect(
                    "l0",
                    "file.write",
                    &format!("/tmp/a-very-long-state-folder/out/sandbox/libvirt/network-{i}.xml"),
                    0,
                    "changed",
                    1000,
                )
            })
            .collect();
        steps.push(effect(
            "l0",
            "img.create",
            "/tmp/a-very-long-state-folder/images/base.qcow2",
            30,
            "changed",
            1990,
        ));
        let ev = one_stage("l0", 0, 2000, steps);
        let s = svg("run-3", &ev);
        assert!(overlapping(&s).is_empty(), "{:?}", overlapping(&s));
        // Files by their names, not their paths; every label inside the picture.
        assert!(s.contains(">file.write network-0.xml (0ms)<"), "{s}");
        assert!(!text_boxes(&s).iter().any(|b| b.4.contains("/tmp/")), "{s}");
        let width: f64 = s
            .split("width=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        for b in text_boxes(&s) {
            assert!(b.0 >= 0.0 && b.1 <= width, "{} is outside the picture", b.4);
        }
    }

    #[test]
    fn a_failed_stage_shows_its_error_and_how_to_continue() {
        let message = "command failed with exit code 3: sh -c 'exit 3'\n    Error: no space left on device\n  --> fail.rhai:3:5\n   |\n 3 |     run([\"sh\"]);\n   |     ^\n  in closure at fail.rhai:2:1";
        let mut ev = vec![
            json!({"event": "run", "ts": at(0)}),
            json!({"event": "stage", "stage": "install", "status": "started", "ts": at(0)}),
            effect("install", "run", "sh -c 'exit 3'", 300, "failed", 300),
            json!({"event": "stage", "stage": "install", "status": "failed", "ts": at(301)}),
            json!({"event": "error", "message": message, "stage": "install", "ts": at(302)}),
            json!({"event": "continue", "stage": "install", "command": "labsh run fail.rhai --from install", "ts": at(302)}),
        ];
        let s = svg("run-4", &ev);
        for want in [
            ">command failed with exit code 3: sh -c &apos;exit 3&apos;<",
            ">Error: no space left on device<",
            ">at fail.rhai:3:5<",
            ">in closure at fail.rhai:2:1<",
            ">to continue: labsh run fail.rhai --from install<",
        ] {
            let want = want.replace("&apos;", "'");
            assert!(s.contains(&want), "{want} not in {s}");
        }
        // The source line and its caret are left out: only a fixed font lines them up.
        assert!(!s.contains("run([") && !s.contains(">^<"), "{s}");
        assert!(overlapping(&s).is_empty(), "{:?}", overlapping(&s));
        // An error outside any stage is shown under the stages.
        ev.push(json!({"event": "error", "message": "boom outside", "ts": at(303)}));
        let s = svg(
            "run-5",
            &ev[..2]
                .iter()
                .cloned()
                .chain([ev[6].clone()])
                .collect::<Vec<_>>(),
        );
        assert!(
            s.contains(">the run failed:<") && s.contains(">boom outside<"),
            "{s}"
        );
    }
}
