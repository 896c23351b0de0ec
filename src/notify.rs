//! # Keyspace notifications: the keyspace talks on Pub/Sub
//!
//! With `notify-keyspace-events` set, every change to a key is also a
//! PUBLISH, on two channels:
//!
//! ```text
//!   SET foo bar in db 0   ──▶  PUBLISH __keyspace@0__:foo   set
//!                         ──▶  PUBLISH __keyevent@0__:set   foo
//! ```
//!
//! The *keyspace* channel is named after the key and carries the event
//! ("what happened to foo?"); the *keyevent* channel is named after the
//! event and carries the key ("which keys expired?"). Subscribers use the
//! ordinary SUBSCRIBE/PSUBSCRIBE; nothing here is a new delivery path.
//!
//! ## Which events are sent
//!
//! Each command says, at the point where Redis does, which *class* its
//! event belongs to and its name (`ctx.notify(STRING, "set", key)`). The
//! config is a set of bits (`server::config::NOTIFY_*`, parsed from the
//! letters `K E g $ l s h z x e t m d n A`): an event is published only if
//! its class bit is on, and then on the keyspace channel if `K` is on and
//! on the keyevent channel if `E` is on. With the default (empty) config
//! the whole cost is one AND and a branch per event.
//!
//! The server fires two events of its own: `expired` when a key's TTL
//! passes (lazily, on access, or in the active cycle: `Server::key_expired`)
//! and `keymiss` when a read finds no key (class `m`, not part of `A`,
//! because it fires on every miss).
//!
//! ## The Redis C counterpart
//!
//! `src/notify.c`: `notifyKeyspaceEvent`, `keyspaceEventsStringToFlags`,
//! `keyspaceEventsFlagsToString` (the latter two are in our config module).
//!
//! ## What we simplified
//!
//! Redis builds the two channel names as shared string objects and calls
//! module subscribers first; we have no modules. The `new` event (class
//! `n`, fired when a key is created) is recorded where keys are added to a
//! database (`Db::add`) and delivered before the creating command's own
//! event, as in Redis.
//! Eviction (`evicted`) fires once the eviction chapter exists.

use crate::server::config::{NOTIFY_KEYEVENT, NOTIFY_KEYSPACE, NOTIFY_NEW};
use crate::server::{Client, Server};

// ANCHOR: notify_event
/// Redis's `notifyKeyspaceEvent`: publish `event` about `key` in `db` if
/// the configuration asks for its `class`.
pub fn notify_keyspace_event(
    server: &mut Server,
    mut current: Option<&mut Client>,
    class: u32,
    event: &str,
    key: &[u8],
    db: usize,
) {
    let flags = server.config.notify_keyspace_events;
    if flags & class == 0 {
        return;
    }
    // Keys this command created announce themselves first, as Redis fires
    // `new` inside dbAdd, before the command's own event.
    if class != NOTIFY_NEW {
        flush_new_key_events(server, current.as_deref_mut());
    }
    let mut channel = Vec::with_capacity(32 + key.len().max(event.len()));
    if flags & NOTIFY_KEYSPACE != 0 {
        channel_prefix(&mut channel, b"__keyspace@", db);
        channel.extend_from_slice(key);
        crate::pubsub::publish(server, current.as_deref_mut(), &channel, event.as_bytes());
    }
    if flags & NOTIFY_KEYEVENT != 0 {
        channel.clear();
        channel_prefix(&mut channel, b"__keyevent@", db);
        channel.extend_from_slice(event.as_bytes());
        crate::pubsub::publish(server, current, &channel, key);
    }
}
// ANCHOR_END: notify_event

// ANCHOR: notify_new
/// Deliver the `new` events of keys created since the last delivery
/// (`Db::add` records them while the `n` class is enabled).
pub fn flush_new_key_events(server: &mut Server, mut current: Option<&mut Client>) {
    for db in 0..server.dbs.len() {
        if server.dbs[db].created.is_empty() {
            continue;
        }
        let created = std::mem::take(&mut server.dbs[db].created);
        for key in created {
            notify_keyspace_event(server, current.as_deref_mut(), NOTIFY_NEW, "new", &key, db);
        }
    }
}

/// Keep every db's `record_created` in step with the `n` class of
/// `notify-keyspace-events` (checked once per command: one comparison).
pub fn track_new_keys(server: &mut Server) {
    let want = server.config.notify_keyspace_events & NOTIFY_NEW != 0;
    if server.dbs.first().map(|d| d.record_created) != Some(want) {
        for db in &mut server.dbs {
            db.record_created = want;
            db.created.clear();
        }
    }
}
// ANCHOR_END: notify_new

/// `__keyspace@<db>__:` or `__keyevent@<db>__:`.
fn channel_prefix(out: &mut Vec<u8>, head: &[u8], db: usize) {
    out.extend_from_slice(head);
    let mut digits = [0u8; 20];
    out.extend_from_slice(crate::resp::fmt_i64(&mut digits, db as i64));
    out.extend_from_slice(b"__:");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_redis() {
        let mut out = Vec::new();
        channel_prefix(&mut out, b"__keyspace@", 12);
        out.extend_from_slice(b"foo");
        assert_eq!(out, b"__keyspace@12__:foo");
    }
}
