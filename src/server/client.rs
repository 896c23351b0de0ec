//! # A connected client
//!
//! Everything the server knows about one connection: which database it
//! selected, which protocol it speaks, its name, whether it authenticated,
//! and its output buffer. The socket itself belongs to the connection's
//! task (`server::connection`); the state here belongs to the server, so
//! that another client's command can reach it (CLIENT KILL, a PUBLISH to a
//! subscriber, MONITOR, a push that wakes a blocked client).
//!
//! Redis's counterpart is `struct client` in `src/server.h`, created by
//! `createClient` and described by `catClientInfoString` (networking.c).

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use tokio::sync::Notify;

use crate::resp::{Protocol, Reply};

/// `CLIENT REPLY ON|OFF|SKIP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Set while the command after `CLIENT REPLY SKIP` runs.
    Skip,
}

/// One connection's server-side state.
pub struct Client {
    /// Unique, increasing: `CLIENT ID`, `CLIENT KILL ID`.
    pub id: u64,
    pub addr: SocketAddr,
    pub local_addr: SocketAddr,
    /// The file descriptor number, shown by CLIENT LIST.
    pub fd: i32,
    /// `CLIENT SETNAME`.
    pub name: Option<Vec<u8>>,
    /// The database selected with SELECT.
    pub db: usize,
    /// The output buffer; see [`Reply`].
    pub reply: Reply,
    /// False until AUTH succeeds when `requirepass` is set.
    pub authenticated: bool,
    pub created: Instant,
    /// Last time a command arrived (CLIENT LIST `idle=`, `timeout`).
    pub last_interaction: Instant,
    /// The full name of the last command run (`cmd=` in CLIENT LIST).
    pub last_command: &'static str,
    /// Bytes waiting in the query buffer (`qbuf=`).
    pub query_buffer_len: usize,
    /// Peak query buffer size since the last cron check.
    pub query_buffer_peak: usize,
    pub reply_mode: ReplyMode,
    /// Close once the pending replies are written (QUIT, a protocol
    /// error): Redis's `CLIENT_CLOSE_AFTER_REPLY`.
    pub close_after_reply: bool,
    /// Close now without writing more (CLIENT KILL, an output buffer
    /// limit): Redis's `CLIENT_CLOSE_ASAP`.
    pub close_asap: bool,
    /// This client is a MONITOR.
    pub monitor: bool,
    /// `CLIENT NO-EVICT on`.
    pub no_evict: bool,
    /// Wakes the connection's task when someone else wrote to `reply` or
    /// asked it to close.
    pub wake: Rc<Notify>,
    /// When the output buffer first went over the soft limit (for the
    /// `client-output-buffer-limit` soft seconds).
    pub soft_limit_reached_at: Option<Instant>,
}

impl Client {
    pub fn new(id: u64, addr: SocketAddr, local_addr: SocketAddr, fd: i32) -> Client {
        let now = Instant::now();
        Client {
            id,
            addr,
            local_addr,
            fd,
            name: None,
            db: 0,
            reply: Reply::new(),
            authenticated: false,
            created: now,
            last_interaction: now,
            last_command: "NULL",
            query_buffer_len: 0,
            query_buffer_peak: 0,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            close_asap: false,
            monitor: false,
            no_evict: false,
            wake: Rc::new(Notify::new()),
            soft_limit_reached_at: None,
        }
    }

    pub fn protocol(&self) -> Protocol {
        self.reply.protocol
    }

    /// The flags letters of CLIENT LIST (`N` when none).
    pub fn flags_string(&self) -> String {
        let mut f = String::new();
        if self.monitor {
            f.push('O');
        }
        if self.close_asap {
            f.push('A');
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.no_evict {
            f.push('e');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// One line of CLIENT LIST / the reply of CLIENT INFO, in Redis 7.0's
    /// field order. Fields of features this server does not have (sharded
    /// pub/sub, tracking redirection) show their "none" value, as Redis
    /// shows them for a client that does not use them.
    pub fn info_line(&self, now: Instant) -> String {
        let name = self
            .name
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let omem = self.reply.len();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.local_addr,
            self.fd,
            name,
            now.duration_since(self.created).as_secs(),
            now.duration_since(self.last_interaction).as_secs(),
            self.flags_string(),
            self.db,
            self.query_buffer_len,
            0,
            self.reply.buf.capacity(),
            self.query_buffer_peak,
            omem,
            omem,
            self.reply.buf.capacity() + self.query_buffer_len,
            self.last_command,
            match self.protocol() {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            }
        )
    }
}
