//! MULTI/EXEC/WATCH with real clients: queueing, EXECABORT, no rollback,
//! and every way a WATCH is invalidated.
//!
//! MULTI with a blocking command (BLPOP answering nil at once inside EXEC)
//! is not tested here: this branch has no list type yet. `can_block()` is
//! false while EXEC runs; the lists chapter's tests cover it.

mod common;
use common::*;

use redis::Value;

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap()
}

fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(c) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected an error from {args:?}, got {v:?}"),
    }
}

/// WATCH `key` on `a`, let `touch` act, then try a transaction on `a`:
/// returns true if EXEC ran (false: it answered nil).
fn exec_survives(
    a: &mut redis::Connection,
    key: &str,
    touch: impl FnOnce(&mut redis::Connection),
) -> bool {
    let _: () = q(a, &["WATCH", key]);
    touch(a);
    let _: () = q(a, &["MULTI"]);
    let queued: String = q(a, &["SET", "witness", "1"]);
    assert_eq!(queued, "QUEUED");
    match q::<Value>(a, &["EXEC"]) {
        Value::Nil => false,
        Value::Array(replies) => {
            assert_eq!(replies, vec![Value::Okay]);
            true
        }
        other => panic!("EXEC replied {other:?}"),
    }
}

#[test]
fn queued_commands_run_in_order_and_reply_as_an_array() {
    let server = start();
    let mut c = conn(&server);
    let _: () = q(&mut c, &["MULTI"]);
    let queued: Vec<String> = vec![
        q(&mut c, &["SET", "n", "1"]),
        q(&mut c, &["INCR", "n"]),
        q(&mut c, &["GET", "n"]),
    ];
    assert_eq!(queued, ["QUEUED"; 3]);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert_eq!(list, "QUEUED", "CLIENT LIST is queued too");
    let replies: Value = q(&mut c, &["EXEC"]);
    let Value::Array(replies) = replies else {
        panic!()
    };
    assert_eq!(replies[0], Value::Okay);
    assert_eq!(replies[1], Value::Int(2));
    assert_eq!(replies[2], Value::BulkString(b"2".to_vec()));
    let Value::BulkString(list) = &replies[3] else {
        panic!("{replies:?}")
    };
    let list = String::from_utf8_lossy(list);
    assert!(
        list.contains(" flags=x ") && list.contains(" multi=4 "),
        "{list}"
    );
    assert!(list.contains(" cmd=exec "), "{list}");
}

#[test]
fn transaction_errors_have_redis_texts() {
    let server = start();
    let mut c = conn(&server);
    assert!(err(&mut c, &["EXEC"]).contains("EXEC without MULTI"));
    assert!(err(&mut c, &["DISCARD"]).contains("DISCARD without MULTI"));
    let _: () = q(&mut c, &["MULTI"]);
    assert!(err(&mut c, &["MULTI"]).contains("MULTI calls can not be nested"));
    assert!(err(&mut c, &["WATCH", "k"]).contains("WATCH inside MULTI is not allowed"));
    // Errors of MULTI and WATCH themselves do not doom the transaction.
    let replies: Value = q(&mut c, &["EXEC"]);
    assert_eq!(replies, Value::Array(vec![]));
}

#[test]
fn a_command_rejected_while_queueing_aborts_exec() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"SET", b"k", b"v"]), b"+QUEUED\r\n");
    raw.roundtrip(
        &resp(&[b"NOSUCH"]),
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
    );
    raw.roundtrip(
        &resp(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
    raw.roundtrip(&resp(&[b"SET", b"k2", b"v"]), b"+QUEUED\r\n");
    raw.roundtrip(
        &resp(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    raw.roundtrip(&resp(&[b"EXISTS", b"k", b"k2"]), b":0\r\n");
    // no_multi commands are refused and doom it too.
    raw.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    raw.roundtrip(
        &resp(&[b"SHUTDOWN"]),
        b"-ERR Command not allowed inside a transaction\r\n",
    );
    raw.roundtrip(
        &resp(&[b"EXEC"]),
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    // EXEC itself refused (arity) ends the transaction with its reason.
    raw.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    raw.roundtrip(
        &resp(&[b"EXEC", b"x"]),
        b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
    );
    raw.roundtrip(&resp(&[b"EXEC"]), b"-ERR EXEC without MULTI\r\n");
}

#[test]
fn runtime_errors_inside_exec_do_not_roll_back() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"SET", b"k", b"abc"]), b"+QUEUED\r\n");
    raw.roundtrip(&resp(&[b"INCR", b"k"]), b"+QUEUED\r\n");
    raw.roundtrip(&resp(&[b"SET", b"j", b"1"]), b"+QUEUED\r\n");
    raw.roundtrip(&resp(&[b"MONITOR"]), b"+QUEUED\r\n");
    raw.roundtrip(
        &resp(&[b"EXEC"]),
        b"*4\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+OK\r\n\
          -ERR MONITOR isn't allowed for DENY BLOCKING client\r\n",
    );
    raw.roundtrip(
        &resp(&[b"MGET", b"k", b"j"]),
        b"*2\r\n$3\r\nabc\r\n$1\r\n1\r\n",
    );
}

#[test]
fn exec_in_resp3_and_a_failed_watch_reply_null() {
    let server = start();
    let mut raw = Raw::connect(&server);
    raw.send(&resp(&[b"HELLO", b"3"]));
    let mut hello = Vec::new();
    while !hello.ends_with(b"modules\r\n*0\r\n") {
        hello.extend(raw.read_exact_len(1));
    }
    raw.roundtrip(&resp(&[b"WATCH", b"k"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"SET", b"k", b"1"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"GET", b"k"]), b"+QUEUED\r\n");
    raw.roundtrip(&resp(&[b"EXEC"]), b"_\r\n");
    raw.roundtrip(&resp(&[b"MULTI"]), b"+OK\r\n");
    raw.roundtrip(&resp(&[b"GET", b"k"]), b"+QUEUED\r\n");
    raw.roundtrip(&resp(&[b"EXEC"]), b"*1\r\n$1\r\n1\r\n");
}

#[test]
fn an_untouched_watch_lets_exec_run_and_unwatch_forgets() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    assert!(exec_survives(&mut a, "k", |_| {}));
    // Another key changing is not a touch.
    assert!(exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["SET", "other", "1"]);
    }));
    let _: () = q(&mut a, &["WATCH", "k"]);
    let _: () = q(&mut b, &["SET", "k", "1"]);
    let _: () = q(&mut a, &["UNWATCH"]);
    let _: () = q(&mut a, &["MULTI"]);
    let replies: Value = q(&mut a, &["EXEC"]);
    assert_eq!(replies, Value::Array(vec![]));
    // EXEC and DISCARD unwatch as well.
    let _: () = q(&mut a, &["WATCH", "k"]);
    let _: () = q(&mut a, &["MULTI"]);
    let _: () = q(&mut a, &["DISCARD"]);
    let _: () = q(&mut b, &["SET", "k", "2"]);
    assert!(exec_survives(&mut a, "x", |_| {}));
}

#[test]
fn a_write_from_another_client_invalidates_the_watch() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    assert!(!exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["SET", "k", "1"]);
    }));
    // Deleting, expiring (EXPIRE), appending: all writes count.
    assert!(!exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["APPEND", "k", "x"]);
    }));
    assert!(!exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["EXPIRE", "k", "100"]);
    }));
    assert!(!exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["DEL", "k"]);
    }));
    // A write that changes nothing is no touch (DEL of a missing key).
    assert!(exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["DEL", "k"]);
    }));
}

#[test]
fn a_write_from_the_same_client_invalidates_its_own_watch() {
    let server = start();
    let mut a = conn(&server);
    assert!(!exec_survives(&mut a, "k", |a| {
        let _: () = q(a, &["INCR", "k"]);
    }));
    let list: String = q(&mut a, &["CLIENT", "INFO"]);
    assert!(
        list.contains(" flags=N "),
        "dirty flag cleared by EXEC: {list}"
    );
}

#[test]
fn the_watch_is_per_database() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    let _: () = q(&mut b, &["SELECT", "1"]);
    assert!(exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["SET", "k", "1"]);
    }));
}

#[test]
fn expiry_of_a_watched_key_invalidates_the_watch() {
    let server = start_with(|cfg| {
        cfg.enable_debug_command = redis_anatomy::server::config::ProtectedAction::Yes;
    });
    let mut a = conn(&server);
    let mut b = conn(&server);
    let _: () = q(&mut b, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    // Expired by the time EXEC runs, though nobody touched it: Redis 7.0
    // fails the EXEC (isWatchedKeyExpired).
    let _: () = q(&mut b, &["SET", "k", "1", "PX", "20"]);
    assert!(!exec_survives(&mut a, "k", |_| {
        std::thread::sleep(std::time::Duration::from_millis(40));
    }));
    // Deleted by lazy expiry from another client's read: a change too.
    let _: () = q(&mut b, &["SET", "k", "1", "PX", "20"]);
    assert!(!exec_survives(&mut a, "k", |_| {
        std::thread::sleep(std::time::Duration::from_millis(40));
        let v: Option<String> = q(&mut b, &["GET", "k"]);
        assert_eq!(v, None);
    }));
    // A key already expired when WATCHed: its removal changes nothing.
    let _: () = q(&mut b, &["SET", "k", "1", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(10));
    assert!(exec_survives(&mut a, "k", |_| {
        let v: Option<String> = q(&mut b, &["GET", "k"]);
        assert_eq!(v, None);
    }));
}

#[test]
fn flushdb_and_flushall_invalidate_watches_on_existing_keys() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    let _: () = q(&mut b, &["SET", "k", "1"]);
    assert!(!exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["FLUSHDB"]);
    }));
    let _: () = q(&mut b, &["SET", "k", "1"]);
    assert!(!exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["FLUSHALL"]);
    }));
    // Flushing when the watched key does not exist changes nothing for it.
    assert!(exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["FLUSHALL"]);
    }));
}

#[test]
fn swapdb_invalidates_watches_in_both_databases() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    // The key is in db 1 only: after the swap, db 0 has it.
    let _: () = q(&mut b, &["SELECT", "1"]);
    let _: () = q(&mut b, &["SET", "k", "1"]);
    assert!(!exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["SWAPDB", "0", "1"]);
    }));
    // Now db 0 has it, and SWAPDB takes it away.
    assert!(!exec_survives(&mut a, "k", |_| {
        let _: () = q(&mut b, &["SWAPDB", "0", "1"]);
    }));
    // Neither has the key: no change.
    assert!(exec_survives(&mut a, "nokey", |_| {
        let _: () = q(&mut b, &["SWAPDB", "0", "1"]);
    }));
}

#[test]
fn rename_invalidates_both_keys() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    let _: () = q(&mut b, &["SET", "src", "1"]);
    assert!(!exec_survives(&mut a, "src", |_| {
        let _: () = q(&mut b, &["RENAME", "src", "dst"]);
    }));
    assert!(!exec_survives(&mut a, "src2", |_| {
        let _: () = q(&mut b, &["RENAME", "dst", "src2"]);
    }));
}

#[test]
fn watch_state_is_dropped_on_disconnect_and_reset() {
    let server = start();
    let mut a = conn(&server);
    let _: () = q(&mut a, &["WATCH", "k"]);
    let _: () = q(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "k", "1"]);
    let reset: String = q(&mut a, &["RESET"]);
    assert_eq!(reset, "RESET");
    assert!(err(&mut a, &["EXEC"]).contains("EXEC without MULTI"));
    drop(a);
    // A write to a key once watched by a closed client is harmless.
    let mut b = conn(&server);
    let _: () = q(&mut b, &["SET", "k", "2"]);
    assert!(exec_survives(&mut b, "k", |_| {}));
}
