//! # Transaction commands
//!
//! MULTI EXEC DISCARD WATCH UNWATCH. The queueing itself happens in
//! `process_command` (a command in MULTI is stored instead of run); the
//! watch index and the rules of EXEC are the `multi` chapter module.
//!
//! ## The Redis C counterpart
//!
//! `multiCommand`, `execCommand`, `discardCommand`, `watchCommand`,
//! `unwatchCommand` (multi.c).

use crate::multi;
use crate::resp::Args;
use crate::server::command::{CommandDef, Group};
use crate::server::Ctx;

/// What Redis 7.0 flags MULTI, DISCARD, WATCH and UNWATCH with.
const TRANSACTION_FLAGS: &str = "noscript loading stale fast allow_busy";

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "multi",
        arity: 1,
        flags: TRANSACTION_FLAGS,
        since: "1.2.0",
        summary: "Starts a transaction: the next commands are queued until EXEC.",
        run: multi_cmd,
        ..CommandDef::base(Group::Transactions)
    },
    CommandDef {
        name: "exec",
        arity: 1,
        flags: "noscript loading stale skip_slowlog",
        since: "1.2.0",
        summary: "Runs the queued commands back to back, unless a watched key changed.",
        run: exec,
        ..CommandDef::base(Group::Transactions)
    },
    CommandDef {
        name: "discard",
        arity: 1,
        flags: TRANSACTION_FLAGS,
        since: "1.2.0",
        summary: "Drops the queued commands and leaves the transaction.",
        run: discard,
        ..CommandDef::base(Group::Transactions)
    },
    CommandDef {
        name: "watch",
        arity: -2,
        flags: TRANSACTION_FLAGS,
        first_key: 1,
        last_key: -1,
        key_step: 1,
        since: "2.2.0",
        summary: "Makes the next EXEC fail if any of these keys changes first.",
        run: watch,
        ..CommandDef::base(Group::Transactions)
    },
    CommandDef {
        name: "unwatch",
        arity: 1,
        flags: TRANSACTION_FLAGS,
        since: "2.2.0",
        summary: "Forgets every watched key.",
        run: unwatch,
        ..CommandDef::base(Group::Transactions)
    },
];

/// MULTI
fn multi_cmd(ctx: &mut Ctx, _args: Args) {
    if ctx.client.multi.active {
        ctx.reply().err("MULTI calls can not be nested");
        return;
    }
    ctx.client.multi.active = true;
    ctx.reply().ok();
}

/// DISCARD
fn discard(ctx: &mut Ctx, _args: Args) {
    if !ctx.client.multi.active {
        ctx.reply().err("DISCARD without MULTI");
        return;
    }
    multi::discard_transaction(ctx.server, ctx.client);
    ctx.reply().ok();
}

// ANCHOR: multi_exec
/// EXEC: every outcome is listed in the `multi` module essay.
fn exec(ctx: &mut Ctx, _args: Args) {
    if !ctx.client.multi.active {
        ctx.reply().err("EXEC without MULTI");
        return;
    }
    if multi::watched_key_expired(ctx.server, ctx.client, ctx.now_ms) {
        ctx.client.multi.dirty_cas = true;
    }
    if ctx.client.multi.dirty_exec {
        ctx.reply()
            .error("EXECABORT Transaction discarded because of previous errors.");
        multi::discard_transaction(ctx.server, ctx.client);
        return;
    }
    if ctx.client.multi.dirty_cas {
        ctx.reply().null_array();
        multi::discard_transaction(ctx.server, ctx.client);
        return;
    }
    // Nothing can change under us from here on: unwatch at once so that
    // the transaction's own writes do not go looking for watchers.
    multi::unwatch_all_keys(ctx.server, ctx.client);
    let queued = std::mem::take(&mut ctx.client.multi.queued);
    ctx.client.multi.executing = queued.len();
    ctx.client.in_exec = true;
    ctx.reply().array(queued.len());
    for (cmd, args) in &queued {
        // The user's rules may have changed since the command was queued.
        if let Some(msg) = crate::acl::exec_refusal(ctx.server, ctx.client, cmd, args.args()) {
            ctx.reply().error(&msg);
            continue;
        }
        crate::server::call(ctx.server, ctx.client, cmd, args.args());
    }
    ctx.client.in_exec = false;
    multi::discard_transaction(ctx.server, ctx.client);
}
// ANCHOR_END: multi_exec

/// WATCH key [key ...]
fn watch(ctx: &mut Ctx, args: Args) {
    if ctx.client.multi.active {
        ctx.reply().err("WATCH inside MULTI is not allowed");
        return;
    }
    // Already dirty: EXEC will fail whatever else is watched.
    if !ctx.client.multi.dirty_cas {
        for key in args.iter().skip(1) {
            multi::watch_key(ctx.server, ctx.client, key, ctx.now_ms);
        }
    }
    ctx.reply().ok();
}

/// UNWATCH
fn unwatch(ctx: &mut Ctx, _args: Args) {
    multi::unwatch_all_keys(ctx.server, ctx.client);
    ctx.client.multi.dirty_cas = false;
    ctx.reply().ok();
}
