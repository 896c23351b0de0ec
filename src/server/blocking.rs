//! # Blocking operations: waiting without a thread
//!
//! `BLPOP queue 5` asks: give me an element of `queue`, and if there is
//! none, wait up to five seconds for one. The server has one thread, so it
//! cannot wait *for* the client. Instead it *parks* the client: it records
//! which keys the client waits on, stops reading commands from it, and goes
//! on serving everyone else. When another client's command adds data to
//! one of those keys, that command *signals the key as ready*; right after
//! it, the server serves the parked clients, oldest first.
//!
//! ```text
//!   client A: BLPOP q 5          client B: RPUSH q job1
//!        │ q is empty                  │ q gets job1
//!        ▼                             ▼ signal_key_as_ready(q)
//!   waiters[(db, q)] = [A]       handle_clients_blocked_on_keys:
//!   A is parked, no reply          A's BLPOP runs again → ["q", "job1"]
//! ```
//!
//! ## The invariants
//!
//! - A parked client is in the waiter queue of every key it waits on, and
//!   in no other; `blocked_count` is the number of parked clients.
//! - Waiters are served first come, first served, per key.
//! - A parked client runs no other command: its input stays in its query
//!   buffer until it is served, times out, is unblocked or disconnects.
//!
//! ## The Redis C counterpart
//!
//! `src/blocked.c`: `blockForKeys`, `signalKeyAsReady`,
//! `handleClientsBlockedOnKeys`, `unblockClient`, `replyToBlockedClientTimedOut`;
//! `src/timeout.c` for the deadlines; `CLIENT UNBLOCK` in networking.c.
//!
//! ## What we simplified
//!
//! Redis 7.0 serves a list waiter by popping for it directly
//! (`serveClientsBlockedOnListKey`, one function per type); Redis 7.2
//! changed to what we do: run the waiter's command again, now that its key
//! has data. One mechanism serves every blocking command, and the reply is
//! by construction the same as if the command had not had to wait. The
//! deadline is watched by the client's own task (a timer in `select!`)
//! instead of Redis's radix tree of timeouts.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use super::command::Command;
use super::{Client, Ctx, Server};
use crate::resp::{Args, OwnedArgs};

/// What a parked client receives if its deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` (RESP2) / `_` (RESP3): BLPOP, BRPOP, BLMPOP, BZPOPMIN, BZMPOP...
    NullArray,
    /// `$-1` / `_`. (Redis 7.0 times BLMOVE and BRPOPLPUSH out with the
    /// null *array*, like BLPOP; only inside MULTI do they answer `$-1`.)
    NullBulk,
}

/// Why and until when a client is parked.
pub struct BlockedOn {
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    /// `None`: wait forever (timeout 0).
    pub deadline: Option<Instant>,
    /// The command to run again when a key is ready.
    pub cmd: &'static Command,
    pub args: OwnedArgs,
    pub timeout_reply: TimeoutReply,
}

// ANCHOR: blocking_state
/// The server's side of blocking: who waits on which key.
#[derive(Default)]
pub struct BlockingState {
    /// (db, key) → ids of the clients parked on it, oldest first.
    pub waiters: HashMap<(usize, Vec<u8>), VecDeque<u64>>,
    /// Keys that received data since the last serving round, in order.
    pub ready: Vec<(usize, Vec<u8>)>,
    ready_set: HashSet<(usize, Vec<u8>)>,
    /// Parked clients (INFO `blocked_clients`).
    pub blocked_count: usize,
}
// ANCHOR_END: blocking_state

impl Ctx<'_> {
    // ANCHOR: block_for_keys
    /// Park the client on `keys` until one of them is signalled, `deadline`
    /// passes, or it is unblocked (Redis's `blockForKeys`). The command
    /// that calls this writes no reply: the reply comes when the client is
    /// served or times out.
    pub fn block_for_keys(
        &mut self,
        keys: &[&[u8]],
        deadline: Option<Instant>,
        timeout_reply: TimeoutReply,
        args: Args,
    ) {
        let db = self.client.db;
        let id = self.client.id;
        let mut owned_keys: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
        for key in keys {
            // BLPOP k k: wait on k once.
            if owned_keys.iter().any(|k| k == key) {
                continue;
            }
            owned_keys.push(key.to_vec());
            self.server
                .blocking
                .waiters
                .entry((db, key.to_vec()))
                .or_default()
                .push_back(id);
        }
        self.server.blocking.blocked_count += 1;
        self.client.blocked = Some(BlockedOn {
            db,
            keys: owned_keys,
            deadline,
            cmd: self.cmd,
            args: args.to_owned(),
            timeout_reply,
        });
    }
    // ANCHOR_END: block_for_keys

    /// Redis's `signalKeyAsReady`: `key` just received data. Cheap when no
    /// one waits on it, which is nearly always.
    pub fn signal_key_as_ready(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.server.signal_key_as_ready(db, key);
    }

    /// May this command block? Not inside MULTI/EXEC (a transaction cannot
    /// wait halfway) — the transactions chapter sets that flag.
    pub fn can_block(&self) -> bool {
        !self.client.in_exec
    }
}

/// Parse a blocking timeout in seconds, as Redis's `getTimeoutFromObjectOrReply`:
/// a non-negative float; 0 means forever. Returns `Err(error text)`.
pub fn parse_timeout(arg: &[u8], now: Instant) -> Result<Option<Instant>, &'static str> {
    let secs =
        crate::commands::parse_f64(arg).ok_or("ERR timeout is not a float or out of range")?;
    if secs < 0.0 {
        return Err("ERR timeout is negative");
    }
    if !secs.is_finite() || secs > 1e13 {
        return Err("ERR timeout is out of range");
    }
    if secs == 0.0 {
        return Ok(None);
    }
    Ok(Some(now + std::time::Duration::from_secs_f64(secs)))
}

impl Server {
    pub fn signal_key_as_ready(&mut self, db: usize, key: &[u8]) {
        let b = &mut self.blocking;
        if b.waiters.is_empty() {
            return;
        }
        let entry = (db, key.to_vec());
        if b.waiters.contains_key(&entry) && b.ready_set.insert(entry.clone()) {
            b.ready.push(entry);
        }
    }

    /// Take `client` out of every waiter queue (Redis's `unblockClient`).
    /// Returns what it was blocked on.
    pub fn unblock_client(&mut self, client: &mut Client) -> Option<BlockedOn> {
        let blocked = client.blocked.take()?;
        for key in &blocked.keys {
            let entry = (blocked.db, key.clone());
            if let Some(queue) = self.blocking.waiters.get_mut(&entry) {
                queue.retain(|&id| id != client.id);
                if queue.is_empty() {
                    self.blocking.waiters.remove(&entry);
                }
            }
        }
        self.blocking.blocked_count -= 1;
        Some(blocked)
    }

    /// The deadline passed: reply the command's timeout reply.
    pub fn block_timed_out(&mut self, client: &mut Client) {
        if let Some(blocked) = self.unblock_client(client) {
            write_timeout_reply(client, blocked.timeout_reply);
        }
    }

    // ANCHOR: handle_blocked
    /// Serve clients parked on keys that became ready (Redis's
    /// `handleClientsBlockedOnKeys`), oldest waiter first. Serving may make
    /// more keys ready (BLMOVE pushes to its destination), so loop until no
    /// key is left.
    pub fn handle_clients_blocked_on_keys(&mut self) {
        while !self.blocking.ready.is_empty() {
            let ready = std::mem::take(&mut self.blocking.ready);
            self.blocking.ready_set.clear();
            for (db, key) in ready {
                let waiting: Vec<u64> = match self.blocking.waiters.get(&(db, key.clone())) {
                    Some(queue) => queue.iter().copied().collect(),
                    None => continue,
                };
                // A stream key that was deleted or overwritten with
                // another type strands its XREADGROUP waiters: their group
                // went with it, so no XADD can ever serve them. Redis
                // unblocks them with an error (`unblockDeletedStream-
                // ReadgroupClients`); XREAD waiters stay, a new stream of
                // the same name serves them.
                let now = super::unix_ms();
                let is_stream = !self.expire_if_needed(db, &key, now)
                    && self.dbs[db]
                        .dict
                        .get(&key[..])
                        .is_some_and(|v| v.obj_type() == crate::object::ObjType::Stream);
                if !is_stream {
                    self.unblock_stranded_group_readers(&waiting);
                }
                for id in waiting {
                    // Nothing left for the next waiter: the key was
                    // emptied (and so deleted) by the ones served before,
                    // or its TTL passed: then it is deleted here, as a
                    // lookup would, and the DEL reaches the AOF and the
                    // replicas (Redis's lookup in the serving path).
                    let now = super::unix_ms();
                    if !self.dbs[db].dict.contains_key(&key) || self.expire_if_needed(db, &key, now)
                    {
                        break;
                    }
                    let Some(rc) = self.clients.get(&id).cloned() else {
                        continue;
                    };
                    // The client running the current command is never
                    // parked, so this borrow only fails if something is
                    // badly wrong; skip rather than panic.
                    let Ok(mut client) = rc.try_borrow_mut() else {
                        continue;
                    };
                    // A key deleted and re-created with another type (a
                    // BLPOP waiter, a string now) does not serve the
                    // waiter: Redis 7.0 leaves it parked, rather than
                    // answering WRONGTYPE as a re-run would.
                    let serves = client
                        .blocked
                        .as_ref()
                        .is_some_and(|b| key_type_serves(b.cmd, self.dbs[db].dict.get(&key[..])));
                    if !serves {
                        continue;
                    }
                    let Some(blocked) = self.unblock_client(&mut client) else {
                        continue;
                    };
                    super::call(self, &mut client, blocked.cmd, blocked.args.args());
                    client.wake.notify_one();
                }
            }
        }
    }
    // ANCHOR_END: handle_blocked

    /// Answer every XREADGROUP among `waiting` with Redis's
    /// `-UNBLOCKED the stream key no longer exists` and take it out of the
    /// queues, counting the error as a failed call would.
    fn unblock_stranded_group_readers(&mut self, waiting: &[u64]) {
        for id in waiting {
            let Some(rc) = self.clients.get(id).cloned() else {
                continue;
            };
            let Ok(mut client) = rc.try_borrow_mut() else {
                continue;
            };
            if client
                .blocked
                .as_ref()
                .is_none_or(|b| b.cmd.full_name != "xreadgroup")
            {
                continue;
            }
            let Some(blocked) = self.unblock_client(&mut client) else {
                continue;
            };
            client
                .reply
                .error("UNBLOCKED the stream key no longer exists");
            client.reply.errors.clear();
            self.stats.total_error_replies += 1;
            *self
                .stats
                .error_codes
                .entry("UNBLOCKED".to_string())
                .or_default() += 1;
            self.command_stats[blocked.cmd.stats_index].failed_calls += 1;
            client.wake.notify_one();
        }
    }

    /// Every key of database `db` that clients wait on is worth a look
    /// after the database was flushed or swapped: a waiter may be served
    /// now, or (XREADGROUP) stranded. Redis's `scanDatabaseForReadyKeys`
    /// and `scanDatabaseForDeletedStreams`.
    pub fn signal_waited_keys_in_db(&mut self, db: usize) {
        let waited: Vec<(usize, Vec<u8>)> = self
            .blocking
            .waiters
            .keys()
            .filter(|(d, _)| *d == db)
            .cloned()
            .collect();
        for (d, key) in waited {
            self.signal_key_as_ready(d, &key);
        }
    }
}

/// Does the value now under a ready key have the type the parked command
/// waits for? List commands wait for lists, sorted-set ones for sorted
/// sets (Redis 7.0's per-type `serveClientsBlockedOn*Key`).
fn key_type_serves(cmd: &Command, value: Option<&crate::object::RObj>) -> bool {
    use super::command::Group;
    use crate::object::ObjType;
    let Some(value) = value else { return false };
    match cmd.def.group {
        Group::List => value.obj_type() == ObjType::List,
        Group::SortedSet => value.obj_type() == ObjType::ZSet,
        Group::Stream => value.obj_type() == ObjType::Stream,
        _ => true,
    }
}

/// Write the reply a blocked command gives when it stops waiting without
/// data (timeout, or CLIENT UNBLOCK ... TIMEOUT).
pub fn write_timeout_reply(client: &mut Client, kind: TimeoutReply) {
    match kind {
        TimeoutReply::NullArray => client.reply.null_array(),
        TimeoutReply::NullBulk => client.reply.null(),
    }
}
