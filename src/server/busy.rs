//! # Serving while blocked: what the server does while one job holds it
//!
//! One thread runs every command, so one long job stops everything: a
//! script that loops, or the load of a 10 GB dataset at startup. Redis
//! does not go silent then. From inside the job it calls back into its
//! event loop every so often, and serves the other clients under special
//! rules: while loading, only commands flagged `loading` run (INFO,
//! CONFIG, CLIENT, SELECT...) and the rest get
//! `-LOADING Redis is loading the dataset in memory`; while a script runs
//! past `busy-reply-threshold`, only commands flagged `allow_busy` run
//! (SCRIPT KILL, FUNCTION KILL, SHUTDOWN, the transaction commands...) and
//! the rest get `-BUSY Redis is busy running a script...`. A client can
//! thus watch a load progress in INFO, or stop a runaway script.
//!
//! ## How this server does it
//!
//! Our connections are Tokio tasks on one thread. While a job runs, it
//! runs *inside* one of those tasks (or before they exist, at startup),
//! so every other task is suspended: nobody reads their sockets. So
//! [`serve_while_blocked`] does the I/O itself, by hand, without ever
//! blocking:
//!
//! 1. one `poll(2)` with a zero timeout over the listening sockets and the
//!    sockets of the clients it may serve: when nothing is waiting (the
//!    common case, called every 2 MB of a load or every few ms of a
//!    script) that single system call is the whole cost;
//! 2. accept what waits on a listener, and make each connection a client
//!    at once (it can be served now); its task is started when the job
//!    is over ([`adopt_connections`]);
//! 3. for each readable client, *peek* (`MSG_PEEK`) at its bytes, parse
//!    the whole commands among them, run each through `process_command`
//!    (so every other check, MULTI queueing and `rejectCommand`'s rules
//!    hold), then *consume* exactly the bytes of those commands. A partial
//!    command stays in the kernel for the task to read later, which then
//!    starts at a command boundary: nothing is read twice, nothing lost;
//! 4. write each client's pending replies with a non-blocking `send`; what
//!    does not fit stays at the front of its output buffer, where the
//!    task will find it before any later reply;
//! 5. a client whose peer has gone (a peek reads 0 bytes) is freed at
//!    once, as Redis frees it: a five-minute load must not keep every
//!    connection that came and went. Its task, when it runs again, finds
//!    it gone and only drops the socket.
//!
//! Without a scripting engine there is still a way to see the busy rules:
//! `ANATOMY BUSY <ms> [EVAL|FUNCTION]` ([`anatomy_busy`]) holds the server
//! for that long, serving every millisecond, as a looping script would.
//!
//! ## The invariant: order per client
//!
//! A client's commands run in the order sent and its replies leave in that
//! order. So a client is skipped when its task holds something we cannot
//! see: bytes already read into the task's query buffer (`qbuf` > 0, e.g.
//! a pipeline cut by the 64 KB reply cap), a write in flight
//! (`reply_in_flight` > 0), a parked or paused command. Those wait for the
//! job to end, exactly as they would if we did nothing.
//!
//! ## Worked example: a load seen from outside
//!
//! ```text
//! t=0    server binds 127.0.0.1:6379, starts loading dump.rdb (40 MB)
//! t=0.1  loader reaches byte 2 MB -> serve_while_blocked(Loading)
//!        client A connects: accepted, id=3, no task yet
//! t=0.2  loader at 4 MB -> A's "GET k" -> -LOADING ...; "INFO" runs
//!        (loading:1, loading_loaded_perc:10.00)
//! t=2.0  load done; A's task starts and owns the socket from here on
//! ```
//!
//! ## The Redis C counterpart
//!
//! `processEventsWhileBlocked` (networking.c) runs `aeProcessEvents` with
//! `AE_DONT_WAIT` up to four times, then `whileBlockedCron` (server.c).
//! The rules are in `processCommand` (server.c): the `server.loading`
//! check with `CMD_LOADING` (and EXEC refused if a queued command lacks
//! it), then `isInsideYieldingLongCommand()` with `CMD_ALLOW_BUSY`,
//! answered with `shared.loadingerr`, `shared.slowevalerr` or
//! `shared.slowscripterr` through `rejectCommand`. The loader calls it from
//! `rdbLoadProgressCallback` (rdb.c) every
//! `loading-process-events-interval-bytes`; `startLoading`,
//! `loadingAbsProgress` and `stopLoading` keep the INFO fields.
//!
//! ## What we simplified
//!
//! - One pass per call, not up to four: a caller that calls often (the
//!   loader, the script hook) gets the same effect.
//! - `whileBlockedCron`'s work (active defrag, memory stats, a SIGTERM
//!   during loading) is not done here: we have no defrag, and INFO
//!   computes memory when asked.
//! - A connection accepted while blocked gets its task when the job ends;
//!   until then it is served here, which is all a blocked server offers.
//! - The cost per call is one pass over the client table to build the
//!   poll set, plus one `poll`: O(clients), where Redis's epoll is
//!   O(ready). Callers call it every 2 MB of a load, or every millisecond
//!   or so of a script; with thousands of idle clients that pass is the
//!   cost to watch (not measured yet).
//! - Commands are parsed from a peek of at most 64 KB: a longer one (a
//!   big SET) waits in the socket until the job ends, and so do the
//!   commands after it.
//! - No async loading (`repl-diskless-load swapdb`): `async_loading` is
//!   always 0.

use std::cell::RefCell;
use std::rc::Rc;

use super::command::{flags, Command};
use super::{process_command, Client, Server};
use crate::resp::{Args, ParseLimits, Parsed, RequestParser};

/// Why the server cannot run ordinary commands right now. It picks the
/// error other clients are sent (`-BUSY ...` for a script or function,
/// `-LOADING ...` for a load) and which commands still run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BusyReason {
    /// An EVAL/EVALSHA script has run past `busy-reply-threshold`.
    Eval,
    /// A function (FCALL) has run past `busy-reply-threshold`.
    Function,
    /// The dataset is being loaded (RDB or AOF).
    Loading,
}

// ANCHOR: busy_errors
/// Redis 7.0's `shared.loadingerr`, `shared.slowevalerr` and
/// `shared.slowscripterr`, byte for byte (without the leading `-`).
pub const LOADING_ERR: &str = "LOADING Redis is loading the dataset in memory";
pub const SLOW_EVAL_ERR: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const SLOW_SCRIPT_ERR: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
// ANCHOR_END: busy_errors

/// The largest number of bytes looked at in one client's socket per call.
/// A command longer than this (a 1 MB SET) cannot be parsed from one peek:
/// it is left to the client's task, which runs it after the job.
const PEEK_BYTES: usize = 64 * 1024;

/// The most connections accepted from one listener per call (Redis's
/// `MAX_ACCEPTS_PER_CALL` is 1000; a blocked server has less to give).
const MAX_ACCEPTS_PER_CALL: usize = 64;

/// The INFO `loading_*` fields while a load runs (`server.loading_*`).
#[derive(Debug, Clone, Default)]
pub struct LoadingProgress {
    /// Unix seconds when the load started (`loading_start_time`).
    pub start_time: i64,
    /// Size of the file being loaded; 0 when unknown.
    pub total_bytes: u64,
    /// The `used-mem` the RDB file recorded (its AUX field), 0 until read.
    pub rdb_used_mem: u64,
    /// Bytes read so far, updated at each progress call.
    pub loaded_bytes: u64,
}

/// The server's side of this chapter. Lives in `Server::busy`.
#[derive(Default)]
pub struct BusyState {
    /// A load is running (INFO `loading:1`); commands without the
    /// `loading` flag are refused.
    pub loading: Option<LoadingProgress>,
    /// Set for the length of one [`serve_while_blocked`] call: the rules
    /// the commands it runs are under.
    pub serving: Option<BusyReason>,
    /// The listening sockets, to accept from while blocked (the accept
    /// tasks own them; these are their descriptors).
    pub listen_fds: Vec<i32>,
    /// Connections accepted while blocked, waiting for their task.
    pub accepted: Vec<(std::net::TcpStream, Rc<RefCell<Client>>)>,
    /// Wakes [`adopt_connections`] when `accepted` got some.
    pub adopt: Rc<tokio::sync::Notify>,
    /// Reused between calls: the poll set and the peek buffer.
    poll_set: Vec<libc::pollfd>,
    poll_ids: Vec<u64>,
    peek: Vec<u8>,
}

impl std::fmt::Debug for BusyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusyState")
            .field("loading", &self.loading)
            .field("serving", &self.serving)
            .finish()
    }
}

impl BusyState {
    /// Is any busy rule in force? One test on the hot path of every
    /// command (`process_command`).
    #[inline]
    pub fn active(&self) -> bool {
        self.loading.is_some() || self.serving.is_some()
    }
}

// ANCHOR: busy_rule
/// The busy rules of `processCommand`, in Redis's order: first loading,
/// then a busy script. `exec_queued` are the commands an EXEC would run:
/// EXEC itself carries `loading`, but is refused while loading if one of
/// them does not (Redis's `cmd_inv_flags`). Returns the error to send.
pub fn rule(
    loading: bool,
    busy: Option<BusyReason>,
    cmd: &Command,
    exec_queued: &[&Command],
) -> Option<&'static str> {
    let loading = loading || busy == Some(BusyReason::Loading);
    if loading
        && (!cmd.has(flags::LOADING)
            || (cmd.full_name == "exec" && exec_queued.iter().any(|c| !c.has(flags::LOADING))))
    {
        return Some(LOADING_ERR);
    }
    match busy {
        Some(BusyReason::Eval) if !cmd.has(flags::ALLOW_BUSY) => Some(SLOW_EVAL_ERR),
        Some(BusyReason::Function) if !cmd.has(flags::ALLOW_BUSY) => Some(SLOW_SCRIPT_ERR),
        _ => None,
    }
}
// ANCHOR_END: busy_rule

/// [`rule`] for a command arriving from `client` now.
pub fn refusal(server: &Server, client: &Client, cmd: &Command) -> Option<&'static str> {
    let queued: Vec<&Command> = if cmd.full_name == "exec" {
        client.multi.queued.iter().map(|(c, _)| *c).collect()
    } else {
        Vec::new()
    };
    rule(
        server.busy.loading.is_some(),
        server.busy.serving,
        cmd,
        &queued,
    )
}

// ANCHOR: busy_serve
/// Serve the other clients once, without blocking: accept what is
/// waiting, read what has arrived, answer it under `reason`'s rules,
/// write what can be written. `blocked_client` is the client whose
/// command holds the server (its entry is skipped); 0 when none.
pub fn serve_while_blocked(server: &mut Server, blocked_client: u64, reason: BusyReason) {
    // A command run from here that blocks again (DEBUG RELOAD while
    // loading) must not serve from inside itself: the outer call holds
    // the buffers and its clients mid-command.
    if server.busy.serving.is_some() {
        return;
    }
    let mut poll_set = std::mem::take(&mut server.busy.poll_set);
    let mut poll_ids = std::mem::take(&mut server.busy.poll_ids);
    poll_set.clear();
    poll_ids.clear();
    for &fd in &server.busy.listen_fds {
        poll_set.push(pollfd(fd));
        poll_ids.push(0);
    }
    for (&id, rc) in &server.clients {
        if id == blocked_client {
            continue;
        }
        // The client whose command runs now is borrowed by its task.
        let Ok(c) = rc.try_borrow() else { continue };
        if servable(&c) {
            poll_set.push(pollfd(c.fd));
            poll_ids.push(id);
        }
    }
    // SAFETY: `poll_set` is a live array of `len` pollfd structs; a zero
    // timeout never blocks.
    let ready = unsafe { libc::poll(poll_set.as_mut_ptr(), poll_set.len() as libc::nfds_t, 0) };
    if ready > 0 {
        server.busy.serving = Some(reason);
        for (pfd, &id) in poll_set.iter().zip(&poll_ids) {
            if pfd.revents == 0 {
                continue;
            }
            if id == 0 {
                accept_waiting(server, pfd.fd);
            } else if let Some(rc) = server.clients.get(&id).cloned() {
                let gone = match rc.try_borrow_mut() {
                    Ok(mut c) => {
                        serve_client(server, &mut c);
                        c.close_asap
                    }
                    Err(_) => false,
                };
                if gone {
                    free_client_now(server, id);
                }
            }
        }
        server.busy.serving = None;
    }
    // Replies may be pending for clients that sent nothing this time (a
    // PUBLISH from one reaches the others): flush every servable client.
    for (&id, rc) in &server.clients {
        if id == blocked_client {
            continue;
        }
        if let Ok(mut c) = rc.try_borrow_mut() {
            if servable(&c) && !c.reply.is_empty() {
                flush_output(&mut server.stats, &mut c);
            }
        }
    }
    server.busy.poll_set = poll_set;
    server.busy.poll_ids = poll_ids;
}
// ANCHOR_END: busy_serve

fn pollfd(fd: i32) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// May this client's socket be read and written here without breaking
/// the order its task keeps? (See the invariant in the module essay.)
fn servable(c: &Client) -> bool {
    c.fd >= 0
        && !c.close_asap
        && !c.close_after_reply
        && c.query_buffer_len == 0
        && c.reply_in_flight == 0
        && c.blocked.is_none()
        && !c.paused
        && c.replica.is_none()
}

/// A client that disconnected (or was killed) while the job runs is freed
/// now, as Redis does, not when the job ends: a long load must not hold
/// every connection that came and went. Its server-side state goes at
/// once; a task, if it has one, finds it gone and only drops the socket.
/// One accepted here has no task yet: its socket is closed now.
fn free_client_now(server: &mut Server, id: u64) {
    super::connection::free_client_in(server, id);
    server.busy.accepted.retain(|(_, c)| c.borrow().id != id);
}

/// Peek at a client's bytes, run its whole commands, consume them, write
/// the replies.
fn serve_client(server: &mut Server, c: &mut Client) {
    let mut peek = std::mem::take(&mut server.busy.peek);
    peek.resize(PEEK_BYTES, 0);
    // SAFETY: `peek` has PEEK_BYTES writable bytes; MSG_DONTWAIT never
    // blocks, MSG_PEEK leaves the bytes in the socket.
    let n = unsafe {
        libc::recv(
            c.fd,
            peek.as_mut_ptr() as *mut libc::c_void,
            peek.len(),
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n == 0 || (n < 0 && !would_block()) {
        // The peer closed (or reset) the connection: freed by the caller.
        c.close_asap = true;
        c.wake.notify_one();
        server.busy.peek = peek;
        return;
    }
    let n = n.max(0) as usize;
    let limits = ParseLimits {
        max_bulk_len: server.config.proto_max_bulk_len,
        unauthenticated: !c.authenticated && server.config.requirepass.is_some(),
    };
    let mut parser = RequestParser::default();
    let mut consumed = 0;
    c.last_interaction = std::time::Instant::now(); // input arrived
    while consumed < n && !c.close_after_reply && !c.close_asap && c.blocked.is_none() {
        let buf = &peek[consumed..n];
        match parser.parse(buf, limits) {
            Parsed::Command { consumed: k } => {
                let args = Args::new(buf, &parser.spans);
                if process_command(server, c, args) != super::Flow::Continue {
                    break; // held by CLIENT PAUSE: the task retries it
                }
                consumed += k;
            }
            Parsed::Inline { consumed: k, args } => {
                if process_command(server, c, args.args()) != super::Flow::Continue {
                    break;
                }
                consumed += k;
            }
            Parsed::Skip { consumed: k } => consumed += k,
            // A partial command waits in the socket; a protocol error is
            // the task's to answer (and close on), after the job.
            Parsed::Incomplete | Parsed::Error(_) => break,
        }
        parser.reset();
    }
    if consumed > 0 {
        discard_bytes(c.fd, &mut peek, consumed);
        server.stats.total_net_input_bytes += consumed as u64;
        server.stats.total_reads_processed += 1;
    }
    server.busy.peek = peek;
    super::connection::enforce_output_limit(&server.config, c);
    flush_output(&mut server.stats, c);
}

/// Read and drop exactly `len` bytes already seen by a peek: they are
/// in the socket, so the reads return at once.
fn discard_bytes(fd: i32, scratch: &mut [u8], mut len: usize) {
    while len > 0 {
        let want = len.min(scratch.len());
        // SAFETY: `scratch` has at least `want` writable bytes.
        let r = unsafe {
            libc::recv(
                fd,
                scratch.as_mut_ptr() as *mut libc::c_void,
                want,
                libc::MSG_DONTWAIT,
            )
        };
        if r <= 0 {
            return;
        }
        len -= r as usize;
    }
}

/// Send what the output buffer holds, as much as the socket takes now:
/// its blocks in one `sendmsg`, as the connection task's `writev` does.
fn flush_output(stats: &mut super::Stats, c: &mut Client) {
    if c.reply.is_empty() || c.close_asap {
        return;
    }
    let mut slices = [std::io::IoSlice::new(&[]); 64];
    let n = crate::resp::Reply::io_slices(&c.reply, &mut slices);
    // SAFETY: `IoSlice` is ABI-compatible with `iovec` on Unix, and the
    // slices borrow the reply's blocks, live for the call. MSG_NOSIGNAL
    // turns a closed peer into EPIPE instead of a SIGPIPE.
    let r = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = slices.as_mut_ptr() as *mut libc::iovec;
        msg.msg_iovlen = n as _;
        libc::sendmsg(c.fd, &msg, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
    };
    if r > 0 {
        c.reply.consume(r as usize);
        stats.total_net_output_bytes += r as u64;
        stats.total_writes_processed += 1;
    } else if r < 0 && !would_block() {
        c.close_asap = true;
        c.wake.notify_one();
    }
}

fn would_block() -> bool {
    let e = std::io::Error::last_os_error().raw_os_error();
    e == Some(libc::EAGAIN) || e == Some(libc::EWOULDBLOCK) || e == Some(libc::EINTR)
}

/// Accept the connections waiting on `listen_fd` and make them clients.
fn accept_waiting(server: &mut Server, listen_fd: i32) {
    use std::os::unix::io::FromRawFd;
    for _ in 0..MAX_ACCEPTS_PER_CALL {
        // SAFETY: accept4 on our listening socket; the new descriptor is
        // owned by the TcpStream made from it just below.
        let fd = unsafe {
            libc::accept4(
                listen_fd,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            return;
        }
        // SAFETY: `fd` is a freshly accepted socket nobody else owns.
        let stream = unsafe { std::net::TcpStream::from_raw_fd(fd) };
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        if let Some(refusal) = super::connection::refusal_at_accept(server, peer) {
            let _ = std::io::Write::write(&mut &stream, refusal);
            continue;
        }
        let id = server.next_client_id;
        server.next_client_id += 1;
        let mut client = Client::new(id, peer, local, fd);
        client.authenticated = server.config.requirepass.is_none();
        let rc = Rc::new(RefCell::new(client));
        server.clients.insert(id, rc.clone());
        server.busy.accepted.push((stream, rc));
        server.busy.adopt.notify_one();
    }
}

/// The task that gives connections accepted while blocked their own
/// connection task, once the job that accepted them has returned (it
/// cannot run before: nothing else runs while a job does).
pub async fn adopt_connections(server: Rc<RefCell<Server>>) {
    let adopt = server.borrow().busy.adopt.clone();
    loop {
        let accepted = std::mem::take(&mut server.borrow_mut().busy.accepted);
        for (stream, client) in accepted {
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => {
                    tokio::task::spawn_local(super::connection::run_accepted(
                        server.clone(),
                        stream,
                        client,
                    ));
                }
                Err(_) => {
                    let id = client.borrow().id;
                    server.borrow_mut().clients.remove(&id);
                }
            }
        }
        adopt.notified().await;
    }
}

/// `ANATOMY BUSY <milliseconds> [EVAL|FUNCTION]`: hold the server as a
/// script stuck in a loop would, serving the others under the busy rules
/// about every millisecond, so that a student (and the tests) can see
/// `-BUSY` without a scripting engine. Ours alone, like all of ANATOMY.
/// It stops early when SHUTDOWN or a kill command asks (`shutdown_requested`).
pub fn anatomy_busy(ctx: &mut super::Ctx, args: Args) {
    let Some(ms) = crate::resp::parse_i64(&args[2]).filter(|&m| (0..=60_000).contains(&m)) else {
        return ctx
            .reply()
            .error("ERR milliseconds must be an integer between 0 and 60000");
    };
    let reason = match (args.len() > 3).then(|| args.get(3)) {
        None => BusyReason::Eval,
        Some(a) if a.eq_ignore_ascii_case(b"eval") => BusyReason::Eval,
        Some(a) if a.eq_ignore_ascii_case(b"function") => BusyReason::Function,
        Some(_) => return ctx.reply().error(super::SYNTAX_ERR),
    };
    if args.len() > 4 {
        return ctx.reply().error(super::SYNTAX_ERR);
    }
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms as u64);
    let id = ctx.client.id;
    while std::time::Instant::now() < until && !ctx.server.shutdown_requested {
        serve_while_blocked(ctx.server, id, reason);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    ctx.reply().ok();
}

// ANCHOR: busy_loading
/// Redis's `startLoading`: INFO shows `loading:1` from here on, and
/// commands without the `loading` flag are refused.
pub fn start_loading(server: &mut Server, total_bytes: u64) {
    server.rdb.last_load = Default::default();
    server.busy.loading = Some(LoadingProgress {
        start_time: super::unix_ms() / 1000,
        total_bytes,
        rdb_used_mem: 0,
        loaded_bytes: 0,
    });
}

/// Redis's `loadingAbsProgress` + `processEventsWhileBlocked`: called by
/// a loader every `loading-process-events-interval-bytes`.
pub fn loading_progress(server: &mut Server, loaded_bytes: u64, rdb_used_mem: u64) {
    if let Some(p) = server.busy.loading.as_mut() {
        p.loaded_bytes = loaded_bytes;
        if rdb_used_mem != 0 {
            p.rdb_used_mem = rdb_used_mem;
        }
    }
    server.peak_memory = server.peak_memory.max(crate::memory::used_memory() as u64);
    serve_while_blocked(server, 0, BusyReason::Loading);
}

/// Load the RDB image at the start of `buf` into the keyspace while
/// serving clients every `loading-process-events-interval-bytes`: what
/// every loader (startup, DEBUG RELOAD, an AOF's RDB base) calls. Returns
/// what `rdb::load_prefix` returns.
///
/// The loader fills the databases while the clients it serves may look
/// at them (INFO keyspace, SELECT): the two cannot both hold `&mut`. So
/// the databases being filled are moved out of the server, and at each
/// progress point moved back in (16 struct moves each way, every 2 MB)
/// for the clients to see the keys loaded so far.
pub fn load_rdb_serving(
    server: &mut Server,
    buf: &[u8],
    allow_dup: bool,
) -> Result<(crate::rdb::LoadStats, usize), String> {
    let own_loading = server.busy.loading.is_none();
    if own_loading {
        start_loading(server, buf.len() as u64);
    }
    let config = server.config.clone();
    let (lru, now) = (server.lru_clock, super::unix_ms());
    let placeholders = (0..server.dbs.len()).map(crate::db::Db::new).collect();
    let mut dbs = std::mem::replace(&mut server.dbs, placeholders);
    let result = crate::rdb::load_prefix_with(
        buf,
        &mut dbs,
        &config,
        lru,
        now,
        allow_dup,
        &mut |point, loading| {
            swap_dbs(&mut server.dbs, loading);
            server.rdb.last_load.keys_loaded = point.keys_loaded;
            loading_progress(server, point.bytes, point.rdb_used_mem);
            swap_dbs(&mut server.dbs, loading);
        },
    );
    server.dbs = dbs;
    // The snapshot's FUNCTION libraries join the registry.
    let result = result.and_then(|(stats, end)| {
        crate::commands::function::load_snapshot_libraries(server, &stats.functions)?;
        Ok((stats, end))
    });
    if own_loading {
        stop_loading(server);
    }
    result
}

fn swap_dbs(a: &mut [crate::db::Db], b: &mut [crate::db::Db]) {
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        std::mem::swap(x, y);
    }
}

/// Redis's `stopLoading`.
pub fn stop_loading(server: &mut Server) {
    server.busy.loading = None;
}

/// The INFO persistence lines that exist only while loading, with Redis
/// 7.0's arithmetic: the share of the file read, and an ETA from the
/// rate so far (1 s when less than a second has passed).
pub fn loading_info_lines(server: &Server, out: &mut String) {
    use std::fmt::Write;
    let Some(p) = &server.busy.loading else {
        return;
    };
    let (mut perc, mut remaining) = (0.0, 1i64);
    if p.total_bytes > 0 {
        perc = p.loaded_bytes as f64 / p.total_bytes as f64 * 100.0;
        remaining = p.total_bytes as i64 - p.loaded_bytes as i64;
    } else if p.rdb_used_mem > 0 {
        // used-mem is a poor guess of the size: never claim 100%.
        perc = (p.loaded_bytes as f64 / p.rdb_used_mem as f64 * 100.0).min(99.99);
        remaining = (p.rdb_used_mem as i64 - p.loaded_bytes as i64).max(1);
    }
    let elapsed = super::unix_ms() / 1000 - p.start_time;
    let eta = if elapsed == 0 {
        1
    } else {
        elapsed * remaining / (p.loaded_bytes as i64 + 1)
    };
    let _ = write!(
        out,
        "loading_start_time:{}\r\nloading_total_bytes:{}\r\nloading_rdb_used_mem:{}\r\n\
         loading_loaded_bytes:{}\r\nloading_loaded_perc:{:.2}\r\nloading_eta_seconds:{}\r\n",
        p.start_time, p.total_bytes, p.rdb_used_mem, p.loaded_bytes, perc, eta
    );
}
// ANCHOR_END: busy_loading

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::command_table;

    fn cmd(name: &str) -> &'static Command {
        command_table().get(name.as_bytes()).expect(name)
    }

    /// 7.0.15's `allow_busy` commands (src/commands/*.json), by full name.
    const ALLOW_BUSY_7_0: &[&str] = &[
        "auth",
        "discard",
        "function|kill",
        "function|stats",
        "hello",
        "multi",
        "quit",
        "replconf",
        "reset",
        "script|kill",
        "shutdown",
        "unwatch",
        "watch",
    ];

    #[test]
    fn a_busy_eval_allows_exactly_the_allow_busy_commands() {
        // SCRIPT KILL arrives with the scripting chapter: the names this
        // table does not have yet are skipped, the rest must be allowed.
        let mut allowed = 0;
        for &name in ALLOW_BUSY_7_0 {
            let Some(c) = command_table().all().find(|c| c.full_name == name) else {
                continue;
            };
            allowed += 1;
            assert_eq!(rule(false, Some(BusyReason::Eval), c, &[]), None, "{name}");
            assert_eq!(
                rule(false, Some(BusyReason::Function), c, &[]),
                None,
                "{name}"
            );
        }
        assert!(allowed >= 12);
        for c in command_table().all() {
            if !ALLOW_BUSY_7_0.contains(&c.full_name) {
                assert_eq!(
                    rule(false, Some(BusyReason::Eval), c, &[]),
                    Some(SLOW_EVAL_ERR),
                    "{}",
                    c.full_name
                );
                assert_eq!(
                    rule(false, Some(BusyReason::Function), c, &[]),
                    Some(SLOW_SCRIPT_ERR),
                    "{}",
                    c.full_name
                );
            }
        }
    }

    #[test]
    fn exec_is_refused_while_busy_so_the_transaction_aborts() {
        let exec = cmd("exec");
        assert_eq!(
            rule(false, Some(BusyReason::Eval), exec, &[]),
            Some(SLOW_EVAL_ERR)
        );
    }

    #[test]
    fn loading_allows_loading_commands_and_refuses_the_rest() {
        assert_eq!(rule(true, None, cmd("info"), &[]), None);
        assert_eq!(rule(true, None, cmd("select"), &[]), None);
        assert_eq!(rule(true, None, cmd("get"), &[]), Some(LOADING_ERR));
        // PING has no `loading` flag in 7.0: a loading server refuses it.
        assert_eq!(rule(true, None, cmd("ping"), &[]), Some(LOADING_ERR));
        assert_eq!(
            rule(false, Some(BusyReason::Loading), cmd("get"), &[]),
            Some(LOADING_ERR)
        );
        assert_eq!(rule(false, None, cmd("get"), &[]), None);
    }

    #[test]
    fn exec_while_loading_is_refused_if_a_queued_command_cannot_load() {
        let exec = cmd("exec");
        assert_eq!(rule(true, None, exec, &[cmd("info")]), None);
        assert_eq!(
            rule(true, None, exec, &[cmd("info"), cmd("get")]),
            Some(LOADING_ERR)
        );
    }

    #[test]
    fn loading_comes_before_busy() {
        // A script during an AOF load: a command without `loading` gets
        // -LOADING, as processCommand checks loading first.
        assert_eq!(
            rule(true, Some(BusyReason::Eval), cmd("get"), &[]),
            Some(LOADING_ERR)
        );
    }
}
