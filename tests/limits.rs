//! # Limits, as Redis enforces them
//!
//! Each limit a hostile or broken client can run into, tested through real
//! sockets: `client-output-buffer-limit` for normal clients (off by
//! default; hard, and soft-for-some-seconds, when set), `maxclients` with
//! Redis's error, `timeout` for idle clients (but not subscribers or
//! blocked clients), `tcp-keepalive` read back from the accepted socket,
//! and `proto-max-bulk-len`. The query buffer limit is in `protocol.rs`,
//! the pubsub output limit in `pubsub.rs`.
//!
//! The server runs in this process, so a test can read a client's socket
//! options with `getsockopt` on the fd that CLIENT INFO reports: the same
//! descriptor the server accepted, not a model of it.

mod common;
use common::*;

use std::io::Read;
use std::time::Duration;

fn config_set(c: &mut redis::Connection, name: &str, value: &str) {
    redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query::<()>(c)
        .unwrap();
}

fn client_list(c: &mut redis::Connection) -> String {
    redis::cmd("CLIENT").arg("LIST").query(c).unwrap()
}

/// The value of `field=` in a CLIENT LIST/INFO line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let key = format!(" {name}=");
    let start = line.find(&key).map(|i| i + key.len()).unwrap_or_else(|| {
        line.strip_prefix(&key[1..])
            .map(|_| key.len() - 1)
            .expect(name)
    });
    line[start..].split(' ').next().unwrap()
}

fn line_of(list: &str, id: i64) -> Option<&str> {
    list.lines().find(|l| field(l, "id") == id.to_string())
}

fn raw_client_id(raw: &mut Raw) -> i64 {
    raw.send(&resp(&[b"CLIENT", b"ID"]));
    let reply = raw.read_exact_len(3);
    let mut text = String::from_utf8(reply).unwrap();
    while !text.ends_with("\r\n") {
        text.push_str(&String::from_utf8(raw.read_exact_len(1)).unwrap());
    }
    text[1..text.len() - 2].parse().unwrap()
}

// ---------------------------------------------------------------------
// client-output-buffer-limit normal
// ---------------------------------------------------------------------

/// A client that pipelines `n` GETs of a 64 KB value and reads nothing.
fn greedy_reader(server: &redis_anatomy::server::ServerHandle, n: usize) -> (Raw, i64) {
    let mut raw = Raw::connect(server);
    let id = raw_client_id(&mut raw);
    let mut pipeline = Vec::new();
    for _ in 0..n {
        pipeline.extend_from_slice(&resp(&[b"GET", b"big"]));
    }
    raw.send(&pipeline);
    (raw, id)
}

fn set_big_value(c: &mut redis::Connection) {
    redis::cmd("SET")
        .arg("big")
        .arg(vec![b'v'; 64 * 1024])
        .query::<()>(c)
        .unwrap();
}

#[test]
fn by_default_a_normal_client_that_does_not_read_keeps_its_replies() {
    let server = start();
    let mut admin = conn(&server);
    set_big_value(&mut admin);
    // 300 replies of 64 KB: 19 MB, far past what the kernel buffers.
    let (mut raw, id) = greedy_reader(&server, 300);
    // The server holds the rest and shows it as omem in CLIENT LIST.
    eventually("omem to grow", || {
        let list = client_list(&mut admin);
        line_of(&list, id).is_some_and(|l| field(l, "omem").parse::<u64>().unwrap() > 1 << 20)
    });
    // INFO's peak tracker sees it too (Redis measures every client in its
    // cron, not only when a command runs).
    eventually("client_recent_max_output_buffer to grow", || {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut admin).unwrap();
        let peak = info
            .lines()
            .find_map(|l| l.strip_prefix("client_recent_max_output_buffer:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .expect("client_recent_max_output_buffer");
        peak > 1 << 20
    });
    let one = 64 * 1024 + "$65536\r\n\r\n".len();
    let got = raw.read_exact_len(300 * one);
    assert_eq!(got.len(), 300 * one, "every reply arrives");
}

#[test]
fn a_normal_client_past_the_hard_limit_is_closed_without_the_rest() {
    let server = start();
    let mut admin = conn(&server);
    set_big_value(&mut admin);
    config_set(&mut admin, "client-output-buffer-limit", "normal 1mb 0 0");
    let (mut raw, id) = greedy_reader(&server, 300);
    eventually("the client to be closed", || {
        line_of(&client_list(&mut admin), id).is_none()
    });
    // What was already in the kernel's buffers arrives, then the close;
    // the 19 MB never existed.
    let mut got = Vec::new();
    let _ = raw.stream.read_to_end(&mut got);
    assert!(got.len() < 8 << 20, "{} bytes arrived", got.len());
    // The limit is checked as each reply is added, so the pipeline stops
    // at the GET that crosses it, long before its 300 GETs. Redis 7.0.15
    // runs exactly 17 here: it executes the whole read before writing
    // anything, and 17 * 65545 - 16384 >= 1 MB. This server writes every
    // 64 KB of reply as it goes while the socket takes it (see
    // REPLY_BATCH_BYTES in connection.rs), so the kernel's socket buffers
    // absorb a few MB first and the GET that crosses the limit comes
    // later; what the server itself holds never passes the limit by more
    // than one reply.
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut admin)
        .unwrap();
    let calls: usize = stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .expect("GET ran");
    assert!((17..300).contains(&calls), "{stats}");
}

#[test]
fn a_normal_client_past_the_soft_limit_for_its_seconds_is_closed() {
    let server = start();
    let mut admin = conn(&server);
    set_big_value(&mut admin);
    // No hard limit: only the soft rule can close it.
    config_set(&mut admin, "client-output-buffer-limit", "normal 0 256kb 1");
    let (mut raw, id) = greedy_reader(&server, 100);
    // Redis checks the soft limit when output is added, so keep asking.
    eventually("the client to be closed", || {
        let _ = std::io::Write::write_all(&mut raw.stream, &resp(&[b"GET", b"big"]));
        std::thread::sleep(Duration::from_millis(50));
        line_of(&client_list(&mut admin), id).is_none()
    });
}

// ---------------------------------------------------------------------
// maxclients
// ---------------------------------------------------------------------

#[test]
fn the_connection_past_maxclients_gets_redis_error_and_is_closed() {
    let server = start_with(|c| c.maxclients = 2);
    let mut first = conn(&server);
    let second = Raw::connect(&server);
    let mut third = Raw::connect(&server);
    assert_eq!(
        third.read_exact_len(usize::MAX),
        b"-ERR max number of clients reached\r\n"
    );
    let info: String = redis::cmd("INFO").arg("stats").query(&mut first).unwrap();
    assert!(info.contains("rejected_connections:1\r\n"), "{info}");
    // A freed slot is usable again.
    drop(second);
    eventually("the second client to go", || {
        client_list(&mut first).lines().count() == 1
    });
    let mut fourth = Raw::connect(&server);
    fourth.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

// ---------------------------------------------------------------------
// timeout
// ---------------------------------------------------------------------

#[test]
fn timeout_closes_idle_clients_but_not_subscribers_or_blocked_clients() {
    let server = start();
    let mut admin = conn(&server);
    // These two wait longer than the idle one below: when the cron closes
    // the idle one, it has looked at them in the same pass.
    let mut subscriber = Raw::connect(&server);
    subscriber.send(&resp(&[b"SUBSCRIBE", b"news"]));
    let confirm = "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n";
    assert_eq!(text(&subscriber.read_exact_len(confirm.len())), confirm);
    let mut blocked = Raw::connect(&server);
    blocked.send(&resp(&[b"BLPOP", b"queue", b"0"]));
    eventually("the BLPOP to park", || {
        client_list(&mut admin).contains("cmd=blpop")
    });
    let mut idle = Raw::connect(&server);
    idle.roundtrip(b"PING\r\n", b"+PONG\r\n");
    config_set(&mut admin, "timeout", "1");
    // The admin connection stays busy, so only `idle` is idle.
    eventually("the idle client to be closed", || {
        client_list(&mut admin).lines().count() == 3
    });
    assert!(idle.is_closed());
    // The subscriber still gets messages; the blocked client is served.
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg("hi")
        .query(&mut admin)
        .unwrap();
    assert_eq!(receivers, 1);
    let message = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
    assert_eq!(text(&subscriber.read_exact_len(message.len())), message);
    let _: i64 = redis::cmd("LPUSH")
        .arg("queue")
        .arg("job")
        .query(&mut admin)
        .unwrap();
    let served = "*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n";
    assert_eq!(text(&blocked.read_exact_len(served.len())), served);
}

// ---------------------------------------------------------------------
// tcp-keepalive
// ---------------------------------------------------------------------

/// The keepalive settings of the server's end of `raw`, read with
/// `getsockopt` on the fd CLIENT INFO names: (SO_KEEPALIVE, TCP_KEEPIDLE,
/// TCP_KEEPINTVL, TCP_KEEPCNT).
#[cfg(target_os = "linux")]
fn server_side_keepalive(raw: &mut Raw) -> (i32, i32, i32, i32) {
    raw.send(&resp(&[b"CLIENT", b"INFO"]));
    let mut reply = Vec::new();
    while !reply.ends_with(b"\n\r\n") {
        reply.extend(raw.read_exact_len(1));
    }
    let info = String::from_utf8(reply).unwrap();
    let fd: i32 = field(&info, "fd").parse().unwrap();
    let get = |level: i32, option: i32| {
        let mut value: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `fd` is open while `raw` is connected; `value` and
        // `len` are live locals of the sizes passed.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                level,
                option,
                &mut value as *mut libc::c_int as *mut libc::c_void,
                &mut len,
            )
        };
        assert_eq!(rc, 0, "getsockopt on fd {fd}");
        value
    };
    (
        get(libc::SOL_SOCKET, libc::SO_KEEPALIVE),
        get(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
        get(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
        get(libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
    )
}

#[cfg(target_os = "linux")]
#[test]
fn tcp_keepalive_sets_idle_interval_and_count_like_redis() {
    let server = start();
    let mut admin = conn(&server);
    // The default, 300: probe after 300 s, then every 100 s, 3 times.
    let mut raw = Raw::connect(&server);
    assert_eq!(server_side_keepalive(&mut raw), (1, 300, 100, 3));
    // A new value applies to the next connection.
    config_set(&mut admin, "tcp-keepalive", "7");
    let mut raw = Raw::connect(&server);
    assert_eq!(server_side_keepalive(&mut raw), (1, 7, 2, 3));
    config_set(&mut admin, "tcp-keepalive", "2");
    let mut raw = Raw::connect(&server);
    // 2 / 3 rounds down to 0; the interval is at least 1 s.
    assert_eq!(server_side_keepalive(&mut raw), (1, 2, 1, 3));
    // 0 turns it off.
    config_set(&mut admin, "tcp-keepalive", "0");
    let mut raw = Raw::connect(&server);
    assert_eq!(server_side_keepalive(&mut raw).0, 0);
}

// ---------------------------------------------------------------------
// proto-max-bulk-len
// ---------------------------------------------------------------------

#[test]
fn proto_max_bulk_len_bounds_a_bulk_and_can_be_lowered() {
    let server = start();
    let mut admin = conn(&server);
    config_set(&mut admin, "proto-max-bulk-len", "1mb");
    let mut raw = Raw::connect(&server);
    raw.roundtrip(
        b"*1\r\n$1048577\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    assert!(raw.is_closed());
    // Exactly the limit is accepted.
    let mut raw = Raw::connect(&server);
    let value = vec![b'x'; 1 << 20];
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n");
    raw.send(&value);
    raw.roundtrip(b"\r\n", b"+OK\r\n");
}
