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
//! `addReplyDouble`, `addReplyNull`); the reply list of fixed blocks is
//! `_addReplyToBufferOrList`, `_addReplyProtoToList` and `clientReplyBlock`,
//! written by `_writevToClient`.
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
/// connection writes everything pending after it has run every command it
/// read. That batching is why pipelining is fast: a pipeline of 16 GETs
/// costs one `read` and one `write`, not sixteen.
///
/// ## A list of fixed blocks
///
/// The pending bytes are a queue of blocks, oldest first: the sealed
/// `blocks`, then `buf`, the block being filled. For a connection's client
/// ([`Reply::use_blocks`]) a block holds [`REPLY_BLOCK_BYTES`] (16 KiB,
/// Redis's `PROTO_REPLY_CHUNK_BYTES`): when an append does not fit, it fills
/// the rest of `buf`, seals it, and goes on in a fresh block (a recycled
/// one if the client has one spare). A 10 MB reply is then 640 blocks of
/// 16 KiB that are never copied or reallocated, not one `Vec` doubled from
/// 8 KB to 16 MB. A payload bigger than a block gets a block of its own
/// size, as Redis's `_addReplyProtoToList` does, so it is copied once.
///
/// ```text
/// blocks: [16384 ■■■■■■■■][16384 ■■■■■■■■]   buf: [■■■■□□□□ 16384]
///          ^ sent = 5000: already written          ^ appends go here
/// ```
///
/// The socket takes them with one `writev` ([`Reply::io_slices`]), and
/// [`Reply::consume`] drops what was written, giving emptied blocks back to
/// the spare list. Offsets a command keeps (the mark of a reply that
/// `CLIENT REPLY SKIP` drops, a [`Deferred`] length) count from the first
/// unsent byte, and no write happens while a command runs, so they stay
/// valid across the blocks.
///
/// Code outside this file may still append to `buf` directly (pub/sub
/// frames, the replication stream): those bytes come after everything
/// sealed, so the order holds.
#[derive(Debug)]
pub struct Reply {
    /// The block being filled: the newest pending bytes.
    pub buf: Vec<u8>,
    pub protocol: Protocol,
    /// Replies written as errors since the counter was last taken (INFO's
    /// `total_error_replies` and `errorstats`).
    pub errors: Vec<String>,
    /// Full blocks waiting to be written, oldest first (Redis's
    /// `c->reply` list of `clientReplyBlock`s).
    blocks: std::collections::VecDeque<Vec<u8>>,
    /// Bytes held by `blocks`, written or not.
    block_bytes: usize,
    /// Memory held by `blocks`, as allocated (Redis's `c->reply_bytes`
    /// sums the nodes' `size`, not their `used`).
    block_capacity: usize,
    /// How much of the first pending block (the front of `blocks`, or
    /// `buf` when there is none) is already written (Redis's `sentlen`).
    sent: usize,
    /// Emptied blocks kept for the next appends, at most [`SPARE_BLOCKS`].
    spare: Vec<Vec<u8>>,
    /// When `buf` is sealed: [`REPLY_BLOCK_BYTES`] for a connection's
    /// client, never (`usize::MAX`) for a reply built to be read whole (a
    /// pub/sub frame, a test, a replayed AOF command).
    block_size: usize,
}
// ANCHOR_END: reply_buffer

/// The size of a reply block (Redis's `PROTO_REPLY_CHUNK_BYTES`). It is a
/// jemalloc size class under the thread cache's limit (32 KiB), so a freed
/// block is handed to the next allocation of that size, warm, instead of
/// going back to the kernel as a 10 MB buffer would.
pub const REPLY_BLOCK_BYTES: usize = 16 * 1024;

/// What an allocation of `want` bytes really gets from jemalloc, its size
/// class (`nallocx`), as Redis's `zmalloc_usable` reports it: a block for
/// the 49,160 bytes left of a 64 KB value gets 57,344, so the `\r\n` after
/// the value and the next reply's header fit in the slack, as in Redis,
/// instead of opening a block of their own.
fn allocation_size(want: usize) -> usize {
    // SAFETY: nallocx only computes a size class; it allocates nothing and
    // reads no memory of ours. It returns 0 for sizes it cannot serve.
    let real = unsafe { tikv_jemalloc_sys::nallocx(want, 0) };
    real.max(want)
}

/// Emptied blocks a client keeps for reuse: 64 KiB, the most Redis writes
/// to one client per event loop turn (`NET_MAX_WRITES_PER_EVENT`). Past
/// that, blocks go back to the allocator, whose thread cache keeps them
/// warm anyway; the spares only save the trip.
pub const SPARE_BLOCKS: usize = 4;

/// The most slices one `writev` is given. Linux accepts 1024 (`IOV_MAX`);
/// 64 blocks of 16 KiB are 1 MB, more than a socket buffer takes at once.
pub const WRITE_SLICES: usize = 64;

impl Default for Reply {
    fn default() -> Reply {
        Reply {
            buf: Vec::new(),
            protocol: Protocol::default(),
            errors: Vec::new(),
            blocks: std::collections::VecDeque::new(),
            block_bytes: 0,
            block_capacity: 0,
            sent: 0,
            spare: Vec::new(),
            block_size: usize::MAX,
        }
    }
}

/// Where a deferred length header goes; see [`Reply::defer_len`]. An
/// offset from the first byte of the first pending block.
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

    /// Seal full blocks of [`REPLY_BLOCK_BYTES`] from now on: what the
    /// connection does for its client, whose reply is written, never read
    /// back whole.
    pub fn use_blocks(&mut self) {
        self.block_size = REPLY_BLOCK_BYTES;
    }

    pub fn is_resp3(&self) -> bool {
        self.protocol == Protocol::Resp3
    }

    // ANCHOR: reply_put
    /// Append bytes: into `buf` while they fit in a block, else across a
    /// block boundary. The test is one addition and one comparison; the
    /// common reply never leaves this function.
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() <= self.buf.capacity().max(self.block_size) {
            self.buf.extend_from_slice(bytes);
        } else {
            self.put_across(bytes);
        }
    }

    /// Fill `buf` to its block size, seal it, and put the rest in a fresh
    /// block at least as big as the rest (Redis's
    /// `_addReplyProtoToList`).
    #[cold]
    fn put_across(&mut self, bytes: &[u8]) {
        let room = self.buf.capacity().max(self.block_size) - self.buf.len();
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        self.buf.reserve_exact(head.len());
        self.buf.extend_from_slice(head);
        self.seal(rest.len());
        self.buf.extend_from_slice(rest);
    }

    /// Move `buf` to the sealed blocks and start a new one with room for at
    /// least `want` bytes.
    fn seal(&mut self, want: usize) {
        let fresh = match self.spare.pop() {
            Some(b) if b.capacity() >= want => b,
            _ => Vec::with_capacity(allocation_size(want.max(self.block_size))),
        };
        let full = std::mem::replace(&mut self.buf, fresh);
        self.block_bytes += full.len();
        self.block_capacity += full.capacity();
        self.blocks.push_back(full);
    }
    // ANCHOR_END: reply_put

    /// Keep an emptied block for reuse if it is a standard one and the
    /// spare list has room; otherwise free it.
    fn recycle(&mut self, mut block: Vec<u8>) {
        if self.spare.len() < SPARE_BLOCKS && block.capacity() == self.block_size {
            block.clear();
            self.spare.push(block);
        }
    }

    fn push_len(&mut self, prefix: u8, n: i64) {
        // `*600\r\n` is formatted on the stack and appended at once.
        let mut line = [0u8; 24];
        line[0] = prefix;
        let mut tmp = itoa_buf();
        let digits = fmt_i64(&mut tmp, n);
        line[1..1 + digits.len()].copy_from_slice(digits);
        line[1 + digits.len()..3 + digits.len()].copy_from_slice(b"\r\n");
        self.put(&line[..3 + digits.len()]);
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.put(b"+OK\r\n");
    }

    /// A status reply, `+<s>\r\n`.
    pub fn simple(&mut self, s: &str) {
        self.put(b"+");
        self.put(s.as_bytes());
        self.put(b"\r\n");
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
        self.put(b"-");
        if msg.iter().any(|&b| b == b'\r' || b == b'\n') {
            let flat: Vec<u8> = msg
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            self.put(&flat);
        } else {
            self.put(msg);
        }
        self.put(b"\r\n");
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
            0 => self.put(b":0\r\n"),
            1 => self.put(b":1\r\n"),
            _ => self.push_len(b':', n),
        }
    }

    /// A bulk string, `$<len>\r\n<bytes>\r\n`.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.push_len(b'$', bytes.len() as i64);
        self.put(bytes);
        self.put(b"\r\n");
    }

    /// An integer written as a bulk string (GET of an `int`-encoded value).
    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = itoa_buf();
        let s = fmt_i64(&mut tmp, n);
        self.push_len(b'$', s.len() as i64);
        self.put(s);
        self.put(b"\r\n");
    }

    /// The null bulk: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.is_resp3() {
            self.put(b"_\r\n");
        } else {
            self.put(b"$-1\r\n");
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3 (EXEC after a WATCH
    /// failed, BLPOP timing out).
    pub fn null_array(&mut self) {
        if self.is_resp3() {
            self.put(b"_\r\n");
        } else {
            self.put(b"*-1\r\n");
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
            self.put(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A double: `,<d>` in RESP3; in RESP2 a bulk string formatted as
    /// Redis 7.0's `%.17g`.
    pub fn double(&mut self, d: f64) {
        if self.is_resp3() {
            self.put(b",");
            let s = if d.is_infinite() {
                if d > 0.0 {
                    "inf".to_string()
                } else {
                    "-inf".to_string()
                }
            } else {
                fmt_g17(d)
            };
            self.put(s.as_bytes());
            self.put(b"\r\n");
        } else {
            self.bulk(fmt_g17(d).as_bytes());
        }
    }

    /// Verbatim text (`=len\r\ntxt:...` in RESP3; a bulk in RESP2), as
    /// Redis uses for INFO, CLIENT LIST and friends.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.is_resp3() {
            self.push_len(b'=', text.len() as i64 + 4);
            self.put(b"txt:");
            self.put(text);
            self.put(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Reserve the place of an aggregate header whose length is not known
    /// yet (Redis's `addReplyDeferredLen`). Fill it with [`Reply::set_len`].
    pub fn defer_len(&mut self) -> Deferred {
        Deferred(self.len())
    }

    /// Write the header reserved by [`Reply::defer_len`], inserting it in
    /// the block that holds its place. Only that block's later bytes move
    /// (at most a block, 16 KiB, for a connection's client); Redis avoids
    /// even that by giving the header a node of its own, at the price of a
    /// more complex list.
    pub fn set_len(&mut self, at: Deferred, kind: Aggregate, n: usize) {
        let (prefix, count) = match (kind, self.is_resp3()) {
            (Aggregate::Array, _) => (b'*', n),
            (Aggregate::Map, true) => (b'%', n),
            (Aggregate::Map, false) => (b'*', 2 * n),
            (Aggregate::Set, true) => (b'~', n),
            (Aggregate::Set, false) => (b'*', n),
        };
        let mut header = [0u8; 24];
        header[0] = prefix;
        let mut tmp = itoa_buf();
        let digits = fmt_i64(&mut tmp, count as i64);
        header[1..1 + digits.len()].copy_from_slice(digits);
        header[1 + digits.len()..3 + digits.len()].copy_from_slice(b"\r\n");
        let header = &header[..3 + digits.len()];
        match self.locate(at.0) {
            (Some(i), offset) => {
                let b = &mut self.blocks[i];
                let capacity_before = b.capacity();
                b.splice(offset..offset, header.iter().copied());
                self.block_capacity = self.block_capacity - capacity_before + b.capacity();
                self.block_bytes += header.len();
            }
            (None, offset) => {
                self.buf.splice(offset..offset, header.iter().copied());
            }
        }
    }

    /// Which block holds the unsent offset `at`, and where in it: `None`
    /// for `buf`.
    fn locate(&self, at: usize) -> (Option<usize>, usize) {
        let mut start = 0usize;
        let mut skip = self.sent;
        for (i, b) in self.blocks.iter().enumerate() {
            let unsent = b.len() - skip;
            if at < start + unsent {
                return (Some(i), skip + at - start);
            }
            start += unsent;
            skip = 0;
        }
        (None, skip + at - start)
    }

    /// Bytes already formatted as RESP (shared constant replies).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.put(bytes);
    }

    /// Pending bytes: everything appended and not yet written.
    pub fn len(&self) -> usize {
        self.block_bytes + self.buf.len() - self.sent
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop the pending bytes from `at` on (an offset taken with
    /// [`Reply::len`] before a reply that `CLIENT REPLY OFF|SKIP` drops).
    pub fn truncate(&mut self, at: usize) {
        let (block, offset) = self.locate(at.min(self.len()));
        if let Some(i) = block {
            // Blocks after the one holding `at` go; that one becomes `buf`.
            while self.blocks.len() > i + 1 {
                let b = self.blocks.pop_back().expect("counted");
                self.block_bytes -= b.len();
                self.block_capacity -= b.capacity();
                self.recycle(b);
            }
            let b = self.blocks.pop_back().expect("counted");
            self.block_bytes -= b.len();
            self.block_capacity -= b.capacity();
            let old = std::mem::replace(&mut self.buf, b);
            self.recycle(old);
        }
        self.buf.truncate(offset);
    }

    /// The pending bytes from `at` on, removed and returned whole.
    pub fn split_off(&mut self, at: usize) -> Vec<u8> {
        let mut tail = Vec::with_capacity(self.len().saturating_sub(at));
        let mut pos = 0usize;
        for slice in self.pending_slices() {
            let end = pos + slice.len();
            if end > at {
                tail.extend_from_slice(&slice[at.saturating_sub(pos)..]);
            }
            pos = end;
        }
        self.truncate(at);
        tail
    }

    /// Forget everything pending (the client is being closed, or a fake
    /// client's reply is not wanted), and free its memory.
    pub fn clear(&mut self) {
        self.blocks.clear();
        self.block_bytes = 0;
        self.block_capacity = 0;
        self.sent = 0;
        self.buf = Vec::new();
        self.spare = Vec::new();
    }

    /// A copy of every pending byte, in order.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.len());
        for slice in self.pending_slices() {
            all.extend_from_slice(slice);
        }
        all
    }

    fn pending_slices(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let sent = self.sent;
        self.blocks
            .iter()
            .chain(std::iter::once(&self.buf))
            .enumerate()
            .map(move |(i, b)| if i == 0 { &b[sent..] } else { &b[..] })
            .filter(|s| !s.is_empty())
    }

    /// The pending bytes when they are all in `buf` (every small reply):
    /// the connection writes them with a plain `write`.
    pub fn single_slice(&self) -> Option<&[u8]> {
        if self.blocks.is_empty() {
            Some(&self.buf[self.sent..])
        } else {
            None
        }
    }

    // ANCHOR: reply_writev
    /// The pending blocks as slices for one `writev`, oldest first, at
    /// most `slices.len()` of them. Returns how many were filled.
    pub fn io_slices<'a>(&'a self, slices: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, slice) in slices.iter_mut().zip(self.pending_slices()) {
            *slot = std::io::IoSlice::new(slice);
            n += 1;
        }
        n
    }

    /// `written` bytes left through the socket: fully written blocks are
    /// dropped (to the spare list, while it has room), a partly written
    /// one keeps its place and remembers how far it got.
    pub fn consume(&mut self, mut written: usize) {
        while written > 0 {
            let Some(front) = self.blocks.front() else {
                self.sent += written;
                break;
            };
            let unsent = front.len() - self.sent;
            if written < unsent {
                self.sent += written;
                return;
            }
            written -= unsent;
            self.sent = 0;
            let b = self.blocks.pop_front().expect("front exists");
            self.block_bytes -= b.len();
            self.block_capacity -= b.capacity();
            self.recycle(b);
        }
        if self.blocks.is_empty() && self.sent >= self.buf.len() {
            self.sent = 0;
            self.buf.clear();
        }
    }
    // ANCHOR_END: reply_writev

    /// The output buffer's memory as `client-output-buffer-limit` and
    /// CLIENT LIST's `omem` count it: the allocated size of every block
    /// holding pending bytes, less the first 16 KiB, which stand for
    /// Redis's fixed per-client buffer (`c->buf`, never counted there).
    /// Example: three sealed 16 KiB blocks and a half-full `buf` of 16 KiB
    /// are 64 KiB held, 48 KiB counted; one `+OK` counts 0.
    pub fn output_memory(&self) -> usize {
        let buf = if self.buf.len() > self.sent || !self.blocks.is_empty() {
            self.buf.capacity()
        } else {
            0
        };
        (self.block_capacity + buf).saturating_sub(REPLY_BLOCK_BYTES)
    }

    /// The number of sealed blocks waiting (CLIENT LIST's `oll` counts
    /// the blocks past the first).
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// An idle client does not keep a `buf` bigger than `keep` (one that
    /// grew past a block: a reply built whole, a replication burst). The
    /// spares are bounded already.
    pub fn shrink_idle(&mut self, keep: usize) {
        if self.is_empty() && self.buf.capacity() > keep {
            self.buf = Vec::new();
        }
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

    /// Bytes of a reply, across its blocks.
    fn bytes_of(r: &Reply) -> Vec<u8> {
        r.to_vec()
    }

    #[test]
    fn a_big_reply_is_sealed_in_blocks_and_written_in_order() {
        let mut blocks = Reply::new();
        blocks.use_blocks();
        let mut whole = Reply::new();
        let value = vec![b'x'; 1000];
        for r in [&mut blocks, &mut whole] {
            r.array(600);
            for _ in 0..600 {
                r.bulk(&value);
            }
        }
        assert_eq!(bytes_of(&blocks), whole.buf);
        // 600 KB in 16 KiB blocks, every sealed one full.
        assert_eq!(blocks.block_count(), whole.buf.len() / REPLY_BLOCK_BYTES);
        assert!(blocks.blocks.iter().all(|b| b.len() == REPLY_BLOCK_BYTES));
        // The allocated blocks, less the first 16 KiB.
        assert_eq!(
            blocks.output_memory(),
            (blocks.block_count() + 1) * REPLY_BLOCK_BYTES - REPLY_BLOCK_BYTES
        );
        // Written through slices in uneven pieces, the bytes come out whole.
        let mut got = Vec::new();
        while !blocks.is_empty() {
            let mut slices = [std::io::IoSlice::new(&[]); 3];
            let n = blocks.io_slices(&mut slices);
            let mut take = 7000;
            let mut written = 0;
            for s in &slices[..n] {
                let k = s.len().min(take);
                got.extend_from_slice(&s[..k]);
                written += k;
                take -= k;
            }
            blocks.consume(written);
        }
        assert_eq!(got, whole.buf);
        assert_eq!(blocks.output_memory(), 0);
        assert!(blocks.spare.len() <= SPARE_BLOCKS && !blocks.spare.is_empty());
    }

    #[test]
    fn a_payload_bigger_than_a_block_gets_a_block_of_its_own_size() {
        let mut r = Reply::new();
        r.use_blocks();
        r.ok();
        r.bulk(&vec![b'v'; 100_000]);
        // The first block is filled, the rest of the value is copied once
        // into a block that holds it, and its size class's slack takes the
        // `\r\n` too.
        let rest = 5 + 9 + 100_000 + 2 - REPLY_BLOCK_BYTES;
        assert_eq!(r.blocks.len(), 1);
        assert_eq!(r.blocks[0].len(), REPLY_BLOCK_BYTES);
        assert_eq!(r.buf.len(), rest);
        assert!(r.buf.capacity() >= rest);
        assert_eq!(r.len(), 5 + 9 + 100_000 + 2);
    }

    mod blocks_model {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Bulk(usize),
            Int(i64),
            Deferred(usize),
            Mark,
            TruncateToMark,
            SplitAtMark,
            Write(usize),
        }

        proptest! {
            /// Any sequence of appends, deferred lengths, truncations and
            /// partial writes leaves a block reply holding exactly the bytes a
            /// plain `Vec` would hold.
            #[test]
            fn blocks_hold_the_same_bytes_as_one_vec(
                ops in prop::collection::vec(
                    prop_oneof![
                        (0usize..40_000).prop_map(Op::Bulk),
                        any::<i64>().prop_map(Op::Int),
                        (0usize..30).prop_map(Op::Deferred),
                        Just(Op::Mark),
                        Just(Op::TruncateToMark),
                        Just(Op::SplitAtMark),
                        (0usize..50_000).prop_map(Op::Write),
                    ],
                    1..40,
                )
            ) {
                let mut r = Reply::new();
                r.use_blocks();
                let mut model: Vec<u8> = Vec::new();
                let mut written: Vec<u8> = Vec::new();
                let mut model_written: Vec<u8> = Vec::new();
                let mut mark: Option<usize> = None;
                for op in ops {
                    match op {
                        Op::Bulk(n) => {
                            let v: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
                            r.bulk(&v);
                            let mut m = Reply::new();
                            m.bulk(&v);
                            model.extend_from_slice(&m.buf);
                        }
                        Op::Int(n) => {
                            r.int(n);
                            let mut m = Reply::new();
                            m.int(n);
                            model.extend_from_slice(&m.buf);
                        }
                        Op::Deferred(n) => {
                            let at = r.defer_len();
                            let model_at = model.len();
                            for i in 0..n {
                                r.bulk(&vec![b'e'; i * 997]);
                                let mut m = Reply::new();
                                m.bulk(&vec![b'e'; i * 997]);
                                model.extend_from_slice(&m.buf);
                            }
                            r.set_len(at, Aggregate::Array, n);
                            let header = format!("*{n}\r\n");
                            model.splice(model_at..model_at, header.bytes());
                        }
                        Op::Mark => mark = Some(r.len()),
                        Op::TruncateToMark => {
                            if let Some(m) = mark.take() {
                                r.truncate(m);
                                model.truncate(m);
                            }
                        }
                        Op::SplitAtMark => {
                            if let Some(m) = mark.take() {
                                let tail = r.split_off(m);
                                prop_assert_eq!(&tail[..], &model[m..]);
                                model.truncate(m);
                            }
                        }
                        Op::Write(n) => {
                            mark = None; // offsets do not survive a write
                            let mut slices = [std::io::IoSlice::new(&[]); 4];
                            let k = r.io_slices(&mut slices);
                            let mut left = n;
                            let mut taken = 0;
                            for s in &slices[..k] {
                                let t = s.len().min(left);
                                written.extend_from_slice(&s[..t]);
                                left -= t;
                                taken += t;
                            }
                            r.consume(taken);
                            model_written.extend(model.drain(..taken));
                        }
                    }
                    prop_assert_eq!(r.len(), model.len());
                    prop_assert_eq!(&r.to_vec(), &model);
                    prop_assert_eq!(&written, &model_written);
                }
            }
        }
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
