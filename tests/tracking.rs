//! Client-side caching: CLIENT TRACKING and its invalidation messages,
//! through the `redis` crate's RESP3 push channel and raw RESP.

mod common;
use common::*;

use redis::{PushKind, Value};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `redis` crate RESP3 connection whose pushes arrive on the receiver.
fn resp3_conn(
    server: &redis_anatomy::server::ServerHandle,
) -> (redis::Connection, mpsc::Receiver<redis::PushInfo>) {
    let client = redis::Client::open(format!("redis://{}/?protocol=resp3", server.addr)).unwrap();
    let mut c = client.get_connection().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (tx, rx) = mpsc::channel();
    c.set_push_sender(tx);
    (c, rx)
}

fn cmd(c: &mut redis::Connection, line: &str) -> Value {
    let mut words = line.split(' ');
    let mut q = redis::cmd(words.next().unwrap());
    for w in words {
        q.arg(w);
    }
    q.query(c).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// An INFO field, read on a fresh RESP2 connection (RESP3 sends INFO as
/// a verbatim string).
fn info_field(server: &redis_anatomy::server::ServerHandle, field: &str) -> String {
    let info: String = redis::cmd("INFO")
        .arg("everything")
        .query(&mut conn(server))
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field}"))
        .to_string()
}

#[test]
fn a_resp3_client_gets_an_invalidate_push_when_a_key_it_read_changes() {
    let server = start();
    let (mut tracker, pushes) = resp3_conn(&server);
    let mut writer = conn(&server);
    cmd(&mut tracker, "CLIENT TRACKING on");
    cmd(&mut tracker, "GET user:1");
    cmd(&mut writer, "SET user:1 bob");
    // Pushes reach the channel as the connection reads: one round trip.
    cmd(&mut tracker, "PING");
    let push = pushes.try_recv().expect("an invalidation");
    assert_eq!(push.kind, PushKind::Invalidate);
    assert_eq!(
        push.data,
        vec![Value::Array(vec![Value::BulkString(b"user:1".to_vec())])]
    );
    // The key left the table: a second change sends nothing.
    cmd(&mut writer, "SET user:1 carol");
    cmd(&mut tracker, "PING");
    assert!(pushes.try_recv().is_err());
}

#[test]
fn a_clients_own_change_is_announced_after_its_reply_unless_noloop() {
    let server = start();
    let mut w = Wire::resp3(&server);
    assert_eq!(w.cmd("CLIENT TRACKING on"), "+OK\r\n");
    w.cmd("GET k");
    assert_eq!(w.cmd("SET k v"), "+OK\r\n");
    assert_eq!(w.reply(), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
    assert_eq!(w.cmd("CLIENT TRACKING on NOLOOP"), "+OK\r\n");
    w.cmd("GET k");
    assert_eq!(w.cmd("SET k v2"), "+OK\r\n");
    assert_eq!(w.cmd("PING"), "+PONG\r\n");
    assert_eq!(info_field(&server, "tracking_total_keys"), "0");
}

#[test]
fn a_resp2_client_redirects_to_a_subscriber_of_redis_invalidate() {
    let server = start();
    let mut sub = Wire::connect(&server);
    let sub_id = sub.cmd("CLIENT ID");
    let sub_id = sub_id.trim_start_matches(':').trim_end().to_string();
    sub.cmd("SUBSCRIBE __redis__:invalidate");
    let mut tracker = Wire::connect(&server);
    assert_eq!(
        tracker.cmd(&format!("CLIENT TRACKING on REDIRECT {sub_id}")),
        "+OK\r\n"
    );
    assert_eq!(tracker.cmd("CLIENT GETREDIR"), format!(":{sub_id}\r\n"));
    tracker.cmd("GET a");
    tracker.cmd("SET a 1");
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\na\r\n"
    );
    // A flush: the key is a null, spelt in the tracking client's RESP2.
    tracker.cmd("FLUSHALL");
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    );
    // The redirect goes away: the next invalidation marks the link broken.
    drop(sub);
    tracker.cmd("GET a");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tracker.cmd("SET a 2");
        tracker.cmd("GET a");
        let info = tracker.cmd("CLIENT INFO");
        if info.contains("flags=tR ") {
            break;
        }
        assert!(Instant::now() < deadline, "{info}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let info = tracker.cmd("CLIENT TRACKINGINFO");
    assert!(info.contains("$15\r\nbroken_redirect\r\n"), "{info}");
}

#[test]
fn a_resp3_client_hears_tracking_redir_broken() {
    let server = start();
    let mut target = Wire::connect(&server);
    let id = target.cmd("CLIENT ID");
    let id = id.trim_start_matches(':').trim_end().to_string();
    let mut w = Wire::resp3(&server);
    w.cmd(&format!("CLIENT TRACKING on REDIRECT {id}"));
    w.cmd("GET k");
    assert_eq!(target.cmd("QUIT"), "+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut observer = conn(&server);
    while redis::cmd("CLIENT")
        .arg("LIST")
        .query::<String>(&mut observer)
        .unwrap()
        .contains(&format!("id={id} "))
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(w.cmd("SET k v"), "+OK\r\n");
    assert_eq!(
        w.reply(),
        format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{id}\r\n")
    );
}

#[test]
fn bcast_sends_every_change_under_a_prefix_and_noloop_skips_ones_own() {
    let server = start();
    let mut w = Wire::resp3(&server);
    let mut other = Wire::connect(&server);
    assert_eq!(
        w.cmd("CLIENT TRACKING on BCAST PREFIX user: PREFIX cart: NOLOOP"),
        "+OK\r\n"
    );
    other.cmd("MSET user:1 a cart:9 b other c");
    // One message per prefix, in prefix order.
    assert_eq!(
        w.reply(),
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\ncart:9\r\n"
    );
    assert_eq!(
        w.reply(),
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\nuser:1\r\n"
    );
    assert_eq!(w.cmd("SET user:2 mine"), "+OK\r\n");
    assert_eq!(w.cmd("PING"), "+PONG\r\n");
    assert_eq!(info_field(&server, "tracking_total_prefixes"), "2");
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut conn(&server))
        .unwrap();
    assert!(list.contains(" flags=tB "), "{list}");
}

#[test]
fn optin_tracks_only_after_caching_yes_and_optout_skips_after_caching_no() {
    let server = start();
    let mut w = Wire::resp3(&server);
    w.cmd("CLIENT TRACKING on OPTIN");
    w.cmd("GET a");
    assert_eq!(info_field(&server, "tracking_total_keys"), "0");
    assert_eq!(w.cmd("CLIENT CACHING yes"), "+OK\r\n");
    w.cmd("GET a");
    assert_eq!(info_field(&server, "tracking_total_keys"), "1");
    w.cmd("CLIENT TRACKING off");
    w.cmd("FLUSHALL");
    w.cmd("CLIENT TRACKING on OPTOUT");
    assert_eq!(w.cmd("CLIENT CACHING no"), "+OK\r\n");
    w.cmd("GET b");
    assert_eq!(info_field(&server, "tracking_total_keys"), "0");
    w.cmd("GET b");
    assert_eq!(info_field(&server, "tracking_total_keys"), "1");
}

#[test]
fn flush_expiry_and_the_table_limit_invalidate() {
    let server = start();
    let mut w = Wire::resp3(&server);
    let mut other = Wire::connect(&server);
    w.cmd("CLIENT TRACKING on");
    w.cmd("GET a");
    assert_eq!(w.cmd("FLUSHDB"), "+OK\r\n");
    assert_eq!(w.reply(), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    assert_eq!(info_field(&server, "tracking_total_keys"), "0");

    // A key that expires (found expired by another client's read).
    other.cmd("SET e v PX 100");
    assert_eq!(w.cmd("GET e"), "$1\r\nv\r\n");
    std::thread::sleep(Duration::from_millis(150));
    other.cmd("GET e");
    assert_eq!(w.reply(), ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\ne\r\n");
    // Found expired by the tracking client's own read.
    other.cmd("SET f v PX 100");
    assert_eq!(w.cmd("GET f"), "$1\r\nv\r\n");
    std::thread::sleep(Duration::from_millis(150));
    // Either the active cycle expired it during the sleep (push first) or
    // this read does (push after the null reply); never lost.
    let mut frames = [w.cmd("GET f"), w.reply()];
    frames.sort();
    assert_eq!(
        frames,
        [">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nf\r\n", "_\r\n"]
    );

    // Over tracking-table-max-keys: keys are invalidated before the next
    // command until the table fits.
    other.cmd("CONFIG SET tracking-table-max-keys 2");
    w.cmd("MGET x y z");
    assert_eq!(info_field(&server, "tracking_total_keys"), "2");
    let push = w.reply();
    assert!(
        push.starts_with(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\n"),
        "{push:?}"
    );
}

#[test]
fn tracking_errors_match_redis() {
    let server = start();
    let mut w = Wire::connect(&server);
    let cases = [
        ("CLIENT TRACKING on PREFIX a", "-ERR PREFIX option requires BCAST mode to be enabled\r\n"),
        ("CLIENT TRACKING on OPTIN OPTOUT", "-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n"),
        ("CLIENT TRACKING on BCAST OPTIN", "-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n"),
        ("CLIENT TRACKING on REDIRECT 99999", "-ERR The client ID you want redirect to does not exist\r\n"),
        ("CLIENT TRACKING on REDIRECT x", "-ERR value is not an integer or out of range\r\n"),
        ("CLIENT TRACKING maybe", "-ERR syntax error\r\n"),
        ("CLIENT TRACKING on FOO", "-ERR syntax error\r\n"),
        ("CLIENT CACHING yes", "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n"),
        (
            "CLIENT TRACKING on BCAST PREFIX ab PREFIX a",
            "-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.\r\n",
        ),
        ("CLIENT TRACKING on BCAST PREFIX ab", "+OK\r\n"),
        (
            "CLIENT TRACKING on BCAST PREFIX a",
            "-ERR Prefix 'a' overlaps with an existing prefix 'ab'. Prefixes for a single client must not overlap.\r\n",
        ),
        (
            "CLIENT TRACKING on",
            "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n",
        ),
        ("CLIENT TRACKING off", "+OK\r\n"),
        ("CLIENT TRACKING on OPTIN", "+OK\r\n"),
        ("CLIENT CACHING no", "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n"),
        (
            "CLIENT TRACKING on OPTOUT",
            "-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.\r\n",
        ),
        ("CLIENT CACHING maybe", "-ERR syntax error\r\n"),
        ("CLIENT GETREDIR", ":0\r\n"),
        ("RESET", "+RESET\r\n"),
        ("CLIENT GETREDIR", ":-1\r\n"),
    ];
    for (line, want) in cases {
        assert_eq!(w.cmd(line), want, "{line}");
    }
    assert_eq!(
        w.cmd("CLIENT TRACKINGINFO"),
        "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n"
    );
}
