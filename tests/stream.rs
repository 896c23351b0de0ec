//! Streams through real clients: every reply and error below was taken
//! from Debian's redis-server 7.0.15. The interop tests load our RDB with
//! streams and groups into real Redis (and its into ours) and compare
//! XINFO STREAM FULL; they skip with a message when redis-server is not
//! installed, unless REDIS_ANATOMY_REQUIRE_INTEROP is set.

mod common;
use common::*;

use redis::{Connection, Value};
use redis_anatomy::server::Config;

fn q(c: &mut Connection, line: &str) -> Value {
    let mut cmd = redis::cmd(line.split(' ').next().unwrap());
    for w in line.split(' ').skip(1) {
        cmd.arg(w);
    }
    cmd.query(c)
        .unwrap_or_else(|e| Value::SimpleString(format!("ERR:{e}")))
}

/// The error text of `line`, as Redis sends it (code and message).
fn err(c: &mut Connection, line: &str) -> String {
    let mut cmd = redis::cmd(line.split(' ').next().unwrap());
    for w in line.split(' ').skip(1) {
        cmd.arg(w);
    }
    match cmd.query::<Value>(c) {
        Err(e) => {
            let code = e.code().unwrap_or("");
            let detail = e.detail().unwrap_or("");
            format!("{code} {detail}")
        }
        Ok(v) => panic!("{line}: expected an error, got {v:?}"),
    }
}

fn s(x: &str) -> Value {
    Value::BulkString(x.as_bytes().to_vec())
}

fn entry(id: &str, fields: &[&str]) -> Value {
    Value::Array(vec![
        s(id),
        Value::Array(fields.iter().map(|f| s(f)).collect()),
    ])
}

#[test]
fn xadd_resolves_ids_and_rejects_what_redis_rejects() {
    let server = start();
    let mut c = conn(&server);
    assert_eq!(q(&mut c, "XADD s 1-1 a 1 b 2"), s("1-1"));
    assert_eq!(q(&mut c, "XADD s 1-* c 5"), s("1-2"));
    assert_eq!(q(&mut c, "XADD s 2 a 1"), s("2-0"));
    assert_eq!(
        err(&mut c, "XADD s 1-5 a 1"),
        "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    );
    assert_eq!(
        err(&mut c, "XADD s 0-0 a 1"),
        "ERR The ID specified in XADD must be greater than 0-0"
    );
    assert_eq!(
        err(&mut c, "XADD s abc a 1"),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(
        err(&mut c, "XADD s 3-1 a"),
        "ERR wrong number of arguments for 'xadd' command"
    );
    assert_eq!(
        err(&mut c, "XADD s MAXLEN 10 LIMIT 10 6-2 a b"),
        "ERR syntax error, LIMIT cannot be used without the special ~ option"
    );
    assert_eq!(
        err(&mut c, "XADD s MINID 5 MAXLEN 3 6-2 a b"),
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
    );
    assert_eq!(
        err(&mut c, "XADD s MAXLEN -1 6-2 a b"),
        "ERR The MAXLEN argument must be >= 0."
    );
    assert_eq!(q(&mut c, "XADD nokey NOMKSTREAM 4-1 a b"), Value::Nil);
    assert_eq!(q(&mut c, "EXISTS nokey"), Value::Int(0));
    // `*` after a future explicit ID continues from it.
    assert_eq!(
        q(&mut c, "XADD t 99999999999999-5 a b"),
        s("99999999999999-5")
    );
    assert_eq!(q(&mut c, "XADD t * a b"), s("99999999999999-6"));
    assert_eq!(q(&mut c, "TYPE s"), Value::SimpleString("stream".into()));
    assert_eq!(q(&mut c, "OBJECT ENCODING s"), s("stream"));
    q(&mut c, "SET str x");
    assert_eq!(
        err(&mut c, "XADD str * a b"),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn xrange_and_xrevrange_honour_exclusive_bounds_and_count() {
    let server = start();
    let mut c = conn(&server);
    for i in 1..=5 {
        q(&mut c, &format!("XADD s {i}-0 n {i}"));
    }
    assert_eq!(
        q(&mut c, "XRANGE s (2 4 COUNT 5"),
        Value::Array(vec![entry("3-0", &["n", "3"]), entry("4-0", &["n", "4"])])
    );
    assert_eq!(
        q(&mut c, "XREVRANGE s + - COUNT 2"),
        Value::Array(vec![entry("5-0", &["n", "5"]), entry("4-0", &["n", "4"])])
    );
    assert_eq!(q(&mut c, "XRANGE s - + COUNT 0"), Value::Nil);
    assert_eq!(q(&mut c, "XRANGE nokey - +"), Value::Array(vec![]));
    assert_eq!(
        err(&mut c, "XRANGE s - (0-0"),
        "ERR invalid end ID for the interval"
    );
    assert_eq!(
        err(&mut c, "XRANGE s (- +"),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(err(&mut c, "XRANGE s - + FOO"), "ERR syntax error");
}

#[test]
fn xdel_and_xtrim_keep_length_first_id_and_node_counters() {
    let server = start_with(|c: &mut Config| c.stream_node_max_entries = 3);
    let mut c = conn(&server);
    for i in 1..=10 {
        q(&mut c, &format!("XADD s {i}-0 f v"));
    }
    assert_eq!(q(&mut c, "XDEL s 1-0 9-9 1-0"), Value::Int(1));
    assert_eq!(q(&mut c, "XLEN s"), Value::Int(9));
    // `~` removes only whole nodes: the first (2 live of 3) goes.
    assert_eq!(q(&mut c, "XTRIM s MAXLEN ~ 5"), Value::Int(2));
    assert_eq!(q(&mut c, "XTRIM s MAXLEN 5"), Value::Int(2));
    assert_eq!(q(&mut c, "XTRIM s MINID 7"), Value::Int(1));
    assert_eq!(
        q(&mut c, "XRANGE s - + COUNT 1"),
        Value::Array(vec![entry("7-0", &["f", "v"])])
    );
    assert_eq!(
        err(&mut c, "XTRIM s"),
        "ERR wrong number of arguments for 'xtrim' command"
    );
    assert_eq!(err(&mut c, "XTRIM s FOO 1"), "ERR syntax error");
    // The stream stays even when empty, as in Redis.
    assert_eq!(q(&mut c, "XTRIM s MAXLEN 0"), Value::Int(4));
    assert_eq!(q(&mut c, "EXISTS s"), Value::Int(1));
}

#[test]
fn consumer_groups_deliver_track_and_acknowledge() {
    let server = start();
    let mut c = conn(&server);
    for i in 1..=3 {
        q(&mut c, &format!("XADD s {i}-0 f {i}"));
    }
    assert_eq!(q(&mut c, "XGROUP CREATE s g 0"), Value::Okay);
    assert_eq!(
        err(&mut c, "XGROUP CREATE s g $"),
        "BUSYGROUP Consumer Group name already exists"
    );
    assert_eq!(
        err(&mut c, "XGROUP CREATE nokey g $"),
        "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."
    );
    let read = q(&mut c, "XREADGROUP GROUP g alice COUNT 2 STREAMS s >");
    assert_eq!(
        read,
        Value::Array(vec![Value::Array(vec![
            s("s"),
            Value::Array(vec![entry("1-0", &["f", "1"]), entry("2-0", &["f", "2"])])
        ])])
    );
    q(&mut c, "XREADGROUP GROUP g bob STREAMS s >");
    // Summary: count, smallest, greatest, holders.
    assert_eq!(
        q(&mut c, "XPENDING s g"),
        Value::Array(vec![
            Value::Int(3),
            s("1-0"),
            s("3-0"),
            Value::Array(vec![
                Value::Array(vec![s("alice"), s("2")]),
                Value::Array(vec![s("bob"), s("1")])
            ])
        ])
    );
    assert_eq!(q(&mut c, "XACK s g 1-0 9-9"), Value::Int(1));
    assert_eq!(
        q(&mut c, "XCLAIM s g bob 0 2-0 JUSTID"),
        Value::Array(vec![s("2-0")])
    );
    assert_eq!(
        q(&mut c, "XAUTOCLAIM s g carol 0 0 JUSTID"),
        Value::Array(vec![
            s("0-0"),
            Value::Array(vec![s("2-0"), s("3-0")]),
            Value::Array(vec![])
        ])
    );
    assert_eq!(q(&mut c, "XGROUP DELCONSUMER s g carol"), Value::Int(2));
    assert_eq!(
        err(&mut c, "XREADGROUP GROUP nog c STREAMS s >"),
        "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"
    );
    assert_eq!(
        err(&mut c, "XREAD STREAMS s >"),
        "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."
    );
}

#[test]
fn xinfo_stream_reports_redis_counters_and_rax_shape() {
    let server = start_with(|c: &mut Config| c.stream_node_max_entries = 3);
    let mut c = conn(&server);
    for id in ["1-1", "1-2", "1-3", "2-1", "300-1", "70000-1", "70000-2"] {
        q(&mut c, &format!("XADD s {id} a 1"));
    }
    q(&mut c, "XDEL s 1-2");
    let Value::Array(info) = q(&mut c, "XINFO STREAM s") else {
        panic!()
    };
    let field = |name: &str| {
        let at = info.iter().position(|v| *v == s(name)).unwrap();
        info[at + 1].clone()
    };
    // Real Redis 7.0.15 on the same commands.
    assert_eq!(field("length"), Value::Int(6));
    assert_eq!(field("radix-tree-keys"), Value::Int(3));
    assert_eq!(field("radix-tree-nodes"), Value::Int(10));
    assert_eq!(field("last-generated-id"), s("70000-2"));
    assert_eq!(field("max-deleted-entry-id"), s("1-2"));
    assert_eq!(field("entries-added"), Value::Int(7));
    assert_eq!(field("recorded-first-entry-id"), s("1-1"));
    assert_eq!(field("first-entry"), entry("1-1", &["a", "1"]));
    assert_eq!(field("last-entry"), entry("70000-2", &["a", "1"]));
}

#[test]
fn xread_block_is_served_by_the_next_xadd_and_dollar_means_then() {
    let server = start();
    let mut waiter = Wire::connect(&server);
    let mut c = conn(&server);
    q(&mut c, "XADD s 1-0 old x");
    waiter.send(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    // Poll until the waiter is parked.
    for _ in 0..500 {
        let info: String = redis::cmd("INFO").arg("clients").query(&mut c).unwrap();
        if info.contains("blocked_clients:1") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    q(&mut c, "XADD s 2-0 new y");
    assert_eq!(
        waiter.reply(),
        "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$3\r\nnew\r\n$1\r\ny\r\n"
    );
}

/// Park `line` on `waiter` and wait until the server counts it blocked.
fn park(waiter: &mut Wire, c: &mut Connection, line: &[&[u8]]) {
    waiter.send(line);
    wait_blocked_clients(c, 1);
}

/// A blocked XREADGROUP whose stream is deleted, overwritten with another
/// type (directly or inside MULTI), or flushed away is answered with
/// Redis's `-UNBLOCKED` error: its group is gone, no XADD could serve it.
/// A blocked XREAD stays parked and is served by the next stream of that
/// name (both as redis-server 7.0.15 does).
#[test]
fn deleting_a_stream_unblocks_its_group_readers_but_not_plain_readers() {
    let server = start();
    let mut c = conn(&server);
    let read_group: &[&[u8]] = &[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"alice",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ];
    let unblocked = "-UNBLOCKED the stream key no longer exists\r\n";
    let ways: &[&[&str]] = &[
        &["DEL s"],
        &["SET s v"],
        &["MULTI", "DEL s", "SADD s e1", "EXEC"],
        &["FLUSHALL"],
    ];
    for way in ways {
        q(&mut c, "DEL s");
        q(&mut c, "XADD s 666 f v");
        q(&mut c, "XGROUP CREATE s g $");
        let mut waiter = Wire::connect(&server);
        park(&mut waiter, &mut c, read_group);
        for line in *way {
            q(&mut c, line);
        }
        assert_eq!(waiter.reply(), unblocked, "after {way:?}");
    }
    let errorstats: String = redis::cmd("INFO").arg("errorstats").query(&mut c).unwrap();
    assert!(
        errorstats.contains("errorstat_UNBLOCKED:count=4"),
        "{errorstats}"
    );

    // XREAD survives the deletion and takes the new stream's entry.
    q(&mut c, "DEL s");
    q(&mut c, "XADD s 666 f v");
    let mut waiter = Wire::connect(&server);
    park(
        &mut waiter,
        &mut c,
        &[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"],
    );
    q(&mut c, "DEL s");
    q(&mut c, "XADD s 667 f v");
    assert_eq!(
        waiter.reply(),
        "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$5\r\n667-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
}

#[test]
fn digest_value_equals_redis() {
    let server = start_with(|c: &mut Config| {
        c.enable_debug_command = redis_anatomy::server::config::ProtectedAction::Yes
    });
    let mut c = conn(&server);
    q(&mut c, "XADD s 1-1 a 1 b 2");
    q(&mut c, "XADD s 1-2 a 3 b 4");
    q(&mut c, "XADD s 2-0 c 5");
    // DEBUG DIGEST-VALUE s on Redis 7.0.15 after the same three XADDs.
    let got: Vec<String> = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg("s")
        .query(&mut c)
        .unwrap();
    let real = digest_from_real_redis();
    if let Some(real) = real {
        assert_eq!(got[0], real);
    }
    assert_eq!(got[0].len(), 40);
}

fn digest_from_real_redis() -> Option<String> {
    interop_tool("redis-server")?;
    let real = RealRedis::start(&scratch_dir(), &["--enable-debug-command", "yes"]);
    let mut c = real.conn();
    q(&mut c, "XADD s 1-1 a 1 b 2");
    q(&mut c, "XADD s 1-2 a 3 b 4");
    q(&mut c, "XADD s 2-0 c 5");
    let v: Vec<String> = redis::cmd("DEBUG")
        .arg("DIGEST-VALUE")
        .arg("s")
        .query(&mut c)
        .unwrap();
    Some(v[0].clone())
}

/// Streams with deletions, several nodes, two groups, pending entries and
/// an idle consumer: everything the RDB format carries.
fn populate(c: &mut Connection) {
    q(c, "CONFIG SET stream-node-max-entries 3");
    for i in 1..=11 {
        q(c, &format!("XADD s {i}-1 f v{i} n {i}"));
    }
    q(c, "XADD s 20-1 other x");
    q(c, "XDEL s 3-1 5-1");
    q(c, "XGROUP CREATE s g1 0");
    q(c, "XGROUP CREATE s g2 $");
    q(c, "XREADGROUP GROUP g1 alice COUNT 4 STREAMS s >");
    q(c, "XREADGROUP GROUP g1 bob COUNT 2 STREAMS s >");
    q(c, "XGROUP CREATECONSUMER s g1 carl");
    q(c, "XADD e 1-1 a b");
    q(c, "XDEL e 1-1");
}

fn full(c: &mut Connection, key: &str) -> Value {
    q(c, &format!("XINFO STREAM {key} FULL"))
}

#[test]
fn our_rdb_with_streams_loads_into_real_redis_and_passes_redis_check_rdb() {
    let (Some(_), Some(check)) = (
        interop_tool("redis-server"),
        interop_tool("redis-check-rdb"),
    ) else {
        return;
    };
    let dir = scratch_dir();
    let ours = {
        let d = dir.clone();
        let server = start_with(move |c: &mut Config| c.dir = d);
        let mut c = conn(&server);
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        (full(&mut c, "s"), full(&mut c, "e"))
    };
    let out = std::process::Command::new(check)
        .arg(dir.join("dump.rdb"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "{text}"
    );
    let real = RealRedis::start(&dir, &["--dbfilename", "dump.rdb"]);
    let mut c = real.conn();
    assert_eq!((full(&mut c, "s"), full(&mut c, "e")), ours);
}

#[test]
fn real_redis_rdb_with_streams_loads_into_ours() {
    let Some(_) = interop_tool("redis-server") else {
        return;
    };
    let dir = scratch_dir();
    let theirs = {
        let real = RealRedis::start(&dir, &["--dbfilename", "dump.rdb"]);
        let mut c = real.conn();
        populate(&mut c);
        let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        (full(&mut c, "s"), full(&mut c, "e"))
    };
    let d = dir.clone();
    let server = start_with(move |c: &mut Config| c.dir = d);
    let mut c = conn(&server);
    assert_eq!((full(&mut c, "s"), full(&mut c, "e")), theirs);
}

#[test]
fn aof_rewrite_commands_rebuild_the_same_stream() {
    let server = start();
    let mut c = conn(&server);
    populate(&mut c);
    let before = full(&mut c, "s");
    let mut commands: Vec<Vec<Vec<u8>>> = Vec::new();
    let dump: Vec<u8> = redis::cmd("DUMP").arg("s").query(&mut c).unwrap();
    let value = redis_anatomy::rdb::load::load_dump_payload(&dump, &Config::default()).unwrap();
    let redis_anatomy::object::Value::Stream(stream) = value else {
        panic!("not a stream")
    };
    redis_anatomy::stream::rewrite_commands(b"copy", &stream, |argv| commands.push(argv.to_vec()));
    q(&mut c, "DEL s");
    for argv in &commands {
        let mut cmd = redis::cmd(std::str::from_utf8(&argv[0]).unwrap());
        for a in &argv[1..] {
            cmd.arg(&a[..]);
        }
        let _: Value = cmd.query(&mut c).unwrap();
    }
    q(&mut c, "RENAME copy s");
    // Replaying XCLAIM makes its consumer "seen" now: only seen-time moves.
    assert_eq!(
        without_seen_time(full(&mut c, "s")),
        without_seen_time(before)
    );
}

fn without_seen_time(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut blank_next = false;
            for item in items {
                if blank_next {
                    out.push(Value::Nil);
                    blank_next = false;
                    continue;
                }
                blank_next = item == s("seen-time");
                out.push(without_seen_time(item));
            }
            Value::Array(out)
        }
        other => other,
    }
}
