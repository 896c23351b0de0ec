//! # The connection task: read, run a batch, write once
//!
//! One task per client. It owns the socket, the query buffer and the RESP
//! parser; the client's server-side state lives in the [`Server`]. Its loop:
//!
//! 1. if the client's output buffer has anything (replies, or messages
//!    other clients put there: MONITOR lines, pub/sub), queue the client
//!    to be written at the end of this turn of the loop
//!    ([`write_replies_before_sleep`]), which writes all its 16 KiB blocks
//!    in one `writev` ([`write_pending`]); if that finds the socket full,
//!    this task takes over, and while the socket stays full it keeps
//!    reading and running input, as Redis does;
//! 2. wait until the socket has bytes or someone wakes the task;
//! 3. parse every complete command in the query buffer and run each one,
//!    holding the server for the whole batch and never across an `.await`;
//! 4. back to 1: all the batch's replies leave in one `write`.
//!
//! Step 3 is why a pipeline of 16 commands costs one `read` and one
//! `write` syscall, not 32. Redis does the same: `readQueryFromClient`
//! calls `processInputBuffer`, and replies wait in the client's buffer
//! until `beforeSleep` writes them (`handleClientsWithPendingWrites`,
//! `writeToClient`, `_writevToClient`). Step 1 is the other half of that:
//! the replies of every client the turn served leave together, after all
//! of them ran. The reply is a list of fixed
//! blocks ([`crate::resp::Reply`]) for the reason Redis's is: a batch of
//! big replies (16 `LRANGE`s of 600 1 KB values, 10 MB) is never one
//! buffer reallocated by doubling, whose fresh pages the kernel must fault
//! in each time.
//!
//! ## Limits
//!
//! - `proto-max-bulk-len` (512 MB): a larger `$<len>` is a protocol error.
//! - `client-query-buffer-limit` (1 GB): a client whose unparsed input
//!   grows past it is disconnected, as Redis does, without a reply.
//! - `maxclients` (10000): the connection after the last allowed one gets
//!   `-ERR max number of clients reached` and is closed.
//! - A protocol error is answered, then the connection is closed after the
//!   reply is written; the other clients never notice.
//! - `tcp-keepalive` (300): the kernel probes a silent peer and drops a
//!   dead one ([`set_keepalive`]).
//! - `timeout` (0 = never): cron closes a client idle that long, except
//!   subscribers, blocked clients and MONITORs.
//! - `client-output-buffer-limit` (normal 0 0 0, pubsub 32mb 8mb 60): a
//!   client whose pending output passes the hard limit, or stays past the
//!   soft limit for longer than its seconds, is closed at once, without
//!   writing the rest ([`enforce_output_limit`]). A subscriber that does
//!   not read cannot make the server hold its messages forever, and the
//!   publisher never waits for it: while this task sits in a `write` that
//!   the peer does not drain, the wake-up that says "closed" still gets
//!   through, because the write is raced against it.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{process_command, Client, Config, Flow, Server};
use crate::resp::{
    Args, ParseLimits, Parsed, Reply, RequestParser, REPLY_BLOCK_BYTES, WRITE_SLICES,
};

/// The smallest and largest free space offered to one read of a client's
/// socket (Redis's `PROTO_IOBUF_LEN` is 16 KB).
const MIN_READ: usize = 16 * 1024;
const MAX_READ: usize = 1024 * 1024;

/// A batch stops taking commands once this much reply is pending, and
/// goes on once it is written, as long as the socket takes it all: the
/// same few recycled blocks then carry a whole pipeline of big replies,
/// warm in the cache, instead of 10 MB of blocks being filled before the
/// first byte leaves (measured on 16 pipelined LRANGEs of 600 1 KB
/// values: 1.23 times the CPU per request without the stop). When the
/// socket is full, the rest runs at once (see the connection loop).
const REPLY_BATCH_BYTES: usize = 64 * 1024;

/// A replica's RDB buffer keeps up to this much capacity between writes;
/// an idle client keeps a reply `buf` of at most [`REPLY_IDLE_BYTES`]
/// (one that grew past a block by direct appends: a replication burst).
const REPLY_KEEP_BYTES: usize = 1024 * 1024;
const REPLY_IDLE_BYTES: usize = 64 * 1024;

/// Bind every address of `bind` on `port`. An address prefixed with `-`
/// is optional (Redis 7.0's default `bind 127.0.0.1 -::1`): failing to bind
/// it (no IPv6 here) is not an error.
pub async fn bind(config: &Config) -> std::io::Result<Vec<TcpListener>> {
    bind_now(config)
}

/// [`bind`] without waiting: binding never blocks, so `CONFIG SET port`
/// can do it in the middle of a command. Needs the runtime (the listeners
/// are registered with it).
fn bind_now(config: &Config) -> std::io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let addrs: Vec<String> = if config.bind.is_empty() {
        vec!["0.0.0.0".into()]
    } else {
        config.bind.clone()
    };
    let mut port = config.port;
    for a in &addrs {
        let (optional, host) = match a.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, a.as_str()),
        };
        let host = if host == "*" { "0.0.0.0" } else { host };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        // std sets SO_REUSEADDR on Unix, as Redis does (a restarted
        // server can bind while old connections sit in TIME_WAIT).
        let bound = std::net::TcpListener::bind(format!("{host}:{port}"))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(TcpListener::from_std);
        match bound {
            Ok(l) => {
                // With port 0, every address shares the port picked first.
                if port == 0 {
                    port = l.local_addr()?.port();
                }
                listeners.push(l);
            }
            Err(_) if optional => {}
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("Could not create server TCP listening socket {host}:{port}: {e}"),
                ))
            }
        }
    }
    if listeners.is_empty() {
        return Err(std::io::Error::other("Failed listening on any address"));
    }
    Ok(listeners)
}

/// The accept loop's side of re-binding (Redis's `changeListenPort`).
/// Each accept task keeps the `stop` it was started with; re-binding puts
/// the new sockets in `pending`, replaces `stop` (a task whose `stop` is
/// no longer the current one ends, closing its socket) and wakes [`serve`]
/// through `changed` to start tasks for the new ones. Connected clients
/// are not touched: only the listening sockets change.
#[derive(Default)]
pub struct Listeners {
    stop: Rc<tokio::sync::Notify>,
    pending: Vec<TcpListener>,
    changed: Rc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listeners")
    }
}

/// Listen on the configured `bind`/`port` instead of the old ones. All or
/// nothing: if any required address cannot be bound, the old listeners
/// stay and the error is returned (CONFIG SET then rolls back).
pub fn rebind(s: &mut Server) -> std::io::Result<()> {
    let fresh = bind_now(&s.config)?;
    if let Some(a) = fresh.first().and_then(|l| l.local_addr().ok()) {
        s.local_addr = Some(a);
    }
    s.listeners.pending = fresh;
    // The old sockets close when their tasks see `stop`: forget them.
    s.busy.listen_fds.clear();
    let old = std::mem::take(&mut s.listeners.stop);
    old.notify_waiters();
    s.listeners.changed.notify_one();
    Ok(())
}

/// One task per listening socket, until its `stop` is replaced.
fn spawn_accepts(server: &Rc<RefCell<Server>>, listeners: Vec<TcpListener>) {
    let stop = server.borrow().listeners.stop.clone();
    server.borrow_mut().busy.listen_fds = listen_fds(&listeners);
    for l in listeners {
        let server = server.clone();
        let stop = stop.clone();
        tokio::task::spawn_local(async move {
            loop {
                if !Rc::ptr_eq(&stop, &server.borrow().listeners.stop) {
                    return; // re-bound: dropping `l` closes the socket
                }
                tokio::select! {
                    accepted = l.accept() => match accepted {
                        Ok((stream, peer)) => {
                            // A client from this instant, not from its
                            // task's first turn: a job that starts in
                            // between still serves it (`busy.rs`).
                            let admitted = admit(&server, &stream, peer);
                            tokio::task::spawn_local(handle(server.clone(), stream, admitted));
                        }
                        Err(_) => tokio::task::yield_now().await,
                    },
                    _ = stop.notified() => {}
                }
            }
        });
    }
}

/// Accept connections on every listener until SHUTDOWN; run the cron.
pub async fn serve(server: Rc<RefCell<Server>>, listeners: Vec<TcpListener>) {
    tokio::task::spawn_local(super::cron::run(server.clone()));
    tokio::task::spawn_local(crate::aof::group_fsync_task(server.clone()));
    tokio::task::spawn_local(write_replies_before_sleep(server.clone()));
    tokio::task::spawn_local(crate::replication::replica::run(server.clone()));
    tokio::task::spawn_local(super::busy::adopt_connections(server.clone()));
    let shutdown = server.borrow().shutdown.clone();
    let changed = server.borrow().listeners.changed.clone();
    spawn_accepts(&server, listeners);
    loop {
        tokio::select! {
            _ = shutdown.notified() => return,
            _ = changed.notified() => {
                let fresh = std::mem::take(&mut server.borrow_mut().listeners.pending);
                spawn_accepts(&server, fresh);
            }
        }
    }
}

/// Mark every client for closing (server stopping).
pub fn close_all(server: &Rc<RefCell<Server>>) {
    let s = server.borrow();
    for c in s.clients.values() {
        if let Ok(mut c) = c.try_borrow_mut() {
            c.close_asap = true;
            c.wake.notify_one();
        }
    }
}

fn register(
    server: &Rc<RefCell<Server>>,
    stream: &TcpStream,
    peer: SocketAddr,
) -> Option<Rc<RefCell<Client>>> {
    let mut s = server.borrow_mut();
    s.stats.total_connections_received += 1;
    if s.clients.len() as u64 >= s.config.maxclients as u64 {
        s.stats.rejected_connections += 1;
        return None;
    }
    let id = s.next_client_id;
    s.next_client_id += 1;
    let local = stream.local_addr().unwrap_or(peer);
    #[cfg(unix)]
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(stream);
    #[cfg(not(unix))]
    let fd = -1;
    let mut client = Client::new(id, peer, local, fd);
    crate::acl::set_default_auth(&s, &mut client);
    // Its replies are written, never read back whole: 16 KiB blocks.
    client.reply.use_blocks();
    let rc = Rc::new(RefCell::new(client));
    s.clients.insert(id, rc.clone());
    Some(rc)
}

/// The descriptors of `listeners`, for accepting while blocked.
pub fn listen_fds(listeners: &[TcpListener]) -> Vec<i32> {
    use std::os::unix::io::AsRawFd;
    listeners.iter().map(|l| l.as_raw_fd()).collect()
}

/// The accept-time refusals of [`handle`] (protected mode, `maxclients`)
/// for a connection accepted while blocked: the bytes to send before
/// closing it, or `None` to make it a client.
pub(super) fn refusal_at_accept(s: &mut Server, peer: SocketAddr) -> Option<&'static [u8]> {
    if s.config.protected_mode && s.config.requirepass.is_none() {
        let local = match peer.ip() {
            std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
            std::net::IpAddr::V6(ip) => {
                ip.is_loopback() || ip.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
            }
        };
        if !local {
            s.stats.rejected_connections += 1;
            return Some(PROTECTED_MODE_DENIED);
        }
    }
    s.stats.total_connections_received += 1;
    if s.clients.len() as u64 >= s.config.maxclients as u64 {
        s.stats.rejected_connections += 1;
        return Some(b"-ERR max number of clients reached\r\n");
    }
    None
}

/// What Redis 7.0 writes to a client it refuses in protected mode
/// (`clientAcceptHandler` in networking.c), byte for byte.
const PROTECTED_MODE_DENIED: &[u8] =
    b"-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. \
In this mode connections are only accepted from the loopback interface. \
If you want to connect from external computers to Redis you \
may adopt one of the following solutions: \
1) Just disable protected mode sending the command \
'CONFIG SET protected-mode no' from the loopback interface \
by connecting to Redis from the same host the server is \
running, however MAKE SURE Redis is not publicly accessible \
from internet if you do so. Use CONFIG REWRITE to make this \
change permanent. \
2) Alternatively you can just disable the protected mode by \
editing the Redis configuration file, and setting the protected \
mode option to 'no', and then restarting the server. \
3) If you started the server manually just for testing, restart \
it with the '--protected-mode no' option. \
4) Setup a an authentication password for the default user. \
NOTE: You only need to do one of the above things in order for \
the server to start accepting connections from the outside.\r\n";

/// Protected mode: with no password set, only the loopback addresses
/// themselves may talk to the server. Like Redis's `islocalClient`, that
/// is exactly 127.0.0.1 and ::1 — not the rest of 127.0.0.0/8.
fn refused_by_protected_mode(server: &Rc<RefCell<Server>>, peer: SocketAddr) -> bool {
    let mut s = server.borrow_mut();
    // Redis: protected mode applies while `default` has `nopass`.
    if !s.config.protected_mode || !s.acl.default_user.borrow().nopass {
        return false;
    }
    let local = match peer.ip() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
    };
    if !local {
        // Redis counts the refusal, and not the connection.
        s.stats.rejected_connections += 1;
    }
    !local
}

// ANCHOR: connection_loop
/// The checks of a new connection, and its registration as a client; or
/// the bytes to answer before closing it.
fn admit(
    server: &Rc<RefCell<Server>>,
    stream: &TcpStream,
    peer: SocketAddr,
) -> Result<Rc<RefCell<Client>>, &'static [u8]> {
    let _ = stream.set_nodelay(true);
    set_keepalive(stream, server.borrow().config.tcp_keepalive);
    if refused_by_protected_mode(server, peer) {
        return Err(PROTECTED_MODE_DENIED);
    }
    register(server, stream, peer).ok_or(b"-ERR max number of clients reached\r\n")
}

/// The life of one connection.
async fn handle(
    server: Rc<RefCell<Server>>,
    mut stream: TcpStream,
    admitted: Result<Rc<RefCell<Client>>, &'static [u8]>,
) {
    let client = match admitted {
        Ok(client) => client,
        Err(refusal) => {
            let _ = stream.write_all(refusal).await;
            return;
        }
    };
    run_connection(server, stream, client).await
}

/// A connection accepted while the server was blocked (`busy.rs`): it is
/// a client already; from now on its task serves it.
pub(super) async fn run_accepted(
    server: Rc<RefCell<Server>>,
    stream: TcpStream,
    client: Rc<RefCell<Client>>,
) {
    set_keepalive(&stream, server.borrow().config.tcp_keepalive);
    run_connection(server, stream, client).await
}

/// The read, run, write loop of one registered client.
async fn run_connection(
    server: Rc<RefCell<Server>>,
    stream: TcpStream,
    client: Rc<RefCell<Client>>,
) {
    let (id, wake, unpause) = {
        let c = client.borrow();
        (c.id, c.wake.clone(), server.borrow().unpause.clone())
    };
    let (mut reader, writer) = stream.into_split();
    // Shared with the end-of-turn writer, which holds it only for its
    // `writev`: when this task ends, the socket closes.
    let writer = Rc::new(writer);
    client.borrow_mut().writer = Rc::downgrade(&writer);
    let mut query = BytesMut::with_capacity(16 * 1024);
    let mut parser = RequestParser::default();
    // A replica's RDB file and out-of-band lines, read in 64 KB pieces
    // (its command stream and every other client's replies are written
    // from the client's reply blocks).
    let mut out: Vec<u8> = Vec::new();
    let mut paused_until: Option<Instant> = None;
    // The last batch stopped at REPLY_BATCH_BYTES with commands left.
    let mut batch_cut = false;
    // How much free space the next read offers. It doubles while reads fill
    // it (a pipeline of 16 SETs of 1 KB is 16.6 KB: read in 16 KB pieces it
    // would cost two reads and two writes per batch instead of one each)
    // and falls back when traffic is light, like Redis's adaptive
    // `readlen` in readQueryFromClient.
    let mut read_size = MIN_READ;

    'conn: loop {
        // 1. Write what is pending.
        let replica_output = {
            let mut c = client.borrow_mut();
            if c.close_asap {
                break;
            }
            let pending = c.reply.len();
            if pending > 0 {
                c.note_reply_pending(pending); // CLIENT LIST `rbp`
            }
            // A replica's RDB and out-of-band lines go before its stream.
            c.replica.is_some() && crate::replication::take_replica_output(&mut c, &mut out)
        };
        if replica_output && !out.is_empty() {
            let n = out.len();
            client.borrow_mut().reply_in_flight = n;
            // A replica that stops reading blocks this write; the wake-up
            // that marks it for closing must still end it.
            let written = tokio::select! {
                r = write_all(&writer, &out) => r.is_ok(),
                _ = closed(&client, &wake) => false,
            };
            client.borrow_mut().reply_in_flight = 0;
            if !written {
                break;
            }
            {
                let mut s = server.borrow_mut();
                s.stats.total_net_output_bytes += n as u64;
                s.stats.total_writes_processed += 1;
            }
            out.clear();
            if out.capacity() > REPLY_KEEP_BYTES {
                out = Vec::new();
            }
            continue;
        }
        if !replica_output
            && !client.borrow().reply.is_empty()
            && !queue_for_end_of_turn(&server, &client, batch_cut || paused_until.is_some())
        {
            if crate::aof::fsync_pending(&server.borrow()) {
                // `appendfsync always`: every other ready connection runs
                // its batch first, then one fsync covers them all (the
                // group commit explained at `aof::group_fsync`). While we
                // wait, these replies must not leave before the fsync:
                // marked in flight, a job that serves clients meanwhile
                // (`busy.rs`) leaves them, and what follows them, to this
                // task.
                {
                    let mut c = client.borrow_mut();
                    c.reply_in_flight = c.reply.len();
                }
                crate::aof::wait_for_group_fsync(&server).await;
                client.borrow_mut().reply_in_flight = 0;
            }
            match write_pending(&client, &writer) {
                Written::All(n) | Written::Part(n) if n > 0 => {
                    let mut s = server.borrow_mut();
                    s.stats.total_net_output_bytes += n as u64;
                    s.stats.total_writes_processed += 1;
                }
                Written::Failed => break,
                _ => {}
            }
            let drained = client.borrow().reply.is_empty();
            if batch_cut && paused_until.is_none() {
                // The batch stopped with commands left. If the socket
                // took everything, go on the same way: the next 64 KB of
                // replies land in the same warm blocks, recycled. If it is
                // full, the client is not keeping up: run the rest now, as
                // Redis would, its replies piling up in blocks where
                // `client-output-buffer-limit` sees them.
                let cap = if drained {
                    REPLY_BATCH_BYTES
                } else {
                    usize::MAX
                };
                (paused_until, batch_cut) =
                    run_batch(&server, &client, &mut query, &mut parser, cap);
                continue;
            }
            if drained {
                continue;
            }
            // The socket is full. Wait for it to drain; meanwhile go on
            // reading and running this client's input, as Redis does
            // (its read and write handlers are independent): the replies
            // pile up in the block list, where
            // `client-output-buffer-limit` sees them, so a client that
            // pipelines and never reads meets its limit instead of
            // stalling the server's view of it.
            let can_read = paused_until.is_none();
            if can_read && query.capacity() - query.len() < MIN_READ {
                query.reserve(MIN_READ);
            }
            tokio::select! {
                ready = writer.writable() => {
                    if ready.is_err() {
                        break;
                    }
                }
                _ = closed(&client, &wake) => break,
                read = reader.read_buf(&mut query), if can_read => {
                    match read {
                        Ok(0) | Err(_) => break 'conn,
                        Ok(n) => {
                            {
                                let mut s = server.borrow_mut();
                                s.stats.total_net_input_bytes += n as u64;
                                s.stats.total_reads_processed += 1;
                            }
                            (paused_until, batch_cut) =
                        run_batch(&server, &client, &mut query, &mut parser, REPLY_BATCH_BYTES);
                        }
                    }
                }
            }
            continue;
        }
        if client.borrow().close_after_reply {
            break;
        }

        // 2. Held by CLIENT PAUSE: wait for its end, then retry the batch.
        if let Some(until) = paused_until.take() {
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => {}
                _ = unpause.notified() => {}
                _ = wake.notified() => {}
            }
            (paused_until, batch_cut) =
                run_batch(&server, &client, &mut query, &mut parser, REPLY_BATCH_BYTES);
            continue;
        }

        // 3. Wait for bytes or for another client to wake us.
        if let Some(want) = parser.bytes_wanted() {
            // Room for a large bulk grows with what has arrived, never
            // with what was only declared: at most twice the bytes held
            // (or 2 MB). Redis 7.0 reserves the whole declared length at
            // once, so `$536870912\r\n` and silence make its used_memory
            // jump by 640 MB (measured on 7.0.15); here it costs nothing,
            // and a 512 MB value that does arrive is copied about
            // log2(512) times while the buffer doubles, i.e. under twice
            // its size in total.
            let want = want.min(query.len().max(MAX_READ) * 2);
            if want > query.capacity() {
                query.reserve(want - query.len());
            }
        }
        if out.capacity() > REPLY_IDLE_BYTES {
            out = Vec::new();
        }
        client.borrow_mut().reply.shrink_idle(REPLY_IDLE_BYTES);
        if query.is_empty() && query.capacity() > MAX_READ {
            // An idle client does not keep a big buffer it no longer needs.
            query = BytesMut::with_capacity(MIN_READ);
            read_size = MIN_READ;
        }
        if std::mem::take(&mut client.borrow_mut().query_buffer_released) {
            // run_batch gave a huge command's buffer back: the next read
            // starts small again instead of reserving the burst's size.
            read_size = MIN_READ;
        }
        if query.capacity() - query.len() < read_size {
            query.reserve(read_size);
        }
        let offered = query.capacity() - query.len();
        // A parked client also waits for its deadline.
        let deadline = client.borrow().blocked.as_ref().and_then(|b| b.deadline);
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // In this order, with no coin toss: the socket is what wakes
            // us nearly every time.
            biased;
            read = reader.read_buf(&mut query) => {
                match read {
                    Ok(0) => {
                        // The peer closed its side, maybe right after
                        // its last command, whose reply waits for the end
                        // of this turn: Redis would have written it
                        // before reading the end of file, so write it now.
                        write_before_close(&server, &client, &writer);
                        break 'conn;
                    }
                    Err(_) => break 'conn,
                    Ok(n) => {
                        read_size = if n >= offered {
                            (read_size * 2).min(MAX_READ)
                        } else if n < read_size / 4 {
                            (read_size / 2).max(MIN_READ)
                        } else {
                            read_size
                        };
                        {
                            let mut s = server.borrow_mut();
                            s.stats.total_net_input_bytes += n as u64;
                            s.stats.total_reads_processed += 1;
                        }
                        (paused_until, batch_cut) =
                        run_batch(&server, &client, &mut query, &mut parser, REPLY_BATCH_BYTES);
                    }
                }
            }
            _ = wake.notified() => {
                // Served, unblocked or paused-then-released: run what
                // arrived meanwhile.
                if !query.is_empty() {
                    (paused_until, batch_cut) =
                        run_batch(&server, &client, &mut query, &mut parser, REPLY_BATCH_BYTES);
                }
            }
            _ = timer => {
                server.borrow_mut().block_timed_out(&mut client.borrow_mut());
                if !query.is_empty() {
                    (paused_until, batch_cut) =
                        run_batch(&server, &client, &mut query, &mut parser, REPLY_BATCH_BYTES);
                }
            }
        }
    }
    free_client(&server, id);
}
// ANCHOR_END: connection_loop

// ANCHOR: conn_keepalive
/// `tcp-keepalive <seconds>` (300 by default; 0 turns it off): let the
/// kernel probe a connection that has been silent for that long, so a
/// client that vanished without a FIN (a crashed host, a dropped NAT
/// mapping) is noticed and freed instead of holding its memory forever.
/// As Redis's `anetKeepAlive`: the first probe after `seconds` of
/// silence, then one every `seconds / 3` (at least 1), and the
/// connection is dropped after 3 unanswered probes. With 300 a dead peer
/// is found within 300 + 3 * 100 = 600 s.
fn set_keepalive(stream: &TcpStream, seconds: u32) {
    if seconds == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::io::AsRawFd;
        let fd = stream.as_raw_fd();
        let idle = seconds as libc::c_int;
        let interval = (seconds / 3).max(1) as libc::c_int;
        for (level, option, value) in [
            (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
            (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle),
            (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, interval),
            (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3),
        ] {
            // SAFETY: `fd` is this open socket and `value` a live c_int
            // of the size passed. A failure only leaves the kernel's
            // defaults in place, as Redis logs and goes on.
            unsafe {
                libc::setsockopt(
                    fd,
                    level,
                    option,
                    &value as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (stream, seconds);
}
// ANCHOR_END: conn_keepalive

// ANCHOR: conn_write_pending
/// What one attempt to write a client's pending reply did.
enum Written {
    /// Everything offered left, this many bytes: all that was pending, or
    /// the first `WRITE_SLICES` blocks of a longer reply.
    All(usize),
    /// The socket took this many bytes (maybe 0) and is full.
    Part(usize),
    /// The connection is broken.
    Failed,
}

/// Offer every pending reply block to the socket in one `writev` (one
/// `write` when there is a single block, the -P 1 case), without waiting,
/// and drop what it took (Redis's `writeToClient` / `_writevToClient`).
/// The client is borrowed only for the syscall, so other clients may add
/// to its blocks (pub/sub messages) while this task waits for the socket.
fn write_pending(
    client: &Rc<RefCell<Client>>,
    writer: &tokio::net::tcp::OwnedWriteHalf,
) -> Written {
    let mut c = client.borrow_mut();
    let pending = c.reply.len();
    let result = if let Some(only) = c.reply.single_slice() {
        // One block: a plain write, with no slice table to fill.
        writer.try_write(only).map(|k| (k, only.len()))
    } else {
        let mut slices = [std::io::IoSlice::new(&[]); WRITE_SLICES];
        let n = Reply::io_slices(&c.reply, &mut slices);
        let offered: usize = slices[..n].iter().map(|s| s.len()).sum();
        writer
            .try_write_vectored(&slices[..n])
            .map(|k| (k, offered))
    };
    match result {
        Ok((0, _)) => Written::Failed,
        Ok((k, _)) if k == pending => {
            c.reply.consume(k);
            Written::All(k)
        }
        Ok((k, offered)) => {
            c.reply.consume(k);
            // Short of what was offered: the socket buffer is full. Short
            // only because more blocks than one writev takes: try again.
            if k < offered {
                Written::Part(k)
            } else {
                Written::All(k)
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Written::Part(0),
        Err(_) => Written::Failed,
    }
}
// ANCHOR_END: conn_write_pending

/// `write_all` on a shared write half: wait until the socket takes more,
/// offer the rest, until all of `buf` is written.
async fn write_all(
    writer: &tokio::net::tcp::OwnedWriteHalf,
    mut buf: &[u8],
) -> std::io::Result<()> {
    while !buf.is_empty() {
        writer.writable().await?;
        match writer.try_write(buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

// ANCHOR: conn_before_sleep
/// Should this task leave its pending reply to the end-of-turn writer
/// ([`write_replies_before_sleep`])? Yes, queueing the client if it is not
/// queued yet, unless the reply must leave now: the batch stopped early
/// (a cut at `REPLY_BATCH_BYTES`, or a CLIENT PAUSE) and goes on once
/// it is written; the connection closes after it; the AOF must be synced
/// first (`appendfsync always` has its own end-of-turn task, the group
/// commit); or the writer already tried and found the socket full.
fn queue_for_end_of_turn(
    server: &Rc<RefCell<Server>>,
    client: &Rc<RefCell<Client>>,
    batch_stopped_early: bool,
) -> bool {
    let mut c = client.borrow_mut();
    if std::mem::take(&mut c.write_handed_back) || batch_stopped_early || c.close_after_reply {
        return false;
    }
    if c.write_queued {
        return true; // already on the list: it writes everything pending
    }
    let mut s = server.borrow_mut();
    if crate::aof::fsync_pending(&s) {
        return false;
    }
    c.write_queued = true;
    drop(c);
    if s.pending_writes.is_empty() {
        s.pending_writes_kick.notify_one();
    }
    s.pending_writes.push(client.clone());
    true
}

/// Redis's `handleClientsWithPendingWrites`, called from `beforeSleep`:
/// write the replies of every client served in this turn of the loop, one
/// after the other, once they have all run.
///
/// Why not let each task write its own reply as soon as its batch ran?
/// Because of the peer. Fifty clients that each pipeline 16 LPUSHes of
/// 1 KB cost the server about 10 µs each to run; written at once, each
/// reply lands while `redis-benchmark` (one thread, on the other core) has
/// just gone back to sleep in `epoll_wait`, so every reply wakes it: an
/// inter-processor wake-up paid by the server inside `send`, and another
/// `epoll_wait` for the client. Written together at the end of the turn,
/// the first reply wakes the client and the rest find it awake, taking
/// whole batches per `epoll_wait`. Measured with `perf stat` at
/// `-P 16 -d 1024`: the client went from 0.057 context switches and 0.123
/// `epoll_wait` calls per request to Redis's figures (0.002 and 0.009).
///
/// How "the end of the turn" is found: the first client queued kicks this
/// task, which joins the back of the run queue, behind every connection
/// that the same `epoll_wait` made ready (the group commit's trick in
/// `aof::group_fsync`). A client whose socket is full is handed back to its
/// own task, which waits for the socket to drain.
pub async fn write_replies_before_sleep(server: Rc<RefCell<Server>>) {
    let kick = server.borrow().pending_writes_kick.clone();
    let mut queued = Vec::new();
    loop {
        kick.notified().await;
        std::mem::swap(&mut queued, &mut server.borrow_mut().pending_writes);
        let (mut bytes, mut writes) = (0u64, 0u64);
        for client in queued.drain(..) {
            let writer = {
                let mut c = client.borrow_mut();
                c.write_queued = false;
                if c.reply.is_empty() {
                    continue; // written meanwhile (`busy.rs`)
                }
                match c.writer.upgrade() {
                    Some(w) => w,
                    None => continue, // its task ended: the client is gone
                }
            };
            let done = write_what_fits(&client, &writer);
            bytes += done.bytes;
            writes += done.writes;
            if done.stuck {
                hand_back(&client);
            }
        }
        let mut s = server.borrow_mut();
        s.stats.total_net_output_bytes += bytes;
        s.stats.total_writes_processed += writes;
    }
}

/// What [`write_what_fits`] did.
struct WriteDone {
    bytes: u64,
    writes: u64,
    /// The socket is full or broken, with reply left.
    stuck: bool,
}

/// Offer a client's pending reply to the socket, without waiting, until
/// it is all written or the socket takes no more. One `writev` takes at
/// most `WRITE_SLICES` blocks, so a reply over 1 MB needs several.
fn write_what_fits(
    client: &Rc<RefCell<Client>>,
    writer: &tokio::net::tcp::OwnedWriteHalf,
) -> WriteDone {
    let mut done = WriteDone {
        bytes: 0,
        writes: 0,
        stuck: false,
    };
    while !client.borrow().reply.is_empty() {
        let (n, all) = match write_pending(client, writer) {
            Written::All(n) => (n, true),
            Written::Part(n) => (n, false),
            Written::Failed => (0, false),
        };
        if n > 0 {
            done.bytes += n as u64;
            done.writes += 1;
        }
        if !all {
            done.stuck = true;
            break;
        }
    }
    done
}

/// What the socket takes of a pending reply now, without waiting: for a
/// connection about to close. Counted in INFO like any other write.
fn write_before_close(
    server: &Rc<RefCell<Server>>,
    client: &Rc<RefCell<Client>>,
    writer: &tokio::net::tcp::OwnedWriteHalf,
) {
    let done = write_what_fits(client, writer);
    let mut s = server.borrow_mut();
    s.stats.total_net_output_bytes += done.bytes;
    s.stats.total_writes_processed += done.writes;
}

/// Leave the rest of a reply to the client's own task (full socket, or a
/// broken one, which its own write then finds).
fn hand_back(client: &Rc<RefCell<Client>>) {
    let mut c = client.borrow_mut();
    c.write_handed_back = true;
    c.wake.notify_one();
}
// ANCHOR_END: conn_before_sleep

/// Resolves once the client is marked `close_asap` (woken by whoever
/// marked it).
async fn closed(client: &Rc<RefCell<Client>>, wake: &super::wake::Wake) {
    loop {
        if client.borrow().close_asap {
            return;
        }
        wake.notified().await;
    }
}

// ANCHOR: conn_output_limit
/// Redis's `checkClientOutputBufferLimits` plus
/// `closeClientOnOutputBufferLimitReached`: called whenever output is
/// added for a client from outside its own command (a message, a MONITOR
/// line) and after each batch. Pending output counts as Redis counts it:
/// the allocated size of the reply blocks beyond the first 16 KiB (see
/// [`crate::resp::Reply::output_memory`]), plus a replica's RDB piece being
/// written right now. Returns true if the client is to be closed.
pub fn enforce_output_limit(config: &Config, c: &mut Client) -> bool {
    use super::client::ClientType;
    use super::config::ClientClass;
    if c.close_asap {
        return true;
    }
    let used = (c.reply.output_memory() + c.reply_in_flight) as u64;
    if used == 0 && c.soft_limit_reached_at.is_none() {
        // Nothing past the first 16 KiB: no limit can be reached (the
        // common case, checked after every batch).
        return false;
    }
    let class = match c.client_type() {
        ClientType::PubSub => ClientClass::Pubsub,
        ClientType::Replica => ClientClass::Replica,
        ClientType::Normal | ClientType::Master => ClientClass::Normal,
    };
    let limit = config.client_output_buffer_limit[class as usize];
    let hard = limit.hard_limit_bytes != 0 && used >= limit.hard_limit_bytes;
    let mut soft = limit.soft_limit_bytes != 0 && used >= limit.soft_limit_bytes;
    if soft {
        // Over the soft limit: only for too long does it count.
        match c.soft_limit_reached_at {
            None => {
                c.soft_limit_reached_at = Some(Instant::now());
                soft = false;
            }
            Some(since) => soft = since.elapsed().as_secs() > limit.soft_limit_seconds,
        }
    } else {
        c.soft_limit_reached_at = None;
    }
    if !(hard || soft) {
        return false;
    }
    // Redis's log line names the client by its whole CLIENT LIST line.
    eprintln!(
        "{} # Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
        std::process::id(),
        c.info_line(Instant::now())
    );
    c.close_asap = true;
    // Nothing more will be written: free the memory now.
    c.reply.clear();
    c.wake.notify_one();
    true
}
// ANCHOR_END: conn_output_limit

/// Remove a client from the server (Redis's `freeClient`).
fn free_client(server: &Rc<RefCell<Server>>, id: u64) {
    free_client_in(&mut server.borrow_mut(), id);
}

/// [`free_client`] for a caller that holds the server already (a job
/// serving clients, `busy.rs`). Safe to call twice: the second time the
/// client is no longer there.
pub(super) fn free_client_in(s: &mut Server, id: u64) {
    if let Some(rc) = s.clients.get(&id).cloned() {
        if let Ok(mut c) = rc.try_borrow_mut() {
            s.unblock_client(&mut c);
            crate::pubsub::forget_client(s, &mut c);
            crate::multi::forget_client(s, &mut c);
            crate::replication::forget_client(s, &c);
            crate::tracking::disable(s, &mut c);
        }
    }
    s.clients.remove(&id);
    s.monitors.retain(|&m| m != id);
}

// ANCHOR: run_batch
/// Parse and run the complete commands in `query`, as Redis's
/// `processInputBuffer` does, until `reply_cap` bytes of reply are
/// pending. However big the replies, they go into the client's 16 KiB
/// reply blocks, so nothing is reallocated even uncapped (16 pipelined
/// `LRANGE 0 599` of 1 KB values are 10 MB in 640 blocks). Returns the
/// instant a CLIENT PAUSE ends if it held the next command, and whether
/// the batch stopped at the cap.
fn run_batch(
    server: &Rc<RefCell<Server>>,
    client: &Rc<RefCell<Client>>,
    query: &mut BytesMut,
    parser: &mut RequestParser,
    reply_cap: usize,
) -> (Option<Instant>, bool) {
    let mut s = server.borrow_mut();
    let mut c = client.borrow_mut();
    // Idle time counts from the last input, as Redis sets `lastinteraction`
    // in readQueryFromClient, from its cached clock.
    c.last_interaction = s.clock.last;
    let limits = ParseLimits {
        max_bulk_len: s.config.proto_max_bulk_len,
        unauthenticated: !c.authenticated && crate::acl::default_requires_auth(&s),
    };
    let mut consumed = 0;
    let mut paused = None;
    // While the batch runs, the query buffer still holds it (Redis trims
    // the buffer after the batch): CLIENT LIST shows `qbuf=26` for the
    // `CLIENT LIST` being answered.
    c.query_buffer_len = query.len();
    c.query_buffer_free = query.capacity() - query.len();
    // A parked client (BLPOP...) runs nothing more until it is served.
    let mut cut = false;
    while !c.close_after_reply && !c.close_asap && c.blocked.is_none() {
        if c.reply.len() >= reply_cap {
            cut = true;
            break;
        }
        let buf = &query[consumed..];
        match parser.parse(buf, limits) {
            Parsed::Incomplete => break,
            Parsed::Skip { consumed: n } => consumed += n,
            Parsed::Command { consumed: n } => {
                let args = Args::new(buf, &parser.spans);
                if let Flow::Paused(until) = process_command(&mut s, &mut c, args) {
                    parser.reset();
                    paused = Some(until);
                    break;
                }
                consumed += n;
                // One pipeline of GETs can produce gigabytes: the output
                // limit is checked as replies grow, not only per batch, as
                // Redis checks it on every reply added past the first
                // 16 KiB. Below that it cannot be reached, so the common
                // small reply costs one comparison.
                if c.reply.len() > REPLY_BLOCK_BYTES {
                    enforce_output_limit(&s.config, &mut c);
                }
            }
            Parsed::Inline { consumed: n, args } => {
                if let Flow::Paused(until) = process_command(&mut s, &mut c, args.args()) {
                    parser.reset();
                    paused = Some(until);
                    break;
                }
                consumed += n;
            }
            Parsed::Error(msg) => {
                // Redis answers, then closes once the answer is written.
                c.reply.error_bytes(&[&b"ERR "[..], &msg].concat());
                c.reply.errors.clear();
                s.stats.total_error_replies += 1;
                *s.stats.error_codes.entry("ERR".into()).or_default() += 1;
                c.close_after_reply = true;
                consumed = query.len();
                parser.reset();
            }
        }
    }
    if consumed == query.len() && query.capacity() > MAX_READ {
        // A huge command (a 100,000-member SADD) grew the buffer; consumed,
        // it gives the memory back now rather than at the next read, so
        // INFO used_memory falls once the value is deleted (Redis trims
        // query buffers in clientsCronResizeQueryBuffer).
        *query = BytesMut::with_capacity(MIN_READ);
        c.query_buffer_released = true;
    } else {
        query.advance(consumed);
    }
    if query.is_empty() && parser.spans.capacity() > 4096 {
        // Nothing is pending, so the argument table may go too.
        parser.spans = Vec::new();
    }
    c.paused = paused.is_some();
    c.query_buffer_len = query.len();
    c.query_buffer_free = query.capacity() - query.len();
    c.query_buffer_peak = c.query_buffer_peak.max(query.len());
    if query.len() as u64 > s.config.client_query_buffer_limit as u64 {
        // Redis logs "closing client that reached max query buffer length"
        // and frees the client without a reply.
        eprintln!(
            "{} # Closing client that reached max query buffer length: id={} (qbuf initial bytes: {:?})",
            std::process::id(),
            c.id,
            String::from_utf8_lossy(&query[..query.len().min(64)])
        );
        c.close_asap = true;
    }
    enforce_output_limit(&s.config, &mut c);
    crate::aof::after_batch(&mut s);
    crate::replication::before_reply(&mut s, &c);
    s.client_recent_max_input_buffer = s.client_recent_max_input_buffer.max(query.len());
    s.client_recent_max_output_buffer = s.client_recent_max_output_buffer.max(c.reply.len());
    (paused, cut)
}
// ANCHOR_END: run_batch
