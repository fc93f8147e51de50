//! The one printer: everything the user sees, but logs, goes through here.
//!
//! Human mode writes script output (`print`, `-e` results) to stdout and status (stages, effects,
//! streamed command output, recap, errors) to stderr, coloured when that stream is a terminal and
//! `NO_COLOR` is unset. JSON mode writes one JSON object per line to stdout and nothing else.
//!
//! Secrets are masked in what a line holds before the line is put together, never in the line
//! ([`crate::redact`]): a JSON event leaf by leaf, its keys and labels kept whatever a secret's
//! value; a line for a person in its data (output, values, messages), labsh's own labels and
//! punctuation as they are. A weak secret is named in a warning before the next line.

use crate::redact;
use nu_ansi_term::{Color, Style};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

pub struct Printer {
    json: bool,
    color_out: bool,
    color_err: bool,
    lock: Mutex<()>,
}

/// The colours used for outcomes, shared by status lines and the recap.
#[derive(Clone, Copy)]
pub enum Tone {
    Ok,
    Changed,
    Planned,
    Failed,
    Dim,
    Bold,
    Stage,
}

/// The columns of the terminal on stdout, or `$COLUMNS`.
#[allow(unsafe_code)]
fn terminal_width() -> Option<usize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize it is given; the result is checked.
    let r = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if r == 0 && ws.ws_col > 0 {
        return Some(ws.ws_col as usize);
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Printer {
            json,
            color_out: !json && !no_color() && std::io::stdout().is_terminal(),
            color_err: !json && !no_color() && std::io::stderr().is_terminal(),
            lock: Mutex::new(()),
        }
    }

    /// A printer for tests: plain text, no colour.
    #[cfg(test)]
    pub fn plain() -> Self {
        Printer {
            json: false,
            color_out: false,
            color_err: false,
            lock: Mutex::new(()),
        }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    pub fn color_stdout(&self) -> bool {
        self.color_out
    }

    /// Whether stdout is a terminal a person reads.
    pub fn stdout_is_terminal(&self) -> bool {
        !self.json && std::io::stdout().is_terminal()
    }

    /// The width of the terminal on stdout (80 when it cannot be told).
    pub fn width(&self) -> usize {
        terminal_width().unwrap_or(80)
    }

    /// Paints `text` for stderr.
    pub fn paint(&self, tone: Tone, text: &str) -> String {
        if !self.color_err {
            return text.to_string();
        }
        Self::style(tone).paint(text).to_string()
    }

    /// Paints `text` for stdout (script output: preflight's table).
    pub fn paint_out(&self, tone: Tone, text: &str) -> String {
        if !self.color_out {
            return text.to_string();
        }
        Self::style(tone).paint(text).to_string()
    }

    fn style(tone: Tone) -> Style {
        match tone {
            Tone::Ok => Color::Green.normal(),
            Tone::Changed => Color::Yellow.normal(),
            Tone::Planned => Color::Cyan.normal(),
            Tone::Failed => Color::Red.bold(),
            Tone::Dim => Style::new().dimmed(),
            Tone::Bold => Style::new().bold(),
            Tone::Stage => Color::Blue.bold(),
        }
    }

    /// Writes `line` to stdout as it is: its parts were masked.
    #[expect(
        clippy::let_underscore_must_use,
        reason = "stdout: a closed pipe (labsh piped into head) has nowhere to be reported"
    )]
    fn write_out(&self, line: &str) {
        let _g = self.lock.lock();
        let mut out = std::io::stdout().lock();
        // A closed pipe (`labsh ... | head`) is not an error worth reporting.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// Writes `line` to stderr as it is: its parts were masked.
    fn write_err(&self, line: &str) {
        let _g = self.lock.lock();
        let mut err = std::io::stderr().lock();
        #[expect(
            clippy::let_underscore_must_use,
            reason = "stderr: there is nowhere else to report it"
        )]
        let _ = writeln!(err, "{line}");
    }

    /// Names each weak secret registered since the last line, once (every line does this
    /// first; the `secret()` binding at once).
    pub fn weak_secrets(&self) {
        for (name, why) in redact::take_weak() {
            // Said by labsh, naming no value: masked as a label, never as data.
            let text = redact::weak_warning(&name, why);
            let text = redact::label(&text);
            if self.json {
                let name = redact::label(&name);
                let ev = json!({"event": "warning", "message": text, "secret": name});
                self.write_out(&ev.to_string());
            } else {
                self.write_err(&format!("{} {text}", self.head("warning:", Color::Yellow)));
            }
        }
    }

    /// Emits a JSON event (JSON mode only), its strings masked before it is serialized.
    pub fn event(&self, mut value: Value) {
        if self.json {
            self.weak_secrets();
            redact::event(&mut value);
            self.write_out(&value.to_string());
        }
    }

    /// Script output: `print()`, and the value of `-e`. The text is data.
    pub fn out(&self, text: &str) {
        self.weak_secrets();
        if self.json {
            self.event(json!({"event": "print", "text": text}));
        } else {
            self.write_out(&redact::data(text));
        }
    }

    /// Script output laid out by labsh (a value as a table or an indented map) whose data parts
    /// were masked (the engine's `value::pretty`): written as it is.
    pub fn out_masked(&self, text: &str) {
        self.weak_secrets();
        if self.json {
            self.event(json!({"event": "print", "text": text}));
        } else {
            self.write_out(text);
        }
    }

    /// A value as one JSON line on stdout, for a program to read: its strings masked before it
    /// is serialized, so the line is JSON whatever a secret's value.
    pub fn out_json(&self, mut value: Value) {
        self.weak_secrets();
        if self.json {
            self.event(json!({"event": "result", "value": value}));
        } else {
            redact::json_data(&mut value);
            self.write_out(&value.to_string());
        }
    }

    /// A status line for a person (stderr; nothing in JSON mode, where events carry the same).
    /// The text is data: every secret in it is masked.
    pub fn status(&self, text: &str) {
        if !self.json {
            self.weak_secrets();
            self.write_err(&redact::data(text));
        }
    }

    /// A status line put together by labsh from its labels (masked with [`redact::label`]) and
    /// data (masked with [`redact::data`]): written as it is.
    pub fn status_masked(&self, text: &str) {
        if !self.json {
            self.weak_secrets();
            self.write_err(text);
        }
    }

    /// The word that starts a message on stderr, bold in `color` where stderr shows colors.
    fn head(&self, word: &str, color: Color) -> String {
        if self.color_err {
            color.bold().paint(word).to_string()
        } else {
            word.into()
        }
    }

    pub fn warn(&self, text: &str) {
        if self.json {
            self.event(json!({"event": "warning", "message": text}));
        } else {
            self.weak_secrets();
            let head = self.head("warning:", Color::Yellow);
            self.write_err(&format!("{head} {}", redact::data(text)));
        }
    }

    /// An error, already rendered (message, location, caret, hint): data, every secret in it
    /// masked.
    pub fn error(&self, text: &str, extra: Value) {
        if self.json {
            let mut ev = json!({"event": "error", "message": text});
            if let (Some(obj), Value::Object(more)) = (ev.as_object_mut(), extra) {
                for (k, v) in more {
                    obj.insert(k, v);
                }
            }
            self.event(ev);
        } else {
            self.weak_secrets();
            let head = self.head("error:", Color::Red);
            self.write_err(&format!("{head} {}", redact::data(text)));
        }
    }

    /// A hint after an error: what to do next.
    pub fn hint(&self, text: &str) {
        if !self.json {
            self.weak_secrets();
            let head = self.paint(Tone::Planned, "hint:");
            self.write_err(&format!("{head} {}", redact::data(text)));
        }
    }

    /// One line of a command's output, prefixed with the command's name: the line is data,
    /// masked whole; the name a label.
    pub fn stream(&self, prefix: &str, line: &str, is_stderr: bool) {
        if self.json {
            self.event(json!({
                "event": "output",
                "source": prefix,
                "stream": if is_stderr { "stderr" } else { "stdout" },
                "line": line,
            }));
        } else {
            self.weak_secrets();
            let p = self.paint(Tone::Dim, &format!("{} │", redact::label(prefix)));
            self.write_err(&format!("  {p} {}", redact::data(line)));
        }
    }

    /// A spinner on stderr, or nothing when stderr is not a terminal or output is JSON.
    pub fn spinner(&self, message: &str) -> Option<indicatif::ProgressBar> {
        if self.json || !std::io::stderr().is_terminal() {
            return None;
        }
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(redact::data(message).into_owned());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(pb)
    }
}
