//! The one printer: everything the user sees, but logs, goes through here.
//!
//! Human mode writes script output (`print`, `-e` results) to stdout and status (stages, effects,
//! streamed command output, recap, errors) to stderr, coloured when that stream is a terminal and
//! `NO_COLOR` is unset. JSON mode writes one JSON object per line to stdout and nothing else.
//! Every line is passed through the secret redaction filter first.

use crate::redact::redact;
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

    fn write_out(&self, line: &str) {
        let _g = self.lock.lock();
        let mut out = std::io::stdout().lock();
        // A closed pipe (`labsh ... | head`) is not an error worth reporting.
        let _ = writeln!(out, "{}", redact(line));
        let _ = out.flush();
    }

    fn write_err(&self, line: &str) {
        let _g = self.lock.lock();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", redact(line));
    }

    /// Emits a JSON event (JSON mode only).
    pub fn event(&self, value: Value) {
        if self.json {
            self.write_out(&value.to_string());
        }
    }

    /// Script output: `print()`, and the value of `-e`.
    pub fn out(&self, text: &str) {
        if self.json {
            self.event(json!({"event": "print", "text": redact(text)}));
        } else {
            self.write_out(text);
        }
    }

    /// A status line for a person (stderr; nothing in JSON mode, where events carry the same).
    pub fn status(&self, text: &str) {
        if !self.json {
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
            self.event(json!({"event": "warning", "message": redact(text)}));
        } else {
            self.write_err(&format!("{} {text}", self.head("warning:", Color::Yellow)));
        }
    }

    /// An error, already rendered (message, location, caret, hint).
    pub fn error(&self, text: &str, extra: Value) {
        if self.json {
            let mut ev = json!({"event": "error", "message": redact(text)});
            if let (Some(obj), Value::Object(more)) = (ev.as_object_mut(), extra) {
                for (k, v) in more {
                    obj.insert(k, v);
                }
            }
            self.event(ev);
        } else {
            self.write_err(&format!("{} {text}", self.head("error:", Color::Red)));
        }
    }

    /// A hint after an error: what to do next.
    pub fn hint(&self, text: &str) {
        if !self.json {
            let head = self.paint(Tone::Planned, "hint:");
            self.write_err(&format!("{head} {text}"));
        }
    }

    /// One line of a command's output, prefixed with the command's name.
    pub fn stream(&self, prefix: &str, line: &str, is_stderr: bool) {
        if self.json {
            self.event(json!({
                "event": "output",
                "source": prefix,
                "stream": if is_stderr { "stderr" } else { "stdout" },
                "line": redact(line),
            }));
        } else {
            let p = self.paint(Tone::Dim, &format!("{prefix} │"));
            self.write_err(&format!("  {p} {line}"));
        }
    }

    /// A spinner on stderr, or nothing when stderr is not a terminal or output is JSON.
    pub fn spinner(&self, message: &str) -> Option<indicatif::ProgressBar> {
        if self.json || !std::io::stderr().is_terminal() {
            return None;
        }
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(redact(message).into_owned());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(pb)
    }
}
