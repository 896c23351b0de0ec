//! Serving while blocked: `-LOADING` during a slowed load, `-BUSY` while a
//! job holds the server (ANATOMY BUSY stands in for a slow script), the
//! MULTI/EXEC rules, connections made and dropped meanwhile.
//! Replies were checked against Redis 7.0.15 (loading: a 100,000-key
//! dump.rdb with `key-load-delay 100`).

mod common;
use common::*;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use redis_anatomy::server::config::ProtectedAction;
use redis_anatomy::server::{spawn_loading, Config, ServerHandle};

const LOADING: &str = "-LOADING Redis is loading the dataset in memory\r\n";
const BUSY_EVAL: &str =
    "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
const BUSY_FUNCTION: &str =
    "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";

/// A dump.rdb of `keys` keys in a fresh directory.
fn rdb_with_keys(keys: usize) -> std::path::PathBuf {
    let server = start();
    let mut w = Wire::connect(&server);
    populate(&mut w, keys);
    assert_eq!(w.cmd("SAVE"), "+OK\r\n");
    let dir = w.cmd("CONFIG GET dir");
    drop(w);
    server.stop();
    let dir = dir.split("\r\n").nth(4).unwrap().to_string();
    std::path::PathBuf::from(dir)
}

/// `key:<i>` = `value:<i>` for i in 0..keys, as DEBUG POPULATE makes them.
fn populate(w: &mut Wire, keys: usize) {
    for chunk in (0..keys).collect::<Vec<_>>().chunks(1000) {
        let mut words: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
        for i in chunk {
            words.push(format!("key:{i}").into_bytes());
            words.push(format!("value:{i}").into_bytes());
        }
        let refs: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        assert_eq!(w.call(&refs), "+OK\r\n");
    }
}

/// A server loading `keys` keys slowly (`key-load-delay` µs per key),
/// serving every 1 KB of the file; returned while the load runs.
fn loading_server(keys: usize, delay_us: i32) -> ServerHandle {
    loading_server_with(keys, delay_us, |_| {})
}

fn loading_server_with(keys: usize, delay_us: i32, f: impl FnOnce(&mut Config)) -> ServerHandle {
    let dir = rdb_with_keys(keys);
    let mut config = Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        save: Vec::new(),
        dir,
        key_load_delay: delay_us,
        loading_process_events_interval_bytes: 1024,
        ..Config::default()
    };
    f(&mut config);
    spawn_loading(config).expect("server starts")
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
}

/// Poll until the load is over (INFO persistence says `loading:0`).
fn wait_loaded(w: &mut Wire) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = w.cmd("INFO persistence");
        if info_field(&info, "loading").as_deref() == Some("0") {
            return;
        }
        assert!(Instant::now() < deadline, "load never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_loading_server_refuses_data_commands_and_serves_loading_ones() {
    let server = loading_server(8_000, 150);
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("GET key:1"), LOADING);
    // PING has no `loading` flag in 7.0.
    assert_eq!(w.cmd("PING"), LOADING);
    assert_eq!(w.cmd("DBSIZE"), LOADING);
    assert_eq!(w.cmd("SELECT 1"), "+OK\r\n");
    assert_eq!(w.cmd("SELECT 0"), "+OK\r\n");
    assert_eq!(
        w.cmd("CONFIG GET maxmemory"),
        "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    assert!(w.cmd("CLIENT ID").starts_with(':'));

    let info = w.cmd("INFO persistence");
    assert_eq!(info_field(&info, "loading").as_deref(), Some("1"), "{info}");
    assert_eq!(info_field(&info, "async_loading").as_deref(), Some("0"));
    let total: u64 = info_field(&info, "loading_total_bytes")
        .unwrap()
        .parse()
        .unwrap();
    let size = std::fs::metadata(std::path::Path::new(&config_dir(&mut w)).join("dump.rdb"))
        .unwrap()
        .len();
    assert_eq!(total, size);
    let loaded: u64 = info_field(&info, "loading_loaded_bytes")
        .unwrap()
        .parse()
        .unwrap();
    assert!(loaded > 0 && loaded < total, "{info}");
    let used_mem: u64 = info_field(&info, "loading_rdb_used_mem")
        .unwrap()
        .parse()
        .unwrap();
    assert!(used_mem > 0, "{info}");
    let perc: f64 = info_field(&info, "loading_loaded_perc")
        .unwrap()
        .parse()
        .unwrap();
    assert!(perc > 0.0 && perc < 100.0, "{info}");
    for f in ["loading_start_time", "loading_eta_seconds"] {
        assert!(info_field(&info, f).unwrap().parse::<i64>().is_ok(), "{f}");
    }

    wait_loaded(&mut w);
    let info = w.cmd("INFO persistence");
    assert_eq!(info_field(&info, "loading_total_bytes"), None);
    assert_eq!(
        info_field(&info, "rdb_last_load_keys_loaded").as_deref(),
        Some("8000")
    );
    assert_eq!(w.cmd("DBSIZE"), ":8000\r\n");
    assert_eq!(w.cmd("GET key:1"), "$7\r\nvalue:1\r\n");
    assert_eq!(w.cmd("PING"), "+PONG\r\n");
}

fn config_dir(w: &mut Wire) -> String {
    let r = w.cmd("CONFIG GET dir");
    r.split("\r\n").nth(4).unwrap().to_string()
}

#[test]
fn config_set_during_loading_refuses_deny_loading_directives() {
    // `dir` is protected: by default that refusal would come first (as in
    // 7.0), so protected configs are allowed here, as Redis's suite does.
    let server = loading_server_with(8_000, 150, |c| {
        c.enable_protected_configs = ProtectedAction::Yes;
    });
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("CONFIG SET loglevel debug"), "+OK\r\n");
    assert_eq!(
        w.cmd("CONFIG GET loglevel"),
        "*2\r\n$8\r\nloglevel\r\n$5\r\ndebug\r\n"
    );
    assert_eq!(
        w.cmd("CONFIG SET dir asdf"),
        "-LOADING Redis is loading the dataset in memory\r\n"
    );
    wait_loaded(&mut w);
}

#[test]
fn a_transaction_during_loading_follows_redis_rules() {
    let server = loading_server(8_000, 150);
    let mut w = Wire::connect(&server);
    // A refused command inside MULTI dooms the transaction; EXEC itself
    // has the `loading` flag and reports the earlier error.
    assert_eq!(w.cmd("MULTI"), "+OK\r\n");
    assert_eq!(w.cmd("GET key:1"), LOADING);
    assert_eq!(
        w.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // Loading-flagged commands queue and run.
    assert_eq!(w.cmd("MULTI"), "+OK\r\n");
    assert_eq!(w.cmd("SELECT 0"), "+QUEUED\r\n");
    assert_eq!(w.cmd("EXEC"), "*1\r\n+OK\r\n");
    wait_loaded(&mut w);
}

#[test]
fn pipelined_commands_during_loading_are_answered_in_order_once_each() {
    let server = loading_server(8_000, 150);
    let mut raw = Raw::connect(&server);
    let mut pipeline = Vec::new();
    for _ in 0..50 {
        pipeline.extend_from_slice(&resp(&[b"GET", b"key:1"]));
        pipeline.extend_from_slice(&resp(&[b"SELECT", b"0"]));
    }
    // The last command arrives in two pieces: the part already sent must
    // be left in the socket, not lost nor run twice.
    let tail = resp(&[b"CLIENT", b"GETNAME"]);
    pipeline.extend_from_slice(&tail[..7]);
    raw.send(&pipeline);
    let mut expected = String::new();
    for _ in 0..50 {
        expected.push_str(LOADING);
        expected.push_str("+OK\r\n");
    }
    let got = raw.read_exact_len(expected.len());
    assert_eq!(text(&got), expected);
    raw.send(&tail[7..]);
    assert_eq!(text(&raw.read_exact_len(5)), "$-1\r\n");
}

#[test]
fn clients_that_disconnect_during_loading_are_freed_during_it() {
    // As Redis's "client freed during loading" test: five clients come
    // and go while the load runs; they are gone before it ends.
    let server = loading_server(16_000, 150);
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("GET key:1"), LOADING);
    let mut leavers = Vec::new();
    for i in 0..5 {
        let mut r = Raw::connect(&server);
        r.roundtrip(
            &resp(&[b"CLIENT", b"SETNAME", format!("leaver{i}").as_bytes()]),
            b"+OK\r\n",
        );
        leavers.push(r);
    }
    assert!(w.cmd("INFO clients").contains("connected_clients:6\r\n"));
    drop(leavers);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = w.cmd("INFO clients");
        if info.contains("connected_clients:1\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "{info}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!w.cmd("CLIENT LIST").contains("leaver"));
    let info = w.cmd("INFO persistence");
    assert_eq!(
        info_field(&info, "loading").as_deref(),
        Some("1"),
        "load ended too soon"
    );
    wait_loaded(&mut w);
    assert!(w.cmd("INFO clients").contains("connected_clients:1\r\n"));
}

#[test]
fn a_client_connected_during_loading_becomes_a_normal_client_after() {
    let server = loading_server(8_000, 150);
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("CLIENT SETNAME early"), "+OK\r\n");
    wait_loaded(&mut w);
    assert_eq!(w.cmd("SET fresh 1"), "+OK\r\n");
    assert_eq!(w.cmd("CLIENT GETNAME"), "$5\r\nearly\r\n");
    // The same connection, now served by its own task, through a client
    // library too.
    let mut c = conn(&server);
    let v: String = redis::cmd("GET").arg("fresh").query(&mut c).unwrap();
    assert_eq!(v, "1");
}

#[test]
fn debug_reload_serves_other_clients_with_loading_errors() {
    let server = start_with(|c| {
        c.enable_debug_command = ProtectedAction::Yes;
        c.key_load_delay = 200;
        c.loading_process_events_interval_bytes = 1024;
    });
    let mut w = Wire::connect(&server);
    populate(&mut w, 5000);
    let mut other = Raw::connect(&server);
    other.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
    w.send(&[b"DEBUG", b"RELOAD"]);
    // While the reload runs (about a second), the other client is told.
    let mut saw_loading = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        other.send(&resp(&[b"GET", b"key:1"]));
        let mut buf = [0u8; 256];
        let n = other.stream.read(&mut buf).unwrap();
        let reply = text(&buf[..n]);
        if reply == LOADING {
            saw_loading = true;
        } else {
            assert_eq!(reply, "$7\r\nvalue:1\r\n");
            if saw_loading {
                break;
            }
        }
    }
    assert!(saw_loading);
    assert_eq!(w.reply(), "+OK\r\n");
    assert_eq!(w.cmd("DBSIZE"), ":5000\r\n");
}

/// Start `ANATOMY BUSY <ms> <kind>` on its own connection; returns it.
fn hold(server: &ServerHandle, ms: u64, kind: &str) -> Wire {
    let mut w = Wire::connect(server);
    w.send(&[
        b"ANATOMY",
        b"BUSY",
        ms.to_string().as_bytes(),
        kind.as_bytes(),
    ]);
    w
}

/// Send until the server answers BUSY (the job has started).
fn until_busy(w: &mut Wire, expect: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = w.cmd("GET k");
        if r == expect {
            return;
        }
        if Instant::now() > deadline {
            panic!("never busy: {r}");
        }
    }
}

#[test]
fn a_busy_script_allows_only_allow_busy_commands() {
    let server = start();
    let mut holder = hold(&server, 1500, "EVAL");
    // Connected just as the job starts: served all the same.
    let mut w = Wire::connect(&server);
    until_busy(&mut w, BUSY_EVAL);
    assert_eq!(w.cmd("PING"), BUSY_EVAL);
    assert_eq!(w.cmd("INFO"), BUSY_EVAL);
    assert_eq!(w.cmd("UNWATCH"), "+OK\r\n");
    assert!(w.cmd("HELLO 2").starts_with("*14\r\n"));
    // MULTI is allowed; a refused command inside dooms the transaction,
    // and EXEC (not allow_busy) is refused with EXECABORT.
    assert_eq!(w.cmd("MULTI"), "+OK\r\n");
    assert_eq!(w.cmd("SET k v"), BUSY_EVAL);
    assert_eq!(
        w.cmd("EXEC"),
        "-EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    // After EXECABORT the transaction is gone.
    assert_eq!(w.cmd("DISCARD"), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(holder.reply(), "+OK\r\n");
    assert_eq!(w.cmd("PING"), "+PONG\r\n");
    let stats = w.cmd("INFO commandstats");
    assert!(stats.contains("cmdstat_ping:calls=1,usec="), "{stats}");
    assert!(
        stats.contains(",rejected_calls=1,failed_calls=0\r\ncmdstat_hello:"),
        "{stats}"
    );
    assert!(stats.contains("cmdstat_info:calls=0,"), "{stats}");
}

#[test]
fn a_busy_function_names_function_kill() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("GET k"), "$-1\r\n");
    let mut holder = hold(&server, 800, "FUNCTION");
    until_busy(&mut w, BUSY_FUNCTION);
    assert_eq!(w.cmd("DISCARD"), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(holder.reply(), "+OK\r\n");
}

#[test]
fn clients_connecting_and_leaving_while_busy() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("GET k"), "$-1\r\n");
    let mut holder = hold(&server, 1500, "EVAL");
    until_busy(&mut w, BUSY_EVAL);
    // A new connection is accepted and answered while the job runs.
    let mut fresh = Wire::connect(&server);
    assert_eq!(fresh.cmd("GET k"), BUSY_EVAL);
    assert_eq!(fresh.cmd("CLIENT SETNAME newcomer"), BUSY_EVAL);
    let mut leaver = Wire::connect(&server);
    assert_eq!(leaver.cmd("GET k"), BUSY_EVAL);
    drop(leaver);
    // A client that sends a half command keeps its bytes for later.
    let mut half = Raw::connect(&server);
    let set = resp(&[b"SET", b"half", b"done"]);
    half.send(&set[..10]);
    assert_eq!(holder.reply(), "+OK\r\n");
    half.send(&set[10..]);
    assert_eq!(text(&half.read_exact_len(5)), "+OK\r\n");
    assert_eq!(fresh.cmd("GET half"), "$4\r\ndone\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = w.cmd("INFO clients");
        // holder, w, fresh, half.
        if info.contains("connected_clients:4\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "{info}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn pending_output_keeps_its_order_when_written_while_busy() {
    let server = start();
    let mut sub = Raw::connect(&server);
    sub.roundtrip(
        &resp(&[b"SUBSCRIBE", b"ch"]),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("GET k"), "$-1\r\n");
    let mut holder = hold(&server, 600, "EVAL");
    until_busy(&mut w, BUSY_EVAL);
    // The subscriber's own PING is refused in order.
    sub.send(&resp(&[b"PING"]));
    let got = sub.read_exact_len(BUSY_EVAL.len());
    assert_eq!(text(&got), BUSY_EVAL);
    assert_eq!(holder.reply(), "+OK\r\n");
    assert_eq!(w.cmd("PUBLISH ch hi"), ":1\r\n");
    let msg = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
    assert_eq!(sub.read_exact_len(msg.len()), msg);
    let _ = sub.stream.flush();
}

#[test]
fn an_aof_load_with_an_rdb_base_answers_loading_too() {
    let server = start_with(|c| c.appendonly = true);
    let mut w = Wire::connect(&server);
    populate(&mut w, 8_000);
    assert_eq!(
        w.cmd("BGREWRITEAOF"),
        "+Background append only file rewriting started\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&w.cmd("INFO persistence"), "aof_rewrite_in_progress").as_deref() != Some("0")
        || info_field(&w.cmd("INFO persistence"), "aof_rewrite_scheduled").as_deref() != Some("0")
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    // One more write lands in the incremental file, after the base.
    assert_eq!(w.cmd("SET after base"), "+OK\r\n");
    let dir = config_dir(&mut w);
    drop(w);
    server.stop();

    let server = spawn_loading(Config {
        port: 0,
        bind: vec!["127.0.0.1".into()],
        save: Vec::new(),
        dir: dir.into(),
        appendonly: true,
        key_load_delay: 150,
        loading_process_events_interval_bytes: 1024,
        ..Config::default()
    })
    .expect("server starts");
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("GET after"), LOADING);
    let info = w.cmd("INFO persistence");
    assert_eq!(info_field(&info, "loading").as_deref(), Some("1"), "{info}");
    wait_loaded(&mut w);
    assert_eq!(w.cmd("DBSIZE"), ":8001\r\n");
    assert_eq!(w.cmd("GET after"), "$4\r\nbase\r\n");
}

#[test]
fn shutdown_while_busy_needs_nosave() {
    let server = start();
    let mut w = Wire::connect(&server);
    assert_eq!(w.cmd("GET k"), "$-1\r\n");
    let mut holder = hold(&server, 5000, "EVAL");
    until_busy(&mut w, BUSY_EVAL);
    assert_eq!(w.cmd("SHUTDOWN"), BUSY_EVAL);
    assert_eq!(w.cmd("SHUTDOWN SAVE"), BUSY_EVAL);
    // NOSAVE stops the job and the server.
    w.send(&[b"SHUTDOWN", b"NOSAVE"]);
    let mut rest = Vec::new();
    let _ = w.reader.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{}", text(&rest));
    holder.set_read_timeout(Some(Duration::from_secs(10)));
    let mut tail = Vec::new();
    let _ = holder.reader.read_to_end(&mut tail);
}
