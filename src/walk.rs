//! # Walkthroughs: a chapter you can run
//!
//! A walkthrough is a plain-text file in `chapters/` that tells a short
//! story with real commands: a paragraph of narration, the commands that
//! show it, the next paragraph. `redis-anatomy walk sds` plays one against a
//! running server, pausing after each paragraph so the student can look at
//! the server (or the visualizer) before the commands run. The format is
//! documented for students in `chapters/README.md`; in short:
//!
//! ```text
//! # A title
//!
//! Narration: any paragraph that is not one of the lines below.
//!
//! > SET greeting hello              a command; its reply is printed
//! ? OBJECT ENCODING greeting        a "show" step: internal state, printed raw
//! > [error] INCR greeting           flags in brackets after the marker
//! ~ 150ms                           wait (for a TTL to run out)
//! ```
//!
//! ## The invariant
//!
//! A reply is printed exactly as `redis-cli` prints it in a terminal (its
//! non-raw "TTY" format), so what a student sees here and at a `redis-cli`
//! prompt is the same text. A step fails when the server cannot be reached,
//! when a reply is an error and the step did not say `[error]`, or when a
//! step said `[error]` and got a normal reply; the runner names the step and
//! its line.
//!
//! ## Stable transcripts
//!
//! The tests replay every walkthrough against an in-process server and the
//! book prints the result, so a transcript must come out the same on every
//! run. Some replies cannot: a TTL in milliseconds, a SCAN cursor (it depends
//! on where the hash function put the keys, and the seed is random), the
//! average TTL in INFO. The flags `[masked]`, `[mask=FIELD]`, `[sorted]` and
//! `[iterate]` say how to print those; they take effect in *stable* mode
//! (the tests, and `walk --stable`), while a live run shows the real digits.
//!
//! ## The Redis C counterpart
//!
//! `src/redis-cli.c`: `cliFormatReplyTTY` (the reply format, including the
//! nested numbering and the `1# key => value` maps of RESP3),
//! `cliFormatReplyRaw` (for the commands redis-cli always prints raw, such
//! as INFO and DEBUG HTSTATS, chosen in `cliSendCommand`) and
//! `sdscatrepr` (the quoting of bulk strings).
//!
//! ## What we simplified
//!
//! The client here is a blocking `std::net` socket with a small RESP2/RESP3
//! reader: a walkthrough sends one command and waits for its reply, so
//! there is nothing to gain from pipelining or an async runtime. RESP3
//! attributes are read and dropped, as redis-cli does not print them either.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ============================================================================
// The walkthrough format
// ============================================================================

/// One parsed walkthrough.
#[derive(Debug, Clone)]
pub struct Walkthrough {
    pub steps: Vec<Step>,
}

/// A line or paragraph of a walkthrough, in file order.
#[derive(Debug, Clone)]
pub enum Step {
    /// A `#` heading line, printed as is.
    Heading(String),
    /// A paragraph of narration (its lines joined with `\n`).
    Narration(String),
    /// A command to send (`>`) or a show step (`?`).
    Command(CommandStep),
    /// `~ 150ms`: let the clock run (only TTL chapters need it).
    Wait(Duration),
}

/// Whether a command's reply is the story (`>`) or a look inside (`?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Send,
    Show,
}

/// A `>` or `?` line.
#[derive(Debug, Clone)]
pub struct CommandStep {
    pub kind: Kind,
    /// 1-based line number in the file, for error messages.
    pub line: usize,
    /// The command as written, echoed in the transcript.
    pub text: String,
    /// The command split into arguments with redis-cli's quoting rules.
    pub args: Vec<Vec<u8>>,
    pub flags: Flags,
}

/// The bracketed flags after `>` or `?`: `> [sorted, error] ...`.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `error`: an error reply is the expected outcome.
    pub expect_error: bool,
    /// `sorted`: sort arrays, sets and maps whose order depends on hashing
    /// (and, on a show step, the lines of the report).
    pub sorted: bool,
    /// `masked`: in stable mode, every run of digits prints as `#`.
    pub masked: bool,
    /// `mask=NAME`: in stable mode, the digits after `NAME=` or `NAME:` print
    /// as `#` (for one varying INFO field among stable ones).
    pub mask_fields: Vec<String>,
    /// `iterate`: a SCAN-family command; repeat it with each returned cursor
    /// (in place of the argument `0`) until the cursor is 0 again.
    pub iterate: bool,
    /// `only=A|B`: in stable mode, print only the lines of the reply that
    /// contain A or B (DEBUG HTSTATS's chain lengths depend on the hash seed;
    /// its table sizes do not).
    pub only: Vec<String>,
    /// `until=TEXT`: repeat the command until its reply prints as TEXT
    /// (every 10 ms, for up to 5 s); for things the cron does in its own time.
    pub until: Option<String>,
    /// `while=TEXT`: repeat the command while its reply contains TEXT
    /// (every 10 ms, for up to 5 s); for one field of a longer report, such
    /// as `aof_rewrite_in_progress:1` in INFO while a forked child works.
    pub while_contains: Option<String>,
}

/// Parses a walkthrough file. Errors name the line.
pub fn parse(text: &str) -> Result<Walkthrough, String> {
    let mut steps = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, steps: &mut Vec<Step>| {
        if !paragraph.is_empty() {
            steps.push(Step::Narration(paragraph.join("\n")));
            paragraph.clear();
        }
    };
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end();
        if line.is_empty() {
            flush(&mut paragraph, &mut steps);
        } else if let Some(rest) = line.strip_prefix("> ").or(line.strip_prefix(">[")) {
            flush(&mut paragraph, &mut steps);
            let rest = if line.starts_with(">[") {
                &line[1..]
            } else {
                rest
            };
            steps.push(Step::Command(parse_command(Kind::Send, rest, line_no)?));
        } else if let Some(rest) = line.strip_prefix("? ").or(line.strip_prefix("?[")) {
            flush(&mut paragraph, &mut steps);
            let rest = if line.starts_with("?[") {
                &line[1..]
            } else {
                rest
            };
            steps.push(Step::Command(parse_command(Kind::Show, rest, line_no)?));
        } else if let Some(rest) = line.strip_prefix("~ ") {
            flush(&mut paragraph, &mut steps);
            let ms = rest
                .trim()
                .strip_suffix("ms")
                .and_then(|n| n.trim().parse::<u64>().ok())
                .ok_or_else(|| format!("line {line_no}: a wait is written `~ 150ms`"))?;
            steps.push(Step::Wait(Duration::from_millis(ms)));
        } else if line.starts_with('#') && paragraph.is_empty() {
            steps.push(Step::Heading(line.to_string()));
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut paragraph, &mut steps);
    Ok(Walkthrough { steps })
}

fn parse_command(kind: Kind, rest: &str, line: usize) -> Result<CommandStep, String> {
    let rest = rest.trim();
    let mut flags = Flags::default();
    let text = if let Some(after) = rest.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or_else(|| format!("line {line}: `[` without `]`"))?;
        for flag in after[..close].split(',').map(str::trim) {
            match flag.split_once('=') {
                None if flag == "error" => flags.expect_error = true,
                None if flag == "sorted" => flags.sorted = true,
                None if flag == "masked" => flags.masked = true,
                None if flag == "iterate" => flags.iterate = true,
                Some(("mask", name)) => flags.mask_fields.push(name.trim().to_string()),
                Some(("only", alts)) => {
                    flags.only = alts.split('|').map(|a| a.trim().to_string()).collect()
                }
                Some(("until", text)) => flags.until = Some(text.trim().to_string()),
                Some(("while", text)) => flags.while_contains = Some(text.trim().to_string()),
                _ => return Err(format!("line {line}: unknown flag `{flag}`")),
            }
        }
        after[close + 1..].trim()
    } else {
        rest
    };
    let args = crate::resp::split_args(text.as_bytes())
        .ok_or_else(|| format!("line {line}: unbalanced quotes"))?;
    if args.is_empty() {
        return Err(format!("line {line}: a command line needs a command"));
    }
    if flags.iterate && !args.iter().any(|a| a == b"0") {
        return Err(format!(
            "line {line}: `iterate` needs a cursor argument `0`"
        ));
    }
    Ok(CommandStep {
        kind,
        line,
        text: text.to_string(),
        args,
        flags,
    })
}

/// Where `walk <chapter-or-path>` finds its file: the path itself if it
/// exists, else `chapters/<name>.md` under the current directory, else
/// under the crate's own directory (so `cargo run -- walk sds` works from
/// anywhere in the checkout).
pub fn resolve(chapter_or_path: &str) -> PathBuf {
    let given = PathBuf::from(chapter_or_path);
    if given.is_file() {
        return given;
    }
    let file = if chapter_or_path.ends_with(".md") {
        chapter_or_path.to_string()
    } else {
        format!("{chapter_or_path}.md")
    };
    let local = Path::new("chapters").join(&file);
    if local.is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("chapters")
        .join(file)
}

// ============================================================================
// A small RESP client
// ============================================================================

/// A reply, with every RESP2 and RESP3 type redis-cli distinguishes.
/// Numbers are kept as the text the server sent: redis-cli prints doubles
/// as received, and keeping integers as text lets masking treat all
/// digits alike.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(String),
    Bulk(Vec<u8>),
    /// RESP2 `$-1` / `*-1` and RESP3 `_`.
    Nil,
    Array(Vec<Value>),
    Set(Vec<Value>),
    Push(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Double(String),
    Bool(bool),
    /// `=` verbatim string: the text without its `txt:` format prefix.
    Verbatim(Vec<u8>),
    /// `(` big number (redis-cli 7.0 cannot print these; we print the digits).
    BigNumber(String),
}

impl Value {
    fn is_aggregate(&self) -> bool {
        matches!(
            self,
            Value::Array(_) | Value::Set(_) | Value::Push(_) | Value::Map(_)
        )
    }
}

/// A blocking connection that sends commands and reads replies.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    pub fn connect(addr: &str) -> io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one command as a RESP array of bulk strings and reads its reply.
    pub fn call(&mut self, args: &[Vec<u8>]) -> io::Result<Value> {
        let mut frame = Vec::with_capacity(64);
        write!(frame, "*{}\r\n", args.len())?;
        for arg in args {
            write!(frame, "${}\r\n", arg.len())?;
            frame.extend_from_slice(arg);
            frame.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&frame)?;
        self.read_value()
    }

    fn read_line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\r\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    fn read_len(&mut self, text: &[u8]) -> io::Result<i64> {
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| protocol_error(text))
    }

    fn read_elements(&mut self, n: i64) -> io::Result<Vec<Value>> {
        (0..n.max(0)).map(|_| self.read_value()).collect()
    }

    fn read_value(&mut self) -> io::Result<Value> {
        let line = self.read_line()?;
        let (&tag, rest) = line.split_first().ok_or_else(|| protocol_error(b""))?;
        let text = || String::from_utf8_lossy(rest).into_owned();
        Ok(match tag {
            b'+' => Value::Simple(rest.to_vec()),
            b'-' => Value::Error(rest.to_vec()),
            b':' => Value::Int(text()),
            b',' => Value::Double(text()),
            b'(' => Value::BigNumber(text()),
            b'#' => Value::Bool(rest == b"t"),
            b'_' => Value::Nil,
            b'$' | b'=' | b'!' => {
                let len = self.read_len(rest)?;
                if len < 0 {
                    return Ok(Value::Nil);
                }
                let mut body = vec![0; len as usize + 2];
                self.reader.read_exact(&mut body)?;
                body.truncate(len as usize);
                match tag {
                    b'$' => Value::Bulk(body),
                    b'!' => Value::Error(body),
                    // Verbatim: "txt:" or "mkd:", then the text.
                    _ => Value::Verbatim(body.get(4..).unwrap_or_default().to_vec()),
                }
            }
            b'*' | b'~' | b'>' => {
                let n = self.read_len(rest)?;
                if n < 0 {
                    return Ok(Value::Nil);
                }
                let items = self.read_elements(n)?;
                match tag {
                    b'*' => Value::Array(items),
                    b'~' => Value::Set(items),
                    _ => Value::Push(items),
                }
            }
            b'%' => {
                let n = self.read_len(rest)?;
                let mut items = self.read_elements(n * 2)?.into_iter();
                let mut pairs = Vec::new();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    pairs.push((k, v));
                }
                Value::Map(pairs)
            }
            b'|' => {
                // An attribute precedes the reply it annotates: drop it.
                let n = self.read_len(rest)?;
                self.read_elements(n * 2)?;
                return self.read_value();
            }
            _ => return Err(protocol_error(&line)),
        })
    }
}

fn protocol_error(line: &[u8]) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("protocol error near {:?}", String::from_utf8_lossy(line)),
    )
}

// ============================================================================
// Printing replies as redis-cli does
// ============================================================================

// ANCHOR: walk_format_tty
/// Formats a reply the way `redis-cli` prints it at a terminal.
///
/// Aggregates number their elements, right-aligned to the width of the
/// largest index; a nested aggregate continues on the same line as its
/// index and indents its further lines by that index's width plus two:
///
/// ```text
/// 1) "0"
/// 2) 1) "a"
///    2) "b"
/// ```
///
/// RESP3 sets number with `~`, maps with `#` and print `key => value`; a
/// value that takes several lines starts on a new line under its key.
pub fn format_tty(value: &Value) -> String {
    let mut out = String::new();
    tty(value, "", &mut out);
    out
}

fn tty(value: &Value, prefix: &str, out: &mut String) {
    match value {
        Value::Error(e) => {
            let _ = writeln!(out, "(error) {}", String::from_utf8_lossy(e));
        }
        Value::Simple(s) => {
            let _ = writeln!(out, "{}", String::from_utf8_lossy(s));
        }
        Value::Int(n) => {
            let _ = writeln!(out, "(integer) {n}");
        }
        Value::Double(d) => {
            let _ = writeln!(out, "(double) {d}");
        }
        Value::BigNumber(n) => {
            let _ = writeln!(out, "(big number) {n}");
        }
        Value::Bulk(b) => {
            quote(b, out);
            out.push('\n');
        }
        Value::Verbatim(b) => {
            out.push_str(&String::from_utf8_lossy(b));
            out.push('\n');
        }
        Value::Nil => out.push_str("(nil)\n"),
        Value::Bool(b) => out.push_str(if *b { "(true)\n" } else { "(false)\n" }),
        Value::Array(items) | Value::Set(items) | Value::Push(items) if items.is_empty() => {
            out.push_str(match value {
                Value::Array(_) => "(empty array)\n",
                Value::Set(_) => "(empty set)\n",
                _ => "(empty push)\n",
            });
        }
        Value::Map(pairs) if pairs.is_empty() => out.push_str("(empty hash)\n"),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            let sep = if matches!(value, Value::Set(_)) {
                '~'
            } else {
                ')'
            };
            let width = items.len().to_string().len();
            let inner = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, item) in items.iter().enumerate() {
                let lead = if i == 0 { "" } else { prefix };
                let _ = write!(out, "{lead}{:>width$}{sep} ", i + 1);
                tty(item, &inner, out);
            }
        }
        Value::Map(pairs) => {
            let width = pairs.len().to_string().len();
            let inner = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, (key, val)) in pairs.iter().enumerate() {
                let lead = if i == 0 { "" } else { prefix };
                let _ = write!(out, "{lead}{:>width$}# ", i + 1);
                tty(key, &inner, out);
                out.pop(); // the key's newline: the value follows on its line
                out.push_str(" => ");
                if is_multiline(val) {
                    out.push('\n');
                    out.push_str(&inner);
                }
                tty(val, &inner, out);
            }
        }
    }
}

/// Does `tty` print this value on more than one line?
fn is_multiline(value: &Value) -> bool {
    match value {
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            items.len() > 1 || items.first().is_some_and(is_multiline)
        }
        Value::Map(pairs) => pairs.len() > 1 || pairs.first().is_some_and(|(_, v)| is_multiline(v)),
        _ => false,
    }
}

/// A bulk string in double quotes, with the escapes redis-cli uses
/// (`sdscatrepr`): `\n \r \t \a \b \\ \"`, printable ASCII as is, and
/// every other byte as `\xhh`.
fn quote(bytes: &[u8], out: &mut String) {
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}
// ANCHOR_END: walk_format_tty

/// Formats a reply as `redis-cli --raw` does: strings without quotes,
/// aggregates one element per line, a map's key and value on one line.
pub fn format_raw(value: &Value) -> String {
    let mut out = String::new();
    raw(value, &mut out);
    // INFO's lines end in \r\n; a transcript wants plain lines.
    out.replace('\r', "")
}

fn raw(value: &Value, out: &mut String) {
    match value {
        Value::Nil => {}
        Value::Error(e) => {
            out.push_str(&String::from_utf8_lossy(e));
            out.push('\n');
        }
        Value::Simple(s) | Value::Bulk(s) | Value::Verbatim(s) => {
            out.push_str(&String::from_utf8_lossy(s))
        }
        Value::Bool(b) => out.push_str(if *b { "(true)" } else { "(false)" }),
        Value::Int(n) | Value::Double(n) | Value::BigNumber(n) => out.push_str(n),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                raw(item, out);
            }
        }
        Value::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                raw(k, out);
                out.push(' ');
                raw(v, out);
            }
        }
    }
}

/// Commands whose reply redis-cli prints raw even at a terminal, because
/// they are multi-line reports (`cliSendCommand`'s list in redis-cli 7.0).
fn redis_cli_prints_raw(args: &[Vec<u8>]) -> bool {
    let word = |i: usize| args.get(i).map(|a| a.to_ascii_lowercase());
    let (cmd, sub) = (word(0).unwrap_or_default(), word(1));
    let sub = sub.as_deref().unwrap_or(b"");
    let argc = args.len();
    match cmd.as_slice() {
        b"info" | b"lolwut" => true,
        b"debug" => matches!(sub, b"htstats" | b"htstats-key" | b"client-eviction"),
        b"memory" => matches!(sub, b"malloc-stats" | b"doctor"),
        b"cluster" => argc == 2 && matches!(sub, b"nodes" | b"info"),
        b"client" => matches!(sub, b"list" | b"info"),
        b"latency" => (argc == 3 && sub == b"graph") || (argc == 2 && sub == b"doctor"),
        _ => false,
    }
}

// ============================================================================
// Stable-mode transformations
// ============================================================================

/// Applies a step's `sorted`, `masked` and `mask=` flags to a reply.
/// Sorting always applies (a sorted list reads better live, too); masks
/// only in stable mode.
fn stabilise(value: Value, flags: &Flags, stable: bool) -> Value {
    let mut value = value;
    if flags.sorted {
        value = sort_value(value);
    }
    if stable && (flags.masked || !flags.mask_fields.is_empty()) {
        value = map_text(value, &|text| mask_text(text, flags));
    }
    value
}

/// Sorts every aggregate whose elements are all plain values (for a SCAN
/// reply, the key list but not the outer `[cursor, keys]` pair); maps are
/// sorted by key.
fn sort_value(value: Value) -> Value {
    let key = |v: &Value| format_tty(v);
    let sort_items = |items: Vec<Value>| {
        let mut items: Vec<Value> = items.into_iter().map(sort_value).collect();
        if items.iter().all(|v| !v.is_aggregate()) {
            items.sort_by_key(key);
        }
        items
    };
    match value {
        Value::Array(items) => Value::Array(sort_items(items)),
        Value::Set(items) => Value::Set(sort_items(items)),
        Value::Map(pairs) => {
            let mut pairs: Vec<(Value, Value)> =
                pairs.into_iter().map(|(k, v)| (k, sort_value(v))).collect();
            pairs.sort_by_key(|(k, _)| key(k));
            Value::Map(pairs)
        }
        other => other,
    }
}

/// Rewrites the text of every leaf of a reply.
fn map_text(value: Value, f: &dyn Fn(&str) -> String) -> Value {
    let bytes = |b: Vec<u8>| f(&String::from_utf8_lossy(&b)).into_bytes();
    match value {
        Value::Simple(b) => Value::Simple(bytes(b)),
        Value::Error(b) => Value::Error(bytes(b)),
        Value::Bulk(b) => Value::Bulk(bytes(b)),
        Value::Verbatim(b) => Value::Verbatim(bytes(b)),
        Value::Int(t) => Value::Int(f(&t)),
        Value::Double(t) => Value::Double(f(&t)),
        Value::BigNumber(t) => Value::BigNumber(f(&t)),
        Value::Array(v) => Value::Array(v.into_iter().map(|x| map_text(x, f)).collect()),
        Value::Set(v) => Value::Set(v.into_iter().map(|x| map_text(x, f)).collect()),
        Value::Push(v) => Value::Push(v.into_iter().map(|x| map_text(x, f)).collect()),
        Value::Map(p) => Value::Map(
            p.into_iter()
                .map(|(k, v)| (map_text(k, f), map_text(v, f)))
                .collect(),
        ),
        other => other,
    }
}

/// `masked`: every run of digits (with a leading `-` and a decimal point
/// inside) becomes one `#`. `mask=NAME`: only the number right after
/// `NAME=` or `NAME:` (and any spaces) does.
fn mask_text(text: &str, flags: &Flags) -> String {
    let is_num = |c: char| c.is_ascii_digit() || c == '.' || c == '-';
    if flags.masked {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let starts_number =
                c.is_ascii_digit() || (c == '-' && chars.peek().is_some_and(char::is_ascii_digit));
            if starts_number {
                while chars.peek().is_some_and(|&n| is_num(n)) {
                    chars.next();
                }
                out.push('#');
            } else {
                out.push(c);
            }
        }
        return out;
    }
    let mut out = text.to_string();
    for name in &flags.mask_fields {
        for sep in ['=', ':'] {
            let needle = format!("{name}{sep}");
            let mut from = 0;
            while let Some(at) = out[from..].find(&needle) {
                let mut start = from + at + needle.len();
                start += out[start..].len() - out[start..].trim_start_matches(' ').len();
                let len = out[start..]
                    .find(|c: char| !is_num(c))
                    .unwrap_or(out.len() - start);
                if len > 0 {
                    out.replace_range(start..start + len, "#");
                }
                from = start;
            }
        }
    }
    out
}

// ============================================================================
// Running a walkthrough
// ============================================================================

/// How to run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Wait for Enter after each paragraph of narration.
    pub pause: bool,
    /// Apply the masks (see the module essay): what the tests and the book use.
    pub stable: bool,
    /// Record a failing step and go on, instead of stopping at the first.
    pub keep_going: bool,
}

/// A step that did not do what the walkthrough said it would.
#[derive(Debug, Clone)]
pub struct StepFailure {
    /// 1-based index among the `>`/`?` steps.
    pub step: usize,
    /// Line in the walkthrough file.
    pub line: usize,
    pub command: String,
    pub message: String,
    /// The error reply, when the failure is one.
    pub error_reply: Option<String>,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.step == 0 {
            return write!(f, "{}", self.message);
        }
        write!(
            f,
            "step {} (line {}) `{}` failed: {}",
            self.step, self.line, self.command, self.message
        )
    }
}

/// The result of a run: what was printed, and what went wrong.
#[derive(Debug, Default)]
pub struct Outcome {
    pub transcript: String,
    pub failures: Vec<StepFailure>,
}

/// Runs a walkthrough against the server at `addr` (`host:port`) in stable
/// mode without pausing, collecting every failure; returns the transcript.
/// This is what the tests (and so the book) use.
pub fn transcript(addr: &str, walkthrough: &Walkthrough) -> Outcome {
    let options = RunOptions {
        pause: false,
        stable: true,
        keep_going: true,
    };
    let mut sink = io::sink();
    run(addr, walkthrough, options, &mut sink, &mut io::empty())
}

/// Runs a walkthrough, writing the transcript to `out` as it goes (and
/// returning it whole), reading Enter presses from `input` when pausing.
pub fn run(
    addr: &str,
    walkthrough: &Walkthrough,
    options: RunOptions,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Outcome {
    let mut outcome = Outcome::default();
    let emit = |outcome: &mut Outcome, out: &mut dyn Write, text: &str| {
        outcome.transcript.push_str(text);
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    };
    let mut client = match Client::connect(addr) {
        Ok(c) => c,
        Err(e) => {
            outcome.failures.push(StepFailure {
                step: 0,
                line: 0,
                command: "(connect)".into(),
                message: format!("cannot connect to {addr}: {e}"),
                error_reply: None,
            });
            return outcome;
        }
    };
    let mut step_no = 0;
    let steps = &walkthrough.steps;
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Heading(h) => emit(&mut outcome, out, &format!("{h}\n\n")),
            Step::Narration(text) => {
                emit(&mut outcome, out, &format!("{text}\n\n"));
                let commands_follow = matches!(steps.get(i + 1), Some(Step::Command(_)));
                if options.pause && commands_follow {
                    let _ = out.write_all(b"    [Enter] ");
                    let _ = out.flush();
                    let mut line = String::new();
                    let _ = input.read_line(&mut line);
                }
            }
            Step::Wait(d) => {
                std::thread::sleep(*d);
                emit(
                    &mut outcome,
                    out,
                    &format!("(waiting {} ms)\n", d.as_millis()),
                );
                if !matches!(steps.get(i + 1), Some(Step::Command(_) | Step::Wait(_))) {
                    emit(&mut outcome, out, "\n");
                }
            }
            Step::Command(cmd) => {
                step_no += 1;
                let (text, failure) = run_step(&mut client, cmd, step_no, options);
                emit(&mut outcome, out, &text);
                // A blank line closes a block of commands.
                if !matches!(steps.get(i + 1), Some(Step::Command(_) | Step::Wait(_))) {
                    emit(&mut outcome, out, "\n");
                }
                if let Some(failure) = failure {
                    // Only a broken connection stops a keep-going run.
                    let fatal =
                        !options.keep_going || failure.message.starts_with("connection error");
                    emit(&mut outcome, out, &format!("!! {failure}\n"));
                    outcome.failures.push(failure);
                    if fatal {
                        break;
                    }
                }
            }
        }
    }
    outcome
}

/// Runs one `>` or `?` step; returns what to print and, if the step failed,
/// why.
fn run_step(
    client: &mut Client,
    cmd: &CommandStep,
    step: usize,
    options: RunOptions,
) -> (String, Option<StepFailure>) {
    let mut text = String::new();
    let fail = |message: String, error_reply: Option<String>| StepFailure {
        step,
        line: cmd.line,
        command: cmd.text.clone(),
        message,
        error_reply,
    };
    let echo = match cmd.kind {
        Kind::Send => "redis> ",
        Kind::Show => "state> ",
    };
    let _ = writeln!(text, "{echo}{}", cmd.text);

    let reply = if cmd.flags.iterate {
        iterate(client, cmd, options, &mut text)
    } else if cmd.flags.until.is_some() || cmd.flags.while_contains.is_some() {
        poll_until(client, cmd, options)
    } else {
        client.call(&cmd.args)
    };
    let reply = match reply {
        Ok(r) => r,
        Err(e) => return (text, Some(fail(format!("connection error: {e}"), None))),
    };
    let reply = stabilise(reply, &cmd.flags, options.stable);

    let start = text.len();
    match cmd.kind {
        Kind::Send if redis_cli_prints_raw(&cmd.args) && !matches!(reply, Value::Error(_)) => {
            let body = format_raw(&reply);
            text.push_str(&body);
            if !body.ends_with('\n') {
                text.push('\n');
            }
        }
        Kind::Send => text.push_str(&format_tty(&reply)),
        Kind::Show => {
            let body = match &reply {
                Value::Error(_) => format_tty(&reply),
                Value::Nil => "(nil)".to_string(),
                _ => format_raw(&reply),
            };
            let mut lines: Vec<&str> = body.trim_end_matches('\n').lines().collect();
            if cmd.flags.sorted {
                // A report whose line order comes from a hash table.
                lines.sort_unstable();
            }
            for line in lines {
                let _ = writeln!(text, "| {line}");
            }
        }
    }
    if options.stable && !cmd.flags.only.is_empty() {
        let kept: String = text[start..]
            .lines()
            .filter(|line| cmd.flags.only.iter().any(|alt| line.contains(alt.as_str())))
            .flat_map(|line| [line, "\n"])
            .collect();
        text.truncate(start);
        text.push_str(&kept);
    }

    let failure = match (&reply, cmd.flags.expect_error) {
        (Value::Error(e), false) => {
            let e = String::from_utf8_lossy(e).into_owned();
            Some(fail(format!("unexpected error reply: {e}"), Some(e)))
        }
        (Value::Error(_), true) => None,
        (_, true) => Some(fail("expected an error reply".into(), None)),
        (_, false) => match (&cmd.flags.until, &cmd.flags.while_contains) {
            (Some(until), _) if format_tty(&reply).trim_end() != until => Some(fail(
                format!("the reply never became `{until}` (waited 5 s)"),
                None,
            )),
            (_, Some(text)) if format_raw(&reply).contains(text.as_str()) => Some(fail(
                format!("the reply still contained `{text}` after 5 s"),
                None,
            )),
            _ => None,
        },
    };
    (text, failure)
}

/// `[until=TEXT]` and `[while=TEXT]`: poll every 10 ms for up to 5 s.
/// A fixed wait (`~ 300ms`) would do for a student at a prompt, but not for
/// a transcript replayed on a loaded CI machine, where a forked child may
/// take longer than any wait we pick.
fn poll_until(client: &mut Client, cmd: &CommandStep, options: RunOptions) -> io::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reply = client.call(&cmd.args)?;
        let shown = stabilise(reply.clone(), &cmd.flags, options.stable);
        let settled = match (&cmd.flags.until, &cmd.flags.while_contains) {
            (Some(until), _) => format_tty(&shown).trim_end() == until,
            (None, Some(text)) => !format_raw(&reply).contains(text.as_str()),
            (None, None) => true,
        };
        if settled || matches!(reply, Value::Error(_)) || Instant::now() >= deadline {
            return Ok(reply);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `[iterate]`: call a SCAN-family command with cursor 0, then with each
/// cursor it returns, until it returns 0. A live run prints every call; the
/// result is one `[cursor, elements]` reply holding every element seen
/// (deduplicated: a full iteration may return an element twice if the table
/// was resized in between), which `sorted` then puts in order.
fn iterate(
    client: &mut Client,
    cmd: &CommandStep,
    options: RunOptions,
    text: &mut String,
) -> io::Result<Value> {
    let cursor_at = cmd
        .args
        .iter()
        .position(|a| a == b"0")
        .expect("checked by parse");
    let mut args = cmd.args.clone();
    let mut seen: Vec<Value> = Vec::new();
    let mut calls = 0;
    loop {
        let reply = client.call(&args)?;
        calls += 1;
        let Value::Array(mut parts) = reply else {
            return Ok(reply);
        };
        if parts.len() != 2 {
            return Ok(Value::Array(parts));
        }
        let elements = parts.pop().expect("two parts");
        let cursor = parts.pop().expect("two parts");
        if !options.stable {
            let shown = Value::Array(vec![cursor.clone(), elements.clone()]);
            let _ = write!(
                text,
                "  (call {calls}, cursor {})\n{}",
                String::from_utf8_lossy(&args[cursor_at]),
                format_tty(&shown)
            );
        }
        if let Value::Array(items) = elements {
            for item in items {
                if !seen.contains(&item) {
                    seen.push(item);
                }
            }
        }
        match cursor {
            Value::Bulk(c) if c != b"0" && calls < 100_000 => args[cursor_at] = c,
            _ => break,
        }
    }
    let _ = writeln!(
        text,
        "(every element of a full iteration, until the cursor came back to 0)"
    );
    Ok(Value::Array(vec![
        Value::Bulk(b"0".to_vec()),
        Value::Array(seen),
    ]))
}

// ============================================================================
// The `walk` subcommand
// ============================================================================

const USAGE: &str =
    "usage: redis-anatomy walk <chapter-or-path> [--connect host:port] [--no-pause] [--stable]";

/// `redis-anatomy walk <chapter-or-path> [--connect host:port] [--no-pause]
/// [--stable]`; returns the process exit code.
pub fn main(args: &[String]) -> i32 {
    let mut target = None;
    let mut addr = "127.0.0.1:6379".to_string();
    let mut options = RunOptions {
        pause: true,
        stable: false,
        keep_going: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--connect" => match it.next() {
                Some(a) => addr = a.clone(),
                None => {
                    eprintln!("{USAGE}");
                    return 2;
                }
            },
            "--no-pause" => options.pause = false,
            "--stable" => options.stable = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return 0;
            }
            _ if target.is_none() && !arg.starts_with("--") => target = Some(arg.clone()),
            _ => {
                eprintln!("{USAGE}");
                return 2;
            }
        }
    }
    let Some(target) = target else {
        eprintln!("{USAGE}");
        return 2;
    };
    let path = resolve(&target);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("walk: cannot read {}: {e}", path.display());
            return 1;
        }
    };
    let walkthrough = match parse(&text) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("walk: {}: {e}", path.display());
            return 1;
        }
    };
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut stdout = io::stdout();
    let outcome = run(&addr, &walkthrough, options, &mut stdout, &mut input);
    match outcome.failures.first() {
        None => 0,
        Some(failure) => {
            eprintln!("walk: {}: {failure}", path.display());
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn nested_arrays_indent_like_redis_cli() {
        let v = Value::Array(vec![bulk("0"), Value::Array(vec![bulk("a"), bulk("b\n")])]);
        assert_eq!(format_tty(&v), "1) \"0\"\n2) 1) \"a\"\n   2) \"b\\n\"\n");
    }

    #[test]
    fn maps_print_key_arrow_value_and_break_before_multiline_values() {
        let v = Value::Map(vec![
            (bulk("server"), bulk("redis")),
            (bulk("modules"), Value::Array(vec![])),
            (
                bulk("l"),
                Value::Array(vec![Value::Int("1".into()), Value::Int("2".into())]),
            ),
        ]);
        assert_eq!(
            format_tty(&v),
            "1# \"server\" => \"redis\"\n2# \"modules\" => (empty array)\n3# \"l\" => \n   1) (integer) 1\n   2) (integer) 2\n"
        );
    }

    #[test]
    fn parse_reads_markers_flags_and_paragraphs() {
        let w = parse(
            "# T\n\nsome\ntext\n\n> [error, masked] INCR \"a b\"\n? DEBUG HTSTATS 0\n~ 20ms\n",
        )
        .unwrap();
        assert!(matches!(&w.steps[0], Step::Heading(h) if h == "# T"));
        assert!(matches!(&w.steps[1], Step::Narration(t) if t == "some\ntext"));
        let Step::Command(c) = &w.steps[2] else {
            panic!()
        };
        assert!(c.flags.expect_error && c.flags.masked);
        assert_eq!(c.args, vec![b"INCR".to_vec(), b"a b".to_vec()]);
        assert!(matches!(&w.steps[3], Step::Command(c) if c.kind == Kind::Show));
        assert!(matches!(&w.steps[4], Step::Wait(d) if d.as_millis() == 20));
        assert!(parse("> [bogus] PING").is_err());
    }

    #[test]
    fn masks_hide_only_what_varies() {
        let all = Flags {
            masked: true,
            ..Flags::default()
        };
        assert_eq!(mask_text("ttl 9981 and -1.5", &all), "ttl # and #");
        let field = Flags {
            mask_fields: vec!["avg_ttl".into()],
            ..Flags::default()
        };
        assert_eq!(
            mask_text("db0:keys=3,expires=2,avg_ttl=9941", &field),
            "db0:keys=3,expires=2,avg_ttl=#"
        );
    }
}
