//! # RESP: the wire protocol
//!
//! Every byte between a client and Redis is RESP, the REdis Serialization
//! Protocol. It was designed to be trivial to parse and cheap to generate:
//! a one-byte type, a length or a value in ASCII, and `\r\n`.
//!
//! A request is an array of bulk strings:
//!
//! ```text
//! *3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n
//! ```
//!
//! or, for a human at a telnet prompt, an *inline* command: one line of
//! space-separated words, with the same quoting rules as `redis-cli`
//! (`SET key "hello world"\r\n`).
//!
//! Replies come in RESP2's five types (`+simple`, `-error`, `:integer`,
//! `$bulk`, `*array`) or, after `HELLO 3`, in RESP3's richer set (`_` null,
//! `,` double, `#` boolean, `%` map, `~` set, `>` push, `=` verbatim). The
//! [`Reply`] buffer below writes both: a command says "a map of two pairs"
//! and the buffer writes `%2` for RESP3 or `*4` for RESP2.
//!
//! ## The invariant
//!
//! Memory follows the bytes a client has sent, never the lengths it has
//! only *declared*: a `$<len>` within `proto-max-bulk-len` (512 MB) makes
//! the connection's buffer grow as the bulk arrives, at most doubling, and
//! a multibulk count up to `i32::MAX` reserves at most 1024 argument slots.
//! A parse either completes a frame, asks for more bytes, or fails with the
//! exact error text Redis sends, quoting the client's bytes verbatim; it
//! never panics on any input (`tests/fuzz.rs` checks both against a real
//! Redis). The frame is not copied: a command sees its arguments as slices of
//! the query buffer ([`Args`]).
//!
//! ## The Redis C counterpart
//!
//! `src/networking.c`: `processInputBuffer`, `processMultibulkBuffer`,
//! `processInlineBuffer`, and the `addReply*` family (`addReplyBulk`,
//! `addReplyArrayLen`, `addReplyMapLen`, `setDeferredArrayLen`,
//! `addReplyDouble`, `addReplyNull`).
//!
//! ## What we simplified
//!
//! Redis keeps a partially parsed frame across reads in the client
//! (`multibulklen`, `bulklen`); so do we ([`RequestParser`]), which keeps
//! parsing linear even when a million-argument `MSET` arrives 16 KB at a
//! time. Redis additionally moves a large bulk (≥ 32 KB) into its own sds
//! to avoid a copy, and reserves its whole declared length up front; we let
//! the query buffer grow to hold it, doubling as bytes arrive, so a client
//! that declares 512 MB and sends nothing costs nothing (in Redis 7.0 it
//! costs 640 MB of `used_memory`). A value that does arrive is copied under
//! twice its size in total while the buffer doubles.

use std::ops::Index;

/// Lines longer than this without a `\r\n` are refused: Redis's
/// `PROTO_INLINE_MAX_SIZE` (64 KB). It bounds inline commands and the
/// `*<count>` and `$<len>` header lines of multibulk requests.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;

/// What a parse step found.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command: its arguments are in [`RequestParser::spans`] and it
    /// used the first `consumed` bytes of the buffer.
    Command { consumed: usize },
    /// An inline command (`set k "a b"`): its words had to be unquoted and
    /// unescaped, so they are copied. Inline commands come from humans at a
    /// prompt, never from a client library, so the copy costs nothing that
    /// matters.
    Inline { consumed: usize, args: OwnedArgs },
    /// Bytes that carry no command (`*0\r\n`, `*-1\r\n`, an empty inline
    /// line): drop them and go on.
    Skip { consumed: usize },
    /// Not enough bytes yet.
    Incomplete,
    /// A protocol error. Redis replies with this text (prefixed `-ERR `)
    /// and then closes the connection. Bytes, not a `String`: the text may
    /// quote a byte the client sent (`expected '$', got '\x80'`), verbatim.
    Error(Vec<u8>),
}

/// Arguments of one command: slices of a buffer, without copies.
///
/// The spans index into `buf`; `args[0]` is the command name.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    buf: &'a [u8],
    spans: &'a [(u32, u32)],
}

impl<'a> Args<'a> {
    pub fn new(buf: &'a [u8], spans: &'a [(u32, u32)]) -> Args<'a> {
        Args { buf, spans }
    }
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
    /// The argument at `i`, with the lifetime of the buffer.
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (start, end) = self.spans[i];
        &self.buf[start as usize..end as usize]
    }
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
    /// An owned copy, for a command that must outlive the query buffer
    /// (queued in MULTI, parked by a blocking command).
    pub fn to_owned(&self) -> OwnedArgs {
        let mut owned = OwnedArgs::default();
        for a in self.iter() {
            owned.push(a);
        }
        owned
    }
}

impl Index<usize> for Args<'_> {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.get(i)
    }
}

/// Arguments that own their bytes: one buffer, one span list, so a queued
/// command costs two allocations however many arguments it has.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct OwnedArgs {
    buf: Vec<u8>,
    spans: Vec<(u32, u32)>,
}

impl OwnedArgs {
    pub fn from_slices<T: AsRef<[u8]>>(parts: &[T]) -> OwnedArgs {
        let mut owned = OwnedArgs::default();
        for p in parts {
            owned.push(p.as_ref());
        }
        owned
    }
    pub fn push(&mut self, arg: &[u8]) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(arg);
        self.spans.push((start, self.buf.len() as u32));
    }
    pub fn args(&self) -> Args<'_> {
        Args::new(&self.buf, &self.spans)
    }
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// The limits the parser enforces, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`: the largest `$<len>` accepted.
    pub max_bulk_len: u64,
    /// Before a client has authenticated (when a password is set), Redis
    /// accepts at most 10 arguments of at most 16384 bytes each, so an
    /// unauthenticated stranger cannot make it allocate much.
    pub unauthenticated: bool,
}

/// The request parser's state for one connection.
///
/// ## A frame in pieces
///
/// ```text
/// *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel|      <- read 1 ends here
///                                      lo\r\n   <- read 2
/// ```
///
/// After read 1 the parser has `expected_args = 3`, two spans, and
/// `cursor` pointing at `$5`; read 2 resumes there instead of re-reading
/// the header. `spans` are offsets from the start of the frame, which is
/// always at the start of the buffer (the caller drops consumed bytes).
#[derive(Default, Debug)]
pub struct RequestParser {
    /// Arguments still to come in the multibulk being parsed; 0 when no
    /// multibulk is in progress.
    expected_args: usize,
    /// The declared length of the bulk being waited for, once its `$<len>`
    /// header has been read.
    pending_bulk_len: Option<usize>,
    /// Where parsing resumes, as an offset from the frame's start.
    cursor: usize,
    /// `(start, end)` of each argument parsed so far.
    pub spans: Vec<(u32, u32)>,
}

/// Find `\r` from `from`; Redis looks for `\r` (not `\r\n`) and then checks
/// that the `\n` has arrived.
fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    find_line_end(&buf[from..], b'\r').map(|p| p + from)
}

/// Where a header or inline line ends, as Redis finds it: with C's
/// `strchr`, which stops at the first NUL byte. So `PING\0\r\n` has no end
/// yet: Redis waits for more (and, past 64 KB, refuses the line as too
/// big) instead of running `PING`. We do the same, so the same bytes get
/// the same replies.
fn find_line_end(buf: &[u8], end: u8) -> Option<usize> {
    match buf.iter().position(|&b| b == end || b == 0) {
        Some(p) if buf[p] == end => Some(p),
        _ => None,
    }
}

/// Parse a signed decimal as Redis's `string2ll`: no spaces, no `+`, no
/// leading zeros (except `0` itself), fits in an i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

impl RequestParser {
    /// The number of bytes the buffer must reach for the pending bulk to be
    /// complete, so the caller can reserve room for a large argument and
    /// read it in one pass.
    pub fn bytes_wanted(&self) -> Option<usize> {
        self.pending_bulk_len.map(|len| self.cursor + len + 2)
    }

    /// Forget any partial frame (after a protocol error or a reset).
    pub fn reset(&mut self) {
        self.expected_args = 0;
        self.pending_bulk_len = None;
        self.cursor = 0;
        self.spans.clear();
    }

    /// Parse one request from the start of `buf`.
    pub fn parse(&mut self, buf: &[u8], limits: ParseLimits) -> Parsed {
        if self.expected_args == 0 {
            if buf.is_empty() {
                return Parsed::Incomplete;
            }
            if buf[0] != b'*' {
                return self.parse_inline(buf);
            }
        }
        self.parse_multibulk(buf, limits)
    }

    // ANCHOR: parse_inline
    /// `PING\r\n`, `set k "a b"\n`: one line, split like a shell would.
    fn parse_inline(&mut self, buf: &[u8]) -> Parsed {
        let Some(newline) = find_line_end(buf, b'\n') else {
            if buf.len() > PROTO_INLINE_MAX_SIZE {
                return Parsed::Error("Protocol error: too big inline request".into());
            }
            return Parsed::Incomplete;
        };
        let mut line = &buf[..newline];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let consumed = newline + 1;
        let Some(words) = split_args(line) else {
            return Parsed::Error("Protocol error: unbalanced quotes in request".into());
        };
        if words.is_empty() {
            return Parsed::Skip { consumed };
        }
        Parsed::Inline {
            consumed,
            args: OwnedArgs::from_slices(&words),
        }
    }
    // ANCHOR_END: parse_inline

    // ANCHOR: parse_multibulk
    fn parse_multibulk(&mut self, buf: &[u8], limits: ParseLimits) -> Parsed {
        if self.expected_args == 0 {
            // The `*<count>\r\n` header.
            let Some(cr) = find_cr(buf, 0) else {
                if buf.len() > PROTO_INLINE_MAX_SIZE {
                    return Parsed::Error("Protocol error: too big mbulk count string".into());
                }
                return Parsed::Incomplete;
            };
            if cr + 1 >= buf.len() {
                return Parsed::Incomplete; // the '\n' has not arrived
            }
            let count = match parse_i64(&buf[1..cr]) {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Parsed::Error("Protocol error: invalid multibulk length".into()),
            };
            if count > 10 && limits.unauthenticated {
                return Parsed::Error("Protocol error: unauthenticated multibulk length".into());
            }
            if count <= 0 {
                return Parsed::Skip { consumed: cr + 2 };
            }
            self.expected_args = count as usize;
            self.cursor = cr + 2;
            self.spans.clear();
            // Reserve what was declared, but not more than 1024 slots: a
            // client that declares two billion arguments and sends none
            // must not make us allocate for them.
            self.spans.reserve(self.expected_args.min(1024));
        }
        while self.expected_args > 0 {
            let len = match self.pending_bulk_len {
                Some(len) => len,
                None => {
                    let Some(cr) = find_cr(buf, self.cursor) else {
                        if buf.len() - self.cursor > PROTO_INLINE_MAX_SIZE {
                            return Parsed::Error(
                                "Protocol error: too big bulk count string".into(),
                            );
                        }
                        return Parsed::Incomplete;
                    };
                    if cr + 1 >= buf.len() {
                        return Parsed::Incomplete;
                    }
                    if buf[self.cursor] != b'$' {
                        let mut msg = b"Protocol error: expected '$', got '".to_vec();
                        msg.extend_from_slice(&[buf[self.cursor], b'\'']);
                        return Parsed::Error(msg);
                    }
                    let len = match parse_i64(&buf[self.cursor + 1..cr]) {
                        Some(n) if n >= 0 && (n as u64) <= limits.max_bulk_len => n as usize,
                        _ => return Parsed::Error("Protocol error: invalid bulk length".into()),
                    };
                    if len > 16384 && limits.unauthenticated {
                        return Parsed::Error("Protocol error: unauthenticated bulk length".into());
                    }
                    self.cursor = cr + 2;
                    self.pending_bulk_len = Some(len);
                    len
                }
            };
            // The bulk and its trailing \r\n.
            if buf.len() < self.cursor + len + 2 {
                return Parsed::Incomplete;
            }
            let start = self.cursor;
            self.spans.push((start as u32, (start + len) as u32));
            // Redis does not check that the two bytes are really "\r\n";
            // it skips them. So do we, for the same tolerance.
            self.cursor = start + len + 2;
            self.pending_bulk_len = None;
            self.expected_args -= 1;
        }
        let consumed = self.cursor;
        self.cursor = 0;
        Parsed::Command { consumed }
    }
    // ANCHOR_END: parse_multibulk
}

/// Split an inline command into words with `redis-cli`'s quoting rules:
/// Redis's `sdssplitargs`, which also reads config files, so it lives with
/// the configuration (`server::config::split_args`).
pub use crate::server::config::split_args;

/// Which protocol a client speaks. `HELLO 3` switches to RESP3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Resp2,
    Resp3,
}

// ANCHOR: reply_buffer
/// A client's output buffer and the `addReply*` family that writes into it.
///
/// Commands never build reply objects: they append RESP bytes here, and the
/// connection writes the whole buffer with one `write` after it has run
/// every command it read. That batching is why pipelining is fast: a
/// pipeline of 16 GETs costs one `read` and one `write`, not sixteen.
#[derive(Debug, Default)]
pub struct Reply {
    pub buf: Vec<u8>,
    pub protocol: Protocol,
    /// Replies written as errors since the counter was last taken (INFO's
    /// `total_error_replies` and `errorstats`).
    pub errors: Vec<String>,
}
// ANCHOR_END: reply_buffer

/// Where a deferred length header goes; see [`Reply::defer_len`].
#[derive(Clone, Copy, Debug)]
pub struct Deferred(usize);

/// The kind of aggregate a deferred length is for.
#[derive(Clone, Copy, Debug)]
pub enum Aggregate {
    Array,
    Map,
    Set,
}

impl Reply {
    pub fn new() -> Reply {
        Reply::default()
    }

    pub fn is_resp3(&self) -> bool {
        self.protocol == Protocol::Resp3
    }

    fn push_len(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        let mut tmp = itoa_buf();
        self.buf.extend_from_slice(fmt_i64(&mut tmp, n));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A status reply, `+<s>\r\n`.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply. `msg` is the full text after the `-`, e.g.
    /// `ERR syntax error` or `WRONGTYPE Operation ...`. Like Redis's
    /// `addReplyErrorLength`, newlines are replaced by spaces so that a
    /// message cannot break the protocol.
    pub fn error(&mut self, msg: &str) {
        self.error_bytes(msg.as_bytes());
    }

    /// [`error`](Self::error) for a message that quotes the client's own
    /// bytes (`unknown command '\x80'`): Redis echoes them as they came,
    /// not as valid UTF-8, so the message is bytes too.
    pub fn error_bytes(&mut self, msg: &[u8]) {
        self.buf.push(b'-');
        let start = self.buf.len();
        self.buf.extend_from_slice(msg);
        for b in &mut self.buf[start..] {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        self.buf.extend_from_slice(b"\r\n");
        let code = msg.split(|&b| b == b' ').next().unwrap_or(b"ERR");
        self.errors.push(String::from_utf8_lossy(code).into_owned());
    }

    /// `-ERR <msg>`
    pub fn err(&mut self, msg: &str) {
        let mut s = String::with_capacity(4 + msg.len());
        s.push_str("ERR ");
        s.push_str(msg);
        self.error(&s);
    }

    /// An integer reply, `:<n>\r\n`.
    pub fn int(&mut self, n: i64) {
        // The hot replies (0 and 1 from EXISTS, DEL, SADD...) are constant.
        match n {
            0 => self.buf.extend_from_slice(b":0\r\n"),
            1 => self.buf.extend_from_slice(b":1\r\n"),
            _ => self.push_len(b':', n),
        }
    }

    /// A bulk string, `$<len>\r\n<bytes>\r\n`.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.push_len(b'$', bytes.len() as i64);
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer written as a bulk string (GET of an `int`-encoded value).
    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = itoa_buf();
        let s = fmt_i64(&mut tmp, n);
        self.push_len(b'$', s.len() as i64);
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// The null bulk: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.is_resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3 (EXEC after a WATCH
    /// failed, BLPOP timing out).
    pub fn null_array(&mut self) {
        if self.is_resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.push_len(b'*', n as i64);
    }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of `2n` in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.is_resp3() {
            self.push_len(b'%', n as i64);
        } else {
            self.push_len(b'*', 2 * n as i64);
        }
    }

    /// A set: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        self.push_len(if self.is_resp3() { b'~' } else { b'*' }, n as i64);
    }

    /// A push frame: `>n` in RESP3, an array in RESP2 (pub/sub messages).
    pub fn push(&mut self, n: usize) {
        self.push_len(if self.is_resp3() { b'>' } else { b'*' }, n as i64);
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.is_resp3() {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A double: `,<d>` in RESP3; in RESP2 a bulk string formatted as
    /// Redis 7.0's `%.17g`.
    pub fn double(&mut self, d: f64) {
        if self.is_resp3() {
            self.buf.push(b',');
            let s = if d.is_infinite() {
                if d > 0.0 {
                    "inf".to_string()
                } else {
                    "-inf".to_string()
                }
            } else {
                fmt_g17(d)
            };
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(fmt_g17(d).as_bytes());
        }
    }

    /// Verbatim text (`=len\r\ntxt:...` in RESP3; a bulk in RESP2), as
    /// Redis uses for INFO, CLIENT LIST and friends.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.is_resp3() {
            self.push_len(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Reserve the place of an aggregate header whose length is not known
    /// yet (Redis's `addReplyDeferredLen`). Fill it with [`Reply::set_len`].
    pub fn defer_len(&mut self) -> Deferred {
        Deferred(self.buf.len())
    }

    /// Write the header reserved by [`Reply::defer_len`]. The bytes after
    /// it are shifted once; Redis avoids that with a linked list of reply
    /// blocks, at the price of a more complex buffer.
    pub fn set_len(&mut self, at: Deferred, kind: Aggregate, n: usize) {
        let (prefix, count) = match (kind, self.is_resp3()) {
            (Aggregate::Array, _) => (b'*', n),
            (Aggregate::Map, true) => (b'%', n),
            (Aggregate::Map, false) => (b'*', 2 * n),
            (Aggregate::Set, true) => (b'~', n),
            (Aggregate::Set, false) => (b'*', n),
        };
        let mut header = Vec::with_capacity(16);
        header.push(prefix);
        header.extend_from_slice(count.to_string().as_bytes());
        header.extend_from_slice(b"\r\n");
        self.buf.splice(at.0..at.0, header);
    }

    /// Bytes already formatted as RESP (shared constant replies).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

/// Format an i64 into a stack buffer without allocating.
pub fn fmt_i64(buf: &mut [u8; 20], n: i64) -> &[u8] {
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// C's `printf("%.17g", d)`, which Redis 7.0 uses to send doubles in RESP2
/// (`ZSCORE` of 1.1 is `"1.1000000000000001"`). Rust has no `%g`, so:
/// format with 17 significant digits in scientific notation, then choose
/// fixed or scientific by the exponent exactly as `%g` does (scientific when
/// the exponent is below -4 or at least the precision), and strip trailing
/// zeros.
pub fn fmt_g17(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{:.16e}", d); // e.g. "1.1000000000000001e0"
    let (mantissa, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    if !(-4..17).contains(&exp) {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", m, sign, exp.abs())
    } else {
        let decimals = (16 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ParseLimits = ParseLimits {
        max_bulk_len: 512 * 1024 * 1024,
        unauthenticated: false,
    };

    fn parse_all(input: &[u8]) -> Vec<Result<Vec<Vec<u8>>, String>> {
        let mut p = RequestParser::default();
        let mut out = Vec::new();
        let mut buf = input.to_vec();
        loop {
            match p.parse(&buf, LIMITS) {
                Parsed::Command { consumed } => {
                    let words = Args::new(&buf, &p.spans)
                        .iter()
                        .map(|a| a.to_vec())
                        .collect();
                    out.push(Ok(words));
                    buf.drain(..consumed);
                }
                Parsed::Inline { consumed, args } => {
                    out.push(Ok(args.args().iter().map(|a| a.to_vec()).collect()));
                    buf.drain(..consumed);
                }
                Parsed::Skip { consumed } => {
                    buf.drain(..consumed);
                }
                Parsed::Incomplete => return out,
                Parsed::Error(e) => {
                    out.push(Err(String::from_utf8_lossy(&e).into_owned()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn multibulk_and_inline() {
        let got = parse_all(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\nset k \"a b\"\n");
        assert_eq!(
            got,
            vec![
                Ok(vec![b"ECHO".to_vec(), b"hi".to_vec()]),
                Ok(vec![b"PING".to_vec()]),
                Ok(vec![b"set".to_vec(), b"k".to_vec(), b"a b".to_vec()]),
            ]
        );
    }

    #[test]
    fn frames_split_at_every_byte_parse_the_same() {
        let frame = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n";
        for cut in 0..frame.len() {
            let mut p = RequestParser::default();
            assert_eq!(
                p.parse(&frame[..cut], LIMITS),
                Parsed::Incomplete,
                "cut {cut}"
            );
            assert_eq!(
                p.parse(frame, LIMITS),
                Parsed::Command {
                    consumed: frame.len()
                }
            );
            let args = Args::new(frame, &p.spans);
            assert_eq!(&args[2], b"hello");
        }
    }

    #[test]
    fn protocol_errors_have_redis_wording() {
        let cases: &[(&[u8], &str)] = &[
            (b"*abc\r\n", "Protocol error: invalid multibulk length"),
            (
                b"*3000000000\r\n",
                "Protocol error: invalid multibulk length",
            ),
            (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
            (
                b"*1\r\n$600000000\r\n",
                "Protocol error: invalid bulk length",
            ),
            (b"*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"),
            (
                b"set k \"abc\n",
                "Protocol error: unbalanced quotes in request",
            ),
        ];
        for (input, want) in cases {
            let got = parse_all(input);
            assert_eq!(got.last(), Some(&Err(want.to_string())), "{input:?}");
        }
    }

    #[test]
    fn empty_multibulk_and_blank_lines_are_skipped() {
        let got = parse_all(b"*0\r\n*-1\r\n\r\n   \r\nPING\r\n");
        assert_eq!(got, vec![Ok(vec![b"PING".to_vec()])]);
    }

    #[test]
    fn a_nul_before_the_line_end_leaves_the_line_incomplete_as_strchr_does() {
        assert_eq!(parse_all(b"PING\0\r\nPING\r\n"), vec![]);
        assert_eq!(parse_all(b"*1\0\r\n$4\r\nPING\r\n"), vec![]);
        assert_eq!(parse_all(b"*1\r\n$4\0\r\nPING\r\n"), vec![]);
        // Inside a bulk a NUL is just a byte.
        assert_eq!(
            parse_all(b"*1\r\n$2\r\n\0\0\r\n"),
            vec![Ok(vec![b"\0\0".to_vec()])]
        );
    }

    #[test]
    fn split_args_follows_sdssplitargs() {
        assert_eq!(
            split_args(br#"set "\x41\n" 'it\'s' plain"#).unwrap(),
            vec![
                b"set".to_vec(),
                b"A\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert!(split_args(br#""abc"def"#).is_none());
        assert!(split_args(br#"'abc"#).is_none());
        assert_eq!(split_args(b"   ").unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn parse_i64_is_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [&b""[..], b"-", b"01", b"-0", b"+1", b" 1", b"1 ", b"1a"] {
            assert_eq!(parse_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn g17_matches_printf() {
        assert_eq!(fmt_g17(1.1), "1.1000000000000001");
        assert_eq!(fmt_g17(1.0), "1");
        assert_eq!(fmt_g17(0.5), "0.5");
        assert_eq!(fmt_g17(1e17), "1e+17");
        assert_eq!(fmt_g17(1.5e-5), "1.5e-05");
        assert_eq!(fmt_g17(0.1), "0.10000000000000001");
        assert_eq!(fmt_g17(123456.0), "123456");
        assert_eq!(fmt_g17(-3.25), "-3.25");
    }

    #[test]
    fn reply_encodings_resp2_and_resp3() {
        let mut r2 = Reply::new();
        let mut r3 = Reply {
            protocol: Protocol::Resp3,
            ..Reply::default()
        };
        for r in [&mut r2, &mut r3] {
            r.map(1);
            r.bulk(b"k");
            r.double(1.5);
            r.null();
            r.boolean(true);
            let at = r.defer_len();
            r.int(7);
            r.set_len(at, Aggregate::Set, 1);
        }
        insta::assert_snapshot!(
            "resp2_encodings",
            String::from_utf8_lossy(&r2.buf).replace("\r\n", "\\r\\n\n")
        );
        insta::assert_snapshot!(
            "resp3_encodings",
            String::from_utf8_lossy(&r3.buf).replace("\r\n", "\\r\\n\n")
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn encode(args: &[Vec<u8>]) -> Vec<u8> {
            let mut out = format!("*{}\r\n", args.len()).into_bytes();
            for a in args {
                out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                out.extend_from_slice(a);
                out.extend_from_slice(b"\r\n");
            }
            out
        }

        proptest! {
            /// Any pipeline of commands, delivered in any chunking, parses
            /// back to exactly the commands sent.
            #[test]
            fn pipelines_in_random_chunks_parse_back(
                commands in prop::collection::vec(
                    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6),
                    1..20,
                ),
                cuts in prop::collection::vec(1usize..64, 1..50),
            ) {
                let wire: Vec<u8> = commands.iter().flat_map(|c| encode(c)).collect();
                let mut parser = RequestParser::default();
                let mut buf = Vec::new();
                let mut got = Vec::new();
                let mut sent = 0;
                let mut cut = cuts.iter().cycle();
                while sent < wire.len() {
                    let n = (*cut.next().unwrap()).min(wire.len() - sent);
                    buf.extend_from_slice(&wire[sent..sent + n]);
                    sent += n;
                    loop {
                        match parser.parse(&buf, LIMITS) {
                            Parsed::Command { consumed } => {
                                let args = Args::new(&buf, &parser.spans);
                                got.push(args.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
                                buf.drain(..consumed);
                            }
                            Parsed::Incomplete => break,
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                }
                prop_assert!(buf.is_empty());
                prop_assert_eq!(got, commands);
            }

            /// Arbitrary bytes never panic the parser, never report more
            /// consumed than was given, and spans stay inside the buffer.
            #[test]
            fn arbitrary_bytes_never_panic(
                chunks in prop::collection::vec(
                    prop::collection::vec(
                        prop_oneof![
                            Just(b'*'), Just(b'$'), Just(b'\r'), Just(b'\n'), Just(b'-'),
                            Just(b'"'), Just(b' '), (b'0'..=b'9'), any::<u8>()
                        ],
                        0..30,
                    ),
                    1..20,
                ),
            ) {
                let mut parser = RequestParser::default();
                let mut buf = Vec::new();
                for chunk in chunks {
                    buf.extend_from_slice(&chunk);
                    loop {
                        match parser.parse(&buf, LIMITS) {
                            Parsed::Command { consumed } => {
                                prop_assert!(consumed <= buf.len());
                                for &(s, e) in &parser.spans {
                                    prop_assert!(s <= e && (e as usize) <= consumed);
                                }
                                buf.drain(..consumed);
                            }
                            Parsed::Inline { consumed, .. } | Parsed::Skip { consumed } => {
                                prop_assert!(consumed <= buf.len() && consumed > 0);
                                buf.drain(..consumed);
                            }
                            Parsed::Incomplete => break,
                            Parsed::Error(_) => {
                                parser.reset();
                                buf.clear();
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
}
