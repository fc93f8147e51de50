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
//!
//! In a line for a person (on a terminal or not), what labsh shows of data (a target, a
//! message, a stored text, a stage's name) has its control characters escaped after its secrets
//! are masked ([`escaped`], [`data`], [`label`]): a file named with `\x1b[2J` cannot clear the
//! screen, set the title or reorder what the terminal shows. A command's streamed output keeps
//! its colours where labsh shows colours (and loses them where it does not); its other control
//! characters are escaped ([`child_line`]). Script output (`print`, the value of `-e`) is the
//! script's own and goes out as it is (`styled` colours it). JSON lines escape as JSON does.

use crate::redact;
use nu_ansi_term::{Color, Style};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// `text` with its control characters written as escapes (`\x1b`, `\r`, `\u{202e}`), so
/// that text labsh shows (a command's output, a file name, what a journal stored) cannot move
/// the cursor, change colours or the title, or reorder what the terminal shows. With `lines` (a
/// message of several lines) line breaks and tabs are kept; otherwise they are escaped too.
/// A backslash is left as it is, so escaping twice changes nothing more.
pub fn escaped(text: &str, lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' if lines => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            // C1 controls (0x9b is an 8-bit CSI), the bidirectional overrides and isolates.
            c if c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Data in a line for a person: every secret in it masked, then its control characters
/// escaped ([`escaped`]; `lines`: a message whose line breaks are kept).
pub fn data(text: &str, lines: bool) -> String {
    escaped(&redact::data(text), lines)
}

/// One of labsh's labels in a line for a person (an operation's or a stage's name): masked as a
/// label, its control characters escaped.
pub fn label(text: &str) -> String {
    escaped(&redact::label(text), false)
}

/// A line of a command's output for a person, its secrets masked: its colours (SGR sequences,
/// `ESC [ … m`) kept when `colors`, dropped otherwise; every other control character escaped.
pub fn child_line(line: &str, colors: bool) -> String {
    let masked = redact::data(line);
    let mut out = String::with_capacity(masked.len());
    let mut rest: &str = &masked;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&escaped(&rest[..i], false));
        let after = &rest[i + 1..];
        let sgr = after.strip_prefix('[').and_then(|p| {
            let end = p.find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))?;
            (p[end..].starts_with('m')).then_some(end + 2)
        });
        match sgr {
            Some(n) => {
                if colors {
                    out.push_str(&rest[i..i + 1 + n]);
                }
                rest = &after[n..];
            }
            None => {
                out.push_str("\\x1b");
                rest = after;
            }
        }
    }
    out.push_str(&escaped(rest, false));
    if colors && out.contains('\x1b') {
        // A colour the line left on ends with it.
        out.push_str("\x1b[0m");
    }
    out
}

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
    /// The text is data: every secret in it is masked, its control characters escaped.
    pub fn status(&self, text: &str) {
        if !self.json {
            self.weak_secrets();
            self.write_err(&data(text, true));
        }
    }

    /// A status line put together by labsh from its labels (shown with [`label`]) and data
    /// (shown with [`data`]) and its own colours: written as it is.
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
            self.write_err(&format!("{head} {}", data(text, true)));
        }
    }

    /// An error, already rendered (message, location, caret, hint): data, every secret in it
    /// masked, its control characters escaped.
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
            self.write_err(&format!("{head} {}", data(text, true)));
        }
    }

    /// A hint after an error: what to do next.
    pub fn hint(&self, text: &str) {
        if !self.json {
            self.weak_secrets();
            let head = self.paint(Tone::Planned, "hint:");
            self.write_err(&format!("{head} {}", data(text, true)));
        }
    }

    /// One line of a command's output, prefixed with the command's name: the line is data,
    /// masked whole, its colours kept where stderr shows colours and its other control
    /// characters escaped ([`child_line`]); the name a label.
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
            let p = self.paint(Tone::Dim, &format!("{} │", label(prefix)));
            self.write_err(&format!("  {p} {}", child_line(line, self.color_err)));
        }
    }

    /// A spinner on stderr, or nothing when stderr is not a terminal or output is JSON.
    pub fn spinner(&self, message: &str) -> Option<indicatif::ProgressBar> {
        if self.json || !std::io::stderr().is_terminal() {
            return None;
        }
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(data(message, false));
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(pb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_is_shown_with_its_control_characters_escaped() {
        let cases = [
            ("plain text, ünïcode", "plain text, ünïcode"),
            ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
            ("over\rwrite\x08\x7f", "over\\rwrite\\x08\\x7f"),
            ("a\tb", "a\\tb"),
            ("csi\u{9b}2J", "csi\\u{9b}2J"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("two\nlines", "two\\nlines"),
        ];
        for (raw, shown) in cases {
            assert_eq!(escaped(raw, false), shown, "{raw:?}");
        }
        assert_eq!(escaped("two\nlines\x1b", true), "two\nlines\\x1b");
    }

    #[test]
    fn data_and_labels_are_masked_then_escaped() {
        // Masked first: a secret with a control character in it is found before it is escaped.
        crate::redact::register("printer-unit", "pr1nter\x1b[0m-unit-value");
        let shown = data("file a\x1b[2Jb and pr1nter\x1b[0m-unit-value\n  next", true);
        assert_eq!(shown, "file a\\x1b[2Jb and «secret printer-unit»\n  next");
        assert_eq!(label("stage\x1b]0;t\x07"), "stage\\x1b]0;t\\x07");
        assert_eq!(data("one\ntwo", false), "one\\ntwo");
    }

    #[test]
    fn a_commands_line_keeps_its_colours_only_where_colours_are_shown() {
        let line = "\x1b[1;31mred\x1b[0m \x1b[2J\x1b]0;title\x07 \x1b[38:5:2mx";
        assert_eq!(
            child_line(line, true),
            "\x1b[1;31mred\x1b[0m \\x1b[2J\\x1b]0;title\\x07 \x1b[38:5:2mx\x1b[0m"
        );
        assert_eq!(child_line(line, false), "red \\x1b[2J\\x1b]0;title\\x07 x");
        assert_eq!(child_line("cut \x1b[12", true), "cut \\x1b[12");
        assert_eq!(child_line("plain\r", false), "plain\\r");
    }
}
