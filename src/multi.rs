//! # Transactions: MULTI, EXEC and WATCH
//!
//! Two clients both run `GET counter` (both see 10), both compute 11, both
//! `SET counter 11`: one increment is lost. Each command was atomic; the
//! *sequence* was not. Redis offers two tools for sequences.
//!
//! **MULTI/EXEC** queues commands and runs them back to back. Because one
//! thread runs every command (see `server`), nothing from another client
//! can land between them: the batch is isolated by construction, with no
//! lock anywhere. What MULTI does not give is a decision based on a read:
//! the queued commands cannot see each other's replies.
//!
//! **WATCH** adds that, optimistically. `WATCH counter` records the key;
//! the client reads it, decides, and sends MULTI ... EXEC. If *anyone*
//! (another client, the same client, an expiry, a FLUSHDB) changed the key
//! in between, EXEC runs nothing and answers a null array: the client
//! retries. This is check-and-set without locks, and it is cheap because
//! the check is done at write time: every write already calls
//! `signal_modified_key`, which looks the key up in the watch index and
//! marks its watchers *dirty*.
//!
//! ```text
//!   A: WATCH counter      watched[(0,"counter")] = [A]
//!   A: GET counter → 10
//!   B: SET counter 99     signal_modified_key → A.dirty_cas = true
//!   A: MULTI / SET counter 11 / EXEC   → (nil), nothing ran; A retries
//! ```
//!
//! ## The rules, every outcome of EXEC
//!
//! - not in MULTI: `ERR EXEC without MULTI`;
//! - a command was rejected while queueing (unknown, wrong arity, not
//!   allowed in MULTI, refused by the server's checks): `EXECABORT`,
//!   nothing runs (`dirty_exec`);
//! - a watched key was touched, or expired since WATCH: a null array,
//!   nothing runs (`dirty_cas`);
//! - otherwise: every queued command runs, and the reply is the array of
//!   their replies. A command that fails *at run time* (WRONGTYPE) puts its
//!   error in the array and the others still run: there is no rollback.
//!
//! EXEC, DISCARD, MULTI, WATCH, QUIT and RESET are never queued; everything
//! else in MULTI answers `+QUEUED`. Blocking commands inside EXEC do not
//! block (`ctx.can_block()` is false while `in_exec`): BLPOP on an empty
//! list answers nil at once.
//!
//! ## The invariants
//!
//! - A client is in `watched[(db, key)]` exactly when `(db, key)` is in its
//!   own `watched` list; a key with no watcher has no entry, so a server
//!   where nobody watches pays one `is_empty` check per write.
//! - A dirty client watches nothing (it is unwatched when it becomes
//!   dirty: its EXEC will fail anyway, and so later writes need not find it).
//! - The index is per database *number*: SWAPDB moves data, not watchers.
//!
//! ## The Redis C counterpart
//!
//! `src/multi.c`: `multiCommand`, `execCommand`, `discardTransaction`,
//! `queueMultiCommand`, `flagTransaction`, `watchForKey`,
//! `unwatchAllKeys`, `touchWatchedKey`, `touchAllWatchedKeysInDb`,
//! `isWatchedKeyExpired`; the queueing branch and `rejectCommand` in
//! `processCommand` (server.c).
//!
//! ## What we simplified
//!
//! Redis keeps a `watched_keys` dict inside each `redisDb`; ours is one
//! dict per database number held by the server, which is the same thing.
//! A key watched while already logically expired is remembered as such,
//! as in Redis 7.0; when such a key is later rewritten without having been
//! deleted first (only possible while expiry is paused), Redis 7.0 stops
//! scanning the watchers of that key, we skip only the one watcher. A
//! touch aimed at a client whose state is borrowed at that moment (lazy
//! expiry inside its own command) is applied right after the command.

use crate::dict::Dict;
use crate::resp::OwnedArgs;
use crate::sds::Sds;
use crate::server::command::Command;
use crate::server::{Client, Server};

/// One key a client watches.
pub struct WatchedKey {
    pub db: usize,
    pub key: Vec<u8>,
    /// The key was already logically expired when WATCH ran: its deletion
    /// by expiry is then not a change (Redis 7.0's `expired` bit).
    pub expired: bool,
}

// ANCHOR: multi_client_state
/// A client's transaction state.
#[derive(Default)]
pub struct ClientMulti {
    /// Between MULTI and EXEC/DISCARD (Redis's `CLIENT_MULTI`).
    pub active: bool,
    /// The queued commands, in order.
    pub queued: Vec<(&'static Command, OwnedArgs)>,
    /// A command was rejected while queueing: EXEC answers EXECABORT.
    pub dirty_exec: bool,
    /// A watched key changed: EXEC answers a null array.
    pub dirty_cas: bool,
    pub watched: Vec<WatchedKey>,
    /// While EXEC runs, the queue is out of `queued`: its length, so that
    /// CLIENT LIST still shows it (`multi=`), as Redis does.
    pub executing: usize,
}
// ANCHOR_END: multi_client_state

impl ClientMulti {
    /// The queued commands (CLIENT LIST `multi=` when in MULTI).
    pub fn count(&self) -> usize {
        self.queued.len() + self.executing
    }

    /// `multi-mem` of CLIENT LIST: queued arguments and bookkeeping.
    pub fn memory(&self) -> usize {
        let args: usize = self
            .queued
            .iter()
            .map(|(_, a)| a.args().iter().map(<[u8]>::len).sum::<usize>())
            .sum();
        args + self.queued.capacity() * std::mem::size_of::<(&Command, OwnedArgs)>()
            + self.watched.len() * std::mem::size_of::<WatchedKey>()
    }
}

/// The server's side: for each database, key → the clients watching it.
#[derive(Default)]
pub struct WatchIndex {
    per_db: Vec<Dict<Sds, Vec<u64>>>,
    /// Keys watched across all databases: the fast "nobody watches" test.
    total: usize,
    /// Touches for clients whose state was borrowed: `(client, db, key)`.
    pending: Vec<(u64, usize, Vec<u8>)>,
}

impl WatchIndex {
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn db(&mut self, db: usize) -> &mut Dict<Sds, Vec<u64>> {
        if self.per_db.len() <= db {
            self.per_db.resize_with(db + 1, Dict::new);
        }
        &mut self.per_db[db]
    }
}

/// Leave the transaction: Redis's `discardTransaction` (also unwatches).
pub fn discard_transaction(server: &mut Server, client: &mut Client) {
    let multi = &mut client.multi;
    multi.active = false;
    multi.queued = Vec::new();
    multi.dirty_exec = false;
    multi.dirty_cas = false;
    multi.executing = 0;
    unwatch_all_keys(server, client);
}

/// A command was refused while queueing (Redis's `flagTransaction`).
pub fn flag_transaction(client: &mut Client) {
    if client.multi.active {
        client.multi.dirty_exec = true;
    }
}

// ANCHOR: multi_watch
/// WATCH one key in the client's database (`watchForKey`).
pub fn watch_key(server: &mut Server, client: &mut Client, key: &[u8], now_ms: i64) {
    let db = client.db;
    if client
        .multi
        .watched
        .iter()
        .any(|w| w.db == db && w.key == key)
    {
        return;
    }
    let expired = server.dbs[db].is_expired(key, now_ms);
    let index = &mut server.watch;
    match index.db(db).get_mut(key) {
        Some(ids) => ids.push(client.id),
        None => {
            index.db(db).insert(Sds::new(key), vec![client.id]);
            index.total += 1;
        }
    }
    client.multi.watched.push(WatchedKey {
        db,
        key: key.to_vec(),
        expired,
    });
}
// ANCHOR_END: multi_watch

/// Forget every key the client watches (`unwatchAllKeys`).
pub fn unwatch_all_keys(server: &mut Server, client: &mut Client) {
    for w in std::mem::take(&mut client.multi.watched) {
        let index = &mut server.watch;
        let dict = index.db(w.db);
        let now_empty = match dict.get_mut(&w.key) {
            Some(ids) => {
                ids.retain(|&id| id != client.id);
                ids.is_empty()
            }
            None => false,
        };
        if now_empty {
            dict.remove(&w.key);
            index.total -= 1;
        }
    }
}

/// Was a key watched as live logically expired by now
/// (`isWatchedKeyExpired`)? EXEC then fails, as in Redis 7.0.
pub fn watched_key_expired(server: &Server, client: &Client, now_ms: i64) -> bool {
    client
        .multi
        .watched
        .iter()
        .any(|w| !w.expired && server.dbs[w.db].is_expired(&w.key, now_ms))
}

// ANCHOR: multi_touch
/// `key` in `db` changed: every client watching it becomes dirty
/// (Redis's `touchWatchedKey`, called from `signalModifiedKey`).
pub fn touch_watched_key(
    server: &mut Server,
    mut current: Option<&mut Client>,
    db: usize,
    key: &[u8],
) {
    if server.watch.is_empty() {
        return;
    }
    let Some(ids) = server.watch.db(db).get(key).cloned() else {
        return;
    };
    for id in ids {
        match current.as_deref_mut() {
            Some(c) if c.id == id => touch_client(server, c, db, key),
            _ => with_client(server, id, db, key, |server, c| {
                touch_client(server, c, db, key)
            }),
        }
    }
}
// ANCHOR_END: multi_touch

/// The per-client half of a touch.
fn touch_client(server: &mut Server, client: &mut Client, db: usize, key: &[u8]) {
    let Some(w) = client
        .multi
        .watched
        .iter_mut()
        .find(|w| w.db == db && w.key == key)
    else {
        return;
    };
    if w.expired {
        // Watched while already expired: its deletion changes nothing
        // logically. The flag is dropped so that a later write counts.
        if !server.dbs[db].dict.contains_key(key) {
            w.expired = false;
        }
        return;
    }
    client.multi.dirty_cas = true;
    unwatch_all_keys(server, client);
}

/// Run `f` on client `id` if its state can be borrowed; if not (it is a
/// client whose command is running), remember the touch of `key` in `db`
/// for [`apply_pending`].
fn with_client(
    server: &mut Server,
    id: u64,
    db: usize,
    key: &[u8],
    f: impl FnOnce(&mut Server, &mut Client),
) {
    let Some(rc) = server.clients.get(&id).cloned() else {
        return;
    };
    match rc.try_borrow_mut() {
        Ok(mut c) => f(server, &mut c),
        Err(_) => server.watch.pending.push((id, db, key.to_vec())),
    };
}

/// FLUSHDB, FLUSHALL and SWAPDB (`touchAllWatchedKeysInDb`): call before
/// `emptied` is cleared or swapped. A watched key is touched if it exists
/// in `emptied`, or (SWAPDB) in `replaced_with`, which takes its place.
pub fn touch_all_watched_keys_in_db(
    server: &mut Server,
    mut current: Option<&mut Client>,
    emptied: usize,
    replaced_with: Option<usize>,
) {
    if server.watch.is_empty() || server.watch.db(emptied).is_empty() {
        return;
    }
    let entries: Vec<(Vec<u8>, Vec<u64>)> = server
        .watch
        .db(emptied)
        .iter()
        .map(|(k, ids)| (k.to_vec(), ids.clone()))
        .collect();
    let now = crate::server::unix_ms();
    for (key, ids) in entries {
        let in_emptied = server.dbs[emptied].dict.contains_key(&key);
        let in_replacement = replaced_with.is_some_and(|r| server.dbs[r].dict.contains_key(&key));
        if !in_emptied && !in_replacement {
            continue;
        }
        let replacement_expired =
            replaced_with.is_some_and(|r| server.dbs[r].is_expired(&key, now));
        let mark = |_: &mut Server, c: &mut Client| {
            let Some(w) = c
                .multi
                .watched
                .iter_mut()
                .find(|w| w.db == emptied && w.key == key)
            else {
                return;
            };
            if w.expired {
                if !in_replacement {
                    // An expired key is now deleted: no logical change.
                    w.expired = false;
                    return;
                } else if replacement_expired {
                    return; // still expired
                }
            } else if !in_emptied && replacement_expired {
                // A missing key replaced by an expired one: still missing.
                w.expired = true;
                return;
            }
            c.multi.dirty_cas = true;
        };
        for id in ids {
            match current.as_deref_mut() {
                Some(c) if c.id == id => mark(server, c),
                _ => with_client(server, id, emptied, &key, mark),
            }
        }
    }
}

/// Apply the touches that could not be applied while `client` was
/// borrowed (see [`with_client`]).
pub fn apply_pending(server: &mut Server, client: &mut Client) {
    if server
        .watch
        .pending
        .iter()
        .all(|(id, _, _)| *id != client.id)
    {
        return;
    }
    let mut mine = Vec::new();
    server.watch.pending.retain(|(id, db, key)| {
        if *id == client.id {
            mine.push((*db, key.clone()));
            false
        } else {
            true
        }
    });
    for (db, key) in mine {
        touch_client(server, client, db, &key);
    }
}

/// A client goes away: leave its transaction and its watches.
pub fn forget_client(server: &mut Server, client: &mut Client) {
    discard_transaction(server, client);
    server.watch.pending.retain(|(id, _, _)| *id != client.id);
}

/// The commands MULTI runs at once instead of queueing them.
pub fn runs_inside_multi(cmd: &Command) -> bool {
    matches!(
        cmd.full_name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

// ANCHOR: multi_queue
/// Store a command for EXEC (`queueMultiCommand`). Once the transaction is
/// doomed (dirty), the arguments are not worth copying: the reply is
/// still `+QUEUED`, and EXEC will fail.
pub fn queue_command(client: &mut Client, cmd: &'static Command, args: crate::resp::Args) {
    let multi = &mut client.multi;
    if !multi.dirty_cas && !multi.dirty_exec {
        multi.queued.push((cmd, args.to_owned()));
    }
    client.reply.simple("QUEUED");
}
// ANCHOR_END: multi_queue

/// Whether a transaction holds a command that writes or may replicate:
/// its EXEC is then held by `CLIENT PAUSE WRITE` like a write (Redis's
/// `mstate.cmd_flags` check in `processCommand`).
pub fn queued_may_replicate(client: &Client) -> bool {
    use crate::server::command::flags;
    client
        .multi
        .queued
        .iter()
        .any(|(cmd, _)| cmd.has(flags::WRITE) || cmd.has(flags::MAY_REPLICATE))
}

/// After a command: apply what waited for `client` while it was borrowed
/// (watch touches here, messages in `pubsub`).
pub fn after_command(server: &mut Server, client: &mut Client) {
    if !server.watch.pending.is_empty() {
        apply_pending(server, client);
    }
    if !server.pubsub.mailbox.is_empty() {
        crate::pubsub::drain_mailbox(server, client);
    }
}
