//! # Replication commands: SYNC, PSYNC, REPLCONF, WAIT, ROLE, REPLICAOF
//!
//! The commands a replica (or a tool such as `redis-cli --replica`, or
//! Redis's test suite) sends to a primary, and the two a client asks a
//! primary about its replicas, plus REPLICAOF, which turns this server
//! into a replica (or back). The mechanism behind them (ids, offsets,
//! backlog, states) is `crate::replication` and, for the replica's side,
//! `crate::replication::replica`; this file parses and answers, with
//! Redis 7.0's replies and errors.
//!
//! Redis: `src/replication.c`, `syncCommand` (SYNC and PSYNC),
//! `replconfCommand`, `waitCommand`, `roleCommand`, `replicaofCommand`.

use crate::commands::eq_ic;
use crate::replication::{self, AckWaiter, ReplicaState};
use crate::resp::{parse_i64, Args};
use crate::server::blocking::TimeoutReply;
use crate::server::command::{CommandDef, Group};
use crate::server::{Ctx, NOT_INTEGER, SYNTAX_ERR};

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "sync",
        arity: 1,
        flags: "admin noscript no_async_loading no_multi",
        since: "1.0.0",
        summary: "An internal command used in replication",
        run: sync,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "psync",
        arity: -3,
        flags: "admin noscript no_async_loading no_multi",
        since: "2.8.0",
        summary: "An internal command used in replication",
        run: psync,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "replconf",
        arity: -1,
        flags: "admin noscript loading stale allow_busy",
        since: "3.0.0",
        summary: "An internal command for configuring the replication stream",
        run: replconf,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "wait",
        arity: 3,
        flags: "noscript",
        since: "3.0.0",
        summary:
            "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
        run: wait,
        ..CommandDef::base(Group::Generic)
    },
    CommandDef {
        name: "replicaof",
        arity: 3,
        flags: "admin noscript stale no_async_loading",
        since: "5.0.0",
        summary: "Make the server a replica of another instance, or promote it as master.",
        run: replicaof,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "slaveof",
        arity: 3,
        flags: "admin noscript stale no_async_loading",
        since: "1.0.0",
        summary: "Make the server a replica of another instance, or promote it as master.",
        run: replicaof,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "role",
        arity: 1,
        flags: "noscript loading stale fast",
        since: "2.8.12",
        summary: "Return the role of the instance in the context of replication",
        run: role,
        ..CommandDef::base(Group::Server)
    },
];

/// The checks SYNC and PSYNC share (`syncCommand`'s prologue). Returns
/// false if the command must stop here.
fn may_sync(ctx: &mut Ctx) -> bool {
    // Already a replica (a second SYNC on the link): ignored, no reply.
    if ctx
        .client
        .replica
        .as_ref()
        .is_some_and(|l| l.state.is_some())
    {
        return false;
    }
    // A replica serves replicas only with a history to give them.
    if replication::replica::is_replica(ctx.server)
        && ctx.server.replication.replica.state != replication::replica::LinkState::Connected
    {
        ctx.reply()
            .error("NOMASTERLINK Can't SYNC while not connected with my master");
        return false;
    }
    // The RDB and the stream must be the first bytes after the command.
    if !ctx.client.reply.is_empty() {
        ctx.reply()
            .err("SYNC and PSYNC are invalid with pending output");
        return false;
    }
    eprintln!(
        "{} * Replica {} asks for synchronization",
        std::process::id(),
        replication::replica_name(ctx.client)
    );
    true
}

// ANCHOR: repl_sync_command
/// SYNC: the pre-2.8 full synchronisation. No `+FULLRESYNC` line, no
/// ACKs: the RDB as `$<len>\r\n<bytes>`, then the stream.
fn sync(ctx: &mut Ctx, _args: Args) {
    if !may_sync(ctx) {
        return;
    }
    replication::start_full_resync(ctx.server, ctx.client, true);
}

/// PSYNC replid offset: continue from the backlog, or resync in full.
fn psync(ctx: &mut Ctx, args: Args) {
    if !may_sync(ctx) {
        return;
    }
    let Some(offset) = parse_i64(&args[2]) else {
        ctx.reply().error(NOT_INTEGER);
        return;
    };
    if replication::try_partial_resync(ctx.server, ctx.client, &args[1], offset) {
        ctx.server.replication.sync_partial_ok += 1;
        return;
    }
    // `?` asks for a full resync on purpose: not a failed attempt.
    if args[1].first() != Some(&b'?') {
        ctx.server.replication.sync_partial_err += 1;
    }
    replication::start_full_resync(ctx.server, ctx.client, false);
}
// ANCHOR_END: repl_sync_command

/// REPLCONF option value [option value ...]
fn replconf(ctx: &mut Ctx, args: Args) {
    if args.len().is_multiple_of(2) {
        return ctx.reply().error(SYNTAX_ERR);
    }
    let mut j = 1;
    while j < args.len() {
        let (opt, val) = (&args[j], &args[j + 1]);
        if eq_ic(opt, "listening-port") {
            let Some(port) = parse_i64(val) else {
                return ctx.reply().error(NOT_INTEGER);
            };
            ctx.client
                .replica
                .get_or_insert_with(Default::default)
                .listening_port = port as u16;
        } else if eq_ic(opt, "ip-address") {
            if val.len() >= 256 {
                let msg = format!(
                    "REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    val.len()
                );
                return ctx.reply().err(&msg);
            }
            ctx.client
                .replica
                .get_or_insert_with(Default::default)
                .announced_ip = Some(String::from_utf8_lossy(val).into_owned());
        } else if eq_ic(opt, "capa") {
            // Capabilities we do not know are ignored.
            let link = ctx.client.replica.get_or_insert_with(Default::default);
            if eq_ic(val, "eof") {
                link.capa_eof = true;
            } else if eq_ic(val, "psync2") {
                link.capa_psync2 = true;
            }
        } else if eq_ic(opt, "ack") {
            // ANCHOR: repl_ack
            // The replica's progress report. Never answered.
            let Some(link) = ctx.client.replica.as_mut().filter(|l| l.state.is_some()) else {
                return;
            };
            if let Some(offset) = parse_i64(val) {
                link.ack_offset = link.ack_offset.max(offset);
                link.ack_time = Some(std::time::Instant::now());
            }
            return;
            // ANCHOR_END: repl_ack
        } else if eq_ic(opt, "getack") {
            // Only a replica answers GETACK, and only to its primary: with
            // the offset it has applied (`replicationSendAck`). A primary
            // ignores it, silently.
            if replication::replica::is_master_client(ctx.client) {
                let offset = ctx.server.replication.master_repl_offset.to_string();
                let reply = ctx.reply();
                reply.array(3);
                reply.bulk(b"REPLCONF");
                reply.bulk(b"ACK");
                reply.bulk(offset.as_bytes());
                ctx.server.replication.replica.force_reply = true;
            }
            return;
        } else if eq_ic(opt, "rdb-only") {
            match parse_i64(val) {
                Some(0 | 1) => {}
                None => return ctx.reply().error(NOT_INTEGER),
                _ => {
                    return ctx
                        .reply()
                        .err("value is out of range, value must between 0 and 1")
                }
            }
        } else if eq_ic(opt, "rdb-filter-only") {
            // `redis-cli --replica` asks for an RDB without data (it
            // discards it anyway). Accepted; we send the whole snapshot.
            for filter in String::from_utf8_lossy(val).split_ascii_whitespace() {
                if !filter.eq_ignore_ascii_case("functions") {
                    let msg = format!("Unsupported rdb-filter-only option: {filter}");
                    return ctx.reply().err(&msg);
                }
            }
        } else {
            let msg = format!(
                "Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            );
            return ctx.reply().err(&msg);
        }
        j += 2;
    }
    ctx.reply().ok();
}

// ANCHOR: repl_wait_command
/// WAIT numreplicas timeout: block until `numreplicas` replicas
/// acknowledged this client's last write, or `timeout` ms passed (0:
/// forever). Answers how many did.
fn wait(ctx: &mut Ctx, args: Args) {
    let Some(numreplicas) = parse_i64(&args[1]) else {
        return ctx.reply().error(NOT_INTEGER);
    };
    let Some(timeout) = parse_i64(&args[2]) else {
        return ctx.reply().err("timeout is not an integer or out of range");
    };
    if timeout < 0 {
        return ctx.reply().err("timeout is negative");
    }
    let offset = ctx.client.write_offset;
    let acks = replication::count_acks(ctx.server, offset, Some(ctx.client));
    if acks >= numreplicas || ctx.client.in_exec || !ctx.can_block() {
        return ctx.reply().int(acks);
    }
    let deadline = (timeout > 0)
        .then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout as u64));
    // Parked on no key: only the ACKs (or the cron, for the deadline)
    // release it. The connection's own timer is not used (no deadline
    // given to it), since its reply would be a null, not the count.
    ctx.block_for_keys(&[], None, TimeoutReply::NullArray, args);
    ctx.server.replication.waiting.push(AckWaiter {
        client_id: ctx.client.id,
        offset,
        numreplicas,
        deadline,
    });
    ctx.server.replication.get_ack_pending = true;
}
// ANCHOR_END: repl_wait_command

// ANCHOR: repl_replicaof_command
/// REPLICAOF NO ONE | REPLICAOF host port (`replicaofCommand`): promote
/// ourselves, or follow a primary. The link itself is made by the link
/// task (`replication::replica::run`), after the `+OK`.
fn replicaof(ctx: &mut Ctx, args: Args) {
    if ctx.server.config.cluster_enabled {
        return ctx.reply().err("REPLICAOF not allowed in cluster mode.");
    }
    if eq_ic(&args[1], "no") && eq_ic(&args[2], "one") {
        if replication::replica::is_replica(ctx.server) {
            replication::replica::unset_master(ctx.server);
            eprintln!(
                "{} * MASTER MODE enabled (user request from 'id={} addr={}')",
                std::process::id(),
                ctx.client.id,
                ctx.client.addr
            );
        }
        return ctx.reply().ok();
    }
    // A replica of ours cannot make us a replica: that would cut its own
    // link in the middle of its command.
    if ctx.client.is_replica() {
        return ctx
            .reply()
            .err("Command is not valid when client is a replica.");
    }
    let Some(port) = parse_i64(&args[2]).filter(|p| (0..=65535).contains(p)) else {
        return ctx.reply().err("Invalid master port");
    };
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    let same = ctx
        .server
        .config
        .replicaof
        .as_ref()
        .is_some_and(|(h, p)| h.eq_ignore_ascii_case(&host) && *p as i64 == port);
    if same {
        eprintln!(
            "{} * REPLICAOF would result into synchronization with the master we are already \
             connected with. No operation performed.",
            std::process::id()
        );
        return ctx
            .reply()
            .simple("OK Already connected to specified master");
    }
    replication::replica::set_master(ctx.server, host, port as u16);
    eprintln!(
        "{} * REPLICAOF {}:{port} enabled (user request from 'id={} addr={}')",
        std::process::id(),
        String::from_utf8_lossy(&args[1]),
        ctx.client.id,
        ctx.client.addr
    );
    ctx.reply().ok();
}
// ANCHOR_END: repl_replicaof_command

/// ROLE, for a master: `["master", offset, [[ip, port, ack offset], ...]]`
/// with the online replicas only.
fn role(ctx: &mut Ctx, _args: Args) {
    if replication::replica::is_replica(ctx.server) {
        let s = &*ctx.server;
        return replication::replica::role_reply(s, &mut ctx.client.reply);
    }
    let mut rows = Vec::new();
    for id in &ctx.server.replication.replicas {
        let Some(Ok(c)) = ctx.server.clients.get(id).map(|rc| rc.try_borrow()) else {
            continue;
        };
        let Some(l) = c.replica.as_ref() else {
            continue;
        };
        if l.state != Some(ReplicaState::Online) {
            continue;
        }
        let ip = l
            .announced_ip
            .clone()
            .unwrap_or_else(|| c.addr.ip().to_string());
        rows.push((ip, l.listening_port.to_string(), l.ack_offset.to_string()));
    }
    let offset = ctx.server.replication.master_repl_offset;
    let reply = ctx.reply();
    reply.array(3);
    reply.bulk(b"master");
    reply.int(offset);
    reply.array(rows.len());
    for (ip, port, ack) in rows {
        reply.array(3);
        reply.bulk(ip.as_bytes());
        reply.bulk(port.as_bytes());
        reply.bulk(ack.as_bytes());
    }
}
