//! Pub/Sub with several real clients: delivery order, patterns, the
//! confirmations, RESP2 subscribed mode, RESP3 pushes, and the output
//! buffer limit that drops a subscriber who never reads.

mod common;
use common::*;

use std::time::{Duration, Instant};

/// The RESP2 frame of a `message`.
fn message(channel: &str, payload: &str) -> String {
    format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        channel.len(),
        payload.len()
    )
}

fn confirm(kind: &str, name: Option<&str>, count: i64) -> String {
    let name = match name {
        Some(n) => format!("${}\r\n{n}\r\n", n.len()),
        None => "$-1\r\n".to_string(),
    };
    format!("*3\r\n${}\r\n{kind}\r\n{name}:{count}\r\n", kind.len())
}

fn publish(c: &mut redis::Connection, channel: &str, payload: &str) -> i64 {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query(c)
        .unwrap()
}

#[test]
fn messages_arrive_in_publish_order_per_channel() {
    let server = start();
    let mut sub = Raw::connect(&server);
    sub.roundtrip(
        &resp(&[b"SUBSCRIBE", b"news"]),
        confirm("subscribe", Some("news"), 1).as_bytes(),
    );
    let mut publisher = conn(&server);
    let mut expected = String::new();
    for i in 0..100 {
        let payload = format!("m{i}");
        assert_eq!(publish(&mut publisher, "news", &payload), 1);
        expected.push_str(&message("news", &payload));
    }
    let got = sub.read_exact_len(expected.len());
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

#[test]
fn a_channel_and_a_pattern_both_matching_get_two_messages() {
    let server = start();
    let mut sub = Raw::connect(&server);
    sub.roundtrip(
        &resp(&[b"SUBSCRIBE", b"news.eu"]),
        confirm("subscribe", Some("news.eu"), 1).as_bytes(),
    );
    sub.roundtrip(
        &resp(&[b"PSUBSCRIBE", b"news.*"]),
        confirm("psubscribe", Some("news.*"), 2).as_bytes(),
    );
    let mut publisher = conn(&server);
    assert_eq!(publish(&mut publisher, "news.eu", "hi"), 2);
    assert_eq!(publish(&mut publisher, "news.us", "yo"), 1);
    assert_eq!(publish(&mut publisher, "weather", "rain"), 0);
    let expected = format!(
        "{}*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$7\r\nnews.eu\r\n$2\r\nhi\r\n\
         *4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$7\r\nnews.us\r\n$2\r\nyo\r\n",
        message("news.eu", "hi")
    );
    assert_eq!(
        String::from_utf8_lossy(&sub.read_exact_len(expected.len())),
        expected
    );
}

#[test]
fn glob_patterns_follow_redis_rules() {
    let server = start();
    let mut sub = Raw::connect(&server);
    sub.roundtrip(
        &resp(&[b"PSUBSCRIBE", b"h[ae]llo?"]),
        confirm("psubscribe", Some("h[ae]llo?"), 1).as_bytes(),
    );
    let mut p = conn(&server);
    assert_eq!(publish(&mut p, "hallo1", "x"), 1);
    assert_eq!(publish(&mut p, "hello!", "x"), 1);
    assert_eq!(publish(&mut p, "hillo1", "x"), 0);
    assert_eq!(publish(&mut p, "hallo", "x"), 0);
}

#[test]
fn unsubscribe_all_confirms_each_channel_then_nil_when_none_left() {
    let server = start();
    let mut sub = Raw::connect(&server);
    sub.send(&resp(&[b"SUBSCRIBE", b"a", b"b"]));
    let both = confirm("subscribe", Some("a"), 1) + &confirm("subscribe", Some("b"), 2);
    assert_eq!(
        String::from_utf8_lossy(&sub.read_exact_len(both.len())),
        both
    );

    // The order of a mass unsubscribe is the dict's: accept either.
    sub.send(&resp(&[b"UNSUBSCRIBE"]));
    let ab = confirm("unsubscribe", Some("a"), 1) + &confirm("unsubscribe", Some("b"), 0);
    let ba = confirm("unsubscribe", Some("b"), 1) + &confirm("unsubscribe", Some("a"), 0);
    let got = String::from_utf8_lossy(&sub.read_exact_len(ab.len())).into_owned();
    assert!(got == ab || got == ba, "{got:?}");

    sub.roundtrip(
        &resp(&[b"UNSUBSCRIBE"]),
        confirm("unsubscribe", None, 0).as_bytes(),
    );
    sub.roundtrip(
        &resp(&[b"PUNSUBSCRIBE"]),
        confirm("punsubscribe", None, 0).as_bytes(),
    );
    // Out of subscribed mode: ordinary commands work again.
    sub.roundtrip(&resp(&[b"GET", b"k"]), b"$-1\r\n");
}

#[test]
fn resp2_subscribed_mode_allows_only_the_subscription_commands() {
    let server = start();
    let mut sub = Raw::connect(&server);
    sub.roundtrip(
        &resp(&[b"SUBSCRIBE", b"c"]),
        confirm("subscribe", Some("c"), 1).as_bytes(),
    );
    sub.roundtrip(
        &resp(&[b"GET", b"k"]),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    sub.roundtrip(
        &resp(&[b"CONFIG", b"GET", b"x"]),
        b"-ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    sub.roundtrip(&resp(&[b"PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    sub.roundtrip(
        &resp(&[b"PING", b"hi"]),
        b"*2\r\n$4\r\npong\r\n$2\r\nhi\r\n",
    );
    // RESET leaves subscribed mode and drops the subscriptions.
    sub.roundtrip(&resp(&[b"RESET"]), b"+RESET\r\n");
    let mut p = conn(&server);
    assert_eq!(publish(&mut p, "c", "x"), 0);
    sub.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn resp3_subscribers_get_push_frames_and_may_run_any_command() {
    let server = start();
    let mut sub = Raw::connect(&server);
    sub.send(&resp(&[b"HELLO", b"3"]));
    let mut hello = Vec::new();
    while !hello.ends_with(b"modules\r\n*0\r\n") {
        hello.extend(sub.read_exact_len(1));
    }
    sub.roundtrip(
        &resp(&[b"SUBSCRIBE", b"c"]),
        b">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n",
    );
    sub.roundtrip(&resp(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    sub.roundtrip(&resp(&[b"PING"]), b"+PONG\r\n");
    let mut p = conn(&server);
    assert_eq!(publish(&mut p, "c", "hello"), 1);
    sub.roundtrip(
        &resp(&[b"GET", b"k"]),
        b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$5\r\nhello\r\n$1\r\nv\r\n",
    );
    // Publishing to itself: the push comes before PUBLISH's own reply.
    sub.roundtrip(
        &resp(&[b"PUBLISH", b"c", b"me"]),
        b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nme\r\n:1\r\n",
    );
}

#[test]
fn pubsub_introspection_counts_subscribers() {
    let server = start();
    let mut a = Raw::connect(&server);
    let mut b = Raw::connect(&server);
    a.send(&resp(&[b"SUBSCRIBE", b"x", b"y"]));
    a.read_exact_len(
        (confirm("subscribe", Some("x"), 1) + &confirm("subscribe", Some("y"), 2)).len(),
    );
    b.roundtrip(
        &resp(&[b"SUBSCRIBE", b"x"]),
        confirm("subscribe", Some("x"), 1).as_bytes(),
    );
    b.roundtrip(
        &resp(&[b"PSUBSCRIBE", b"*"]),
        confirm("psubscribe", Some("*"), 2).as_bytes(),
    );
    let mut c = conn(&server);
    let numsub: Vec<redis::Value> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("x")
        .arg("y")
        .arg("z")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        numsub,
        vec![
            redis::Value::BulkString(b"x".to_vec()),
            redis::Value::Int(2),
            redis::Value::BulkString(b"y".to_vec()),
            redis::Value::Int(1),
            redis::Value::BulkString(b"z".to_vec()),
            redis::Value::Int(0),
        ]
    );
    let numpat: i64 = redis::cmd("PUBSUB").arg("NUMPAT").query(&mut c).unwrap();
    assert_eq!(numpat, 1);
    let mut channels: Vec<String> = redis::cmd("PUBSUB").arg("CHANNELS").query(&mut c).unwrap();
    channels.sort();
    assert_eq!(channels, ["x", "y"]);
    let only_y: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg("y*")
        .query(&mut c)
        .unwrap();
    assert_eq!(only_y, ["y"]);
    let err = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg("a")
        .arg("b")
        .query::<()>(&mut c)
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
        ),
        "{err}"
    );
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(info.contains("pubsub_channels:2\r\n"), "{info}");
    assert!(info.contains("pubsub_patterns:1\r\n"), "{info}");
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut c).unwrap();
    assert!(list.contains(" flags=P db=0 sub=2 psub=0 "), "{list}");
    assert!(list.contains(" flags=P db=0 sub=1 psub=1 "), "{list}");

    // A subscriber that disconnects leaves nothing behind.
    drop(a);
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n: i64 = redis::cmd("PUBLISH")
            .arg("x")
            .arg("m")
            .query(&mut c)
            .unwrap();
        if n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "subscribers not forgotten");
        std::thread::sleep(Duration::from_millis(5));
    }
    let numpat: i64 = redis::cmd("PUBSUB").arg("NUMPAT").query(&mut c).unwrap();
    assert_eq!(numpat, 0);
}

#[test]
fn a_subscriber_that_never_reads_is_dropped_by_the_output_limit() {
    let server = start();
    let mut admin = conn(&server);
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("pubsub 256kb 128kb 60")
        .query::<()>(&mut admin)
        .unwrap();
    let mut lazy = Raw::connect(&server);
    lazy.roundtrip(
        &resp(&[b"SUBSCRIBE", b"firehose"]),
        confirm("subscribe", Some("firehose"), 1).as_bytes(),
    );
    // Never read from `lazy` again. The kernel's socket buffers absorb some
    // megabytes first; then our output buffer grows to the hard limit.
    let payload = "x".repeat(1024);
    let started = Instant::now();
    let mut sent = 0u64;
    loop {
        let receivers = publish(&mut admin, "firehose", &payload);
        sent += 1;
        if receivers == 0 {
            break;
        }
        assert!(
            sent < 200_000 && started.elapsed() < Duration::from_secs(30),
            "the subscriber was never disconnected ({sent} messages)"
        );
    }
    // The publisher was answered every time (it never blocked) and the
    // subscriber is gone from the server.
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
    assert!(!list.contains("sub=1"), "{list}");
    assert!(sent > 10);
}

#[test]
fn replies_off_still_delivers_confirmations_and_messages() {
    // Redis 7.0 pushes pub/sub frames past CLIENT REPLY OFF|SKIP: the
    // command's own reply is dropped, the confirmation is not.
    let server = start();
    let mut sub = Raw::connect(&server);
    let mut batch = resp(&[b"CLIENT", b"REPLY", b"OFF"]);
    batch.extend_from_slice(&resp(&[b"SUBSCRIBE", b"news"]));
    batch.extend_from_slice(&resp(&[b"PSUBSCRIBE", b"ne*"]));
    sub.send(&batch);
    let expected = confirm("subscribe", Some("news"), 1) + &confirm("psubscribe", Some("ne*"), 2);
    assert_eq!(text(&sub.read_exact_len(expected.len())), expected);

    let mut publisher = conn(&server);
    assert_eq!(publish(&mut publisher, "news", "hi"), 2);
    let expected =
        message("news", "hi") + "*4\r\n$8\r\npmessage\r\n$3\r\nne*\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
    assert_eq!(text(&sub.read_exact_len(expected.len())), expected);

    // The PINGs' answers are dropped; the confirmations are not. Once out
    // of subscribed mode, CLIENT REPLY ON answers again.
    let mut batch = resp(&[b"PING"]);
    batch.extend_from_slice(&resp(&[b"PUNSUBSCRIBE", b"ne*"]));
    batch.extend_from_slice(&resp(&[b"UNSUBSCRIBE", b"news"]));
    batch.extend_from_slice(&resp(&[b"PING"]));
    batch.extend_from_slice(&resp(&[b"CLIENT", b"REPLY", b"ON"]));
    sub.send(&batch);
    let expected = confirm("punsubscribe", Some("ne*"), 1)
        + &confirm("unsubscribe", Some("news"), 0)
        + "+OK\r\n";
    assert_eq!(text(&sub.read_exact_len(expected.len())), expected);

    // SKIP: the skipped SUBSCRIBE still confirms.
    let mut other = Raw::connect(&server);
    let mut batch = resp(&[b"CLIENT", b"REPLY", b"SKIP"]);
    batch.extend_from_slice(&resp(&[b"SUBSCRIBE", b"news"]));
    batch.extend_from_slice(&resp(&[b"UNSUBSCRIBE"]));
    batch.extend_from_slice(&resp(&[b"PING"]));
    other.send(&batch);
    let expected = confirm("subscribe", Some("news"), 1)
        + &confirm("unsubscribe", Some("news"), 0)
        + "+PONG\r\n";
    assert_eq!(text(&other.read_exact_len(expected.len())), expected);
}

#[test]
fn resp3_pushes_pass_client_reply_off() {
    let server = start();
    let mut sub = Wire::resp3(&server);
    sub.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    sub.send(&[b"SUBSCRIBE", b"news"]);
    assert_eq!(sub.reply(), ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    let mut publisher = conn(&server);
    assert_eq!(publish(&mut publisher, "news", "hi"), 1);
    assert_eq!(
        sub.reply(),
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
}
