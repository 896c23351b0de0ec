//! # A connected client
//!
//! Everything the server knows about one connection: which database it
//! selected, which protocol it speaks, its name, whether it authenticated,
//! and its output buffer. The socket itself belongs to the connection's
//! task (`server::connection`); the state here belongs to the server, so
//! that another client's command can reach it (CLIENT KILL, a PUBLISH to a
//! subscriber, MONITOR, a push that wakes a blocked client).
//!
//! ## Talking to another client's task
//!
//! One client can change another one's fate, but never its socket: CLIENT
//! KILL only raises `close_asap` and pokes the victim's `wake`. The
//! victim's own task notices the flag at the top of its loop and drops the
//! socket, so the peer reads EOF. Until then the victim is still in the
//! client list, shown with the `A` flag, exactly the state Redis calls
//! `CLIENT_CLOSE_ASAP`.
//!
//! ## The CLIENT LIST line
//!
//! [`Client::write_info_line`] prints the fields in Redis 7.0's order,
//! every one of them, so that tools which split the line on spaces and
//! `=` (redis-cli, client libraries, monitoring scripts) parse ours too.
//! The memory fields follow the shape of Redis's buffers:
//!
//! ```text
//! qbuf       bytes read but not yet parsed       qbuf-free  room left in that buffer
//! argv-mem   bytes of the arguments of the command running now (0 when idle)
//! rbs        size of the reply buffer            rbp        its peak use lately
//! obl        reply bytes in the first 16 KiB     oll/omem   the overflow beyond it
//! tot-mem    all of the above plus the client struct itself
//! ```
//!
//! ## The Redis C counterpart
//!
//! `struct client` in `src/server.h`, created by `createClient`; the line
//! is `catClientInfoString`, the type filter `getClientType` (all in
//! `src/networking.c`).
//!
//! ## What we simplified
//!
//! Redis keeps replies in a fixed 16 KiB buffer and chains further
//! 16 KiB blocks in a list (`obl` counts the first, `oll`/`omem` the list).
//! Ours is one growable `Vec`; CLIENT LIST reports it as if cut at 16 KiB,
//! so the numbers read the same way. Fields of features that are not
//! built yet (sharded pub/sub, MULTI, tracking) show the value Redis shows
//! for a client that does not use them; their chapters fill them in.

use std::fmt::Write;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

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

/// The kinds CLIENT LIST TYPE and CLIENT KILL TYPE filter on (Redis's
/// `CLIENT_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    /// A replica attached to us (`slave` is accepted as an alias).
    Replica,
    /// A client in pub/sub mode (subscribed to something).
    PubSub,
    /// Our master, when we are a replica.
    Master,
}

impl ClientType {
    /// Parse a type name, case-insensitively (`getClientTypeByName`).
    pub fn parse(name: &[u8]) -> Option<ClientType> {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("normal") {
            Some(ClientType::Normal)
        } else if is("replica") || is("slave") {
            Some(ClientType::Replica)
        } else if is("pubsub") {
            Some(ClientType::PubSub)
        } else if is("master") {
            Some(ClientType::Master)
        } else {
            None
        }
    }
}

/// Redis's fixed reply buffer size (`PROTO_REPLY_CHUNK_BYTES`): CLIENT
/// LIST reports our single buffer as if it were cut there.
const REPLY_CHUNK_BYTES: usize = 16 * 1024;

/// The smallest reply buffer the cron shrinks an idle client's to
/// (`PROTO_REPLY_MIN_BYTES`).
const REPLY_MIN_BYTES: usize = 1024;

/// How long `rbp` remembers a peak by default, in ms (Redis 7.0's
/// `REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME`; `DEBUG REPLYBUFFER
/// peak-reset-time` changes it).
pub const REPLY_PEAK_RESET_MS: i64 = 5000;

/// One connection's server-side state.
pub struct Client {
    /// Unique, increasing: `CLIENT ID`, `CLIENT KILL ID`.
    pub id: u64,
    pub addr: SocketAddr,
    pub local_addr: SocketAddr,
    /// The file descriptor number, shown by CLIENT LIST.
    pub fd: i32,
    /// `CLIENT SETNAME`; never empty (an empty name clears it) and only
    /// printable ASCII without spaces, so that CLIENT LIST stays splittable.
    pub name: Option<Vec<u8>>,
    /// The database selected with SELECT.
    pub db: usize,
    /// The output buffer; see [`Reply`]. Its `protocol` is the RESP
    /// version HELLO chose.
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
    /// Free room in the query buffer after those bytes (`qbuf-free=`).
    pub query_buffer_free: usize,
    /// Set when a huge command's query buffer was just given back, so the
    /// connection's next read starts at the minimum size again.
    pub query_buffer_released: bool,
    /// Peak query buffer size since the last cron check.
    pub query_buffer_peak: usize,
    /// The most reply bytes that waited for one write lately (`rbp=`),
    /// and when that peak started being tracked.
    pub reply_peak: usize,
    pub reply_peak_since: Instant,
    /// The size Redis's fixed reply buffer would have now (`rbs=`): 16 KiB
    /// at first, shrunk by the cron for a client whose replies are small,
    /// grown back (doubling, up to 16 KiB) for one that fills it
    /// ([`Client::cron_resize_reply_buffer`]). Our reply is one `Vec`;
    /// this is the accounting Redis's replybufsize test observes.
    pub reply_buffer_size: usize,
    pub reply_mode: ReplyMode,
    /// Pub/sub frames (subscribe confirmations, messages) produced while
    /// this client's own command runs under `CLIENT REPLY OFF|SKIP`. Redis
    /// 7.0 delivers those even though the command's reply is dropped (its
    /// `CLIENT_PUSHING` flag): they wait here while the reply is cut, then
    /// go out (see `apply_reply_mode` in `server`). Empty between commands.
    pub pushed: Vec<u8>,
    /// Held by `CLIENT PAUSE`: its next command waits for the pause to
    /// end. Redis 7.0 parks such a client as blocked (`BLOCKED_POSTPONE`),
    /// so INFO counts it in `blocked_clients`.
    pub paused: bool,
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
    pub wake: Rc<super::wake::Wake>,
    /// When the output buffer first went over the soft limit (for the
    /// `client-output-buffer-limit` soft seconds).
    pub soft_limit_reached_at: Option<Instant>,
    /// Parked by a blocking command (BLPOP...): what on, and until when.
    pub blocked: Option<super::blocking::BlockedOn>,
    /// Running the commands of EXEC: blocking commands must not block.
    pub in_exec: bool,
    /// Channels and patterns this client is subscribed to (`pubsub`).
    pub pubsub: crate::pubsub::ClientPubSub,
    /// MULTI state and watched keys (`multi`).
    pub multi: crate::multi::ClientMulti,
    /// Reply bytes taken out of `reply` and being written to the socket
    /// now: still pending, for the output buffer limits.
    pub reply_in_flight: usize,
    /// On the server's list of replies to write at the end of this turn
    /// of the loop (`connection::write_replies_before_sleep`).
    pub write_queued: bool,
    /// That writer found the socket full (or broken) and left the rest to
    /// this client's task.
    pub write_handed_back: bool,
    /// The socket's write half, owned by the client's task: gone once the
    /// task ends. How the end-of-turn writer reaches the socket.
    pub writer: std::rc::Weak<tokio::net::tcp::OwnedWriteHalf>,
    /// Set by REPLCONF, and by SYNC/PSYNC when this client becomes a
    /// replica (`crate::replication`).
    pub replica: Option<Box<crate::replication::ReplicaLink>>,
    /// The replication offset right after this client's last propagated
    /// write (Redis's `c->woff`): what WAIT waits for.
    pub write_offset: i64,
    /// The fake client a script's `redis.call` runs on (Redis's
    /// `CLIENT_LUA`): MONITOR shows it as `lua`.
    pub lua: bool,
    /// The ACL user this connection is authenticated as (`acl`); `None`
    /// for internal clients (the AOF loader), which may run anything.
    pub user: Option<crate::acl::UserRef>,
    /// Arguments of the running command that SLOWLOG and MONITOR show
    /// as `(redacted)` (passwords); see `Ctx::redact_arg`.
    pub redacted_args: Vec<u32>,
    /// CLIENT TRACKING settings (`crate::tracking`).
    pub tracking: crate::tracking::ClientTracking,
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
            query_buffer_free: 0,
            query_buffer_peak: 0,
            query_buffer_released: false,
            reply_peak: 0,
            reply_peak_since: now,
            reply_buffer_size: REPLY_CHUNK_BYTES,
            reply_mode: ReplyMode::On,
            pushed: Vec::new(),
            paused: false,
            close_after_reply: false,
            close_asap: false,
            monitor: false,
            no_evict: false,
            wake: Rc::new(super::wake::Wake::new()),
            soft_limit_reached_at: None,
            blocked: None,
            in_exec: false,
            pubsub: Default::default(),
            multi: Default::default(),
            reply_in_flight: 0,
            write_queued: false,
            write_handed_back: false,
            writer: std::rc::Weak::new(),
            replica: None,
            write_offset: 0,
            lua: false,
            user: None,
            redacted_args: Vec::new(),
            tracking: Default::default(),
        }
    }

    pub fn protocol(&self) -> Protocol {
        self.reply.protocol
    }

    /// Which CLIENT LIST TYPE this client is. Replication will add its
    /// cases; a MONITOR counts as normal, as in Redis.
    pub fn client_type(&self) -> ClientType {
        if crate::replication::replica::is_master_client(self) {
            ClientType::Master
        } else if self.is_replica() {
            ClientType::Replica
        } else if self.pubsub.active() {
            ClientType::PubSub
        } else {
            ClientType::Normal
        }
    }

    /// Did SYNC or PSYNC make this client a replica?
    pub fn is_replica(&self) -> bool {
        self.replica.as_ref().is_some_and(|l| l.state.is_some())
    }

    /// Record that `pending` reply bytes are about to be written in one
    /// go: the `rbp` peak, the most the fixed buffer held (so at most its
    /// size; Redis's `buf_peak`). The cron forgets it periodically.
    pub fn note_reply_pending(&mut self, pending: usize) {
        self.reply_peak = self.reply_peak.max(pending.min(self.reply_buffer_size));
    }

    // ANCHOR: client_reply_buffer_resize
    /// The client cron's reply buffer resizing
    /// (`clientsCronResizeOutputBuffer`), run about every 100 ms:
    /// - the peak is under half the size (and half is at least 1 KiB):
    ///   shrink to the peak + 1, at least 1 KiB;
    /// - the peak filled the buffer and it is under 16 KiB: double it;
    /// - every `peak_reset_ms` (never if negative) the peak restarts from
    ///   what the buffer holds now, so an idle client shrinks.
    ///
    /// Example: an idle client starts at 16384; its peak (5 bytes of
    /// `+OK`) is under 8192, so the next run makes it 1024. Then a 32 KiB
    /// GET fills it: 2048, 4096, 8192, 16384 on the next four runs.
    pub fn cron_resize_reply_buffer(&mut self, peak_reset_ms: i64, resizing: bool) {
        if !resizing {
            return;
        }
        let size = self.reply_buffer_size;
        let new_size = if size / 2 >= REPLY_MIN_BYTES && self.reply_peak < size / 2 {
            Some(REPLY_MIN_BYTES.max(self.reply_peak + 1))
        } else if size * 2 < REPLY_CHUNK_BYTES * 2 && self.reply_peak == size {
            Some(REPLY_CHUNK_BYTES.min(size * 2))
        } else {
            None
        };
        if peak_reset_ms >= 0 && self.reply_peak_since.elapsed().as_millis() as i64 >= peak_reset_ms
        {
            self.reply_peak = self.reply.len().min(size);
            self.reply_peak_since = Instant::now();
        }
        if let Some(n) = new_size {
            self.reply_buffer_size = n;
        }
    }
    // ANCHOR_END: client_reply_buffer_resize

    /// Validate and set a client name (`clientSetName`): an empty name
    /// removes it; otherwise only `!`..`~` are allowed, so that a CLIENT
    /// LIST line can always be split on spaces. `Err` carries Redis's
    /// error text.
    pub fn set_name(&mut self, name: &[u8]) -> Result<(), &'static str> {
        if name.is_empty() {
            self.name = None;
            return Ok(());
        }
        if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
            return Err("ERR Client names cannot contain spaces, newlines or special characters.");
        }
        self.name = Some(name.to_vec());
        Ok(())
    }

    // ANCHOR: conn_client_flags
    /// The flags letters of CLIENT LIST, in Redis's order (`N` when none).
    /// The letters of features not built yet (`S` replica, `M` master,
    /// `t` tracking...) join here with their chapters.
    pub fn flags_string(&self) -> String {
        let mut f = String::new();
        if self.is_replica() {
            f.push('S');
        }
        if crate::replication::replica::is_master_client(self) {
            f.push('M');
        }
        if self.monitor {
            f.push('O');
        }
        if self.pubsub.active() {
            f.push('P');
        }
        if self.multi.active {
            f.push('x');
        }
        if self.blocked.is_some() {
            f.push('b');
        }
        crate::tracking::flag_letters(&self.tracking, &mut f);
        if self.multi.dirty_cas {
            f.push('d');
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.close_asap {
            f.push('A');
        }
        if self.no_evict {
            f.push('e');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }
    // ANCHOR_END: conn_client_flags

    /// One line of CLIENT LIST / the reply of CLIENT INFO, without the
    /// trailing newline.
    pub fn info_line(&self, now: Instant) -> String {
        let mut line = String::with_capacity(320);
        self.write_info_line(&mut line, now, 0);
        line
    }

    // ANCHOR: conn_info_line
    /// Append this client's CLIENT LIST line to `out` (no newline), in
    /// Redis 7.0's field order. `argv_mem` is the size of the arguments of
    /// the command running now: non-zero only for the client asking.
    pub fn write_info_line(&self, out: &mut String, now: Instant, argv_mem: usize) {
        // Unsent output includes a write the peer has not drained yet.
        let pending = self.reply.len() + self.reply_in_flight;
        // The pending bytes described as Redis's 16 KiB buffer plus a
        // list of 16 KiB blocks for the rest; omem is the blocks' real
        // allocated size (`Reply::output_memory`).
        let rbs = self.reply_buffer_size;
        let obl = pending.min(rbs);
        let overflow = pending - obl;
        let oll = overflow.div_ceil(REPLY_CHUNK_BYTES);
        let multi_mem = self.multi.memory();
        let omem = self.reply.output_memory() + self.reply_in_flight;
        // As Redis's getClientMemoryUsage, the total includes the output.
        let tot_mem = omem
            + std::mem::size_of::<Client>()
            + self.query_buffer_len
            + self.query_buffer_free
            + rbs
            + argv_mem
            + multi_mem;
        let name = self.name.as_deref().unwrap_or_default();
        let _ = write!(
            out,
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} \
             sub={} psub={} ssub=0 multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} \
             rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r cmd={} \
             user={} redir={} resp={}",
            self.id,
            self.addr,
            self.local_addr,
            self.fd,
            // Names are checked to be printable ASCII, so this is exact.
            String::from_utf8_lossy(name),
            now.saturating_duration_since(self.created).as_secs(),
            now.saturating_duration_since(self.last_interaction)
                .as_secs(),
            self.flags_string(),
            self.db,
            self.pubsub.channels.len(),
            self.pubsub.patterns.len(),
            if self.multi.active {
                self.multi.count() as i64
            } else {
                -1
            },
            self.query_buffer_len,
            self.query_buffer_free,
            argv_mem,
            multi_mem,
            rbs,
            self.reply_peak.max(pending),
            obl,
            oll,
            omem,
            tot_mem,
            self.last_command,
            self.user_name(),
            if self.tracking.on {
                self.tracking.redirect as i64
            } else {
                -1
            },
            match self.protocol() {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            }
        );
    }
    // ANCHOR_END: conn_info_line

    /// The name of the ACL user this client is authenticated as
    /// (`default` for internal clients, which have none).
    pub fn user_name(&self) -> String {
        match &self.user {
            Some(u) => String::from_utf8_lossy(&u.borrow().name).into_owned(),
            None => "default".to_string(),
        }
    }
}

/// How many clients `CLIENT PAUSE` holds right now (counted in INFO
/// `blocked_clients`, as Redis 7.0 does). A client whose state is borrowed
/// is the one running a command: it is not held.
pub fn paused_count(
    clients: &std::collections::BTreeMap<u64, Rc<std::cell::RefCell<Client>>>,
) -> usize {
    clients
        .values()
        .filter(|c| c.try_borrow().is_ok_and(|c| c.paused))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let addr: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:6379".parse().unwrap();
        Client::new(7, addr, local, 9)
    }

    #[test]
    fn info_line_has_redis_7_fields_in_order() {
        let mut c = client();
        c.name = Some(b"worker".to_vec());
        c.last_command = "client|list";
        let line = c.info_line(c.created);
        let keys: Vec<&str> = line
            .split(' ')
            .map(|f| f.split_once('=').unwrap().0)
            .collect();
        assert_eq!(
            keys.join(" "),
            "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free \
             argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp"
        );
        assert!(line.starts_with(
            "id=7 addr=127.0.0.1:50000 laddr=127.0.0.1:6379 fd=9 name=worker age=0 idle=0 flags=N db=0 "
        ));
        assert!(line.ends_with(" events=r cmd=client|list user=default redir=-1 resp=2"));
    }

    #[test]
    fn reply_bytes_past_16k_count_as_list_blocks() {
        let mut c = client();
        c.reply
            .buf
            .extend(std::iter::repeat_n(b'x', 16 * 1024 + 100));
        let line = c.info_line(c.created);
        assert!(line.contains(" obl=16384 oll=1 omem=100 "), "{line}");
    }

    #[test]
    fn names_must_be_printable_without_spaces() {
        let mut c = client();
        assert!(c.set_name(b"a b").is_err());
        assert!(c.set_name(b"tab\there").is_err());
        assert!(c.set_name(b"caf\xc3\xa9").is_err());
        assert_eq!(c.set_name(b"ok-name_1"), Ok(()));
        assert_eq!(c.name.as_deref(), Some(&b"ok-name_1"[..]));
        assert_eq!(c.set_name(b""), Ok(()));
        assert_eq!(c.name, None);
    }

    #[test]
    fn flags_follow_redis_letter_order() {
        let mut c = client();
        assert_eq!(c.flags_string(), "N");
        c.no_evict = true;
        c.close_asap = true;
        c.close_after_reply = true;
        c.monitor = true;
        assert_eq!(c.flags_string(), "OcAe");
    }
}
