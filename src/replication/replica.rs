//! # Replication, the replica's side
//!
//! `REPLICAOF host port` turns this server into a copy of another one. The
//! primary's half (`crate::replication`) numbers its stream and hands it
//! out; this half asks for it, loads it and applies it, and from then on
//! has exactly the primary's dataset as of its offset.
//!
//! ## The link, as a state machine
//!
//! One task ([`run`], started with the server) owns the link. It sleeps
//! while we are a primary and wakes when REPLICAOF (or the `replicaof`
//! directive) names a primary:
//!
//! ```text
//!  connect -> connecting -> handshake -> sync -> connected
//!     ^  (PING, AUTH, REPLCONF listening-port, capa, PSYNC)    |
//!     +-------------- link lost: retry after 1 s --------------+
//! ```
//!
//! - handshake: `PING` (a `-NOAUTH` answer is fine: AUTH comes next),
//!   `AUTH [masteruser] masterauth`, `REPLCONF listening-port <port>`
//!   (and `ip-address` with `replica-announce-ip`), `REPLCONF capa eof
//!   capa psync2`, then `PSYNC <replid> <offset+1>` naming the history we
//!   hold (or `PSYNC ? -1` when we hold none worth continuing).
//! - `+FULLRESYNC <replid> <offset>`: the snapshot follows, as
//!   `$<len>\r\n<bytes>` (disk-based) or `$EOF:<40 random bytes>\r\n<bytes>
//!   <the same 40 bytes>` (diskless: the length is unknown while the child
//!   writes). The old data is flushed, the snapshot loaded, and our
//!   history becomes the primary's: `replid` is its id, our offset its
//!   `<offset>`.
//! - `+CONTINUE [replid]`: the primary still had our missing bytes in its
//!   backlog; they follow as ordinary stream. A new id means the primary
//!   was promoted meanwhile: our old id becomes `replid2`, valid up to the
//!   current offset, so our own replicas can still continue with us.
//!
//! ## The master client
//!
//! Once synchronised, the link is a client like any other (CLIENT LIST
//! shows it with flag `M`, `CLIENT KILL TYPE master` drops it), whose
//! commands are executed by the ordinary `process_command`, with three
//! differences: it may write although we are read-only, its replies are
//! thrown away (except `REPLCONF GETACK`'s ACK), and each command's bytes,
//! once applied, are appended to our own backlog and sent on to our own
//! replicas unchanged. That last rule is chained replication: a
//! sub-replica sees the very bytes, offsets and replid of the top
//! primary, so it can PSYNC-continue with us, with the top primary, or
//! with any sibling. Commands the master client runs are therefore *not*
//! propagated the ordinary way (that would feed them twice); they still go
//! to our AOF.
//!
//! Once a second we report `REPLCONF ACK <offset>` (what WAIT counts), and
//! a link silent for `repl-timeout` seconds is dropped. A dropped link is
//! not the end of the history: we keep `replid` and our offset (Redis's
//! "cached master") and the next connection asks `PSYNC replid offset+1`.
//!
//! ## The rules of a replica
//!
//! - `replica-read-only yes`: other clients' writes get `-READONLY`.
//! - `replica-serve-stale-data no`: while the link is not `connected`,
//!   only commands flagged `stale` run; the rest get `-MASTERDOWN`.
//! - Keys are never expired here: a key past its TTL reads as missing for
//!   ordinary clients, but stays in memory (and is seen by the master
//!   client) until the primary's DEL arrives. Only the primary decides
//!   when a key dies, so both sides delete it at the same offset.
//! - `REPLICAOF NO ONE` promotes: the current id becomes `replid2` (valid
//!   up to our offset + 1) and a new history starts, so our replicas and
//!   even our old primary can continue with `+CONTINUE`.
//!
//! ## The invariant
//!
//! `master_repl_offset` is the offset of the last byte of the primary's
//! stream that we have *applied*, and our backlog holds its tail: the
//! bytes we hold but have not applied yet (a command cut in half by the
//! network) are counted in `slave_read_repl_offset` only.
//!
//! ## The Redis C counterpart
//!
//! `src/replication.c`: `replicaofCommand`, `replicationSetMaster`,
//! `replicationUnsetMaster`, `connectWithMaster`, `syncWithMaster` (the
//! handshake states), `slaveTryPartialResynchronization`,
//! `readSyncBulkPayload`, `replicationCreateMasterClient`,
//! `replicationSendAck`, `replicationCacheMaster`,
//! `replicationCacheMasterUsingMyself`, `shiftReplicationId`,
//! `replicationFeedStreamFromMasterStream`, the replica half of
//! `replicationCron` and `roleCommand`; `src/networking.c`:
//! `commandProcessed` (the offset after each command); `src/db.c`:
//! `expireIfNeeded` (the replica's expiry rule).
//!
//! ## What we simplified
//!
//! - The link is one async task instead of callbacks on a non-blocking
//!   socket; the states are the same, the waiting is `.await`.
//! - The snapshot is read into memory, then written to `dbfilename` and
//!   loaded in one go (Redis streams it to a temp file; `repl-diskless-load`
//!   is not honoured). While it loads, the server does not answer
//!   (Redis answers `-LOADING`).
//! - The old `SYNC` fallback for primaries without PSYNC (before 2.8) is
//!   not attempted; such a primary is retried.
//! - Writable replicas do not track the keys their clients set with a TTL
//!   (Redis's `slaveKeysWithExpire`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::resp::{Args, ParseLimits, Parsed, RequestParser};
use crate::server::command::{flags, Command};
use crate::server::{Client, Flow, Server};

/// Where the link is (`server.repl_state`), as ROLE names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LinkState {
    /// We are a primary.
    #[default]
    None,
    /// A primary is configured; the next attempt is due.
    Connect,
    /// The TCP connection is being made.
    Connecting,
    /// PING, AUTH, REPLCONF, PSYNC.
    Handshake,
    /// Receiving the snapshot.
    Transfer,
    /// Applying the live stream.
    Connected,
}

impl LinkState {
    /// ROLE's fourth element.
    pub fn name(self) -> &'static str {
        match self {
            LinkState::None => "none",
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// The replica's half of `Replication` (Redis's `server.masterhost`,
/// `repl_state`, `master`, `cached_master`, `repl_transfer_*`...). The
/// primary we follow is `config.replicaof`.
#[derive(Debug)]
pub struct ReplicaSide {
    pub state: LinkState,
    /// Bumped by every REPLICAOF: a link task working for an older value
    /// gives up.
    pub generation: u64,
    /// Wakes the link task (REPLICAOF changed the target).
    pub wake: Rc<tokio::sync::Notify>,
    /// The master client's id while the link is connected.
    pub master_client: Option<u64>,
    /// When the link went down (`repl_down_since`; `None` is Redis's 0).
    pub down_since: Option<Instant>,
    /// Last bytes from the primary (`master->lastinteraction`).
    pub last_io: Option<Instant>,
    /// The snapshot transfer: its size (-1 for the `$EOF:` form), bytes
    /// read so far, and when the last ones arrived.
    pub transfer_size: i64,
    pub transfer_read: i64,
    pub transfer_last_io: Option<Instant>,
    /// Bytes of the stream received but not applied yet (a partial
    /// command): `slave_read_repl_offset - slave_repl_offset`.
    pub unapplied: i64,
    /// Is there a history to continue (`server.cached_master != NULL`)?
    /// If not, the handshake asks `PSYNC ? -1`.
    pub cached: bool,
    /// The db the primary's stream is in, kept across reconnections (the
    /// cached master client's `db`): a `+CONTINUE` stream need not start
    /// with SELECT.
    pub stream_db: usize,
    /// True while the master client's command runs: it sees logically
    /// expired keys as alive (see `expire_if_needed`).
    pub applying: bool,
    /// `REPLCONF GETACK` asked for an answer to the primary.
    pub force_reply: bool,
}

impl Default for ReplicaSide {
    fn default() -> Self {
        ReplicaSide {
            state: LinkState::None,
            generation: 0,
            wake: Rc::new(tokio::sync::Notify::new()),
            master_client: None,
            down_since: None,
            last_io: None,
            transfer_size: 0,
            transfer_read: 0,
            transfer_last_io: None,
            unapplied: 0,
            cached: false,
            stream_db: 0,
            applying: false,
            force_reply: false,
        }
    }
}

fn log(level: char, msg: std::fmt::Arguments) {
    eprintln!("{} {level} {msg}", std::process::id());
}

/// Are we a replica (`server.masterhost != NULL`)?
#[inline]
pub fn is_replica(s: &Server) -> bool {
    s.config.replicaof.is_some()
}

/// Is `c` the link to our primary?
pub fn is_master_client(c: &Client) -> bool {
    c.replica.as_ref().is_some_and(|l| l.master)
}

/// `-READONLY`, `-MASTERDOWN`: the replies a replica gives in place of
/// running a command (Redis's `shared.roslaveerr`, `shared.masterdownerr`).
pub const READONLY_ERR: &str = "READONLY You can't write against a read only replica.";
pub const MASTERDOWN_ERR: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

// ANCHOR: replica_refusal
/// Would a replica refuse `cmd` from `c`? (Two checks of `processCommand`.)
/// An EXEC counts as what it queued: a transaction with a write is a
/// write, one with a command not flagged `stale` is not stale-safe.
pub fn refusal(s: &Server, c: &Client, cmd: &Command) -> Option<&'static str> {
    if !is_replica(s) || is_master_client(c) {
        return None;
    }
    let exec = cmd.full_name == "exec";
    if s.config.replica_read_only {
        let writes = cmd.has(flags::WRITE)
            || (exec && c.multi.queued.iter().any(|(q, _)| q.has(flags::WRITE)));
        if writes {
            return Some(READONLY_ERR);
        }
    }
    if s.replication.replica.state != LinkState::Connected && !s.config.replica_serve_stale_data {
        let stale_unsafe = !cmd.has(flags::STALE)
            || (exec && c.multi.queued.iter().any(|(q, _)| !q.has(flags::STALE)));
        if stale_unsafe {
            return Some(MASTERDOWN_ERR);
        }
    }
    None
}
// ANCHOR_END: replica_refusal

/// Close every attached replica (`disconnectSlaves`): after our history
/// changed they must ask again.
pub fn disconnect_replicas(s: &mut Server) {
    for id in &s.replication.replicas {
        if let Some(Ok(mut c)) = s.clients.get(id).map(|rc| rc.try_borrow_mut()) {
            c.close_asap = true;
            c.wake.notify_one();
        }
    }
}

/// Drop the master client, if any (`freeClient(server.master)`): its
/// task notices `close_asap`.
fn drop_master_client(s: &mut Server) {
    if let Some(id) = s.replication.replica.master_client.take() {
        if let Some(Ok(mut c)) = s.clients.get(&id).map(|rc| rc.try_borrow_mut()) {
            c.close_asap = true;
            c.wake.notify_one();
        }
    }
}

/// Clients parked in BLPOP or WAIT on a primary would wait for writes
/// that can no longer happen here: they get an error and are closed
/// (`disconnectAllBlockedClients`).
fn disconnect_blocked_clients(s: &mut Server) {
    let clients: Vec<_> = s.clients.values().cloned().collect();
    for rc in clients {
        let Ok(mut c) = rc.try_borrow_mut() else {
            continue;
        };
        if c.blocked.is_none() {
            continue;
        }
        s.unblock_client(&mut c);
        c.reply.error(
            "UNBLOCKED force unblock from blocking operation, instance state changed \
             (master -> replica?)",
        );
        c.close_after_reply = true;
        c.wake.notify_one();
    }
}

// ANCHOR: replica_set_master
/// `REPLICAOF host port` (`replicationSetMaster`). Our current history is
/// kept as the one to continue ("cached master using myself"): if the new
/// primary was our replica, it knows our id and a PSYNC continues.
pub fn set_master(s: &mut Server, host: String, port: u16) {
    drop_master_client(s);
    disconnect_blocked_clients(s);
    s.config.replicaof = Some((host.clone(), port));
    let side = &mut s.replication.replica;
    side.cached = true;
    side.state = LinkState::Connect;
    side.generation += 1;
    side.wake.notify_one();
    log('*', format_args!("Connecting to MASTER {host}:{port}"));
}

/// `REPLICAOF NO ONE` (`replicationUnsetMaster`): become a primary that
/// continues the history it had as a replica under a new id.
pub fn unset_master(s: &mut Server) {
    if !is_replica(s) {
        return;
    }
    s.config.replicaof = None;
    drop_master_client(s);
    let r = &mut s.replication;
    // `shiftReplicationId`: the old id stays valid up to here.
    r.replid2 = std::mem::replace(&mut r.replid, crate::server::random_hex(40));
    r.second_replid_offset = r.master_repl_offset + 1;
    r.selected_db = None;
    let side = &mut r.replica;
    side.state = LinkState::None;
    side.cached = false;
    side.down_since = None;
    side.unapplied = 0;
    side.generation += 1;
    side.wake.notify_one();
    log(
        '*',
        format_args!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            r.replid2, r.second_replid_offset, r.replid
        ),
    );
    disconnect_replicas(s);
    s.replication.mark_no_replicas_now();
}
// ANCHOR_END: replica_set_master

/// The link task: forever, follow the configured primary, reconnecting
/// once a second after a failure (`connectWithMaster` from
/// `replicationCron`).
pub async fn run(server: Rc<RefCell<Server>>) {
    let wake = server.borrow().replication.replica.wake.clone();
    loop {
        let (target, generation) = {
            let s = server.borrow();
            (s.config.replicaof.clone(), s.replication.replica.generation)
        };
        let Some((host, port)) = target else {
            wake.notified().await;
            continue;
        };
        {
            // The `replicaof` directive at startup: no history to offer.
            let side = &mut server.borrow_mut().replication.replica;
            if side.state == LinkState::None {
                side.state = LinkState::Connect;
                log('*', format_args!("Connecting to MASTER {host}:{port}"));
            }
        }
        // The attempt ends when it fails, or when REPLICAOF changes the
        // target (dropping the future closes the socket).
        let changed = async {
            loop {
                wake.notified().await;
                if server.borrow().replication.replica.generation != generation {
                    return;
                }
            }
        };
        let result = tokio::select! {
            r = follow(&server, &host, port, generation) => r,
            _ = changed => Ok(()),
        };
        let still_ours = link_lost(&mut server.borrow_mut(), generation);
        if let Err(e) = result {
            if still_ours {
                log('#', format_args!("{e}"));
            }
        }
        if still_ours {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = wake.notified() => {}
            }
        }
    }
}

/// The attempt for `generation` ended. Returns whether that is still the
/// configured primary (else REPLICAOF has already reset the state).
fn link_lost(s: &mut Server, generation: u64) -> bool {
    let ours = s.replication.replica.generation == generation && is_replica(s);
    if let Some(id) = s.replication.replica.master_client.take() {
        // `replicationCacheMaster`: keep the history and the stream's db.
        if let Some(rc) = s.clients.remove(&id) {
            if let Ok(c) = rc.try_borrow() {
                s.replication.replica.stream_db = c.db;
            }
        }
        if ours {
            log(
                '#',
                format_args!("Connection with master lost. Caching the disconnected master state."),
            );
        }
        s.replication.replica.cached = true;
    }
    if ours {
        let side = &mut s.replication.replica;
        // Down since now, if it was up (a failed attempt changes nothing).
        if side.state == LinkState::Connected {
            side.down_since = Some(Instant::now());
        }
        side.state = LinkState::Connect;
        side.unapplied = 0;
    }
    ours
}

/// A connection to the primary, with what was read but not consumed.
struct Link {
    stream: TcpStream,
    buf: BytesMut,
    timeout: Duration,
}

impl Link {
    async fn send(&mut self, args: &[&[u8]]) -> Result<(), String> {
        let mut out = Vec::new();
        crate::propagate::encode_command(&mut out, args);
        self.stream
            .write_all(&out)
            .await
            .map_err(|e| format!("I/O error writing to MASTER: {e}"))
    }

    /// Read more, or fail after `timeout` of silence.
    async fn fill(&mut self) -> Result<usize, String> {
        self.buf.reserve(64 * 1024);
        match tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => Err("Timeout receiving data from MASTER".into()),
            Ok(Ok(0)) => Err("MASTER closed the connection".into()),
            Ok(Err(e)) => Err(format!("I/O error reading from MASTER: {e}")),
            Ok(Ok(n)) => Ok(n),
        }
    }

    /// One line without its CRLF (`receiveSynchronousResponse`).
    async fn line(&mut self) -> Result<String, String> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line = self.buf.split_to(end + 1);
                line.truncate(end);
                if line.last() == Some(&b'\r') {
                    line.truncate(end - 1);
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            self.fill().await?;
        }
    }
}

// ANCHOR: replica_handshake
/// One connection to the primary, from connect to link loss.
async fn follow(
    server: &Rc<RefCell<Server>>,
    host: &str,
    port: u16,
    generation: u64,
) -> Result<(), String> {
    let (timeout, auth, user, announce_port, announce_ip) = {
        let mut s = server.borrow_mut();
        s.replication.replica.state = LinkState::Connecting;
        let c = &s.config;
        let listening = if c.replica_announce_port != 0 {
            c.replica_announce_port
        } else {
            s.local_addr.map_or(c.port, |a| a.port())
        };
        (
            Duration::from_secs(c.repl_timeout.max(1) as u64),
            c.masterauth.clone(),
            c.masteruser.clone(),
            listening,
            c.replica_announce_ip.clone(),
        )
    };
    log('*', format_args!("MASTER <-> REPLICA sync started"));
    let stream = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("Error condition on socket for SYNC: {e}")),
        Err(_) => return Err("Timeout connecting to the MASTER...".into()),
    };
    let _ = stream.set_nodelay(true);
    let mut link = Link {
        stream,
        buf: BytesMut::with_capacity(64 * 1024),
        timeout,
    };
    server.borrow_mut().replication.replica.state = LinkState::Handshake;

    link.send(&[b"PING"]).await?;
    let pong = link.line().await?;
    if !(pong.starts_with('+')
        || pong.starts_with("-NOAUTH")
        || pong.starts_with("-NOPERM")
        || pong.starts_with("-ERR operation not permitted"))
    {
        return Err(format!("Error reply to PING from master: '{pong}'"));
    }
    log(
        '*',
        format_args!("Master replied to PING, replication can continue..."),
    );
    if let Some(pass) = auth {
        match &user {
            Some(u) => link.send(&[b"AUTH", u.as_bytes(), &pass]).await?,
            None => link.send(&[b"AUTH", &pass]).await?,
        }
        let reply = link.line().await?;
        if reply.starts_with('-') {
            return Err(format!("Unable to AUTH to MASTER: {reply}"));
        }
    }
    let port_text = announce_port.to_string();
    link.send(&[b"REPLCONF", b"listening-port", port_text.as_bytes()])
        .await?;
    if link.line().await?.starts_with('-') {
        log(
            '*',
            format_args!("(Non critical) Master does not understand REPLCONF listening-port"),
        );
    }
    if let Some(ip) = announce_ip {
        link.send(&[b"REPLCONF", b"ip-address", ip.as_bytes()])
            .await?;
        if link.line().await?.starts_with('-') {
            log(
                '*',
                format_args!("(Non critical) Master does not understand REPLCONF ip-address"),
            );
        }
    }
    link.send(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        .await?;
    if link.line().await?.starts_with('-') {
        log(
            '*',
            format_args!("(Non critical) Master does not understand REPLCONF capa"),
        );
    }

    // PSYNC with the history we hold, if any.
    let (psync_id, psync_offset) = {
        let s = server.borrow();
        if s.replication.replica.cached {
            (
                s.replication.replid.clone(),
                (s.replication.master_repl_offset + 1).to_string(),
            )
        } else {
            ("?".to_string(), "-1".to_string())
        }
    };
    if psync_id == "?" {
        log(
            '*',
            format_args!("Partial resynchronization not possible (no cached master)"),
        );
    } else {
        log(
            '*',
            format_args!("Trying a partial resynchronization (request {psync_id}:{psync_offset})."),
        );
    }
    link.send(&[b"PSYNC", psync_id.as_bytes(), psync_offset.as_bytes()])
        .await?;
    let reply = loop {
        let l = link.line().await?;
        if !l.is_empty() {
            break l;
        }
    };
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut parts = rest.split(' ');
        let (Some(id), Some(offset)) = (parts.next(), parts.next().and_then(|o| o.parse().ok()))
        else {
            return Err("Master replied with wrong +FULLRESYNC syntax.".into());
        };
        log('*', format_args!("Full resync from master: {id}:{offset}"));
        full_sync(server, &mut link, id, offset, generation).await?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        log(
            '*',
            format_args!("Successful partial resynchronization with master."),
        );
        continue_history(&mut server.borrow_mut(), rest.trim());
        log(
            '*',
            format_args!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."),
        );
    } else {
        return Err(format!("Unexpected reply to PSYNC from master: {reply}"));
    }
    stream_loop(server, link).await
}
// ANCHOR_END: replica_handshake

/// `+CONTINUE [replid]`: keep our data; adopt a new id if the primary has
/// one (it was promoted), keeping ours as `replid2`.
fn continue_history(s: &mut Server, new_id: &str) {
    let r = &mut s.replication;
    if new_id.len() == 40 && new_id != r.replid {
        log(
            '#',
            format_args!("Master replication ID changed to {new_id}"),
        );
        r.replid2 = std::mem::replace(&mut r.replid, new_id.to_string());
        r.second_replid_offset = r.master_repl_offset + 1;
        disconnect_replicas(s);
    }
    s.replication
        .ensure_backlog(s.config.repl_backlog_size as usize);
}

// ANCHOR: replica_full_sync
/// `+FULLRESYNC`: receive the snapshot and make it our dataset
/// (`readSyncBulkPayload`).
async fn full_sync(
    server: &Rc<RefCell<Server>>,
    link: &mut Link,
    replid: &str,
    offset: i64,
    generation: u64,
) -> Result<(), String> {
    // The header; newlines before it are the primary's keep-alives while
    // its child writes the snapshot.
    let header = loop {
        let l = link.line().await?;
        if !l.is_empty() {
            break l;
        }
    };
    let Some(size_text) = header.strip_prefix('$') else {
        return Err(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), \
             are you sure the host and port are right?"
        ));
    };
    // `$EOF:<mark>`: read until the 40-byte mark; else exactly `len`.
    let eof_mark = size_text
        .strip_prefix("EOF:")
        .map(|m| m.as_bytes().to_vec());
    let size: i64 = match &eof_mark {
        Some(mark) if mark.len() == 40 => -1,
        Some(_) => return Err("Bad $EOF mark from MASTER".into()),
        None => size_text
            .parse()
            .map_err(|_| format!("Bad bulk length from MASTER: {header}"))?,
    };
    {
        let mut s = server.borrow_mut();
        let side = &mut s.replication.replica;
        side.state = LinkState::Transfer;
        side.transfer_size = size;
        side.transfer_read = 0;
        side.transfer_last_io = Some(Instant::now());
    }
    log(
        '*',
        format_args!(
            "MASTER <-> REPLICA sync: receiving {} from master to disk",
            if size < 0 {
                "streamed RDB".to_string()
            } else {
                format!("{size} bytes")
            }
        ),
    );
    let mut payload: Vec<u8> = Vec::with_capacity(size.max(0) as usize);
    loop {
        match &eof_mark {
            None if payload.len() as i64 + link.buf.len() as i64 >= size => {
                let take = size as usize - payload.len();
                payload.extend_from_slice(&link.buf[..take]);
                link.buf.advance(take);
                break;
            }
            None => {
                payload.extend_from_slice(&link.buf);
                link.buf.clear();
            }
            Some(mark) => {
                payload.extend_from_slice(&link.buf);
                link.buf.clear();
                if payload.ends_with(mark) {
                    payload.truncate(payload.len() - mark.len());
                    break;
                }
            }
        }
        let n = link.fill().await?;
        let mut s = server.borrow_mut();
        let side = &mut s.replication.replica;
        side.transfer_read += n as i64;
        side.transfer_last_io = Some(Instant::now());
    }
    let mut guard = server.borrow_mut();
    let s = &mut *guard;
    if s.replication.replica.generation != generation {
        return Err("REPLICAOF changed during the transfer".into());
    }
    load_snapshot(s, &payload, replid, offset)
}

/// Flush, load, and adopt the primary's history.
fn load_snapshot(s: &mut Server, payload: &[u8], replid: &str, offset: i64) -> Result<(), String> {
    // Our replicas were copies of a history we are leaving.
    disconnect_replicas(s);
    s.replication.backlog = None;
    log(
        '*',
        format_args!("MASTER <-> REPLICA sync: Flushing old data"),
    );
    for db in s.dbs.iter_mut() {
        db.clear();
    }
    // The primary's FUNCTION libraries replace ours (Redis's `emptyData`
    // empties the function registry with the keyspace).
    s.scripting.functions.flush();
    // Kept on disk too, as `dbfilename` (a restart loads it).
    let path = s.config.dir.join(&s.config.dbfilename);
    let tmp = s.config.dir.join(format!(
        "temp-{}.{}.rdb",
        crate::server::unix_ms(),
        std::process::id()
    ));
    if std::fs::write(&tmp, payload)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
        log(
            '#',
            format_args!(
                "Failed trying to rename the temp DB into {}",
                path.display()
            ),
        );
    }
    log(
        '*',
        format_args!("MASTER <-> REPLICA sync: Loading DB in memory"),
    );
    // `now_ms` 0: no key is dropped as expired. On a replica only the
    // primary's DEL removes a key.
    let lru = s.lru_clock;
    let stats = match crate::rdb::load::load_bytes(payload, &mut s.dbs, &s.config, lru, 0) {
        Ok(stats) => stats,
        Err(e) => {
            for db in s.dbs.iter_mut() {
                db.clear();
            }
            // Nothing left to continue: the next attempt asks `? -1`.
            s.replication.replica.cached = false;
            return Err(format!(
                "Failed trying to load the MASTER synchronization DB from disk: {e}"
            ));
        }
    };
    if let Err(e) = crate::commands::function::load_snapshot_libraries(s, &stats.functions) {
        s.replication.replica.cached = false;
        return Err(format!(
            "Failed trying to load the MASTER synchronization DB from disk: {e}"
        ));
    }
    s.dirty += 1;
    let r = &mut s.replication;
    r.replid = replid.to_string();
    r.master_repl_offset = offset;
    r.replid2 = "0".repeat(40);
    r.second_replid_offset = -1;
    r.replica.stream_db = stats.repl_stream_db.unwrap_or(0);
    r.replica.cached = true;
    r.ensure_backlog(s.config.repl_backlog_size as usize);
    log(
        '*',
        format_args!(
            "MASTER <-> REPLICA sync: Finished with success ({} keys)",
            stats.keys_loaded
        ),
    );
    Ok(())
}
// ANCHOR_END: replica_full_sync

/// Make the master client and mark the link connected
/// (`replicationCreateMasterClient`).
fn create_master_client(s: &mut Server, link: &Link) -> Rc<RefCell<Client>> {
    let id = s.next_client_id;
    s.next_client_id += 1;
    let peer = link
        .stream
        .peer_addr()
        .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0)));
    let local = link.stream.local_addr().unwrap_or(peer);
    #[cfg(unix)]
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(&link.stream);
    #[cfg(not(unix))]
    let fd = -1;
    let mut c = Client::new(id, peer, local, fd);
    c.authenticated = true;
    c.db = s.replication.replica.stream_db;
    c.replica = Some(Box::new(crate::replication::ReplicaLink {
        master: true,
        ..Default::default()
    }));
    let rc = Rc::new(RefCell::new(c));
    s.clients.insert(id, rc.clone());
    let side = &mut s.replication.replica;
    side.master_client = Some(id);
    side.state = LinkState::Connected;
    side.down_since = None;
    side.last_io = Some(Instant::now());
    rc
}

/// `REPLCONF ACK <offset>`, what WAIT on the primary counts.
fn ack(s: &Server, out: &mut Vec<u8>) {
    let offset = s.replication.master_repl_offset.to_string();
    crate::propagate::encode_command(out, &[&b"REPLCONF"[..], b"ACK", offset.as_bytes()]);
}

// ANCHOR: replica_stream
/// Apply the primary's stream until the link is lost: each complete
/// command runs as the master client, then its bytes are counted and
/// passed on to our own backlog and replicas.
async fn stream_loop(server: &Rc<RefCell<Server>>, mut link: Link) -> Result<(), String> {
    let client = create_master_client(&mut server.borrow_mut(), &link);
    let wake = client.borrow().wake.clone();
    let mut parser = RequestParser::default();
    let mut out = Vec::new();
    // A transaction's bytes, from MULTI on, until its EXEC has run.
    let mut held: Vec<u8> = Vec::new();
    // The first ACK right away: the primary learns our offset.
    ack(&server.borrow(), &mut out);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Apply every complete command.
        let mut pause_until = None;
        {
            let mut guard = server.borrow_mut();
            let s = &mut *guard;
            let mut c = client.borrow_mut();
            if c.close_asap {
                return Err("Connection with master lost (killed).".into());
            }
            let limits = ParseLimits {
                max_bulk_len: s.config.proto_max_bulk_len,
                unauthenticated: false,
            };
            let mut consumed = 0;
            while consumed < link.buf.len() {
                let buf = &link.buf[consumed..];
                let n = match parser.parse(buf, limits) {
                    Parsed::Incomplete => break,
                    Parsed::Skip { consumed: n } => n,
                    Parsed::Command { consumed: n } => {
                        let args = Args::new(buf, &parser.spans);
                        if !apply(s, &mut c, args, &mut out) {
                            parser.reset();
                            pause_until = s.pause.map(|p| p.until);
                            break;
                        }
                        n
                    }
                    Parsed::Inline { consumed: n, args } => {
                        if !apply(s, &mut c, args.args(), &mut out) {
                            parser.reset();
                            pause_until = s.pause.map(|p| p.until);
                            break;
                        }
                        n
                    }
                    Parsed::Error(msg) => {
                        return Err(format!(
                            "Protocol error from MASTER: {}",
                            String::from_utf8_lossy(&msg)
                        ));
                    }
                };
                // Applied: the bytes join our history and go on to our
                // replicas, exactly as received. Inside MULTI nothing is
                // applied until EXEC, so nothing counts until then either
                // (`commandProcessed` leaves `reploff` alone): a link lost
                // mid-transaction resumes from its MULTI.
                if c.multi.active || !held.is_empty() {
                    held.extend_from_slice(&buf[..n]);
                    if !c.multi.active {
                        crate::replication::write_stream(s, &held);
                        held.clear();
                    }
                } else {
                    crate::replication::write_stream(s, &buf[..n]);
                }
                consumed += n;
            }
            link.buf.advance(consumed);
            s.replication.replica.unapplied = (link.buf.len() + held.len()) as i64;
            c.reply.buf.clear();
            crate::aof::after_batch(s);
        }
        if !out.is_empty() {
            link.stream
                .write_all(&out)
                .await
                .map_err(|e| format!("I/O error writing to MASTER: {e}"))?;
            out.clear();
        }
        let pause = async {
            match pause_until {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        link.buf.reserve(16 * 1024);
        tokio::select! {
            read = link.stream.read_buf(&mut link.buf) => match read {
                Ok(0) => return Err("Connection with master lost.".into()),
                Err(e) => return Err(format!("Connection with master lost: {e}")),
                Ok(n) => {
                    let mut s = server.borrow_mut();
                    s.replication.replica.last_io = Some(Instant::now());
                    s.stats.total_net_input_bytes += n as u64;
                }
            },
            _ = tick.tick() => {
                let s = server.borrow();
                let silent = s.replication.replica.last_io.map_or(0, |t| t.elapsed().as_secs());
                if silent > s.config.repl_timeout as u64 {
                    return Err("MASTER timeout: no data nor PING received...".into());
                }
                ack(&s, &mut out);
            }
            _ = wake.notified() => {}
            _ = pause => {}
        }
    }
}

/// Run one command of the stream as the master client. Its reply is
/// dropped, unless it was `REPLCONF GETACK` (whose ACK goes to `out`).
/// False when a CLIENT PAUSE holds it (nothing ran).
fn apply(s: &mut Server, c: &mut Client, args: Args, out: &mut Vec<u8>) -> bool {
    let start = c.reply.buf.len();
    s.replication.replica.applying = true;
    c.last_interaction = std::time::Instant::now(); // input arrived
    let flow = crate::server::process_command(s, c, args);
    s.replication.replica.applying = false;
    if matches!(flow, Flow::Paused(_)) {
        return false;
    }
    if std::mem::take(&mut s.replication.replica.force_reply) {
        out.extend_from_slice(&c.reply.buf[start..]);
    }
    c.reply.buf.truncate(start);
    true
}
// ANCHOR_END: replica_stream

/// The replica part of INFO's `# Replication` (after `role:slave`).
pub fn info_fields(s: &Server, out: &mut String) {
    use std::fmt::Write;
    let Some((host, port)) = &s.config.replicaof else {
        return;
    };
    let side = &s.replication.replica;
    let connected = side.state == LinkState::Connected;
    let applied = s.replication.master_repl_offset;
    let (applied, read) = if connected || side.cached {
        (applied, applied + side.unapplied)
    } else {
        (1, 1)
    };
    let last_io = match (side.master_client, side.last_io) {
        (Some(_), Some(t)) => t.elapsed().as_secs() as i64,
        _ => -1,
    };
    let _ = write!(
        out,
        "master_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\n\
         master_last_io_seconds_ago:{last_io}\r\nmaster_sync_in_progress:{}\r\n\
         slave_read_repl_offset:{read}\r\nslave_repl_offset:{applied}\r\n",
        if connected { "up" } else { "down" },
        (side.state == LinkState::Transfer) as u8,
    );
    if side.state == LinkState::Transfer {
        let perc = if side.transfer_size > 0 {
            side.transfer_read as f64 / side.transfer_size as f64 * 100.0
        } else {
            0.0
        };
        let _ = write!(
            out,
            "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\n\
             master_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\n\
             master_sync_last_io_seconds_ago:{}\r\n",
            side.transfer_size,
            side.transfer_read,
            side.transfer_size - side.transfer_read,
            side.transfer_last_io.map_or(0, |t| t.elapsed().as_secs()),
        );
    }
    if !connected {
        let down = side.down_since.map_or(-1, |t| t.elapsed().as_secs() as i64);
        let _ = write!(out, "master_link_down_since_seconds:{down}\r\n");
    }
    let _ = write!(
        out,
        "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
        s.config.replica_priority,
        s.config.replica_read_only as u8,
        s.config.replica_announced as u8,
    );
}

/// ROLE, for a replica: `["slave", host, port, state, offset]`.
pub fn role_reply(s: &Server, reply: &mut crate::resp::Reply) {
    let Some((host, port)) = &s.config.replicaof else {
        return;
    };
    let side = &s.replication.replica;
    reply.array(5);
    reply.bulk(b"slave");
    reply.bulk(host.as_bytes());
    reply.int(*port as i64);
    reply.bulk(side.state.name().as_bytes());
    reply.int(if side.master_client.is_some() {
        s.replication.master_repl_offset
    } else {
        -1
    });
}
