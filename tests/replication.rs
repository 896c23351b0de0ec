//! Replication, the primary's side: SYNC and PSYNC through a raw socket
//! (the exact stream shape Redis's test suite asserts), the backlog's
//! partial resync, WAIT, the replica output buffer limit, and a real
//! `redis-server --replicaof` following us (skipped with a message when
//! redis-server is missing, unless REDIS_ANATOMY_REQUIRE_INTEROP is set).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::datasets::{wait_for_equal, workload};
use common::*;
use redis::Commands;

/// A server that does not PING its replicas during a test (the period is
/// an hour), so a stream can be compared byte for byte.
fn quiet() -> redis_anatomy::server::ServerHandle {
    start_with(|cfg| cfg.repl_ping_replica_period = 3600)
}

/// A replica speaking the protocol by hand.
struct FakeReplica {
    stream: TcpStream,
    /// Bytes read but not consumed yet.
    pending: Vec<u8>,
}

impl FakeReplica {
    fn connect(server: &redis_anatomy::server::ServerHandle) -> FakeReplica {
        let stream = TcpStream::connect(server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        FakeReplica {
            stream,
            pending: Vec::new(),
        }
    }

    fn send(&mut self, args: &[&[u8]]) {
        self.stream.write_all(&resp(args)).unwrap();
    }

    fn fill(&mut self) {
        let mut buf = [0u8; 65536];
        let n = self.stream.read(&mut buf).expect("read");
        assert!(n > 0, "the server closed the link");
        self.pending.extend_from_slice(&buf[..n]);
    }

    /// One line without its CRLF, skipping the keep-alive newlines a
    /// primary sends while the RDB is being made.
    fn line(&mut self) -> String {
        loop {
            while self.pending.first() == Some(&b'\n') {
                self.pending.remove(0);
            }
            if let Some(i) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8(self.pending[..i].to_vec()).unwrap();
                self.pending.drain(..i + 2);
                return line;
            }
            self.fill();
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        while self.pending.len() < n {
            self.fill();
        }
        self.pending.drain(..n).collect()
    }

    /// The `$<len>\r\n<rdb>` payload.
    fn rdb(&mut self) -> Vec<u8> {
        let header = self.line();
        let len: usize = header
            .strip_prefix('$')
            .unwrap_or_else(|| panic!("expected $<len>, got {header:?}"))
            .parse()
            .unwrap();
        let rdb = self.bytes(len);
        assert!(
            rdb.starts_with(b"REDIS0010"),
            "{:?}",
            text(&rdb[..9.min(rdb.len())])
        );
        rdb
    }

    /// Exactly the next `expected.len()` stream bytes.
    fn expect_stream(&mut self, expected: &[u8]) {
        let got = self.bytes(expected.len());
        assert_eq!(text(&got), text(expected));
    }

    /// The next command of the stream, as its arguments.
    fn command(&mut self) -> Vec<String> {
        let head = self.line();
        let n: usize = head.strip_prefix('*').unwrap().parse().unwrap();
        (0..n)
            .map(|_| {
                let len: usize = self.line()[1..].parse().unwrap();
                let arg = text(&self.bytes(len));
                self.bytes(2);
                arg
            })
            .collect()
    }
}

/// One command's reply, without the final CRLF.
fn line(w: &mut Wire, command: &str) -> String {
    w.cmd(command).trim_end().to_string()
}

fn cmd_bytes(args: &[&str]) -> Vec<u8> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    resp(&args)
}

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
        .to_string()
}

#[test]
fn sync_sends_the_rdb_then_select_and_every_write_in_order() {
    let server = quiet();
    let mut c = conn(&server);
    let _: () = c.set("before", "1").unwrap();
    assert_eq!(
        info_field(&mut c, "replication", "repl_backlog_active"),
        "0"
    );

    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"SYNC"]);
    // No +FULLRESYNC line for the old SYNC: the payload comes first.
    replica.rdb();

    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    let _: () = c.set("k", "v").unwrap();
    let _: i64 = c.incr("n", 5).unwrap();
    let _: () = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("a")
        .arg("1")
        .cmd("LPUSH")
        .arg("l")
        .arg("x")
        .query(&mut c)
        .unwrap();
    let _: () = c.expire("k", 100).unwrap();
    // A read is not propagated, nor a write that changed nothing.
    let _: Option<String> = c.get("k").unwrap();
    let _: bool = c.set_nx("k", "other").unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
    let _: () = c.del("before").unwrap();

    let mut expected = Vec::new();
    expected.extend(cmd_bytes(&["SELECT", "3"]));
    expected.extend(cmd_bytes(&["SET", "k", "v"]));
    expected.extend(cmd_bytes(&["INCRBY", "n", "5"]));
    expected.extend(cmd_bytes(&["MULTI"]));
    expected.extend(cmd_bytes(&["SET", "a", "1"]));
    expected.extend(cmd_bytes(&["LPUSH", "l", "x"]));
    expected.extend(cmd_bytes(&["EXEC"]));
    let stream_start = expected.len();
    replica.expect_stream(&expected);
    // EXPIRE goes as an absolute PEXPIREAT.
    let pexpireat = replica.command();
    assert_eq!(pexpireat[..2], ["PEXPIREAT", "k"]);
    let mut tail = cmd_bytes(&["SELECT", "0"]);
    tail.extend(cmd_bytes(&["DEL", "before"]));
    replica.expect_stream(&tail);

    // The offsets count exactly the stream bytes (and nothing else).
    let pexpireat_len = cmd_bytes(&pexpireat.iter().map(|s| s.as_str()).collect::<Vec<_>>()).len();
    let total = stream_start + pexpireat_len + tail.len();
    assert_eq!(
        info_field(&mut c, "replication", "master_repl_offset"),
        total.to_string()
    );
    assert_eq!(info_field(&mut c, "replication", "connected_slaves"), "1");
    assert_eq!(
        info_field(&mut c, "replication", "repl_backlog_active"),
        "1"
    );
    assert_eq!(
        info_field(&mut c, "replication", "repl_backlog_histlen"),
        total.to_string()
    );
    assert_eq!(
        info_field(&mut c, "replication", "repl_backlog_first_byte_offset"),
        "1"
    );
    let slave0 = info_field(&mut c, "replication", "slave0");
    assert!(
        slave0.starts_with("ip=127.0.0.1,port=0,state=online,offset=0,lag="),
        "{slave0}"
    );
    assert_eq!(info_field(&mut c, "stats", "sync_full"), "1");
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg("TYPE")
        .arg("replica")
        .query(&mut c)
        .unwrap();
    assert!(
        list.contains(" flags=S ") && list.contains(" cmd=sync "),
        "{list}"
    );
}

#[test]
fn sync_refuses_pending_output_and_a_second_sync_is_ignored() {
    let server = quiet();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(
        b"PING\r\nSYNC\r\n",
        b"+PONG\r\n-ERR SYNC and PSYNC are invalid with pending output\r\n",
    );
    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"SYNC"]);
    replica.rdb();
    replica.send(&[b"SYNC"]);
    let mut c = conn(&server);
    let _: () = c.set("x", "1").unwrap();
    let mut expected = cmd_bytes(&["SELECT", "0"]);
    expected.extend(cmd_bytes(&["SET", "x", "1"]));
    replica.expect_stream(&expected);
    // A flush of an empty db changes nothing here, but goes out anyway.
    let _: () = redis::cmd("SELECT").arg(5).query(&mut c).unwrap();
    let _: () = redis::cmd("FLUSHDB").query(&mut c).unwrap();
    let mut flush = cmd_bytes(&["SELECT", "5"]);
    flush.extend(cmd_bytes(&["FLUSHDB"]));
    replica.expect_stream(&flush);
    // RESTORE with a relative TTL goes out with the absolute one.
    let _: () = c.set("src", "v").unwrap();
    let payload: Vec<u8> = redis::cmd("DUMP").arg("src").query(&mut c).unwrap();
    let _: () = redis::cmd("RESTORE")
        .arg("dst")
        .arg(100000)
        .arg(&payload)
        .query(&mut c)
        .unwrap();
    replica.expect_stream(&cmd_bytes(&["SET", "src", "v"]));
    let restore = replica.command();
    assert_eq!(restore.len(), 5);
    assert_eq!(
        (&restore[..2], &restore[4][..]),
        (&["RESTORE".to_string(), "dst".to_string()][..], "ABSTTL")
    );
    assert!(restore[2].parse::<i64>().unwrap() > 1_600_000_000_000);
}

#[test]
fn psync_continues_from_the_backlog_after_a_disconnect() {
    let server = quiet();
    let mut c = conn(&server);
    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"REPLCONF", b"capa", b"psync2"]);
    assert_eq!(replica.line(), "+OK");
    replica.send(&[b"PSYNC", b"?", b"-1"]);
    let full = replica.line();
    let parts: Vec<&str> = full.split(' ').collect();
    assert_eq!(parts[0], "+FULLRESYNC");
    let replid = parts[1].to_string();
    assert_eq!(replid.len(), 40);
    assert_eq!(replid, info_field(&mut c, "replication", "master_replid"));
    let mut offset: i64 = parts[2].parse().unwrap();
    replica.rdb();

    let _: () = c.set("a", "1").unwrap();
    let first = [cmd_bytes(&["SELECT", "0"]), cmd_bytes(&["SET", "a", "1"])].concat();
    replica.expect_stream(&first);
    offset += first.len() as i64;
    drop(replica);
    eventually("the replica to be gone", || {
        info_field(&mut c, "replication", "connected_slaves") == "0"
    });

    // Writes while it is away stay in the backlog.
    let _: () = c.set("b", "2").unwrap();
    let _: () = c.rpush("l", &["x", "y"]).unwrap();
    let missed = [
        cmd_bytes(&["SET", "b", "2"]),
        cmd_bytes(&["RPUSH", "l", "x", "y"]),
    ]
    .concat();

    let mut back = FakeReplica::connect(&server);
    back.send(&[b"REPLCONF", b"capa", b"psync2"]);
    assert_eq!(back.line(), "+OK");
    let next = (offset + 1).to_string();
    back.send(&[b"PSYNC", replid.as_bytes(), next.as_bytes()]);
    assert_eq!(back.line(), format!("+CONTINUE {replid}"));
    back.expect_stream(&missed);
    // And the live stream goes on, without a SELECT (same db as before).
    let _: () = c.set("c", "3").unwrap();
    back.expect_stream(&cmd_bytes(&["SET", "c", "3"]));
    assert_eq!(info_field(&mut c, "stats", "sync_partial_ok"), "1");

    // An unknown history, or an offset the backlog no longer has: full.
    let mut other = FakeReplica::connect(&server);
    other.send(&[b"PSYNC", &[b'f'; 40], b"1"]);
    assert!(other.line().starts_with("+FULLRESYNC "));
    other.rdb();
    let mut late = FakeReplica::connect(&server);
    late.send(&[b"PSYNC", replid.as_bytes(), b"999999"]);
    assert!(late.line().starts_with("+FULLRESYNC "));
    assert_eq!(info_field(&mut c, "stats", "sync_partial_err"), "2");
}

#[test]
fn wait_returns_once_the_replica_acknowledges_the_write() {
    let server = quiet();
    let mut c = conn(&server);
    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"REPLCONF", b"listening-port", b"6380"]);
    assert_eq!(replica.line(), "+OK");
    replica.send(&[b"PSYNC", b"?", b"-1"]);
    replica.line();
    replica.rdb();

    // Nothing written by this client yet: every replica counts.
    let mut w = Wire::connect(&server);
    assert_eq!(line(&mut w, "WAIT 1 0"), ":1");
    assert_eq!(line(&mut w, "SET k v"), "+OK");
    // Not acknowledged, and never will be: the timeout answers 0.
    assert_eq!(line(&mut w, "WAIT 1 50"), ":0");
    // This WAIT parks until the ACK; the primary asks for one.
    w.send(&[b"WAIT", b"1", b"0"]);
    let mut seen = 0;
    loop {
        let cmd = replica.command();
        seen += 1;
        if cmd == ["REPLCONF", "GETACK", "*"] {
            break;
        }
        assert!(seen < 10, "no GETACK in the stream");
    }
    let offset = info_field(&mut c, "replication", "master_repl_offset");
    replica.send(&[b"REPLCONF", b"ACK", offset.as_bytes()]);
    assert_eq!(w.reply().trim_end(), ":1");
    let mut r = Wire::connect(&server);
    assert_eq!(
        r.cmd("ROLE"),
        format!(
            "*3\r\n$6\r\nmaster\r\n:{offset}\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n\
             $4\r\n6380\r\n${}\r\n{offset}\r\n",
            offset.len()
        )
    );
}

#[test]
fn replconf_answers_like_redis() {
    let server = quiet();
    let mut w = Wire::connect(&server);
    assert_eq!(line(&mut w, "REPLCONF foo"), "-ERR syntax error");
    assert_eq!(
        line(&mut w, "REPLCONF foo bar"),
        "-ERR Unrecognized REPLCONF option: foo"
    );
    assert_eq!(
        line(&mut w, "REPLCONF listening-port x"),
        "-ERR value is not an integer or out of range"
    );
    assert_eq!(
        line(&mut w, "REPLCONF rdb-only 5"),
        "-ERR value is out of range, value must between 0 and 1"
    );
    assert_eq!(
        line(&mut w, "REPLCONF rdb-filter-only x"),
        "-ERR Unsupported rdb-filter-only option: x"
    );
    assert_eq!(line(&mut w, "REPLCONF rdb-filter-only functions"), "+OK");
    assert_eq!(
        line(&mut w, "REPLCONF listening-port 1 capa eof capa psync2"),
        "+OK"
    );
    // ACK from a client that is not a replica: no reply at all.
    w.send(&[b"REPLCONF", b"ACK", b"5"]);
    assert_eq!(line(&mut w, "PING"), "+PONG");
    assert_eq!(
        line(&mut w, "WAIT 0 x"),
        "-ERR timeout is not an integer or out of range"
    );
    assert_eq!(line(&mut w, "WAIT 0 -1"), "-ERR timeout is negative");
    assert_eq!(line(&mut w, "WAIT 0 0"), ":0");
    assert_eq!(line(&mut w, "REPLICAOF NO ONE"), "+OK");
    assert_eq!(line(&mut w, "SLAVEOF no one"), "+OK");
    assert_eq!(
        line(&mut w, "REPLICAOF localhost x"),
        "-ERR Invalid master port"
    );
    // Following a primary (nobody listens there: the link stays down,
    // tests/replica.rs covers the rest), then back to being one.
    assert_eq!(line(&mut w, "REPLICAOF localhost 9999"), "+OK");
    assert_eq!(line(&mut w, "REPLICAOF NO ONE"), "+OK");
}

#[test]
fn a_replica_that_does_not_read_is_disconnected_at_the_output_limit() {
    let server = quiet();
    let mut c = conn(&server);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("replica 1mb 0 0")
        .query(&mut c)
        .unwrap();
    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"SYNC"]);
    replica.rdb();
    assert_eq!(info_field(&mut c, "replication", "connected_slaves"), "1");
    // The replica reads nothing more: 64 MB of writes overflow the
    // socket buffers and then its 1 MB limit.
    let value = vec![b'x'; 1 << 20];
    for i in 0..64 {
        let _: () = c.set(format!("big{i}"), &value).unwrap();
        if info_field(&mut c, "replication", "connected_slaves") == "0" {
            break;
        }
    }
    eventually("the replica to be dropped", || {
        info_field(&mut c, "replication", "connected_slaves") == "0"
    });
}

#[test]
fn the_backlog_is_sized_by_repl_backlog_size() {
    let server = start_with(|cfg| {
        cfg.repl_backlog_size = 16 * 1024;
        cfg.repl_ping_replica_period = 3600;
    });
    let mut c = conn(&server);
    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"SYNC"]);
    replica.rdb();
    let value = vec![b'y'; 1000];
    for i in 0..40 {
        let _: () = c.set(format!("k{i}"), &value).unwrap();
    }
    let offset: i64 = info_field(&mut c, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    assert!(offset > 40_000);
    assert_eq!(
        info_field(&mut c, "replication", "repl_backlog_histlen"),
        "16384"
    );
    assert_eq!(
        info_field(&mut c, "replication", "repl_backlog_first_byte_offset"),
        (offset - 16384 + 1).to_string()
    );
}

// ---- A real redis-server as our replica ----

#[test]
fn a_real_redis_replica_follows_us_and_resumes_with_a_partial_resync() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let server = quiet();
    let mut c = conn(&server);
    // A dataset to transfer in the RDB.
    workload(&mut c, 0);
    let dir = scratch_dir();
    let master_port = server.addr.port().to_string();
    let replica = RealRedis::start(
        &dir,
        &[
            "--replicaof",
            "127.0.0.1",
            &master_port,
            "--enable-debug-command",
            "yes",
        ],
    );
    let mut r = replica.conn();
    eventually("the replica to sync", || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    wait_for_equal(&mut c, &mut r);
    for round in 1..4 {
        workload(&mut c, round);
    }
    wait_for_equal(&mut c, &mut r);
    eventually("the replica to show online", || {
        info_field(&mut c, "replication", "slave0").contains("state=online")
    });

    // Cut the link: the replica comes back with PSYNC and continues.
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut c)
        .unwrap();
    workload(&mut c, 10);
    eventually("a partial resync", || {
        info_field(&mut c, "stats", "sync_partial_ok") == "1"
    });
    workload(&mut c, 11);
    wait_for_equal(&mut c, &mut r);
    assert_eq!(info_field(&mut c, "stats", "sync_full"), "1");
    // The replica's offset reaches ours (it ACKs once a second).
    let ours = info_field(&mut c, "replication", "master_repl_offset");
    eventually("the replica's offset", || {
        info_field(&mut r, "replication", "master_repl_offset") == ours
    });
    assert_eq!(
        info_field(&mut r, "replication", "master_replid"),
        info_field(&mut c, "replication", "master_replid")
    );
    drop(replica);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn anatomy_backlog_reports_the_ring_and_each_replica_offsets() {
    let server = quiet();
    let mut c = conn(&server);
    let snapshot = |c: &mut redis::Connection| -> anatomy_viz_proto::BacklogSnapshot {
        let json: Vec<u8> = redis::cmd("ANATOMY").arg("BACKLOG").query(c).unwrap();
        serde_json::from_slice(&json).unwrap()
    };
    let before = snapshot(&mut c);
    assert!(!before.active && before.replicas.is_empty());
    assert_eq!(before.master_repl_offset, 0);

    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"REPLCONF", b"listening-port", b"7001"]);
    assert_eq!(replica.line(), "+OK");
    replica.send(&[b"PSYNC", b"?", b"-1"]);
    replica.line();
    replica.rdb();
    let _: () = c.set("k", "v").unwrap();
    let stream = [cmd_bytes(&["SELECT", "0"]), cmd_bytes(&["SET", "k", "v"])].concat();
    replica.expect_stream(&stream);
    let offset = stream.len() as i64;
    replica.send(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()]);
    eventually("the ACK", || {
        snapshot(&mut c).replicas[0].ack_offset == offset
    });

    let after = snapshot(&mut c);
    assert!(after.active);
    assert_eq!(
        after.replid,
        info_field(&mut c, "replication", "master_replid")
    );
    assert_eq!(after.master_repl_offset, offset);
    assert_eq!(after.size, 1024 * 1024);
    assert_eq!((after.first_byte_offset, after.histlen), (1, offset as u64));
    assert_eq!(after.write_index, offset as u64);
    let r = &after.replicas[0];
    assert_eq!((r.listening_port, r.state.as_str()), (7001, "online"));
    assert_eq!((r.initial_offset, r.ack_offset), (0, offset));
}

#[test]
fn publish_reaches_the_replicas_as_sent() {
    let server = quiet();
    let mut c = conn(&server);
    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"SYNC"]);
    replica.rdb();
    let _: i64 = redis::cmd("publish")
        .arg("news")
        .arg("hi")
        .query(&mut c)
        .unwrap();
    let _: () = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("k")
        .arg("v")
        .cmd("PUBLISH")
        .arg("news")
        .arg("again")
        .query(&mut c)
        .unwrap();
    let expected = [
        cmd_bytes(&["SELECT", "0"]),
        cmd_bytes(&["publish", "news", "hi"]),
        cmd_bytes(&["MULTI"]),
        cmd_bytes(&["SET", "k", "v"]),
        cmd_bytes(&["PUBLISH", "news", "again"]),
        cmd_bytes(&["EXEC"]),
    ]
    .concat();
    replica.expect_stream(&expected);
}

#[test]
fn a_key_that_expired_before_its_waiter_is_served_goes_out_as_del() {
    let server = start_with(|cfg| {
        cfg.repl_ping_replica_period = 3600;
        cfg.enable_debug_command = redis_anatomy::server::config::ProtectedAction::Yes;
    });
    let mut c = conn(&server);
    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"SYNC"]);
    replica.rdb();
    let _: () = redis::cmd("DEBUG")
        .arg("SET-ACTIVE-EXPIRE")
        .arg(0)
        .query(&mut c)
        .unwrap();
    let mut waiter = Wire::connect(&server);
    waiter.send(&[b"BRPOP", b"k", b"0"]);
    eventually("the waiter to block", || {
        info_field(&mut c, "clients", "blocked_clients") == "1"
    });
    // The key is pushed and expires inside one transaction: when the
    // waiter's turn comes, the key is gone, and the replica is told so.
    let _: () = redis::pipe()
        .atomic()
        .cmd("RPUSH")
        .arg("k")
        .arg("hello")
        .cmd("PEXPIRE")
        .arg("k")
        .arg(1)
        .cmd("DEBUG")
        .arg("SLEEP")
        .arg(0.01)
        .query(&mut c)
        .unwrap();
    let mut head = cmd_bytes(&["SELECT", "0"]);
    head.extend(cmd_bytes(&["MULTI"]));
    head.extend(cmd_bytes(&["RPUSH", "k", "hello"]));
    replica.expect_stream(&head);
    assert_eq!(replica.command()[..2], ["PEXPIREAT", "k"]);
    replica.expect_stream(&[cmd_bytes(&["EXEC"]), cmd_bytes(&["DEL", "k"])].concat());
    assert_eq!(info_field(&mut c, "clients", "blocked_clients"), "1");
}

#[test]
fn min_replicas_to_write_refuses_writes_without_enough_good_replicas() {
    let server = quiet();
    let mut w = Wire::connect(&server);
    assert_eq!(line(&mut w, "CONFIG SET min-replicas-to-write 1"), "+OK");
    let noreplicas = "-NOREPLICAS Not enough good replicas to write.";
    assert_eq!(line(&mut w, "SET k v"), noreplicas);
    assert_eq!(line(&mut w, "GET k"), "$-1");
    // Refused when queued, so EXEC aborts (as Redis's processCommand).
    assert_eq!(line(&mut w, "MULTI"), "+OK");
    assert_eq!(line(&mut w, "SET k v"), noreplicas);
    assert_eq!(
        line(&mut w, "EXEC"),
        "-EXECABORT Transaction discarded because of previous errors."
    );
    let mut c = conn(&server);
    assert_eq!(
        info_field(&mut c, "replication", "min_slaves_good_slaves"),
        "0"
    );
    // A max lag of 0 turns the rule off, and the INFO field with it.
    assert_eq!(line(&mut w, "CONFIG SET min-replicas-max-lag 0"), "+OK");
    assert_eq!(line(&mut w, "SET k v"), "+OK");
    let info: String = redis::cmd("INFO").arg("replication").query(&mut c).unwrap();
    assert!(!info.contains("min_slaves_good_slaves"), "{info}");
    assert_eq!(line(&mut w, "CONFIG SET min-replicas-max-lag 10"), "+OK");
    assert_eq!(line(&mut w, "DEL k"), noreplicas);

    // One replica online (just went online: lag 0) is enough.
    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"PSYNC", b"?", b"-1"]);
    replica.line();
    replica.rdb();
    eventually("the replica online", || {
        info_field(&mut c, "replication", "min_slaves_good_slaves") == "1"
    });
    assert_eq!(line(&mut w, "SET k v"), "+OK");
    assert_eq!(line(&mut w, "MULTI"), "+OK");
    assert_eq!(line(&mut w, "INCR n"), "+QUEUED");
    assert_eq!(line(&mut w, "EXEC"), "*1\r\n:1");
    // Two required, one attached: refused again.
    assert_eq!(line(&mut w, "CONFIG SET min-replicas-to-write 2"), "+OK");
    assert_eq!(line(&mut w, "SET k v"), noreplicas);
}

/// The aux fields a replica restarted from its RDB needs to PSYNC
/// (`rdbSaveInfoAuxFields`): only once there is a backlog, in the full
/// sync's file and in SAVE's; INFO shows the backlog's memory.
#[test]
fn snapshots_carry_the_replication_position_once_there_is_a_backlog() {
    let server = quiet();
    let mut c = conn(&server);
    let aux = |name: &str| [&[0xfa, name.len() as u8][..], name.as_bytes()].concat();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert_eq!(info_field(&mut c, "memory", "mem_replication_backlog"), "0");
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let dir: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("dir")
        .query(&mut c)
        .unwrap();
    let file = Path::new(&dir[1]).join("dump.rdb");
    let before = std::fs::read(&file).unwrap();
    assert!(!contains(&before, &aux("repl-id")));

    let mut replica = FakeReplica::connect(&server);
    replica.send(&[b"PSYNC", b"?", b"-1"]);
    let full = replica.line();
    let replid = full.split(' ').nth(1).unwrap().to_string();
    let rdb = replica.rdb();
    let id_field = [aux("repl-id"), vec![40], replid.clone().into_bytes()].concat();
    assert!(contains(&rdb, &id_field), "{}", text(&rdb));
    assert!(contains(&rdb, &aux("repl-stream-db")));
    assert!(contains(&rdb, &aux("repl-offset")));
    assert_eq!(
        info_field(&mut c, "memory", "mem_replication_backlog"),
        info_field(&mut c, "replication", "repl_backlog_size")
    );

    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).unwrap();
    let _: () = c.set("k", "v").unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    let saved = std::fs::read(&file).unwrap();
    assert!(contains(&saved, &id_field));
    // repl-stream-db is the db the stream last selected: 3, stored as a
    // small integer string (0xc0 = 8-bit integer encoding).
    let db_field = [aux("repl-stream-db"), vec![0xc0, 3]].concat();
    assert!(contains(&saved, &db_field), "{}", text(&saved));
}
