//! Keyspace notifications for the string, keyspace and expiry events,
//! filtered by `notify-keyspace-events`.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

fn set_events(c: &mut redis::Connection, flags: &str) {
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg(flags)
        .query::<()>(c)
        .unwrap();
}

/// A raw pattern subscriber; `next` returns the next (channel, payload)
/// of a `pmessage` it receives.
struct Listener {
    reader: BufReader<std::net::TcpStream>,
}

impl Listener {
    fn new(server: &redis_anatomy::server::ServerHandle, pattern: &str) -> Listener {
        let mut raw = Raw::connect(server);
        raw.send(&resp(&[b"PSUBSCRIBE", pattern.as_bytes()]));
        let mut l = Listener {
            reader: BufReader::new(raw.stream),
        };
        assert_eq!(l.frame()[0], "psubscribe");
        l
    }

    /// One array frame of bulk strings and integers, as text.
    fn frame(&mut self) -> Vec<String> {
        let header = self.line();
        let n: usize = header[1..].parse().unwrap();
        (0..n)
            .map(|_| {
                let item = self.line();
                if let Some(len) = item.strip_prefix('$') {
                    let mut buf = vec![0u8; len.parse::<usize>().unwrap() + 2];
                    self.reader.read_exact(&mut buf).unwrap();
                    String::from_utf8_lossy(&buf[..buf.len() - 2]).into_owned()
                } else {
                    item[1..].to_string()
                }
            })
            .collect()
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    fn next(&mut self) -> (String, String) {
        let f = self.frame();
        assert_eq!(f[0], "pmessage", "{f:?}");
        (f[2].clone(), f[3].clone())
    }

    fn expect(&mut self, events: &[(&str, &str)]) {
        for (channel, payload) in events {
            assert_eq!(self.next(), (channel.to_string(), payload.to_string()));
        }
    }
}

fn q(c: &mut redis::Connection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query::<redis::Value>(c).unwrap();
}

#[test]
fn string_and_generic_events_on_both_channels() {
    let server = start();
    let mut c = conn(&server);
    set_events(&mut c, "KEA");
    let mut l = Listener::new(&server, "__key*__:*");
    q(&mut c, &["SET", "foo", "bar"]);
    q(&mut c, &["APPEND", "foo", "!"]);
    q(&mut c, &["INCRBY", "n", "5"]);
    q(&mut c, &["EXPIRE", "foo", "100"]);
    q(&mut c, &["DEL", "foo", "missing"]);
    q(&mut c, &["SELECT", "2"]);
    q(&mut c, &["SET", "x", "1"]);
    q(&mut c, &["RENAME", "x", "y"]);
    l.expect(&[
        ("__keyspace@0__:foo", "set"),
        ("__keyevent@0__:set", "foo"),
        ("__keyspace@0__:foo", "append"),
        ("__keyevent@0__:append", "foo"),
        ("__keyspace@0__:n", "incrby"),
        ("__keyevent@0__:incrby", "n"),
        ("__keyspace@0__:foo", "expire"),
        ("__keyevent@0__:expire", "foo"),
        ("__keyspace@0__:foo", "del"),
        ("__keyevent@0__:del", "foo"),
        ("__keyspace@2__:x", "set"),
        ("__keyevent@2__:set", "x"),
        ("__keyspace@2__:x", "rename_from"),
        ("__keyevent@2__:rename_from", "x"),
        ("__keyspace@2__:y", "rename_to"),
        ("__keyevent@2__:rename_to", "y"),
    ]);
}

#[test]
fn classes_filter_events_and_k_or_e_pick_the_channels() {
    let server = start();
    let mut c = conn(&server);
    let mut l = Listener::new(&server, "__key*__:*");
    // Generic only, keyevent channel only: SET is not published, DEL is.
    set_events(&mut c, "Eg");
    q(&mut c, &["SET", "a", "1"]);
    q(&mut c, &["DEL", "a"]);
    // Nothing selected: nothing at all.
    set_events(&mut c, "");
    q(&mut c, &["SET", "b", "1"]);
    // Strings on the keyspace channel only.
    set_events(&mut c, "K$");
    q(&mut c, &["SET", "c", "1"]);
    q(&mut c, &["DEL", "c"]);
    q(&mut c, &["SETRANGE", "c", "0", "x"]);
    l.expect(&[
        ("__keyevent@0__:del", "a"),
        ("__keyspace@0__:c", "set"),
        ("__keyspace@0__:c", "setrange"),
    ]);
}

#[test]
fn expiry_fires_expired_lazily_and_from_the_active_cycle() {
    let server = start_with(|cfg| {
        cfg.enable_debug_command = redis_anatomy::server::config::ProtectedAction::Yes;
    });
    let mut c = conn(&server);
    set_events(&mut c, "Ex");
    let mut l = Listener::new(&server, "__keyevent@0__:expired");
    // The active cycle finds it by itself (no client touches it).
    q(&mut c, &["SET", "soon", "1", "PX", "1"]);
    l.expect(&[("__keyevent@0__:expired", "soon")]);
    // With the active cycle off, only a read can find it.
    q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    q(&mut c, &["SET", "later", "1", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    q(&mut c, &["GET", "later"]);
    l.expect(&[("__keyevent@0__:expired", "later")]);
}

#[test]
fn keymiss_fires_only_when_asked_for() {
    let server = start();
    let mut c = conn(&server);
    let mut l = Listener::new(&server, "__key*__:*");
    set_events(&mut c, "KEA");
    q(&mut c, &["GET", "nothing"]); // `A` does not include `m`
    set_events(&mut c, "Em");
    q(&mut c, &["GET", "absent"]);
    q(&mut c, &["EXISTS", "absent2"]);
    q(&mut c, &["SET", "here", "1"]); // not a miss, and `$` is off
    q(&mut c, &["GET", "here"]);
    set_events(&mut c, "E$");
    q(&mut c, &["SET", "done", "1"]);
    l.expect(&[
        ("__keyevent@0__:keymiss", "absent"),
        ("__keyevent@0__:keymiss", "absent2"),
        ("__keyevent@0__:set", "done"),
    ]);
}

#[test]
fn a_resp3_client_gets_its_own_events_before_the_reply() {
    let server = start();
    let mut c = conn(&server);
    set_events(&mut c, "KA");
    let mut raw = Raw::connect(&server);
    raw.send(&resp(&[b"HELLO", b"3"]));
    let mut hello = Vec::new();
    while !hello.ends_with(b"modules\r\n*0\r\n") {
        hello.extend(raw.read_exact_len(1));
    }
    raw.roundtrip(
        &resp(&[b"SUBSCRIBE", b"__keyspace@0__:me"]),
        b">3\r\n$9\r\nsubscribe\r\n$17\r\n__keyspace@0__:me\r\n:1\r\n",
    );
    raw.roundtrip(
        &resp(&[b"SET", b"me", b"1"]),
        b">3\r\n$7\r\nmessage\r\n$17\r\n__keyspace@0__:me\r\n$3\r\nset\r\n+OK\r\n",
    );
}

/// `n` announces a key when it is created, before the creating command's
/// own event, and never for an overwrite (checked against Redis 7.0.15).
#[test]
fn new_fires_once_per_created_key_before_the_command_event() {
    let server = start();
    let mut c = conn(&server);
    set_events(&mut c, "KEAn");
    let mut l = Listener::new(&server, "__key*__:*");
    q(&mut c, &["SET", "nk", "v"]);
    q(&mut c, &["SET", "nk", "w"]);
    q(&mut c, &["RPUSH", "nl", "a"]);
    l.expect(&[
        ("__keyspace@0__:nk", "new"),
        ("__keyevent@0__:new", "nk"),
        ("__keyspace@0__:nk", "set"),
        ("__keyevent@0__:set", "nk"),
        ("__keyspace@0__:nk", "set"),
        ("__keyevent@0__:set", "nk"),
        ("__keyspace@0__:nl", "new"),
        ("__keyevent@0__:new", "nl"),
        ("__keyspace@0__:nl", "rpush"),
        ("__keyevent@0__:rpush", "nl"),
    ]);
    // Without `n`, creating keys is silent apart from the command's event.
    set_events(&mut c, "KEA");
    q(&mut c, &["SET", "other", "v"]);
    l.expect(&[
        ("__keyspace@0__:other", "set"),
        ("__keyevent@0__:set", "other"),
    ]);
}
