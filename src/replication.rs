//! # Replication, the primary's side
//!
//! A replica is a copy of the dataset that follows the primary ("master"
//! in Redis's INFO and commands) write by write. It needs two things:
//! a starting point, and every change made after it, in order. The
//! primary gives the first as an RDB snapshot and the second as a stream
//! of commands: the very same bytes it appends to the AOF, produced by the
//! one propagation path (`crate::propagate`), plus PUBLISH, which only
//! replicas get (their subscribers must hear it; an AOF replay must not
//! publish). This module is where that stream is numbered, remembered and
//! handed out; `ANATOMY BACKLOG` ([`backlog_snapshot`]) shows the
//! visualizer the numbers.
//!
//! ## Replication id and offset
//!
//! Every byte of the stream has a number. The stream is called a
//! *history* and is named by a random 40-hex-digit *replication id*
//! (`master_replid`); `master_repl_offset` counts the bytes of it produced
//! so far. A replica that has applied everything up to offset `o` of
//! history `id` is, by construction, equal to the primary as it was at
//! that point: `(id, o)` is a complete description of its dataset. That
//! is what makes a reconnection cheap: the replica says `PSYNC id o+1`,
//! and if the primary still holds the bytes from `o+1` on, it sends only
//! those.
//!
//! ## The backlog: a circular buffer of the stream's tail
//!
//! The primary keeps the last `repl-backlog-size` bytes (1 MB by default)
//! of the stream in a ring:
//!
//! ```text
//!   size 8, 11 bytes written "abcdefghijk", master_repl_offset = 11
//!
//!   buf:  [ i j k d e f g h ]        write_index = 3 (next byte goes here)
//!               ^ oldest = (write_index + size - histlen) % size = 3
//!   histlen = 8, first_byte_offset = 11 - 8 + 1 = 4  ('d' is byte 4)
//! ```
//!
//! A partial resync asking for offset `p` can be served exactly when
//! `first_byte_offset <= p <= first_byte_offset + histlen` (the upper bound
//! is "nothing missed yet": zero bytes to send). It is created when the
//! first replica attaches, with a fresh replication id (there is no
//! history worth continuing), and freed `repl-backlog-ttl` seconds (3600)
//! after the last replica left, again changing the id.
//!
//! ## Full and partial resynchronisation
//!
//! - `PSYNC <id> <offset>`: if `id` is ours and `offset` is inside the
//!   backlog, answer `+CONTINUE <id>` and send the backlog from `offset`;
//!   the replica is online at once (Redis's
//!   `masterTryPartialResynchronization`).
//! - Otherwise (and for `PSYNC ? -1`, and the old `SYNC`) a full resync:
//!   fork a child that writes the RDB file (the BGSAVE machinery of
//!   `commands::persistence`). At the fork, the replica's offset is fixed:
//!   `+FULLRESYNC <id> <offset>` (not for SYNC, which predates offsets).
//!   Every write from then on is *accumulated* in the replica's output
//!   buffer but not sent. When the child is done, the file goes out as
//!   `$<len>\r\n<bytes>` (no trailing CRLF), then the accumulated writes,
//!   then the live stream. A replica attaching while such a BGSAVE runs
//!   shares it: it copies the waiting replica's accumulated buffer and
//!   offset. The SELECT state is reset at each full sync so that the first
//!   write after the snapshot always says which db it is for.
//!
//! Replica states, as `INFO replication` names them:
//!
//! ```text
//!  WaitBgsaveStart --fork--> WaitBgsaveEnd --child done--> SendBulk --file sent--> Online
//!   "wait_bgsave"             "wait_bgsave"                  "send_bulk"             "online"
//! ```
//!
//! ## The invariants
//!
//! - `master_repl_offset` is the number of stream bytes produced since the
//!   history began; the backlog holds exactly the last `histlen` of them.
//! - A replica in `WaitBgsaveEnd`, `SendBulk` or `Online` has received or
//!   holds in its buffer every stream byte after its initial offset, in
//!   order; one in `WaitBgsaveStart` holds none (its offset is not fixed
//!   yet).
//! - Out-of-band bytes (`+FULLRESYNC`, the keep-alive newlines sent while a
//!   replica waits for its RDB, the `$<len>` header) are never counted in
//!   offsets: they travel in [`ReplicaLink::preamble`], ahead of the
//!   stream.
//!
//! ## Keeping the link alive, and bounded
//!
//! Once a second (`replicationCron`): a PING into the stream every
//! `repl-ping-replica-period` seconds (10), a newline to replicas still
//! waiting for their RDB, and a disconnect for a PSYNC replica that has not
//! sent `REPLCONF ACK` for `repl-timeout` (60) seconds. A replica that reads
//! slower than we write grows its output buffer; the `replica` class of
//! `client-output-buffer-limit` (256mb hard, 64mb for 60 s soft) closes it,
//! and it will come back with PSYNC.
//!
//! ## The Redis C counterpart
//!
//! `src/replication.c`: `syncCommand`, `masterTryPartialResynchronization`,
//! `replicationSetupSlaveForFullResync`, `startBgsaveForReplication`,
//! `updateSlavesWaitingBgsave`, `sendBulkToSlave`, `replicationFeedSlaves`,
//! `feedReplicationBuffer`, `addReplyReplicationBacklog`,
//! `createReplicationBacklog`, `replconfCommand`, `waitCommand`,
//! `processClientsWaitingReplicas`, `roleCommand`, `replicationCron`;
//! `src/server.c`: the `# Replication` section of `genRedisInfoString`.
//!
//! ## What we simplified
//!
//! - The RDB always goes through the file (disk-based sync), whatever
//!   `repl-diskless-sync` says and whether the replica announced
//!   `capa eof`: every replica accepts the `$<len>` form, and it never
//!   waits `repl-diskless-sync-delay`. Redis uses the same path for a
//!   plain `SYNC` (no `capa eof`).
//! - Redis 7.0 shares one chain of reference-counted blocks between the
//!   backlog and all replicas' buffers; we keep the classic ring (Redis 6's)
//!   and copy each write into each replica's output buffer.
//! - A WAIT deadline is checked by the cron (10 times a second), so a
//!   timed-out WAIT answers up to 100 ms late.
//! - The replica's side (REPLICAOF, the handshake, applying the stream,
//!   chained replication) is [`replica`].

pub mod replica;

use std::io::Read;
use std::time::Instant;

use crate::server::{Client, Server};

/// What one attached replica (or a client preparing to become one with
/// REPLCONF) is, on top of being a client. Lives in `Client::replica`.
#[derive(Debug, Default)]
pub struct ReplicaLink {
    /// `None` until SYNC/PSYNC: REPLCONF arrives first, on a plain client.
    pub state: Option<ReplicaState>,
    /// `REPLCONF listening-port`: the port the replica serves clients on
    /// (INFO `slaveN:port`, ROLE). 0 when not announced (SYNC from a tool).
    pub listening_port: u16,
    /// `REPLCONF ip-address`: overrides the peer address in INFO and ROLE.
    pub announced_ip: Option<String>,
    /// `REPLCONF capa psync2`: understands `+CONTINUE <replid>`.
    pub capa_psync2: bool,
    /// `REPLCONF capa eof`: could take a diskless RDB (we never send one).
    pub capa_eof: bool,
    /// Came with the old `SYNC`: no `+FULLRESYNC`, no ACKs expected, so it
    /// never times out (Redis's `CLIENT_PRE_PSYNC`).
    pub pre_psync: bool,
    /// The stream offset its RDB corresponds to (`psync_initial_offset`).
    pub initial_offset: i64,
    /// The offset it acknowledged last (`REPLCONF ACK`), and when.
    pub ack_offset: i64,
    pub ack_time: Option<Instant>,
    /// Out-of-band bytes that must leave before anything else: the
    /// `+FULLRESYNC`/`+CONTINUE` line, keep-alive newlines, the `$<len>`
    /// header of the RDB. Not part of the stream, not counted in offsets.
    pub preamble: Vec<u8>,
    /// The RDB file being sent (state `SendBulk`).
    pub rdb_file: Option<std::fs::File>,
    /// This client is the other way round: the link to *our* primary
    /// (the master client, [`replica`]); `state` stays `None`.
    pub master: bool,
}

/// Where a replica is in its synchronisation (`SLAVE_STATE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waits for a BGSAVE it can use (another child was running).
    WaitBgsaveStart,
    /// Its BGSAVE runs; the stream accumulates in its output buffer.
    WaitBgsaveEnd,
    /// The RDB file is being written to its socket.
    SendBulk,
    /// Gets the live stream.
    Online,
}

impl ReplicaState {
    /// The name INFO prints.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

// ANCHOR: repl_backlog
/// The tail of the replication stream, in a ring of fixed size
/// (`repl-backlog-size`).
#[derive(Debug)]
pub struct Backlog {
    /// The ring; its length is the configured size.
    buf: Vec<u8>,
    /// Where the next byte goes.
    write_index: usize,
    /// How many bytes of `buf` hold history (at most `buf.len()`).
    pub histlen: usize,
    /// The stream offset of the oldest byte held
    /// (`repl_backlog_first_byte_offset`).
    pub first_byte_offset: i64,
}

impl Backlog {
    /// An empty backlog whose first byte will be `next_offset`.
    pub fn new(size: usize, next_offset: i64) -> Backlog {
        Backlog {
            buf: vec![0; size.max(1)],
            write_index: 0,
            histlen: 0,
            first_byte_offset: next_offset,
        }
    }

    pub fn size(&self) -> usize {
        self.buf.len()
    }

    /// Append stream bytes; `end_offset` is `master_repl_offset` after
    /// them. Older bytes are overwritten once the ring is full.
    pub fn append(&mut self, mut bytes: &[u8], end_offset: i64) {
        let size = self.buf.len();
        if bytes.len() > size {
            // Only the last `size` bytes can survive anyway.
            bytes = &bytes[bytes.len() - size..];
        }
        while !bytes.is_empty() {
            let n = (size - self.write_index).min(bytes.len());
            self.buf[self.write_index..self.write_index + n].copy_from_slice(&bytes[..n]);
            self.write_index = (self.write_index + n) % size;
            bytes = &bytes[n..];
            self.histlen = (self.histlen + n).min(size);
        }
        self.first_byte_offset = end_offset - self.histlen as i64 + 1;
    }

    /// Can a replica continue from `offset` (the first byte it lacks)?
    pub fn covers(&self, offset: i64) -> bool {
        offset >= self.first_byte_offset && offset <= self.first_byte_offset + self.histlen as i64
    }

    /// Copy the history from `offset` to the end into `out`
    /// (`addReplyReplicationBacklog`). `offset` must be covered.
    pub fn copy_from(&self, offset: i64, out: &mut Vec<u8>) -> usize {
        let size = self.buf.len();
        let skip = (offset - self.first_byte_offset) as usize;
        let len = self.histlen - skip;
        let oldest = (self.write_index + size - self.histlen) % size;
        let mut start = (oldest + skip) % size;
        let mut left = len;
        while left > 0 {
            let n = (size - start).min(left);
            out.extend_from_slice(&self.buf[start..start + n]);
            start = (start + n) % size;
            left -= n;
        }
        len
    }

    /// A new ring of `size` keeping the newest history that fits
    /// (CONFIG SET repl-backlog-size).
    fn resized(&self, size: usize, end_offset: i64) -> Backlog {
        let mut tail = Vec::with_capacity(self.histlen);
        self.copy_from(self.first_byte_offset, &mut tail);
        let mut b = Backlog::new(size, end_offset + 1);
        b.first_byte_offset = end_offset - tail.len() as i64 + 1;
        if !tail.is_empty() {
            b.append(&tail, end_offset);
        }
        b
    }
}
// ANCHOR_END: repl_backlog

/// A client parked in WAIT.
#[derive(Debug)]
pub struct AckWaiter {
    pub client_id: u64,
    /// Its last write's stream offset: acks at or past it count.
    pub offset: i64,
    pub numreplicas: i64,
    /// `None`: wait forever.
    pub deadline: Option<Instant>,
}

/// The primary's replication state (Redis's `server.replid`,
/// `server.master_repl_offset`, `server.repl_backlog`, `server.slaves`...).
#[derive(Debug)]
pub struct Replication {
    /// The id of the current history.
    pub replid: String,
    /// The previous history's id, valid up to `second_replid_offset`
    /// (set when a replica is promoted, or follows a promoted primary).
    pub replid2: String,
    /// Bytes of the stream produced so far.
    pub master_repl_offset: i64,
    pub second_replid_offset: i64,
    /// `None` until the first replica attaches.
    pub backlog: Option<Backlog>,
    /// Attached replicas' client ids, in attach order (`server.slaves`).
    pub replicas: Vec<u64>,
    /// The db the stream last SELECTed; `None` forces a SELECT before the
    /// next command (`server.slaveseldb == -1`).
    pub selected_db: Option<usize>,
    /// Runs of the once-a-second cron, and when the last one ran.
    cron_loops: u64,
    last_cron: Option<Instant>,
    /// Since when no replica is attached (for `repl-backlog-ttl`).
    no_replicas_since: Option<Instant>,
    /// INFO stats: `sync_full`, `sync_partial_ok`, `sync_partial_err`.
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// A WAIT asked for fresh ACKs: send `REPLCONF GETACK *` before the
    /// next sleep (`server.get_ack_from_slaves`).
    pub get_ack_pending: bool,
    /// Clients parked in WAIT (`server.clients_waiting_acks`).
    pub waiting: Vec<AckWaiter>,
    /// Our side as a replica, when `replicaof` names a primary.
    pub replica: replica::ReplicaSide,
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            replid: crate::server::random_hex(40),
            replid2: "0".repeat(40),
            master_repl_offset: 0,
            second_replid_offset: -1,
            backlog: None,
            replicas: Vec::new(),
            selected_db: None,
            // Redis counts from 0, so its first PING can come in the very
            // first second after start; from 1, the first comes a period
            // after start (which keeps a test's stream free of pings).
            cron_loops: 1,
            last_cron: None,
            no_replicas_since: Some(Instant::now()),
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            get_ack_pending: false,
            waiting: Vec::new(),
            replica: replica::ReplicaSide::default(),
        }
    }
}

impl Replication {
    /// Is there a stream to feed? (The propagation path asks this once
    /// per write.)
    #[inline]
    pub fn active(&self) -> bool {
        self.backlog.is_some()
    }

    /// A backlog for a replica that just took its primary's history: it
    /// starts after the current offset (`createReplicationBacklog`).
    pub fn ensure_backlog(&mut self, size: usize) {
        if self.backlog.is_none() {
            self.backlog = Some(Backlog::new(size, self.master_repl_offset + 1));
        }
    }

    /// Count the backlog's time to live from now (a promoted replica's
    /// replicas get `repl-backlog-ttl` to come back).
    pub fn mark_no_replicas_now(&mut self) {
        if self.replicas.is_empty() {
            self.no_replicas_since = Some(Instant::now());
        }
    }

    /// A new history (`changeReplicationId` + `clearReplicationId2`).
    fn new_history(&mut self) {
        self.replid = crate::server::random_hex(40);
        self.replid2 = "0".repeat(40);
        self.second_replid_offset = -1;
    }
}

fn log(level: char, msg: std::fmt::Arguments) {
    eprintln!("{} {level} {msg}", std::process::id());
}

/// `ip:port` as Redis's logs name a replica (`replicationGetSlaveName`).
pub fn replica_name(c: &Client) -> String {
    let ip = c
        .replica
        .as_ref()
        .and_then(|l| l.announced_ip.clone())
        .unwrap_or_else(|| c.addr.ip().to_string());
    match c.replica.as_ref().map(|l| l.listening_port) {
        Some(p) if p != 0 => format!("{ip}:{p}"),
        _ => format!("{ip}:<unknown-replica-port>"),
    }
}

// ANCHOR: repl_feed
/// Feed one RESP-encoded command to the backlog and every replica
/// (`replicationFeedSlaves`). `db` is the db it applies to; `None` for a
/// command that touches no key (PING, REPLCONF GETACK), which never needs
/// a SELECT.
pub fn feed(s: &mut Server, db: Option<usize>, command: &[u8]) {
    // A replica's stream is its primary's, passed on byte for byte
    // (`replica::stream_loop`); nothing it executes is fed a second time.
    if !s.replication.active() || replica::is_replica(s) {
        return;
    }
    if let Some(db) = db {
        if s.replication.selected_db != Some(db) {
            let mut select = Vec::with_capacity(24);
            let db_text = db.to_string();
            crate::propagate::encode_command(&mut select, &[&b"SELECT"[..], db_text.as_bytes()]);
            write_stream(s, &select);
            s.replication.selected_db = Some(db);
        }
    }
    write_stream(s, command);
}

/// Number the bytes, keep them in the backlog, and give them to every
/// replica whose offset is fixed (all but `WaitBgsaveStart`).
pub(crate) fn write_stream(s: &mut Server, bytes: &[u8]) {
    let r = &mut s.replication;
    r.master_repl_offset += bytes.len() as i64;
    let end = r.master_repl_offset;
    if let Some(b) = r.backlog.as_mut() {
        b.append(bytes, end);
    }
    for id in &s.replication.replicas {
        let Some(rc) = s.clients.get(id) else {
            continue;
        };
        // The only client that cannot be borrowed is the one running the
        // current command; a replica does not run writes.
        let Ok(mut c) = rc.try_borrow_mut() else {
            continue;
        };
        let takes = c.replica.as_ref().is_some_and(|l| {
            l.state
                .is_some_and(|st| st != ReplicaState::WaitBgsaveStart)
        });
        if takes {
            c.reply.buf.extend_from_slice(bytes);
            c.wake.notify_one();
            crate::server::connection::enforce_output_limit(&s.config, &mut c);
        }
    }
}
// ANCHOR_END: repl_feed

/// A full resync or a PSYNC was asked: make `client` a replica and create
/// the backlog if it is the first (`syncCommand`, the part after the
/// partial attempt).
fn attach(s: &mut Server, client: &mut Client, state: ReplicaState) {
    let link = client.replica.get_or_insert_with(Default::default);
    link.state = Some(state);
    link.ack_time = Some(Instant::now());
    s.replication.replicas.push(client.id);
    s.replication.no_replicas_since = None;
    if s.replication.backlog.is_none() {
        let r = &mut s.replication;
        r.new_history();
        r.backlog = Some(Backlog::new(
            s.config.repl_backlog_size as usize,
            r.master_repl_offset + 1,
        ));
        log(
            '*',
            format_args!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                r.replid, r.replid2
            ),
        );
    }
}

// ANCHOR: repl_partial
/// `PSYNC <replid> <offset>`: continue from the backlog if we can. Every
/// outcome:
/// - `replid` is neither our id nor our previous one (valid up to
///   `second_replid_offset`), or is `?`: `false`, full resync;
/// - no backlog, or `offset` outside it: `false`, full resync;
/// - otherwise the client is an online replica, `+CONTINUE` and the
///   backlog from `offset` are in its preamble, and we return `true`.
pub fn try_partial_resync(s: &mut Server, client: &mut Client, replid: &[u8], offset: i64) -> bool {
    let r = &s.replication;
    let ours = replid.eq_ignore_ascii_case(r.replid.as_bytes());
    let previous =
        replid.eq_ignore_ascii_case(r.replid2.as_bytes()) && offset <= r.second_replid_offset;
    let name = replica_name(client);
    if !ours && !previous {
        if replid.first() == Some(&b'?') {
            log('*', format_args!("Full resync requested by replica {name}"));
        } else {
            log(
                '*',
                format_args!(
                    "Partial resynchronization not accepted: Replication ID mismatch \
                     (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    String::from_utf8_lossy(replid),
                    r.replid,
                    r.replid2
                ),
            );
        }
        return false;
    }
    let Some(backlog) = r.backlog.as_ref().filter(|b| b.covers(offset)) else {
        log(
            '*',
            format_args!(
                "Unable to partial resync with replica {name} for lack of backlog \
                 (Replica request was: {offset})."
            ),
        );
        return false;
    };
    let mut preamble = if client.replica.as_ref().is_some_and(|l| l.capa_psync2) {
        format!("+CONTINUE {}\r\n", r.replid).into_bytes()
    } else {
        b"+CONTINUE\r\n".to_vec()
    };
    let sent = backlog.copy_from(offset, &mut preamble);
    attach(s, client, ReplicaState::Online);
    let link = client.replica.as_mut().expect("attached");
    link.preamble = preamble;
    link.ack_offset = offset - 1;
    client.wake.notify_one();
    log(
        '*',
        format_args!(
            "Partial resynchronization request from {name} accepted. Sending {sent} bytes \
             of backlog starting from offset {offset}."
        ),
    );
    true
}
// ANCHOR_END: repl_partial

// ANCHOR: repl_full
/// A full resync for `client` (SYNC, or a PSYNC that could not continue).
pub fn start_full_resync(s: &mut Server, client: &mut Client, pre_psync: bool) {
    s.replication.sync_full += 1;
    attach(s, client, ReplicaState::WaitBgsaveStart);
    client.replica.as_mut().expect("attached").pre_psync = pre_psync;
    let name = replica_name(client);
    // CASE 1: a BGSAVE to disk runs and another replica waits for it:
    // share it, copying that replica's accumulated stream and offset.
    if s.rdb.child_pid.is_some() {
        for id in &s.replication.replicas {
            let Some(rc) = s.clients.get(id) else {
                continue;
            };
            let Ok(other) = rc.try_borrow() else { continue };
            let Some(l) = other.replica.as_ref() else {
                continue;
            };
            if l.state == Some(ReplicaState::WaitBgsaveEnd) {
                let (offset, stream) = (l.initial_offset, other.reply.to_vec());
                drop(other);
                client.reply.buf = stream;
                setup_full_resync(s, client, offset);
                log('*', format_args!("Waiting for end of BGSAVE for SYNC"));
                return;
            }
        }
        log(
            '*',
            format_args!(
                "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC"
            ),
        );
        return;
    }
    // CASE 2: another child (an AOF rewrite) runs: wait for it to end.
    if s.aof.rewrite_in_progress() {
        log(
            '*',
            format_args!("Waiting for next BGSAVE for SYNC ({name})"),
        );
        return;
    }
    // CASE 3: fork now; `client` is borrowed by us, so it is set up here
    // rather than found through the client table.
    start_bgsave_for_replication(s, Some(client));
}

/// Fix a replica's initial offset: from now on it accumulates the stream
/// (`replicationSetupSlaveForFullResync`).
fn setup_full_resync(s: &mut Server, client: &mut Client, offset: i64) {
    let replid = s.replication.replid.clone();
    let link = client.replica.as_mut().expect("a replica");
    link.initial_offset = offset;
    link.ack_offset = 0;
    link.state = Some(ReplicaState::WaitBgsaveEnd);
    // The first command after the snapshot must say its db.
    s.replication.selected_db = None;
    if !link.pre_psync {
        link.preamble
            .extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
        client.wake.notify_one();
    }
}

/// Fork the BGSAVE that every replica in `WaitBgsaveStart` will use
/// (`startBgsaveForReplication`). `current` is the replica whose command
/// is running, if any (it cannot be borrowed through the client table).
fn start_bgsave_for_replication(s: &mut Server, mut current: Option<&mut Client>) {
    log(
        '*',
        format_args!("Starting BGSAVE for SYNC with target: disk"),
    );
    let result = crate::commands::persistence::bgsave_start(s);
    let offset = s.replication.master_repl_offset;
    let ids = s.replication.replicas.clone();
    for id in ids {
        let rc = s.clients.get(&id).cloned();
        let mut borrowed;
        let c: &mut Client = match current.as_deref_mut() {
            Some(c) if c.id == id => c,
            _ => {
                let Some(Ok(b)) = rc.as_ref().map(|rc| rc.try_borrow_mut()) else {
                    continue;
                };
                borrowed = b;
                &mut borrowed
            }
        };
        if c.replica.as_ref().and_then(|l| l.state) != Some(ReplicaState::WaitBgsaveStart) {
            continue;
        }
        match &result {
            Ok(()) => setup_full_resync(s, c, offset),
            Err(e) => {
                log('#', format_args!("BGSAVE for replication failed: {e}"));
                c.reply.err("BGSAVE failed, replication can't continue");
                c.close_after_reply = true;
                if let Some(l) = c.replica.as_mut() {
                    l.state = None;
                }
                c.wake.notify_one();
            }
        }
    }
    if result.is_err() {
        let clients = &s.clients;
        s.replication.replicas.retain(|id| {
            clients
                .get(id)
                .and_then(|rc| {
                    rc.try_borrow()
                        .ok()
                        .map(|c| c.replica.as_ref().is_some_and(|l| l.state.is_some()))
                })
                .unwrap_or(true)
        });
    }
}
// ANCHOR_END: repl_full

// ANCHOR: repl_bgsave_done
/// The BGSAVE child ended (`updateSlavesWaitingBgsave`): the replicas
/// waiting for it get the file; those waiting for the *next* one get a
/// new BGSAVE.
pub fn bgsave_done(s: &mut Server, ok: bool) {
    if s.replication.replicas.is_empty() {
        return;
    }
    let path = s.config.dir.join(&s.config.dbfilename);
    let mut any_waiting_start = false;
    for id in &s.replication.replicas {
        let Some(rc) = s.clients.get(id) else {
            continue;
        };
        let Ok(mut c) = rc.try_borrow_mut() else {
            continue;
        };
        let state = c.replica.as_ref().and_then(|l| l.state);
        match state {
            Some(ReplicaState::WaitBgsaveStart) => any_waiting_start = true,
            Some(ReplicaState::WaitBgsaveEnd) => {
                let opened = if ok {
                    std::fs::File::open(&path)
                        .and_then(|f| f.metadata().map(|m| (f, m.len())))
                        .ok()
                } else {
                    None
                };
                let Some((file, len)) = opened else {
                    log(
                        '#',
                        format_args!("SYNC failed. BGSAVE child returned an error"),
                    );
                    c.close_asap = true;
                    c.wake.notify_one();
                    continue;
                };
                let link = c.replica.as_mut().expect("a replica");
                link.preamble
                    .extend_from_slice(format!("${len}\r\n").as_bytes());
                link.rdb_file = Some(file);
                link.state = Some(ReplicaState::SendBulk);
                c.wake.notify_one();
            }
            _ => {}
        }
    }
    if any_waiting_start && !s.aof.rewrite_in_progress() {
        start_bgsave_for_replication(s, None);
    }
}
// ANCHOR_END: repl_bgsave_done

// ANCHOR: repl_output
/// Called by a replica's connection task instead of taking its reply
/// buffer: fill `out` with what may go to the socket now. Returns `false`
/// when the ordinary reply buffer (the stream) may be written.
///
/// Order on the wire: preamble (`+FULLRESYNC`, newlines, `$<len>`), the
/// RDB file, then the stream accumulated since the fork.
pub fn take_replica_output(c: &mut Client, out: &mut Vec<u8>) -> bool {
    let Some(link) = c.replica.as_mut() else {
        return false;
    };
    let Some(state) = link.state else {
        return false;
    };
    if !link.preamble.is_empty() {
        std::mem::swap(out, &mut link.preamble);
        return true;
    }
    match state {
        // The stream waits in the buffer until the RDB has gone.
        ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => true,
        ReplicaState::SendBulk => {
            const CHUNK: usize = 64 * 1024;
            let mut read = 0;
            if let Some(file) = link.rdb_file.as_mut() {
                out.resize(CHUNK, 0);
                read = file.read(&mut out[..]).unwrap_or(0);
                out.truncate(read);
            }
            if read > 0 {
                return true;
            }
            // The whole file is out (`replicaPutOnline`).
            link.rdb_file = None;
            link.state = Some(ReplicaState::Online);
            link.ack_time = Some(Instant::now());
            let name = replica_name(c);
            log(
                '*',
                format_args!("Synchronization with replica {name} succeeded"),
            );
            false
        }
        ReplicaState::Online => false,
    }
}
// ANCHOR_END: repl_output

/// A client is gone: if it was a replica, detach it (`freeClient`'s
/// replica branch).
pub fn forget_client(s: &mut Server, c: &Client) {
    if c.replica.as_ref().is_some_and(|l| l.state.is_some()) {
        log(
            '#',
            format_args!("Connection with replica {} lost.", replica_name(c)),
        );
    }
    let before = s.replication.replicas.len();
    s.replication.replicas.retain(|&id| id != c.id);
    if before != s.replication.replicas.len() && s.replication.replicas.is_empty() {
        s.replication.no_replicas_since = Some(Instant::now());
    }
    s.replication.waiting.retain(|w| w.client_id != c.id);
}

/// Before the server waits for more input (Redis's `beforeSleep`): send
/// the GETACK a WAIT asked for, and answer WAITs that got their ACKs.
/// `current` is the client whose batch just ran (still borrowed): a
/// replica whose ACK arrived counts through it.
pub fn before_reply(s: &mut Server, current: &Client) {
    if s.replication.get_ack_pending {
        s.replication.get_ack_pending = false;
        feed(
            s,
            None,
            b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n",
        );
    }
    if !s.replication.waiting.is_empty() {
        process_waiting(s, None, Some(current));
    }
}

/// How many online replicas acknowledged `offset`
/// (`replicationCountAcksByOffset`).
pub fn count_acks(s: &Server, offset: i64, current: Option<&Client>) -> i64 {
    let mut n = 0;
    for id in &s.replication.replicas {
        let count = |c: &Client| {
            c.replica
                .as_ref()
                .is_some_and(|l| l.state == Some(ReplicaState::Online) && l.ack_offset >= offset)
        };
        let acked = match current {
            Some(c) if c.id == *id => count(c),
            _ => s
                .clients
                .get(id)
                .and_then(|rc| rc.try_borrow().ok().map(|c| count(&c)))
                .unwrap_or(false),
        };
        n += acked as i64;
    }
    n
}

/// Where the stream is, for a snapshot's aux fields
/// (`rdbPopulateSaveInfo`, the master branch): only once there is a
/// backlog, since before that there is no history a replica could
/// continue.
pub fn save_position(s: &Server) -> Option<crate::rdb::ReplAux> {
    let r = &s.replication;
    r.backlog.as_ref()?;
    // A replica's stream is in the db its master client last selected.
    let stream_db = if replica::is_replica(s) {
        r.replica
            .master_client
            .and_then(|id| s.clients.get(&id))
            .and_then(|rc| rc.try_borrow().ok().map(|c| c.db))
            .unwrap_or(r.replica.stream_db)
    } else {
        r.selected_db.unwrap_or(0)
    };
    let mut replid = [b'0'; 40];
    let id = r.replid.as_bytes();
    replid[..id.len().min(40)].copy_from_slice(&id[..id.len().min(40)]);
    Some(crate::rdb::ReplAux {
        stream_db,
        replid,
        offset: r.master_repl_offset,
    })
}

/// `-NOREPLICAS`: what a write gets while too few good replicas are
/// attached (Redis's `shared.noreplicaserr`).
pub const NOREPLICAS_ERR: &str = "NOREPLICAS Not enough good replicas to write.";

/// How many replicas are *good*: online, and heard from (`REPLCONF ACK`,
/// or going online) at most `min-replicas-max-lag` seconds ago. Redis
/// keeps this count in `repl_good_slaves_count`, refreshed once a second
/// (`refreshGoodSlavesCount`); we count on demand, which is the same
/// number without the up-to-one-second staleness. Only asked when
/// `min-replicas-to-write` is on, so the walk costs nothing otherwise.
pub fn good_replicas(s: &Server, current: Option<&Client>) -> u32 {
    let max_lag = s.config.min_replicas_max_lag as u64;
    let now = Instant::now();
    let good = |c: &Client| {
        c.replica.as_ref().is_some_and(|l| {
            l.state == Some(ReplicaState::Online)
                && l.ack_time
                    .is_some_and(|t| now.duration_since(t).as_secs() <= max_lag)
        })
    };
    let mut n = 0;
    for id in &s.replication.replicas {
        n += match current {
            Some(c) if c.id == *id => good(c),
            _ => s
                .clients
                .get(id)
                .and_then(|rc| rc.try_borrow().ok().map(|c| good(&c)))
                .unwrap_or(false),
        } as u32;
    }
    n
}

/// May a write run now? No when `min-replicas-to-write` and
/// `min-replicas-max-lag` are both set and fewer good replicas than the
/// first are attached (`checkGoodReplicasStatus`; either at 0 turns the
/// rule off).
pub fn enough_good_replicas(s: &Server, current: Option<&Client>) -> bool {
    // Only a primary applies the rule (a replica obeys its own primary).
    if replica::is_replica(s) {
        return true;
    }
    let need = s.config.min_replicas_to_write;
    need == 0 || s.config.min_replicas_max_lag == 0 || good_replicas(s, current) >= need
}

/// Answer the WAITs that are satisfied, or whose deadline passed
/// (`processClientsWaitingReplicas`, and the WAIT timeout).
fn process_waiting(s: &mut Server, now: Option<Instant>, current: Option<&Client>) {
    let waiting = std::mem::take(&mut s.replication.waiting);
    let mut still = Vec::with_capacity(waiting.len());
    for w in waiting {
        let acks = count_acks(s, w.offset, current);
        let timed_out = matches!((now, w.deadline), (Some(n), Some(d)) if n >= d);
        if acks < w.numreplicas && !timed_out {
            still.push(w);
            continue;
        }
        let Some(rc) = s.clients.get(&w.client_id).cloned() else {
            continue;
        };
        let Ok(mut c) = rc.try_borrow_mut() else {
            still.push(w);
            continue;
        };
        if s.unblock_client(&mut c).is_some() {
            c.reply.int(acks);
            c.wake.notify_one();
        }
    }
    still.append(&mut s.replication.waiting);
    s.replication.waiting = still;
}

// ANCHOR: repl_cron
/// From `serverCron`, `hz` times a second; the replication part runs once
/// a second (`replicationCron`), WAIT deadlines every tick.
pub fn cron(s: &mut Server) {
    let now = Instant::now();
    if !s.replication.waiting.is_empty() {
        process_waiting(s, Some(now), None);
    }
    if s.replication
        .last_cron
        .is_some_and(|t| now.duration_since(t).as_millis() < 1000)
    {
        return;
    }
    s.replication.last_cron = Some(now);
    let loops = s.replication.cron_loops;
    s.replication.cron_loops += 1;

    // A new repl-backlog-size takes effect here.
    let size = s.config.repl_backlog_size as usize;
    let end = s.replication.master_repl_offset;
    if let Some(b) = s.replication.backlog.as_mut() {
        if b.size() != size {
            *b = b.resized(size, end);
        }
    }

    // Replicas that waited for another child (an AOF rewrite) to end
    // (`replicationStartPendingFork`).
    if s.rdb.child_pid.is_none() && !s.aof.rewrite_in_progress() {
        let waiting = s.replication.replicas.iter().any(|id| {
            s.clients.get(id).is_some_and(|rc| {
                rc.try_borrow().is_ok_and(|c| {
                    c.replica.as_ref().and_then(|l| l.state) == Some(ReplicaState::WaitBgsaveStart)
                })
            })
        });
        if waiting {
            start_bgsave_for_replication(s, None);
        }
    }

    // PING into the stream, in whatever db it is in (no SELECT).
    let period = s.config.repl_ping_replica_period.max(1) as u64;
    if loops.is_multiple_of(period) && !s.replication.replicas.is_empty() {
        feed(s, None, b"*1\r\n$4\r\nPING\r\n");
    }

    let timeout = s.config.repl_timeout as u64;
    for id in &s.replication.replicas {
        let Some(rc) = s.clients.get(id) else {
            continue;
        };
        let Ok(mut c) = rc.try_borrow_mut() else {
            continue;
        };
        let Some(link) = c.replica.as_mut() else {
            continue;
        };
        match link.state {
            // A newline keeps a replica that waits for its RDB from timing
            // out; it is out of band (never counted in offsets).
            Some(ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd) => {
                link.preamble.push(b'\n');
                c.wake.notify_one();
            }
            Some(ReplicaState::Online) if !link.pre_psync => {
                let silent = link.ack_time.map_or(0, |t| now.duration_since(t).as_secs());
                if silent > timeout {
                    let name = replica_name(&c);
                    log(
                        '#',
                        format_args!("Disconnecting timedout replica (streaming sync): {name}"),
                    );
                    c.close_asap = true;
                    c.wake.notify_one();
                }
            }
            _ => {}
        }
    }

    // No replica for `repl-backlog-ttl` seconds: free the backlog, and with
    // it the history (a replica coming back later cannot continue).
    let ttl = s.config.repl_backlog_ttl;
    // A replica keeps its backlog: it is its primary's history.
    let keeps = replica::is_replica(s);
    if let (Some(since), true, false) = (
        s.replication.no_replicas_since,
        s.replication.active(),
        keeps,
    ) {
        if ttl > 0 && now.duration_since(since).as_secs() >= ttl {
            let r = &mut s.replication;
            r.new_history();
            r.backlog = None;
            log(
                '*',
                format_args!(
                    "Replication backlog freed after {ttl} seconds without connected replicas."
                ),
            );
        }
    }
}
// ANCHOR_END: repl_cron

/// INFO's `# Replication` section, for a master (Redis 7.0's fields, in
/// order).
pub fn info_section(s: &Server, out: &mut String, current: Option<&Client>) {
    use std::fmt::Write;
    let r = &s.replication;
    if replica::is_replica(s) {
        out.push_str("# Replication\r\nrole:slave\r\n");
        replica::info_fields(s, out);
    } else {
        out.push_str("# Replication\r\nrole:master\r\n");
    }
    let mut lines = String::new();
    let mut n = 0;
    let now = Instant::now();
    for id in &r.replicas {
        let mut line = |c: &Client| {
            let Some(l) = c.replica.as_ref() else { return };
            let Some(state) = l.state else { return };
            let ip = l
                .announced_ip
                .clone()
                .unwrap_or_else(|| c.addr.ip().to_string());
            let lag = l.ack_time.map_or(0, |t| now.duration_since(t).as_secs());
            let _ = write!(
                lines,
                "slave{n}:ip={ip},port={},state={},offset={},lag={lag}\r\n",
                l.listening_port,
                state.name(),
                l.ack_offset
            );
            n += 1;
        };
        match current {
            Some(c) if c.id == *id => line(c),
            _ => {
                if let Some(Ok(c)) = s.clients.get(id).map(|rc| rc.try_borrow()) {
                    line(&c)
                }
            }
        }
    }
    let _ = write!(out, "connected_slaves:{n}\r\n");
    if s.config.min_replicas_to_write > 0 && s.config.min_replicas_max_lag > 0 {
        let good = good_replicas(s, current);
        let _ = write!(out, "min_slaves_good_slaves:{good}\r\n");
    }
    out.push_str(&lines);
    let (active, first, histlen) = match &r.backlog {
        Some(b) => (1, b.first_byte_offset, b.histlen),
        None => (0, 0, 0),
    };
    let _ = write!(
        out,
        "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\n\
         master_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{active}\r\n\
         repl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{first}\r\n\
         repl_backlog_histlen:{histlen}\r\n",
        r.replid,
        r.replid2,
        r.master_repl_offset,
        r.second_replid_offset,
        s.config.repl_backlog_size,
    );
}

// ANCHOR: repl_anatomy_backlog
/// `ANATOMY BACKLOG`: the numbers the visualizer draws the ring and the
/// replicas' positions from.
pub fn backlog_snapshot(s: &Server) -> anatomy_viz_proto::BacklogSnapshot {
    let r = &s.replication;
    let mut replicas = Vec::new();
    for id in &r.replicas {
        let Some(Ok(c)) = s.clients.get(id).map(|rc| rc.try_borrow()) else {
            continue;
        };
        let Some(l) = c.replica.as_ref() else {
            continue;
        };
        let Some(state) = l.state else { continue };
        replicas.push(anatomy_viz_proto::ReplicaPosition {
            client_id: c.id,
            addr: c.addr.to_string(),
            listening_port: l.listening_port,
            state: state.name().to_string(),
            initial_offset: l.initial_offset,
            ack_offset: l.ack_offset,
            pending_bytes: (c.reply.len() + c.reply_in_flight) as u64,
        });
    }
    let b = r.backlog.as_ref();
    anatomy_viz_proto::BacklogSnapshot {
        version: anatomy_viz_proto::PROTO_VERSION,
        replid: r.replid.clone(),
        master_repl_offset: r.master_repl_offset,
        active: b.is_some(),
        size: b.map_or(0, |b| b.size() as u64),
        first_byte_offset: b.map_or(0, |b| b.first_byte_offset),
        histlen: b.map_or(0, |b| b.histlen as u64),
        write_index: b.map_or(0, |b| b.write_index as u64),
        replicas,
    }
}
// ANCHOR_END: repl_anatomy_backlog

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(b: &Backlog, from: i64) -> Vec<u8> {
        let mut v = Vec::new();
        b.copy_from(from, &mut v);
        v
    }

    #[test]
    fn backlog_keeps_the_last_size_bytes_with_their_offsets() {
        let mut b = Backlog::new(8, 1);
        b.append(b"abc", 3);
        assert_eq!((b.first_byte_offset, b.histlen), (1, 3));
        assert_eq!(stream(&b, 1), b"abc");
        assert_eq!(stream(&b, 3), b"c");
        assert!(b.covers(4) && !b.covers(5) && !b.covers(0));
        b.append(b"defghijk", 11);
        // The worked example of the essay: 'd' is byte 4.
        assert_eq!((b.first_byte_offset, b.histlen), (4, 8));
        assert_eq!(stream(&b, 4), b"defghijk");
        assert_eq!(stream(&b, 10), b"jk");
        assert!(b.covers(12) && !b.covers(3));
    }

    #[test]
    fn backlog_append_larger_than_the_ring_keeps_its_tail() {
        let mut b = Backlog::new(4, 1);
        b.append(b"xy", 2);
        b.append(b"0123456789", 12);
        assert_eq!(b.first_byte_offset, 9);
        assert_eq!(stream(&b, 9), b"6789");
    }

    #[test]
    fn backlog_resize_keeps_the_newest_history() {
        let mut b = Backlog::new(8, 1);
        b.append(b"abcdefghijk", 11);
        let small = b.resized(3, 11);
        assert_eq!((small.first_byte_offset, small.histlen), (9, 3));
        assert_eq!(stream(&small, 9), b"ijk");
        let big = b.resized(100, 11);
        assert_eq!(stream(&big, 4), b"defghijk");
        let mut big = big;
        big.append(b"l", 12);
        assert_eq!(stream(&big, 11), b"kl");
    }
}
