//! # MIGRATE: moving keys to another server, one blocking round trip
//!
//! `MIGRATE host port key db timeout` takes a key away from this server
//! and gives it to another one. It is DUMP, RESTORE and DEL glued together
//! by a TCP connection this server opens itself: we serialise each value
//! in the DUMP format (`crate::rdb::dump_payload`), send the target one
//! `RESTORE key ttl payload [REPLACE]` per key (after `AUTH` and `SELECT`
//! when needed), read one reply line per command, and delete the keys the
//! target acknowledged. Redis Cluster moves slots between nodes with
//! exactly this command; outside a cluster it is a handy way to move data
//! between two servers without a client in the middle.
//!
//! ## The invariant: a key is in exactly one place when we say OK
//!
//! A key is deleted here only after the target answered `+OK` to its
//! RESTORE, so a failure at any point leaves the key on this side (and
//! maybe, if the reply was lost, on both: a copy, never a loss). The
//! deletion reaches the AOF and the replicas as `DEL` of exactly the
//! acknowledged keys, so a replica ends up with the same keyspace as its
//! primary even when only some keys moved (Redis's `replaceClientCommand
//! Vector`; here [`Ctx::propagate_as`]). `COPY` deletes nothing and so
//! propagates nothing.
//!
//! ## Blocking inside a single-threaded server, on purpose
//!
//! Everything else in this server that talks to the network goes through
//! the event loop. MIGRATE does not: it connects, writes and reads with
//! plain blocking `std::net` calls, each bounded by the command's
//! `timeout` (milliseconds; 0 or negative means 1000). While it waits,
//! no other client is served. Redis does the same (`syncWrite`,
//! `syncReadLine`), and for the same reason: the command must be atomic.
//! If the loop ran between "the target has the key" and "we deleted
//! ours", another client could write the key here and that write would be
//! lost. The price is a stall of at most a few `timeout`s (connect, each
//! write of 64 KB, each reply line), which is why the timeout is the
//! caller's to choose. The worked consequence: `MIGRATE` to *this* server
//! connects (the kernel accepts into the listen backlog), writes, and then
//! times out reading, because the only thread that could answer is the
//! one waiting.
//!
//! ## The connection cache
//!
//! Moving a slot is thousands of MIGRATE calls to the same target, so
//! connections are kept, keyed by `host:port` as the client spelt them
//! (`migrate_cached_sockets` in INFO counts them). Bounds: at most
//! [`CACHE_MAX`] (64) sockets; a new one beyond that closes a random old
//! one; cron closes any unused for more than [`CACHE_TTL_SECS`] (10 s).
//! Each remembers the database it last SELECTed, so a run of MIGRATEs to
//! one db sends SELECT once. A socket that saw an error is closed, so the
//! next use starts clean, and a failure on a *cached* socket is retried
//! once on a fresh one (the target may simply have closed an idle
//! connection), unless it was a timeout or some key may already have been
//! restored.
//!
//! ## Redis C counterpart
//!
//! `cluster.c`: `migrateCommand`, `migrateGetSocket`,
//! `migrateCloseSocket`, `migrateCloseTimedoutSockets` (called from
//! `serverCron`); `db.c`: `migrateGetKeys`; `networking.c`:
//! `redactClientCommandArgument` for the passwords.
//!
//! ## What we simplified
//!
//! No TLS (`tls-cluster`), and no `RESTORE-ASKING` on the wire: that
//! variant is for cluster mode, which this server does not run. The
//! cache is a plain `HashMap` (a Rust one, not our `Dict`: it holds at
//! most 64 sockets and no student data). The `AUTH` / `AUTH2` arguments
//! are hidden from SLOWLOG and MONITOR through the same per-client hook
//! AUTH and ACL SETUSER use ([`redact_passwords`], `Ctx::redact_arg`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::commands::eq_ic;
use crate::rdb;
use crate::resp::Args;
use crate::server::command::{CommandDef, Group};
use crate::server::{notify_class, Ctx, Server, SYNTAX_ERR};

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "migrate",
    arity: -6,
    flags: "write",
    first_key: 3,
    last_key: 3,
    key_step: 1,
    since: "2.6.0",
    summary: "Atomically transfers a key from one Redis instance to another.",
    run: migrate,
    get_keys: Some(migrate_keys),
    ..CommandDef::base(Group::Generic)
}];

/// Most sockets kept at once (`MIGRATE_SOCKET_CACHE_ITEMS`).
pub const CACHE_MAX: usize = 64;
/// Seconds a cached socket may sit unused before cron closes it
/// (`MIGRATE_SOCKET_CACHE_TTL`).
pub const CACHE_TTL_SECS: u64 = 10;
/// The request is written in pieces of at most this size, each with its
/// own `timeout`, so a large value gets time in proportion to its size.
const WRITE_CHUNK: usize = 64 * 1024;
/// [`CachedSocket::last_db`] before any SELECT.
const NO_DB: i64 = -1;
/// The longest reply line kept (Redis reads into a 1024-byte buffer).
const MAX_REPLY_LINE: usize = 1024;

/// One open connection to a target.
pub struct CachedSocket {
    /// Buffered for reading reply lines; written through `get_mut`.
    stream: BufReader<TcpStream>,
    /// The database this connection last SELECTed successfully, or -1 for
    /// none yet: the next MIGRATE to the same db skips SELECT. Redis's
    /// sentinel value has a visible quirk we keep: `MIGRATE ... -1 ...` on
    /// a fresh connection sends no SELECT at all, so it lands in the
    /// target connection's default db 0 instead of failing.
    last_db: i64,
    /// When a MIGRATE last used this connection (cron's idle clock).
    last_use: Instant,
}

/// The connections MIGRATE keeps, by `host:port`.
#[derive(Default)]
pub struct MigrateSockets {
    sockets: HashMap<Vec<u8>, CachedSocket>,
}

impl MigrateSockets {
    /// INFO `migrate_cached_sockets`.
    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }
}

// ANCHOR: migrate_cron
/// Close every socket unused for more than [`CACHE_TTL_SECS`]
/// (`migrateCloseTimedoutSockets`, from cron). Dropping a `TcpStream`
/// closes it.
pub fn close_idle_sockets(s: &mut Server) {
    let ttl = Duration::from_secs(CACHE_TTL_SECS);
    s.migrate
        .sockets
        .retain(|_, cs| cs.last_use.elapsed() <= ttl);
}
// ANCHOR_END: migrate_cron

/// The cache key: `host:port` exactly as the client wrote them.
fn cache_name(host: &[u8], port: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(host.len() + 1 + port.len());
    name.extend_from_slice(host);
    name.push(b':');
    name.extend_from_slice(port);
    name
}

/// Why a connection could not be made.
enum ConnectError {
    /// The name did not resolve, or no answer came within the timeout:
    /// `IOERR error or timeout connecting to the client`.
    Unreachable,
    /// The target answered with a refusal (nothing listens there). Redis
    /// connects without blocking and only waits for the socket to become
    /// writable, which a refused socket also does; so it believes it is
    /// connected and fails on the first write. We report it the same
    /// way: `IOERR error or timeout writing to target instance`.
    Refused,
}

/// Connect with a bound on the time taken (`connBlockingConnect`). The
/// port is read as C's `atoi` reads it: leading digits, else 0, which
/// then fails to connect, as in Redis.
fn connect(host: &[u8], port: &[u8], timeout: Duration) -> Result<TcpStream, ConnectError> {
    let digits = port.iter().take_while(|b| b.is_ascii_digit()).count();
    let port: u16 = std::str::from_utf8(&port[..digits])
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let host = std::str::from_utf8(host).map_err(|_| ConnectError::Unreachable)?;
    let addr = (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or(ConnectError::Unreachable)?;
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        if is_timeout(&e) {
            ConnectError::Unreachable
        } else {
            ConnectError::Refused
        }
    })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// The options after the five fixed arguments.
struct MigrateOptions<'a> {
    copy: bool,
    replace: bool,
    /// `AUTH password` or `AUTH2 username password`.
    username: Option<&'a [u8]>,
    password: Option<&'a [u8]>,
    /// Where the keys are: `[3]` alone, or everything after `KEYS`.
    first_key: usize,
}

const KEYS_NEED_EMPTY_KEY: &str =
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";

/// Parse the options in Redis's order: each option is checked as it comes,
/// and `KEYS` ends the list (every later argument is a key).
fn parse_options<'a>(args: &Args<'a>) -> Result<MigrateOptions<'a>, &'static str> {
    let mut o = MigrateOptions {
        copy: false,
        replace: false,
        username: None,
        password: None,
        first_key: 3,
    };
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let a = args.get(j);
        if eq_ic(a, "copy") {
            o.copy = true;
        } else if eq_ic(a, "replace") {
            o.replace = true;
        } else if eq_ic(a, "auth") {
            if more < 1 {
                return Err(SYNTAX_ERR);
            }
            o.password = Some(args.get(j + 1));
            j += 1;
        } else if eq_ic(a, "auth2") {
            if more < 2 {
                return Err(SYNTAX_ERR);
            }
            o.username = Some(args.get(j + 1));
            o.password = Some(args.get(j + 2));
            j += 2;
        } else if eq_ic(a, "keys") {
            if !args.get(3).is_empty() {
                return Err(KEYS_NEED_EMPTY_KEY);
            }
            o.first_key = j + 1;
            break;
        } else {
            return Err(SYNTAX_ERR);
        }
        j += 1;
    }
    Ok(o)
}

/// Where MIGRATE's keys are (`migrateGetKeys`): the key argument, or,
/// with `KEYS`, every argument after it. Only the arguments after the
/// fifth are searched for the word, so a key named `keys` in position 3
/// is just a key.
pub fn migrate_keys(args: Args) -> Vec<usize> {
    for j in 6..args.len() {
        if eq_ic(args.get(j), "keys") {
            if !args.get(3).is_empty() {
                return Vec::new();
            }
            return (j + 1..args.len()).collect();
        }
    }
    vec![3]
}

/// What went wrong on the wire: the reply names the direction, and a
/// timeout is never retried.
struct SocketError {
    writing: bool,
    timed_out: bool,
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Read one reply line without its `\r\n` (`syncReadLine`); at most
/// [`MAX_REPLY_LINE`] bytes of it are kept.
fn read_line(stream: &mut BufReader<TcpStream>) -> Result<Vec<u8>, SocketError> {
    let mut line = Vec::new();
    let read_err = |e: std::io::Error| SocketError {
        writing: false,
        timed_out: is_timeout(&e),
    };
    match stream.read_until(b'\n', &mut line) {
        Ok(0) => {
            return Err(SocketError {
                writing: false,
                timed_out: false,
            })
        }
        Ok(_) => {}
        Err(e) => return Err(read_err(e)),
    }
    if line.last() != Some(&b'\n') {
        return Err(SocketError {
            writing: false,
            timed_out: false,
        });
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    line.truncate(MAX_REPLY_LINE);
    Ok(line)
}

// ANCHOR: migrate_command
/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
/// [AUTH password | AUTH2 username password] [KEYS key ...]
///
/// Every outcome, in the order they are decided:
/// - a bad option: `ERR syntax error` (or the `KEYS` error); a bad db or
///   timeout: the integer error. Nothing is sent anywhere.
/// - none of the keys exists here: `+NOKEY` (a status, not an error: keys
///   often expire between a caller's check and its MIGRATE).
/// - no connection within `timeout`: `-IOERR error or timeout connecting
///   to the client` (sic: Redis's text).
/// - the target answered an error to AUTH, SELECT or a RESTORE:
///   `-ERR Target instance replied with error: <its error>`; the keys it
///   did accept are still deleted here (without COPY).
/// - the connection failed while writing or reading: `-IOERR error or
///   timeout writing|reading to target instance`, after one retry on a
///   fresh connection if nothing can have reached the target.
/// - otherwise `+OK`, and without COPY the keys are gone from here.
fn migrate(ctx: &mut Ctx, args: Args) {
    redact_passwords(ctx, args);
    let opts = match parse_options(&args) {
        Ok(o) => o,
        Err(msg) => return ctx.reply().error(msg),
    };
    let Some(timeout_ms) = super::arg_i64(ctx, &args[5]) else {
        return;
    };
    let Some(db_index) = super::arg_i64(ctx, &args[4]) else {
        return;
    };
    let timeout = Duration::from_millis(if timeout_ms <= 0 {
        1000
    } else {
        timeout_ms as u64
    });

    // The keys present now. Absent ones are skipped, not errors.
    let mut keys: Vec<&[u8]> = Vec::new();
    for j in opts.first_key..args.len() {
        if ctx.lookup_read(&args[j]).is_some() {
            keys.push(args.get(j));
        }
    }
    if keys.is_empty() {
        return ctx.reply().simple("NOKEY");
    }

    let name = cache_name(&args[1], &args[2]);
    let mut may_retry = true;
    loop {
        match migrate_once(ctx, &name, &args, &opts, db_index, timeout, &keys) {
            Attempt::Done => return,
            Attempt::Failed(err) => {
                let retry = may_retry && err.may_retry;
                ctx.server.migrate.sockets.remove(&name);
                if retry {
                    may_retry = false;
                    continue;
                }
                let dir = if err.socket.writing {
                    "writing"
                } else {
                    "reading"
                };
                let msg = format!("IOERR error or timeout {dir} to target instance");
                return ctx.reply().error(&msg);
            }
        }
    }
}
// ANCHOR_END: migrate_command

/// How one attempt ended.
enum Attempt {
    /// A reply (OK, NOKEY, a target's error, the connect error) was sent.
    Done,
    /// A socket error before any reply; the caller retries or reports it.
    Failed(AttemptError),
}

struct AttemptError {
    socket: SocketError,
    /// False when a retry must not happen: after a timeout (the target is
    /// slow, not gone), or once a key may already be on the target.
    may_retry: bool,
}

/// One connection's worth of MIGRATE: get a socket, send everything,
/// read every reply, delete what was acknowledged.
fn migrate_once(
    ctx: &mut Ctx,
    name: &[u8],
    args: &Args,
    opts: &MigrateOptions,
    db_index: i64,
    timeout: Duration,
    keys: &[&[u8]],
) -> Attempt {
    // Connect, or reuse (`migrateGetSocket`).
    if !ctx.server.migrate.sockets.contains_key(name) {
        let sockets = &mut ctx.server.migrate.sockets;
        if sockets.len() >= CACHE_MAX {
            // Full: drop one. HashMap iteration order is arbitrary, which
            // is as good as Redis's random pick for this purpose.
            if let Some(victim) = sockets.keys().next().cloned() {
                sockets.remove(&victim);
            }
        }
        let stream = match connect(&args[1], &args[2], timeout) {
            Ok(stream) => stream,
            Err(ConnectError::Unreachable) => {
                ctx.reply()
                    .error("IOERR error or timeout connecting to the client");
                return Attempt::Done;
            }
            Err(ConnectError::Refused) => {
                return Attempt::Failed(AttemptError {
                    may_retry: true,
                    socket: SocketError {
                        writing: true,
                        timed_out: false,
                    },
                })
            }
        };
        sockets.insert(
            name.to_vec(),
            CachedSocket {
                stream: BufReader::new(stream),
                last_db: NO_DB,
                last_use: Instant::now(),
            },
        );
    }
    let last_db = {
        let cs = ctx
            .server
            .migrate
            .sockets
            .get_mut(name)
            .expect("just added");
        cs.last_use = Instant::now();
        cs.last_db
    };

    // The request: [AUTH] [SELECT] RESTORE... as one RESP buffer.
    let mut request = Vec::new();
    if let Some(password) = opts.password {
        match opts.username {
            Some(user) => encode(&mut request, &[b"AUTH", user, password]),
            None => encode(&mut request, &[b"AUTH", password]),
        }
    }
    let select = last_db != db_index;
    if select {
        encode(&mut request, &[b"SELECT", db_index.to_string().as_bytes()]);
    }
    let rdb_opts = super::persistence::rdb_options(ctx.server);
    let db = ctx.client.db;
    let mut sent: Vec<&[u8]> = Vec::with_capacity(keys.len());
    for &key in keys {
        // A key that expired since the first lookup is skipped; a TTL is
        // sent as what is left of it, at least 1 ms.
        let ttl = match ctx.server.dbs[db].get_expire(key) {
            Some(at) => {
                let left = at - crate::server::unix_ms();
                if left < 0 {
                    continue;
                }
                left.max(1)
            }
            None => 0,
        };
        let Some(obj) = ctx.server.dbs[db].get(key) else {
            continue;
        };
        let payload = rdb::dump_payload(&obj.value, rdb_opts);
        let ttl_text = ttl.to_string();
        if opts.replace {
            encode(
                &mut request,
                &[b"RESTORE", key, ttl_text.as_bytes(), &payload, b"REPLACE"],
            );
        } else {
            encode(
                &mut request,
                &[b"RESTORE", key, ttl_text.as_bytes(), &payload],
            );
        }
        sent.push(key);
    }

    let cs = ctx.server.migrate.sockets.get_mut(name).expect("cached");
    let stream = cs.stream.get_mut();
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.set_read_timeout(Some(timeout));
    for chunk in request.chunks(WRITE_CHUNK) {
        if let Err(e) = stream.write_all(chunk) {
            return Attempt::Failed(AttemptError {
                may_retry: !is_timeout(&e),
                socket: SocketError {
                    writing: true,
                    timed_out: is_timeout(&e),
                },
            });
        }
    }

    // The replies, in request order: AUTH's, SELECT's, one per RESTORE.
    let fail = |e: SocketError| {
        Attempt::Failed(AttemptError {
            may_retry: !e.timed_out,
            socket: e,
        })
    };
    let auth_reply = if opts.password.is_some() {
        match read_line(&mut cs.stream) {
            Ok(l) => Some(l),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    let select_reply = if select {
        match read_line(&mut cs.stream) {
            Ok(l) => Some(l),
            Err(e) => return fail(e),
        }
    } else {
        None
    };
    let is_err = |l: &Option<Vec<u8>>| l.as_ref().is_some_and(|l| l.first() == Some(&b'-'));

    let mut target_error: Option<Vec<u8>> = None;
    let mut socket_error: Option<SocketError> = None;
    let mut acked: Vec<&[u8]> = Vec::new();
    let mut replies_read = 0;
    for &key in &sent {
        let line = match read_line(&mut cs.stream) {
            Ok(l) => l,
            Err(e) => {
                socket_error = Some(e);
                break;
            }
        };
        replies_read += 1;
        if is_err(&auth_reply) || is_err(&select_reply) || line.first() == Some(&b'-') {
            if target_error.is_none() {
                let from = if is_err(&auth_reply) {
                    auth_reply.as_deref().unwrap()
                } else if is_err(&select_reply) {
                    select_reply.as_deref().unwrap()
                } else {
                    &line
                };
                target_error = Some(from[1..].to_vec());
            }
        } else if !opts.copy {
            acked.push(key);
        }
    }

    // A socket error on the very first reply, with nothing restored and no
    // timeout: the cached connection was probably stale; retry once.
    if let Some(e) = &socket_error {
        if target_error.is_none() && replies_read == 0 && !e.timed_out {
            return Attempt::Failed(AttemptError {
                may_retry: true,
                socket: SocketError {
                    writing: false,
                    timed_out: false,
                },
            });
        }
    }

    delete_migrated(ctx, &acked);

    if let Some(e) = socket_error {
        if target_error.is_none() {
            // Some keys may be on the target already: no retry.
            return Attempt::Failed(AttemptError {
                may_retry: false,
                socket: e,
            });
        }
        ctx.server.migrate.sockets.remove(name);
    }
    match target_error {
        Some(text) => {
            // The SELECT may not have happened: send it next time.
            if let Some(cs) = ctx.server.migrate.sockets.get_mut(name) {
                cs.last_db = NO_DB;
            }
            let mut msg = b"ERR Target instance replied with error: ".to_vec();
            msg.extend_from_slice(&text);
            ctx.reply().error_bytes(&msg);
        }
        None => {
            if let Some(cs) = ctx.server.migrate.sockets.get_mut(name) {
                cs.last_db = db_index;
            }
            ctx.reply().ok();
        }
    }
    Attempt::Done
}

// ANCHOR: migrate_delete
/// Delete the keys the target acknowledged, each as DEL would (modified
/// key, `del` event, one dirty change), and propagate the MIGRATE as one
/// `DEL` of exactly those keys.
fn delete_migrated(ctx: &mut Ctx, acked: &[&[u8]]) {
    if acked.is_empty() {
        return;
    }
    for &key in acked {
        ctx.delete_key(key);
        ctx.notify(notify_class::GENERIC, "del", key);
        ctx.dirty(1);
    }
    let mut del: Vec<&[u8]> = Vec::with_capacity(acked.len() + 1);
    del.push(b"DEL");
    del.extend_from_slice(acked);
    ctx.propagate_as(&del);
}
// ANCHOR_END: migrate_delete

/// Append one command in RESP to `out`.
fn encode(out: &mut Vec<u8>, parts: &[&[u8]]) {
    crate::propagate::encode_command(out, parts);
}

// ANCHOR: migrate_redact
/// Hide MIGRATE's passwords (and the AUTH2 user name) from SLOWLOG and
/// MONITOR, as Redis 7.0's `redactClientCommandArgument` calls in
/// `migrateCommand` do. Positions follow the option parser: an `AUTH`
/// that is itself a key (after `KEYS`) is not an option and hides nothing.
fn redact_passwords(ctx: &mut Ctx, args: Args) {
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let a = args.get(j);
        if eq_ic(a, "auth") && more >= 1 {
            ctx.redact_arg(j + 1);
            j += 1;
        } else if eq_ic(a, "auth2") && more >= 2 {
            ctx.redact_arg(j + 1);
            ctx.redact_arg(j + 2);
            j += 2;
        } else if eq_ic(a, "keys") {
            break;
        }
        j += 1;
    }
}
// ANCHOR_END: migrate_redact
