//! The concurrency chapter as tests: two clients racing a read-modify-write
//! on one counter lose an update; WATCH/MULTI/EXEC retried on nil never
//! does; a `SET NX PX` lock released by compare-and-delete under WATCH.

mod common;
use common::*;

use redis::Value;

fn get_i64(c: &mut redis::Connection, key: &str) -> i64 {
    let v: Option<i64> = redis::cmd("GET").arg(key).query(c).unwrap();
    v.unwrap_or(0)
}

fn set(c: &mut redis::Connection, key: &str, value: i64) {
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query::<()>(c)
        .unwrap();
}

/// One attempt at an optimistic increment: WATCH, read, MULTI, write,
/// EXEC. `between` runs after the read (where another client may act).
/// Returns false if EXEC answered nil (someone else wrote first).
fn try_increment(c: &mut redis::Connection, key: &str, between: &mut dyn FnMut()) -> bool {
    redis::cmd("WATCH").arg(key).query::<()>(c).unwrap();
    let value = get_i64(c, key);
    between();
    redis::cmd("MULTI").query::<()>(c).unwrap();
    redis::cmd("SET")
        .arg(key)
        .arg(value + 1)
        .query::<()>(c)
        .unwrap();
    match redis::cmd("EXEC").query::<Value>(c).unwrap() {
        Value::Nil => false,
        Value::Array(_) => true,
        other => panic!("{other:?}"),
    }
}

#[test]
fn interleaved_read_modify_write_loses_an_update() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    set(&mut a, "counter", 10);
    // A and B both read, then both write what they computed.
    let seen_by_a = get_i64(&mut a, "counter");
    let seen_by_b = get_i64(&mut b, "counter");
    set(&mut a, "counter", seen_by_a + 1);
    set(&mut b, "counter", seen_by_b + 1);
    // Two increments, one survives.
    assert_eq!(get_i64(&mut a, "counter"), 11);
}

#[test]
fn watch_makes_the_loser_retry_and_no_update_is_lost() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    set(&mut a, "counter", 10);
    // The same interleaving: B increments between A's read and A's write.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut b_acts = || {
            if attempts == 1 {
                assert!(try_increment(&mut b, "counter", &mut || {}));
            }
        };
        if try_increment(&mut a, "counter", &mut b_acts) {
            break;
        }
    }
    assert_eq!(attempts, 2, "A's first EXEC must fail, its retry succeed");
    assert_eq!(get_i64(&mut a, "counter"), 12);
}

#[test]
fn many_clients_incrementing_with_watch_end_at_the_exact_count() {
    let server = start();
    let mut clients: Vec<redis::Connection> = (0..4).map(|_| conn(&server)).collect();
    set(&mut clients[0], "counter", 0);
    let per_client = 25;
    let mut done = vec![0; clients.len()];
    let mut failures = 0;
    // Round-robin: every client reads, then every client tries to write.
    // Only the first writer of a round can win; the others must retry.
    while done.iter().any(|&d| d < per_client) {
        let active: Vec<usize> = (0..clients.len())
            .filter(|&i| done[i] < per_client)
            .collect();
        let mut reads = Vec::new();
        for &i in &active {
            redis::cmd("WATCH")
                .arg("counter")
                .query::<()>(&mut clients[i])
                .unwrap();
            reads.push(get_i64(&mut clients[i], "counter"));
        }
        for (&i, value) in active.iter().zip(reads) {
            let c = &mut clients[i];
            redis::cmd("MULTI").query::<()>(c).unwrap();
            redis::cmd("SET")
                .arg("counter")
                .arg(value + 1)
                .query::<()>(c)
                .unwrap();
            match redis::cmd("EXEC").query::<Value>(c).unwrap() {
                Value::Nil => failures += 1,
                _ => done[i] += 1,
            }
        }
    }
    assert_eq!(get_i64(&mut clients[0], "counter"), 4 * per_client as i64);
    assert!(failures > 0, "the round-robin must have produced conflicts");
}

/// Release a lock only if it still holds our token: WATCH, compare, then
/// DEL inside MULTI. Returns whether we deleted it.
fn release_lock(c: &mut redis::Connection, key: &str, token: &str) -> bool {
    loop {
        redis::cmd("WATCH").arg(key).query::<()>(c).unwrap();
        let holder: Option<String> = redis::cmd("GET").arg(key).query(c).unwrap();
        if holder.as_deref() != Some(token) {
            redis::cmd("UNWATCH").query::<()>(c).unwrap();
            return false;
        }
        redis::cmd("MULTI").query::<()>(c).unwrap();
        redis::cmd("DEL").arg(key).query::<()>(c).unwrap();
        match redis::cmd("EXEC").query::<Value>(c).unwrap() {
            Value::Nil => continue, // changed under us: look again
            _ => return true,
        }
    }
}

fn acquire_lock(c: &mut redis::Connection, key: &str, token: &str, ms: u64) -> bool {
    let r: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg(token)
        .arg("NX")
        .arg("PX")
        .arg(ms)
        .query(c)
        .unwrap();
    r.is_some()
}

#[test]
fn a_lock_is_exclusive_and_released_only_by_its_holder() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    assert!(acquire_lock(&mut a, "lock", "token-a", 10_000));
    assert!(!acquire_lock(&mut b, "lock", "token-b", 10_000));
    // B cannot release A's lock.
    assert!(!release_lock(&mut b, "lock", "token-b"));
    assert!(release_lock(&mut a, "lock", "token-a"));
    assert!(acquire_lock(&mut b, "lock", "token-b", 10_000));
}

#[test]
fn an_expired_lock_is_not_deleted_by_its_former_holder() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    // A's lease runs out while A still works; B takes the lock.
    assert!(acquire_lock(&mut a, "lock", "token-a", 20));
    std::thread::sleep(std::time::Duration::from_millis(40));
    assert!(acquire_lock(&mut b, "lock", "token-b", 10_000));
    // A's naive `DEL lock` would free B's lock; the checked release doesn't.
    assert!(!release_lock(&mut a, "lock", "token-a"));
    let holder: String = redis::cmd("GET").arg("lock").query(&mut b).unwrap();
    assert_eq!(holder, "token-b");
}

#[test]
fn the_checked_release_retries_when_the_lock_changes_mid_way() {
    let server = start();
    let mut a = conn(&server);
    let mut b = conn(&server);
    assert!(acquire_lock(&mut a, "lock", "token-a", 10_000));
    // A compares (still its token), then, before A's EXEC, the lock is
    // replaced: the EXEC fails and the retry sees the new holder.
    redis::cmd("WATCH").arg("lock").query::<()>(&mut a).unwrap();
    let holder: String = redis::cmd("GET").arg("lock").query(&mut a).unwrap();
    assert_eq!(holder, "token-a");
    set_str(&mut b, "lock", "token-b");
    redis::cmd("MULTI").query::<()>(&mut a).unwrap();
    redis::cmd("DEL").arg("lock").query::<()>(&mut a).unwrap();
    let r: Value = redis::cmd("EXEC").query(&mut a).unwrap();
    assert_eq!(r, Value::Nil);
    assert!(!release_lock(&mut a, "lock", "token-a"));
}

fn set_str(c: &mut redis::Connection, key: &str, value: &str) {
    redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query::<()>(c)
        .unwrap();
}
