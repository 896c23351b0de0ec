//! # Propagation: one path from a write to every copy of the data
//!
//! The AOF and the replicas are two copies of the dataset kept up to date
//! by replaying the writes the server executes. For that replay to rebuild
//! the *same* dataset, three rules must hold, and this module is where they
//! are enforced, once, for every sink:
//!
//! 1. **Every change is sent exactly once, in execution order.** After a
//!    command runs, [`crate::server::call`] asks: did `server.dirty` grow,
//!    and is the command flagged `write` (or `may_replicate`)? If so its
//!    arguments join the queue of pending operations. Reads never do;
//!    a write that changed nothing (SET NX on an existing key) neither.
//! 2. **What is sent must be deterministic.** `SPOP s` picks a random
//!    member; replayed, it would pick another. `EXPIRE k 10` means "ten
//!    seconds from whenever you read this". So a command may rewrite what
//!    is propagated: [`Ctx::propagate_as`] replaces its arguments (SPOP
//!    becomes `SREM s member`, EXPIRE becomes `PEXPIREAT k <unix ms>`),
//!    [`Ctx::also_propagate`] adds more, and [`Ctx::prevent_propagation`]
//!    sends nothing for the command itself.
//! 3. **Deletions the server decides on its own are writes too.** A key
//!    whose TTL passed (found lazily by a lookup, or by the active cycle in
//!    cron) and a key evicted for memory are sent as `DEL` (`UNLINK` with
//!    `lazyfree-lazy-expire` / `-eviction`): the replica or the AOF does
//!    not guess from clocks; it is told. [`propagate_del`] is that hook.
//!
//! The pending queue is flushed when the outermost `call` returns. If it
//! holds more than one operation (EXEC's commands, a lazy-expiry DEL plus
//! the write that found the key expired, SPOP's batched SREMs), the batch
//! is wrapped in `MULTI` ... `EXEC` so that a replica applies it
//! atomically, as the master did. Each sink remembers the db it last
//! selected and emits `SELECT` when an operation's db differs.
//!
//! ## The invariant
//!
//! The queue is empty whenever no command is running: nothing is
//! propagated late, nothing twice. The operations are kept RESP-encoded in
//! one reused buffer, so a propagated write costs a copy of its arguments
//! and no allocation once the buffer has grown.
//!
//! ## The Redis C counterpart
//!
//! `src/server.c`: `call` (the dirty check, `PROPAGATE_AOF|PROPAGATE_REPL`),
//! `alsoPropagate`, `propagateNow`, `propagatePendingCommands` (the MULTI
//! wrapping), `preventCommandPropagation`; `src/networking.c`:
//! `rewriteClientCommandVector`; `src/db.c`: `propagateDeletion`;
//! `src/aof.c`: `feedAppendOnlyFile` (the SELECT bookkeeping).
//!
//! ## What we simplified
//!
//! Redis rewrites the client's `argv` in place and `call` propagates
//! whatever `argv` holds afterwards; we keep the replacement beside the
//! command instead, so `Args` stays the zero-copy view of the query buffer.
//! The two sinks, the AOF and the replication stream (`crate::replication`),
//! are fed side by side by [`flush_pending`], each with its own SELECT
//! bookkeeping.

use crate::server::{Ctx, Server};

/// The operations waiting to be sent, and what the running command asked.
#[derive(Default, Debug)]
pub struct Propagation {
    /// RESP-encoded commands, back to back.
    buf: Vec<u8>,
    /// Each pending operation: its db, where it starts in `buf`, and
    /// whether it is for the replicas only (PUBLISH).
    ops: Vec<(usize, usize, bool)>,
    /// How deep `call` is nested (EXEC and served blocked clients call
    /// commands from inside a command): the queue is flushed at depth 0.
    pub depth: u32,
    /// The running command asked to be propagated as these arguments.
    rewrite: Option<Vec<Vec<u8>>>,
    /// The running command asked that nothing be sent for itself.
    prevent: bool,
}

impl Propagation {
    /// Called by `call` before a command runs.
    #[inline]
    pub fn enter(&mut self) {
        self.depth += 1;
    }

    /// Is there any sink to feed? With none (no AOF, no replica), the
    /// whole machinery costs one test per command.
    #[inline]
    pub fn active(server: &Server) -> bool {
        server.aof.wants_feed() || server.replication.active()
    }
}

/// Append one command, RESP-encoded, to `out` (Redis's
/// `catAppendOnlyGenericCommand`).
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    push_len(out, b'*', args.len());
    for a in args {
        let a = a.as_ref();
        push_len(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Same, for the zero-copy `Args` of the running command.
fn encode_args(out: &mut Vec<u8>, args: crate::resp::Args) {
    push_len(out, b'*', args.len());
    for a in args.iter() {
        push_len(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn push_len(out: &mut Vec<u8>, prefix: u8, n: usize) {
    out.push(prefix);
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// Queue an operation (Redis's `alsoPropagate`).
pub fn also_propagate<A: AsRef<[u8]>>(server: &mut Server, db: usize, args: &[A]) {
    if !Propagation::active(server) {
        return;
    }
    let p = &mut server.propagate;
    p.ops.push((db, p.buf.len(), false));
    encode_command(&mut p.buf, args);
}

// ANCHOR: propagate_after_call
/// The end of `call`: queue what the command changed, and if this was the
/// outermost call, send the queue to every sink.
pub fn after_call(
    server: &mut Server,
    db: usize,
    cmd: &crate::server::Command,
    args: crate::resp::Args,
    dirty_before: u64,
) {
    use crate::server::command::flags;
    let p = &mut server.propagate;
    p.depth -= 1;
    let rewrite = p.rewrite.take();
    let prevent = std::mem::take(&mut p.prevent);
    let changed = server.dirty > dirty_before;
    if changed
        && !prevent
        && (cmd.has(flags::WRITE) || cmd.has(flags::MAY_REPLICATE))
        && Propagation::active(server)
    {
        let p = &mut server.propagate;
        p.ops.push((db, p.buf.len(), false));
        match rewrite {
            Some(argv) => encode_command(&mut p.buf, &argv),
            None => encode_args(&mut p.buf, args),
        }
    }
    if server.propagate.depth == 0 {
        // KEYS, SCAN and RANDOMKEY may expire any number of keys on the
        // way: those DELs go out one by one, not as a transaction (Redis's
        // CMD_TOUCHES_ARBITRARY_KEYS check in propagatePendingCommands).
        let arbitrary = matches!(cmd.full_name, "keys" | "scan" | "randomkey");
        flush(server, !arbitrary);
    }
}
// ANCHOR_END: propagate_after_call

/// Send the pending operations to every sink, wrapped in MULTI/EXEC when
/// there are several (`propagatePendingCommands`).
pub fn flush_pending(server: &mut Server) {
    flush(server, true);
}

/// [`flush_pending`], with the MULTI/EXEC wrapping allowed or not.
fn flush(server: &mut Server, may_wrap: bool) {
    if server.propagate.ops.is_empty() {
        return;
    }
    let buf = std::mem::take(&mut server.propagate.buf);
    let ops = std::mem::take(&mut server.propagate.ops);
    let wrap = may_wrap && ops.len() > 1;
    if wrap {
        feed_sinks(server, ops[0].0, b"*1\r\n$5\r\nMULTI\r\n");
    }
    for (i, &(db, start, replicas_only)) in ops.iter().enumerate() {
        let end = ops.get(i + 1).map_or(buf.len(), |&(_, s, _)| s);
        if replicas_only {
            crate::replication::feed(server, Some(db), &buf[start..end]);
        } else {
            feed_sinks(server, db, &buf[start..end]);
        }
    }
    if wrap {
        // EXEC takes the last operation's db, so that no SELECT is put
        // between the last command and EXEC.
        feed_sinks(server, ops[ops.len() - 1].0, b"*1\r\n$4\r\nEXEC\r\n");
    }
    // Give the buffers back, emptied, so their capacity is reused.
    let p = &mut server.propagate;
    p.buf = buf;
    p.buf.clear();
    p.ops = ops;
    p.ops.clear();
}

/// Queue an operation for the replicas and not the AOF: a PUBLISH, so
/// that subscribers of a replica hear it too, while replaying the AOF
/// publishes nothing (Redis's `forceCommandPropagation(c, PROPAGATE_REPL)`).
pub fn propagate_to_replicas<A: AsRef<[u8]>>(server: &mut Server, db: usize, args: &[A]) {
    if !server.replication.active() {
        return;
    }
    let p = &mut server.propagate;
    p.ops.push((db, p.buf.len(), true));
    encode_command(&mut p.buf, args);
}

/// One operation to every sink: the AOF and the replication stream.
fn feed_sinks(server: &mut Server, db: usize, command: &[u8]) {
    server.aof.feed(db, command);
    crate::replication::feed(server, Some(db), command);
}

/// `UNLINK` when the lazyfree option for this kind of deletion is on,
/// else `DEL`: how Redis names a deletion it propagates.
pub fn del_verb(lazy: bool) -> &'static [u8] {
    if lazy {
        b"UNLINK"
    } else {
        b"DEL"
    }
}

/// A key the server deleted on its own (expired or evicted): send `DEL`,
/// or `UNLINK` when the matching lazyfree option is on
/// (`propagateDeletion`). Outside any command (the active expiry cycle,
/// eviction in cron) it is sent at once.
pub fn propagate_del(server: &mut Server, db: usize, key: &[u8], lazy: bool) {
    if !Propagation::active(server) {
        return;
    }
    also_propagate(server, db, &[del_verb(lazy), key]);
    if server.propagate.depth == 0 {
        flush_pending(server);
    }
}

impl Ctx<'_> {
    /// Propagate this command as `args` instead of what the client sent
    /// (`rewriteClientCommandVector`): the deterministic form of a
    /// command whose effect depends on time or chance.
    pub fn propagate_as<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        if Propagation::active(self.server) {
            self.server.propagate.rewrite =
                Some(args.iter().map(|a| a.as_ref().to_vec()).collect());
        }
    }

    /// Propagate `args` (in the client's db) in addition to, and before,
    /// the command itself (`alsoPropagate`).
    pub fn also_propagate<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let db = self.client.db;
        also_propagate(self.server, db, args);
    }

    /// Send nothing for this command itself (`preventCommandPropagation`);
    /// what it queued with [`Ctx::also_propagate`] still goes.
    pub fn prevent_propagation(&mut self) {
        self.server.propagate.prevent = true;
    }

    /// Is anything listening? Lets a command skip building a rewrite.
    pub fn propagating(&self) -> bool {
        Propagation::active(self.server)
    }
}
