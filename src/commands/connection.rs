//! # Connection commands: the conversation before and around the data
//!
//! PING ECHO HELLO AUTH SELECT SWAPDB QUIT RESET, and CLIENT with its
//! subcommands. None of them touch a key; they change the state of the
//! connection that sends them (its protocol, database, name, reply mode,
//! authentication) or look at and act on the other connections.
//!
//! ## The state a connection carries
//!
//! ```text
//!   HELLO 3 / HELLO 2        reply.protocol   RESP3 maps, nulls, verbatim...
//!   AUTH, HELLO AUTH         authenticated    gate of every command but the no_auth ones
//!   SELECT                   db               which Db a key names
//!   CLIENT SETNAME           name             shown by CLIENT LIST
//!   CLIENT REPLY             reply_mode       the reply is computed, then dropped
//!   RESET                    all of the above back to a fresh connection's values
//! ```
//!
//! ## The invariants
//!
//! - A client that has not authenticated while the `default` user needs
//!   a password (`requirepass`, or ACL rules) can run only the commands flagged `no_auth`: AUTH, HELLO, QUIT, RESET.
//!   The check lives in `process_command`, driven by the table flag, so a
//!   command here only has to say `no_auth`, never re-check.
//! - One client never touches another one's socket. CLIENT KILL marks the
//!   victim `close_asap` and wakes its task, which closes its own socket;
//!   CLIENT PAUSE sets a deadline that `process_command` consults, and the
//!   held clients' tasks wait for it to pass or for `unpause`.
//! - SWAPDB swaps the *contents* of two databases; a `Db`'s `id` stays its
//!   position, so every client that had selected 1 now sees what 2 held.
//!
//! ## The Redis C counterpart
//!
//! `pingCommand`, `echoCommand` (server.c); `helloCommand`,
//! `clientCommand`, `clientSetName`, `resetCommand`,
//! `clearClientConnectionState`, `quitCommand`, `pauseClients`
//! (networking.c); `authCommand`, `ACLAuthenticateUser` (acl.c);
//! `selectCommand`, `swapdbCommand`, `dbSwapDatabases` (db.c);
//! `getTimeoutFromObjectOrReply` (timeout.c).
//!
//! ## What we simplified
//!
//! Users, their passwords and their rules are the ACL chapter (`acl.rs`):
//! AUTH and HELLO AUTH call its `authenticate`, RESET its
//! `set_default_auth`. CLIENT TRACKING, CACHING, TRACKINGINFO and UNBLOCK need
//! client-side caching and blocking commands, which are other chapters.
//! Pub/sub mode (where RESP2 PING answers differently) and MULTI (which
//! RESET discards) hook in here when they exist.

use std::fmt::Write;
use std::time::{Duration, Instant};

use crate::commands::eq_ic;
use crate::resp::{parse_i64, Args, Protocol, Reply};
use crate::server::client::{ClientType, ReplyMode};
use crate::server::command::{truncate_lossy, CommandDef, Group};
use crate::server::{Ctx, Pause, NOT_INTEGER, SYNTAX_ERR};

/// The version we answer to HELLO (and INFO), the Redis we reimplement.
pub const REDIS_VERSION: &str = "7.0.15";

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// The flags Redis 7.0 gives the commands a client may send before it
/// has authenticated (Redis also has `sentinel`, which our table lacks).
const PRE_AUTH: &str = "noscript loading stale fast no_auth allow_busy";

/// Most CLIENT subcommands' flags; the `admin` ones act on other clients.
const CLIENT_SELF: &str = "noscript loading stale";
const CLIENT_ADMIN: &str = "admin noscript loading stale";

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "ping",
        arity: -1,
        flags: "fast",
        since: "1.0.0",
        summary: "Answers PONG, or echoes its argument: is the server alive?",
        run: ping,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "echo",
        arity: 2,
        flags: "loading stale fast",
        since: "1.0.0",
        summary: "Replies with its argument.",
        run: echo,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "hello",
        arity: -1,
        flags: PRE_AUTH,
        since: "6.0.0",
        summary:
            "Picks RESP2 or RESP3, may authenticate and name the connection; describes the server.",
        run: hello,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "auth",
        arity: -2,
        flags: PRE_AUTH,
        since: "1.0.0",
        summary: "Authenticates the connection (user `default`, password `requirepass`).",
        run: auth,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "select",
        arity: 2,
        flags: "loading stale fast",
        since: "1.0.0",
        summary: "Changes the database the connection's commands use.",
        run: select,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "swapdb",
        arity: 3,
        flags: "write fast",
        since: "4.0.0",
        summary: "Exchanges the contents of two databases, atomically for every client.",
        run: swapdb,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "quit",
        arity: -1,
        flags: PRE_AUTH,
        since: "1.0.0",
        summary: "Replies OK and closes the connection once the reply is written.",
        run: quit,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "reset",
        arity: 1,
        flags: PRE_AUTH,
        since: "6.2.0",
        summary: "Returns the connection to the state of a fresh one.",
        run: reset,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "client",
        arity: -2,
        flags: "",
        since: "2.4.0",
        summary: "Inspects and controls client connections (a container for subcommands).",
        run: client_container,
        subcommands: CLIENT_SUBCOMMANDS,
        ..CommandDef::base(Group::Connection)
    },
];

static CLIENT_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "id",
        arity: 2,
        flags: CLIENT_SELF,
        since: "5.0.0",
        summary: "Returns the unique id of this connection.",
        run: client_id,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "setname",
        arity: 3,
        flags: CLIENT_SELF,
        since: "2.6.9",
        summary: "Names this connection (an empty name removes it).",
        run: client_setname,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "getname",
        arity: 2,
        flags: CLIENT_SELF,
        since: "2.6.9",
        summary: "Returns this connection's name, or null.",
        run: client_getname,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "list",
        arity: -2,
        flags: CLIENT_ADMIN,
        since: "2.4.0",
        summary: "Describes every connection (or those of one type, or given ids), one line each.",
        run: client_list,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "info",
        arity: 2,
        flags: CLIENT_SELF,
        since: "6.2.0",
        summary: "Describes this connection in the format of CLIENT LIST.",
        run: client_info,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "kill",
        arity: -3,
        flags: CLIENT_ADMIN,
        since: "2.4.0",
        summary: "Closes the connections matching an address or a set of filters.",
        run: client_kill,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "pause",
        arity: -3,
        flags: CLIENT_ADMIN,
        since: "2.9.50",
        summary: "Holds all commands, or only writes, from every client for some milliseconds.",
        run: client_pause,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "unpause",
        arity: 2,
        flags: CLIENT_ADMIN,
        since: "6.2.0",
        summary: "Ends a CLIENT PAUSE now.",
        run: client_unpause,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "reply",
        arity: 3,
        flags: CLIENT_SELF,
        since: "3.2.0",
        summary: "Turns this connection's replies on, off, or off for the next command.",
        run: client_reply,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "no-evict",
        arity: 3,
        flags: CLIENT_ADMIN,
        since: "7.0.0",
        summary: "Exempts this connection from client eviction, or not.",
        run: client_no_evict,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "unblock",
        arity: -3,
        flags: "admin noscript loading stale",
        since: "5.0.0",
        summary: "Unblocks a client parked by a blocking command, as if it timed out or failed.",
        run: client_unblock,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "getredir",
        arity: 2,
        flags: CLIENT_SELF,
        since: "6.0.0",
        summary: "Returns the id tracking invalidations are redirected to (-1: not tracking).",
        run: crate::tracking::client_getredir,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "tracking",
        arity: -3,
        flags: CLIENT_SELF,
        since: "6.0.0",
        summary: "Turns client-side caching invalidations on or off for this connection.",
        run: crate::tracking::client_tracking,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "caching",
        arity: 3,
        flags: CLIENT_SELF,
        since: "6.0.0",
        summary: "Tracks (OPTIN) or skips (OPTOUT) the keys of the next command.",
        run: crate::tracking::client_caching,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "trackinginfo",
        arity: 2,
        flags: CLIENT_SELF,
        since: "6.2.0",
        summary: "Describes this connection's client-side caching settings.",
        run: crate::tracking::client_trackinginfo,
        ..CommandDef::base(Group::Connection)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "5.0.0",
        summary: "Lists the CLIENT subcommands.",
        run: client_help,
        ..CommandDef::base(Group::Connection)
    },
];

// ---------------------------------------------------------------------------
// PING, ECHO, QUIT
// ---------------------------------------------------------------------------

/// PING [message]
fn ping(ctx: &mut Ctx, args: Args) {
    // The arity allows any count so that the error names `ping`, as Redis.
    // In RESP2 subscribed mode the answer must look like a message (an
    // array), so it is `["pong", message or ""]`.
    if args.len() <= 2 && ctx.client.pubsub.active() && !ctx.client.reply.is_resp3() {
        let reply = ctx.reply();
        reply.array(2);
        reply.bulk(b"pong");
        reply.bulk(if args.len() == 2 { &args[1] } else { b"" });
        return;
    }
    match args.len() {
        1 => ctx.reply().simple("PONG"),
        2 => ctx.reply().bulk(&args[1]),
        _ => ctx
            .reply()
            .err("wrong number of arguments for 'ping' command"),
    }
}

/// ECHO message
fn echo(ctx: &mut Ctx, args: Args) {
    ctx.reply().bulk(&args[1]);
}

/// QUIT: the OK is written, then the connection closes.
fn quit(ctx: &mut Ctx, _args: Args) {
    ctx.reply().ok();
    ctx.client.close_after_reply = true;
}

// ---------------------------------------------------------------------------
// Authentication and protocol: AUTH, HELLO, RESET
// ---------------------------------------------------------------------------

/// Is the client past the password gate? (A `default` user without
/// a password lets everyone in.)
fn is_authenticated(ctx: &Ctx) -> bool {
    ctx.client.authenticated || !crate::acl::default_requires_auth(ctx.server)
}

/// AUTH [username] password
fn auth(ctx: &mut Ctx, args: Args) {
    if args.len() > 3 {
        ctx.reply().error(SYNTAX_ERR);
        return;
    }
    // Whatever happens next, SLOWLOG and MONITOR never show these.
    for i in 1..args.len() {
        ctx.redact_arg(i);
    }
    let (username, password): (&[u8], &[u8]) = if args.len() == 2 {
        // The one-argument form is the pre-6.0 AUTH; without a password it
        // is almost certainly a misconfiguration, so Redis says so.
        if ctx.server.acl.default_user.borrow().nopass {
            ctx.reply().err(
                "AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            );
            return;
        }
        (b"default", &args[1])
    } else {
        (&args[1], &args[2])
    };
    if crate::acl::authenticate(ctx, username, password, args) {
        ctx.reply().ok();
    } else {
        ctx.reply().error(WRONGPASS);
    }
}

// ANCHOR: conn_hello
/// HELLO [protover [AUTH username password] [SETNAME clientname]]
///
/// Every outcome, in the order Redis checks them:
/// 1. `protover` not an integer: `ERR Protocol version is not an integer
///    or out of range`; not 2 or 3: `NOPROTO`. Nothing changed.
/// 2. Options left to right: AUTH that fails answers `WRONGPASS` and stops;
///    a bad SETNAME name answers its error and stops; anything else is
///    `Syntax error in HELLO option`. Options before the failing one
///    have already taken effect (Redis does the same).
/// 3. Still not authenticated: `NOAUTH HELLO must be called...`.
/// 4. Otherwise the protocol switches *before* the reply is written, so
///    `HELLO 3` is itself answered with a RESP3 map.
fn hello(ctx: &mut Ctx, args: Args) {
    let mut protocol = None;
    let mut next = 1;
    if args.len() >= 2 {
        next = 2;
        match parse_i64(&args[1]) {
            Some(2) => protocol = Some(Protocol::Resp2),
            Some(3) => protocol = Some(Protocol::Resp3),
            Some(_) => {
                ctx.reply().error("NOPROTO unsupported protocol version");
                return;
            }
            None => {
                ctx.reply()
                    .err("Protocol version is not an integer or out of range");
                return;
            }
        }
    }

    let mut i = next;
    while i < args.len() {
        let remaining = args.len() - 1 - i;
        let option = &args[i];
        if eq_ic(option, "AUTH") && remaining >= 2 {
            ctx.redact_arg(i + 1);
            ctx.redact_arg(i + 2);
            if !crate::acl::authenticate(ctx, &args[i + 1], &args[i + 2], args) {
                ctx.reply().error(WRONGPASS);
                return;
            }
            i += 3;
        } else if eq_ic(option, "SETNAME") && remaining >= 1 {
            if let Err(e) = ctx.client.set_name(&args[i + 1]) {
                ctx.reply().error(e);
                return;
            }
            i += 2;
        } else {
            let msg = format!(
                "Syntax error in HELLO option '{}'",
                truncate_lossy(option, 128)
            );
            ctx.reply().err(&msg);
            return;
        }
    }

    if !is_authenticated(ctx) {
        ctx.reply().error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
             the RESP protocol version at the same time",
        );
        return;
    }

    if let Some(p) = protocol {
        ctx.client.reply.protocol = p;
    }
    let id = ctx.client.id as i64;
    let proto = match ctx.client.protocol() {
        Protocol::Resp2 => 2,
        Protocol::Resp3 => 3,
    };
    let reply = ctx.reply();
    reply.map(7);
    reply.bulk(b"server");
    reply.bulk(b"redis");
    reply.bulk(b"version");
    reply.bulk(REDIS_VERSION.as_bytes());
    reply.bulk(b"proto");
    reply.int(proto);
    reply.bulk(b"id");
    reply.int(id);
    reply.bulk(b"mode");
    reply.bulk(b"standalone"); // "cluster" / "sentinel" with those chapters
    reply.bulk(b"role");
    reply.bulk(b"master"); // "replica" once replication can make us one
    reply.bulk(b"modules");
    reply.array(0);
}
// ANCHOR_END: conn_hello

/// RESET: everything a connection chose goes back to a new connection's
/// value. Redis 7.0 keeps the `no-evict` flag across RESET (checked
/// against redis-server 7.0.15), and so do we.
fn reset(ctx: &mut Ctx, _args: Args) {
    let me = ctx.client.id;
    if ctx.client.monitor {
        ctx.client.monitor = false;
        ctx.server.monitors.retain(|&id| id != me);
    }
    ctx.client.db = 0;
    ctx.client.reply.protocol = Protocol::Resp2;
    crate::acl::set_default_auth(ctx.server, ctx.client);
    ctx.client.name = None;
    ctx.client.reply_mode = ReplyMode::On;
    // The transaction and watches, and every subscription, silently
    // (Redis: discardTransaction, pubsubUnsubscribeAll*), and tracking
    // (disableTracking).
    crate::multi::discard_transaction(ctx.server, ctx.client);
    crate::pubsub::unsubscribe_all_channels(ctx.server, ctx.client, false);
    crate::pubsub::unsubscribe_all_patterns(ctx.server, ctx.client, false);
    crate::tracking::disable(ctx.server, ctx.client);
    ctx.reply().simple("RESET");
}

// ---------------------------------------------------------------------------
// Databases: SELECT, SWAPDB
// ---------------------------------------------------------------------------

/// Parse a database index as Redis's `getIntFromObjectOrReply`: not an
/// integer, or not a C `int`, is an error; `custom` replaces both texts.
fn arg_db_index(ctx: &mut Ctx, arg: &[u8], custom: Option<&str>) -> Option<i64> {
    let n = parse_i64(arg);
    let err = match (n, custom) {
        (Some(n), _) if i32::try_from(n).is_ok() => return Some(n),
        (_, Some(msg)) => msg,
        (None, None) => NOT_INTEGER,
        (Some(_), None) => {
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        }
    };
    ctx.reply().error(err);
    None
}

/// SELECT index
fn select(ctx: &mut Ctx, args: Args) {
    let Some(index) = arg_db_index(ctx, &args[1], None) else {
        return;
    };
    if index < 0 || index as usize >= ctx.server.dbs.len() {
        ctx.reply().err("DB index is out of range");
        return;
    }
    ctx.client.db = index as usize;
    ctx.reply().ok();
}

/// SWAPDB index1 index2
fn swapdb(ctx: &mut Ctx, args: Args) {
    let Some(a) = arg_db_index(ctx, &args[1], Some("ERR invalid first DB index")) else {
        return;
    };
    let Some(b) = arg_db_index(ctx, &args[2], Some("ERR invalid second DB index")) else {
        return;
    };
    let n = ctx.server.dbs.len() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        ctx.reply().err("DB index is out of range");
        return;
    }
    // WATCHes on either side see their key change (or appear, or vanish).
    let (a, b) = (a as usize, b as usize);
    crate::multi::touch_all_watched_keys_in_db(ctx.server, Some(ctx.client), a, Some(b));
    crate::multi::touch_all_watched_keys_in_db(ctx.server, Some(ctx.client), b, Some(a));
    swap_db_contents(&mut ctx.server.dbs, a, b);
    // Clients blocked on a key that exists now are served after this
    // command (Redis's `scanDatabaseForReadyKeys`); an expired one is
    // deleted then, and the waiter stays parked. An XREADGROUP whose
    // stream is gone is unblocked with an error.
    ctx.server.signal_waited_keys_in_db(a);
    ctx.server.signal_waited_keys_in_db(b);
    ctx.dirty(1);
    ctx.reply().ok();
}

/// Exchange what two databases hold, field by field, as Redis's
/// `dbSwapDatabases`. Only the data moves: the `id` stays the position
/// (SELECT 1 must still mean `dbs[1]`), and so will the per-database
/// queues of blocked and watching clients that later chapters add,
/// because those belong to the *clients of* a database number.
fn swap_db_contents(dbs: &mut [crate::db::Db], a: usize, b: usize) {
    if a == b {
        return;
    }
    let (low, high) = (a.min(b), a.max(b));
    let (head, tail) = dbs.split_at_mut(high);
    let (x, y) = (&mut head[low], &mut tail[0]);
    std::mem::swap(&mut x.dict, &mut y.dict);
    std::mem::swap(&mut x.expires, &mut y.expires);
    std::mem::swap(&mut x.avg_ttl, &mut y.avg_ttl);
    std::mem::swap(&mut x.expires_cursor, &mut y.expires_cursor);
}

// ---------------------------------------------------------------------------
// CLIENT
// ---------------------------------------------------------------------------

/// `CLIENT` alone never runs: the table resolves a subcommand or answers
/// the arity / unknown-subcommand error. Kept for completeness.
fn client_container(ctx: &mut Ctx, args: Args) {
    let msg = format!(
        "ERR unknown subcommand '{}'. Try CLIENT HELP.",
        truncate_lossy(&args[1], 128)
    );
    ctx.reply().error(&msg);
}

/// CLIENT ID
fn client_id(ctx: &mut Ctx, _args: Args) {
    let id = ctx.client.id as i64;
    ctx.reply().int(id);
}

/// CLIENT SETNAME name
fn client_setname(ctx: &mut Ctx, args: Args) {
    match ctx.client.set_name(&args[2]) {
        Ok(()) => ctx.reply().ok(),
        Err(e) => ctx.reply().error(e),
    }
}

/// CLIENT GETNAME
fn client_getname(ctx: &mut Ctx, _args: Args) {
    let Ctx { client, .. } = ctx;
    match &client.name {
        Some(name) => client.reply.bulk(name),
        None => client.reply.null(),
    }
}

/// The bytes of the running command's arguments (`argv-mem` of the
/// client asking).
fn argv_mem(args: Args) -> usize {
    args.iter().map(<[u8]>::len).sum()
}

/// Which clients CLIENT LIST shows.
enum ListFilter {
    All,
    Type(ClientType),
    /// In the order given, repeats included, unknown ids skipped.
    Ids(Vec<u64>),
}

/// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]
fn client_list(ctx: &mut Ctx, args: Args) {
    let filter = if args.len() == 4 && eq_ic(&args[2], "type") {
        match ClientType::parse(&args[3]) {
            Some(t) => ListFilter::Type(t),
            None => return unknown_client_type(ctx.reply(), &args[3]),
        }
    } else if args.len() > 3 && eq_ic(&args[2], "id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for arg in args.iter().skip(3) {
            match parse_i64(arg) {
                Some(id) => ids.push(id as u64),
                None => return ctx.reply().err("Invalid client ID"),
            }
        }
        ListFilter::Ids(ids)
    } else if args.len() == 2 {
        ListFilter::All
    } else {
        return ctx.reply().error(SYNTAX_ERR);
    };

    let now = Instant::now();
    let me = ctx.client.id;
    let my_argv = argv_mem(args);
    let mut out = String::with_capacity(320 * ctx.server.clients.len());
    match filter {
        ListFilter::Ids(ids) => {
            for id in ids {
                if id == me {
                    ctx.client.write_info_line(&mut out, now, my_argv);
                } else if let Some(rc) = ctx.server.clients.get(&id) {
                    rc.borrow().write_info_line(&mut out, now, 0);
                } else {
                    continue;
                }
                out.push('\n');
            }
        }
        filter => ctx.server.for_each_client(ctx.client, |c| {
            if let ListFilter::Type(t) = filter {
                if c.client_type() != t {
                    return;
                }
            }
            let argv = if c.id == me { my_argv } else { 0 };
            c.write_info_line(&mut out, now, argv);
            out.push('\n');
        }),
    }
    ctx.reply().verbatim(out.as_bytes());
}

fn unknown_client_type(reply: &mut Reply, name: &[u8]) {
    let msg = format!("ERR Unknown client type '{}'", truncate_lossy(name, 128));
    reply.error(&msg);
}

/// CLIENT INFO
fn client_info(ctx: &mut Ctx, args: Args) {
    let mut line = String::with_capacity(320);
    ctx.client
        .write_info_line(&mut line, Instant::now(), argv_mem(args));
    line.push('\n');
    ctx.reply().verbatim(line.as_bytes());
}

// ANCHOR: conn_client_kill
/// What CLIENT KILL matches on; every given filter must match.
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    kind: Option<ClientType>,
    id: Option<u64>,
    /// `USER name`: clients authenticated as that user.
    user: Option<crate::acl::UserRef>,
    /// Leave the client that sent the command alone.
    skip_me: bool,
}

/// CLIENT KILL addr:port
/// CLIENT KILL [ID id] [TYPE type] [USER username] [ADDR addr:port]
///             [LADDR addr:port] [SKIPME yes|no]
///
/// The old form answers `+OK` or `ERR No such client` and can kill the
/// caller; the new form answers how many it killed and spares the caller
/// unless `SKIPME no`. Every option is parsed before anyone is killed.
/// A victim is only marked: its own task closes its socket when woken.
/// The caller, if it kills itself, first gets its reply.
fn client_kill(ctx: &mut Ctx, args: Args) {
    let mut filter = KillFilter {
        addr: None,
        laddr: None,
        kind: None,
        id: None,
        user: None,
        skip_me: true,
    };
    let old_form = args.len() == 3;
    if old_form {
        filter.addr = Some(&args[2]);
        filter.skip_me = false;
    } else {
        let mut i = 2;
        while i < args.len() {
            // Every option takes a value; a lone trailing word is a
            // syntax error whatever it says.
            if i + 1 >= args.len() {
                return ctx.reply().error(SYNTAX_ERR);
            }
            let (option, value) = (&args[i], &args[i + 1]);
            if eq_ic(option, "id") {
                match parse_i64(value) {
                    Some(id) if id >= 1 => filter.id = Some(id as u64),
                    _ => return ctx.reply().err("client-id should be greater than 0"),
                }
            } else if eq_ic(option, "type") {
                match ClientType::parse(value) {
                    Some(t) => filter.kind = Some(t),
                    None => return unknown_client_type(ctx.reply(), value),
                }
            } else if eq_ic(option, "addr") {
                filter.addr = Some(value);
            } else if eq_ic(option, "laddr") {
                filter.laddr = Some(value);
            } else if eq_ic(option, "user") {
                match ctx.server.acl.users.get(value) {
                    Some(u) => filter.user = Some(u.clone()),
                    None => {
                        let msg = format!("ERR No such user '{}'", truncate_lossy(value, 128));
                        return ctx.reply().error(&msg);
                    }
                }
            } else if eq_ic(option, "skipme") {
                if eq_ic(value, "yes") {
                    filter.skip_me = true;
                } else if eq_ic(value, "no") {
                    filter.skip_me = false;
                } else {
                    return ctx.reply().error(SYNTAX_ERR);
                }
            } else {
                return ctx.reply().error(SYNTAX_ERR);
            }
            i += 2;
        }
    }

    let me = ctx.client.id;
    let mut killed = 0;
    let mut kill_me = false;
    let mut addr_text = String::new();
    ctx.server.for_each_client(ctx.client, |c| {
        // Already on its way out: Redis would have freed it already.
        if c.close_asap || !kill_matches(&filter, c, &mut addr_text) {
            return;
        }
        if c.id == me {
            if filter.skip_me {
                return;
            }
            kill_me = true;
        } else {
            c.close_asap = true;
            c.wake.notify_one();
        }
        killed += 1;
    });

    if old_form {
        if killed == 0 {
            ctx.reply().err("No such client");
        } else {
            ctx.reply().ok();
        }
    } else {
        ctx.reply().int(killed);
    }
    if kill_me {
        ctx.client.close_after_reply = true;
    }
}

/// Does client `c` pass every filter? Addresses compare as the exact text
/// CLIENT LIST shows (`ip:port`), as Redis compares them.
fn kill_matches(f: &KillFilter, c: &crate::server::Client, scratch: &mut String) -> bool {
    let mut same_addr = |want: Option<&[u8]>, addr: std::net::SocketAddr| match want {
        None => true,
        Some(want) => {
            scratch.clear();
            let _ = write!(scratch, "{addr}");
            scratch.as_bytes() == want
        }
    };
    same_addr(f.addr, c.addr)
        && same_addr(f.laddr, c.local_addr)
        && f.kind.is_none_or(|t| c.client_type() == t)
        && f.id.is_none_or(|id| c.id == id)
        && f.user
            .as_ref()
            .is_none_or(|u| c.user.as_ref().is_some_and(|cu| std::rc::Rc::ptr_eq(cu, u)))
}
// ANCHOR_END: conn_client_kill

/// CLIENT PAUSE timeout [WRITE|ALL]
///
/// A second pause while one is running keeps the later end and the
/// stronger mode, as Redis does. The mode is checked before the timeout.
fn client_pause(ctx: &mut Ctx, args: Args) {
    if args.len() > 4 {
        let msg = format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            truncate_lossy(&args[1], 128)
        );
        return ctx.reply().error(&msg);
    }
    let all = if args.len() == 4 {
        if eq_ic(&args[3], "write") {
            false
        } else if eq_ic(&args[3], "all") {
            true
        } else {
            return ctx.reply().err("CLIENT PAUSE mode must be WRITE or ALL");
        }
    } else {
        true
    };
    let ms = match parse_i64(&args[2]) {
        None => return ctx.reply().err("timeout is not an integer or out of range"),
        Some(ms) if ms < 0 => return ctx.reply().err("timeout is negative"),
        Some(ms) => ms as u64,
    };
    let now = Instant::now();
    // A timeout of centuries is legal; keep the deadline representable.
    let until = now
        .checked_add(Duration::from_millis(ms))
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
    let pause = match ctx.server.pause {
        Some(p) if p.until > now => Pause {
            until: p.until.max(until),
            all: p.all || all,
        },
        _ => Pause { until, all },
    };
    ctx.server.pause = Some(pause);
    ctx.reply().ok();
}

/// CLIENT UNPAUSE
fn client_unpause(ctx: &mut Ctx, _args: Args) {
    ctx.server.pause = None;
    // The held clients wait on this; they retry their command now.
    ctx.server.unpause.notify_waiters();
    ctx.reply().ok();
}

/// CLIENT REPLY ON|OFF|SKIP
///
/// Only ON answers (`+OK`): OFF and SKIP are silent by definition. `call`
/// drops the reply of every command run while the mode is Off or Skip,
/// and turns SkipNext into Skip for exactly one command.
fn client_reply(ctx: &mut Ctx, args: Args) {
    let mode = &args[2];
    if eq_ic(mode, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.reply().ok();
    } else if eq_ic(mode, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if eq_ic(mode, "skip") {
        // SKIP under OFF changes nothing: everything is skipped already.
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        ctx.reply().error(SYNTAX_ERR);
    }
}

/// CLIENT NO-EVICT ON|OFF
fn client_no_evict(ctx: &mut Ctx, args: Args) {
    if eq_ic(&args[2], "on") {
        ctx.client.no_evict = true;
    } else if eq_ic(&args[2], "off") {
        ctx.client.no_evict = false;
    } else {
        return ctx.reply().error(SYNTAX_ERR);
    }
    ctx.reply().ok();
}

/// CLIENT GETREDIR: there is no client-side caching (tracking) yet, so no
/// connection redirects its invalidations: -1, Redis's "not tracking".
/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: end another client's wait. With
/// TIMEOUT (the default) it gets its command's timeout reply; with ERROR,
/// the error `UNBLOCKED`. Replies 1 if the client was parked, else 0.
fn client_unblock(ctx: &mut Ctx, args: Args) {
    let Some(id) = crate::commands::arg_i64(ctx, &args[2]) else {
        return;
    };
    let as_error = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "timeout") => false,
        4 if eq_ic(&args[3], "error") => true,
        4 => {
            ctx.reply()
                .err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
        _ => {
            ctx.reply().error(crate::server::SYNTAX_ERR);
            return;
        }
    };
    let target = u64::try_from(id)
        .ok()
        .and_then(|id| ctx.server.clients.get(&id).cloned());
    // A client cannot unblock itself: it would not be running a command.
    let unblocked = match target.as_ref().map(|rc| rc.try_borrow_mut()) {
        Some(Ok(mut c)) if c.blocked.is_some() => {
            if let Some(blocked) = ctx.server.unblock_client(&mut c) {
                if as_error {
                    c.reply
                        .error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
                } else {
                    crate::server::blocking::write_timeout_reply(&mut c, blocked.timeout_reply);
                }
            }
            c.wake.notify_one();
            true
        }
        _ => false,
    };
    ctx.reply().int(unblocked as i64);
}

/// CLIENT HELP: the syntax of each subcommand, and what it does.
fn client_help(ctx: &mut Ctx, _args: Args) {
    const LINES: &[&str] = &[
        "CACHING (YES|NO)",
        "    With tracking in OPTIN (YES) or OPTOUT (NO) mode, track or skip the keys",
        "    of the next command.",
        "GETREDIR",
        "    The id invalidation messages are redirected to (0: none, -1: tracking off).",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Turn client-side caching invalidation messages on or off.",
        "TRACKINGINFO",
        "    Describe this connection's tracking settings.",
        "GETNAME",
        "    Reply with this connection's name, or null.",
        "ID",
        "    Reply with this connection's unique id.",
        "INFO",
        "    Describe this connection, in the format of CLIENT LIST.",
        "KILL <ip:port>",
        "    Close the connection whose peer address is <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Close every connection matching all the filters given:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      its peer address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      the local address it connected to",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      its kind",
        "    * USER <username>",
        "      the user it authenticated as",
        "    * SKIPME (YES|NO)",
        "      whether to spare this connection (default: yes)",
        "LIST [options ...]",
        "    Describe connections, one line each. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      only connections of this kind",
        "    * ID <id> [<id> ...]",
        "      only these connections",
        "UNPAUSE",
        "    End a CLIENT PAUSE now.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Hold every command (ALL) or only writes (WRITE) for <timeout> ms.",
        "REPLY (ON|OFF|SKIP)",
        "    Send replies, stop sending them, or drop only the next one.",
        "SETNAME <name>",
        "    Name this connection (an empty name removes the name).",
        "NO-EVICT (ON|OFF)",
        "    Exempt this connection from client eviction, or not.",
    ];
    reply_help(ctx.reply(), "CLIENT", LINES);
}

/// The reply of every container's HELP, in Redis's shape: a header, the
/// lines, and HELP itself last, each a status string.
fn reply_help(reply: &mut Reply, command: &str, lines: &[&str]) {
    reply.array(lines.len() + 3);
    reply.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        reply.simple(line);
    }
    reply.simple("HELP");
    reply.simple("    Prints this help.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapping_databases_moves_data_but_not_ids() {
        use crate::object::{RObj, StrValue, Value};
        let mut dbs: Vec<crate::db::Db> = (0..3).map(crate::db::Db::new).collect();
        dbs[0].add(b"in0", RObj::new(Value::Str(StrValue::Int(1)), 0));
        dbs[2].add(b"in2", RObj::new(Value::Str(StrValue::Int(2)), 0));
        dbs[2].set_expire(b"in2", 123);
        swap_db_contents(&mut dbs, 2, 0);
        assert_eq!(dbs.iter().map(|d| d.id).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(dbs[0].get(b"in2").is_some());
        assert_eq!(dbs[0].get_expire(b"in2"), Some(123));
        assert!(dbs[2].get(b"in0").is_some());
        assert!(dbs[1].is_empty());
        swap_db_contents(&mut dbs, 1, 1);
        assert!(dbs[1].is_empty());
    }
}
