//! # Pub/Sub: messages that are not stored
//!
//! `PUBLISH news hello` does not write a key. It hands `hello` to every
//! connection that is subscribed to the channel `news` at that instant, or
//! to a pattern that matches it (`PSUBSCRIBE n*`), and forgets it. A
//! subscriber that connects a second later never sees it. That is the whole
//! contract: fire and forget, at most once, in publish order per publisher.
//!
//! ## Two indexes, one per direction
//!
//! ```text
//!   server: channels  "news" ──▶ [client 7, client 9]      who gets a PUBLISH
//!           patterns  "n*"   ──▶ [client 9]
//!   client 9: channels {"news"}   patterns ["n*"]           what UNSUBSCRIBE drops
//! ```
//!
//! PUBLISH needs "who listens to this channel": a dict from channel to the
//! subscribers in subscription order. UNSUBSCRIBE with no argument, RESET
//! and a disconnect need "what does this client listen to": a dict per
//! client (and a list for its patterns). Both sides change together; the
//! invariant is that client *c* is in `channels[ch]` exactly when `ch` is in
//! *c*'s own set, and a channel with no subscriber has no entry at all (so
//! that `PUBSUB CHANNELS` lists only live channels and a million
//! abandoned channels cost nothing).
//!
//! Patterns are not indexed by what they match: every PUBLISH tries every
//! subscribed pattern with the glob matcher (`crate::glob`). That is why
//! Redis's docs call pattern subscriptions O(patterns) per publish.
//!
//! ## Delivery is an append
//!
//! Delivering a message is appending a RESP frame to the subscriber's
//! output buffer and poking its connection task ([`Client::wake`]), exactly
//! as a reply is written. The publisher never waits for a subscriber. A
//! subscriber that does not read makes its own buffer grow, and the
//! `client-output-buffer-limit pubsub 32mb 8mb 60` rule disconnects it
//! (`server::connection::enforce_output_limit`); that is the price of
//! never blocking the publisher.
//!
//! The frame is encoded once per PUBLISH (per matching pattern), as a RESP2
//! array; a RESP3 subscriber gets the same bytes with `>` (push) in place of
//! the leading `*`. No per-subscriber allocation.
//!
//! ## Subscribed mode
//!
//! In RESP2 a subscribed connection is a one-way stream: replies and
//! messages are both plain arrays, and a client could not tell them apart.
//! So Redis only accepts (P)SUBSCRIBE, (P)UNSUBSCRIBE, PING, QUIT and RESET
//! there (`process_command` checks it). RESP3 has a distinct *push* type,
//! so a RESP3 subscriber may run any command between messages.
//!
//! ## The Redis C counterpart
//!
//! `src/pubsub.c`: `pubsubSubscribeChannel`, `pubsubUnsubscribeChannel`,
//! `pubsubSubscribePattern`, `pubsubUnsubscribeAllChannels`,
//! `pubsubPublishMessage`, `addReplyPubsubMessage`, `pubsubCommand`,
//! `channelList`; the subscribed-mode check in `processCommand` (server.c).
//!
//! ## What we simplified
//!
//! Sharded pub/sub (SSUBSCRIBE, SPUBLISH) belongs to Cluster and is not
//! here; `PUBSUB SHARDCHANNELS`/`SHARDNUMSUB` answer as a server with no
//! shard channels does. A message for a client whose state is borrowed at
//! that moment (it is the one running a command, reached from code that
//! has no handle on it, such as lazy expiry firing `expired`) waits in a
//! small mailbox and is appended right after that command: for a RESP3
//! client subscribed to its own key events, such a push can come after the
//! reply instead of before it.

use crate::dict::Dict;
use crate::glob::glob_match;
use crate::resp::Reply;
use crate::sds::Sds;
use crate::server::client::ReplyMode;
use crate::server::{Client, Server};

// ANCHOR: pubsub_state
/// The server's side: who listens to what.
#[derive(Default)]
pub struct PubSubState {
    /// Channel → subscribers, oldest subscription first.
    pub channels: Dict<Sds, Vec<u64>>,
    /// Pattern → subscribers, oldest subscription first.
    pub patterns: Dict<Sds, Vec<u64>>,
    /// Frames for clients that could not be reached when they were
    /// produced (their state was borrowed); appended after their command.
    pub mailbox: Vec<(u64, Vec<u8>)>,
}

/// A client's side: what it listens to.
#[derive(Default)]
pub struct ClientPubSub {
    pub channels: Dict<Sds, ()>,
    /// A list, as Redis: PUNSUBSCRIBE with no argument goes in this order.
    pub patterns: Vec<Vec<u8>>,
}
// ANCHOR_END: pubsub_state

impl ClientPubSub {
    /// Channels plus patterns: the count every (un)subscribe reply carries.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Is the connection in subscribed mode (Redis's `CLIENT_PUBSUB`)?
    pub fn active(&self) -> bool {
        self.count() > 0
    }
}

/// A confirmation frame: `[kind, name or nil, count]`, a push in RESP3.
/// Under `CLIENT REPLY OFF|SKIP` it is still delivered, as Redis 7.0
/// does: it is set aside from the reply that will be dropped.
fn confirm(client: &mut Client, kind: &[u8], name: Option<&[u8]>, count: usize) {
    let start = client.reply.len();
    confirm_frame(&mut client.reply, kind, name, count);
    if client.reply_mode != ReplyMode::On {
        let frame = client.reply.split_off(start);
        client.pushed.extend_from_slice(&frame);
    }
}

fn confirm_frame(reply: &mut Reply, kind: &[u8], name: Option<&[u8]>, count: usize) {
    reply.push(3);
    reply.bulk(kind);
    match name {
        Some(n) => reply.bulk(n),
        None => reply.null(),
    }
    reply.int(count as i64);
}

// ANCHOR: pubsub_subscribe
/// SUBSCRIBE one channel (Redis's `pubsubSubscribeChannel`). Subscribing
/// twice is harmless: the confirmation comes, the count does not move.
pub fn subscribe_channel(server: &mut Server, client: &mut Client, channel: &[u8]) {
    if !client.pubsub.channels.contains_key(channel) {
        client.pubsub.channels.insert(Sds::new(channel), ());
        add_subscriber(&mut server.pubsub.channels, channel, client.id);
    }
    let count = client.pubsub.count();
    confirm(client, b"subscribe", Some(channel), count);
}
// ANCHOR_END: pubsub_subscribe

/// UNSUBSCRIBE one channel; `notify` is false when a disconnect or RESET
/// does it (there is nobody to tell).
pub fn unsubscribe_channel(server: &mut Server, client: &mut Client, channel: &[u8], notify: bool) {
    if client.pubsub.channels.remove(channel).is_some() {
        remove_subscriber(&mut server.pubsub.channels, channel, client.id);
    }
    if notify {
        let count = client.pubsub.count();
        confirm(client, b"unsubscribe", Some(channel), count);
    }
}

/// PSUBSCRIBE one pattern.
pub fn subscribe_pattern(server: &mut Server, client: &mut Client, pattern: &[u8]) {
    if !client.pubsub.patterns.iter().any(|p| p == pattern) {
        client.pubsub.patterns.push(pattern.to_vec());
        add_subscriber(&mut server.pubsub.patterns, pattern, client.id);
    }
    let count = client.pubsub.count();
    confirm(client, b"psubscribe", Some(pattern), count);
}

/// PUNSUBSCRIBE one pattern.
pub fn unsubscribe_pattern(server: &mut Server, client: &mut Client, pattern: &[u8], notify: bool) {
    if let Some(at) = client.pubsub.patterns.iter().position(|p| p == pattern) {
        client.pubsub.patterns.remove(at);
        remove_subscriber(&mut server.pubsub.patterns, pattern, client.id);
    }
    if notify {
        let count = client.pubsub.count();
        confirm(client, b"punsubscribe", Some(pattern), count);
    }
}

/// UNSUBSCRIBE with no argument: one confirmation per channel, or a single
/// `[unsubscribe, nil, 0]` when there was none. Returns how many.
pub fn unsubscribe_all_channels(server: &mut Server, client: &mut Client, notify: bool) -> usize {
    let channels: Vec<Vec<u8>> = client
        .pubsub
        .channels
        .iter()
        .map(|(k, _)| k.to_vec())
        .collect();
    for ch in &channels {
        unsubscribe_channel(server, client, ch, notify);
    }
    if notify && channels.is_empty() {
        let count = client.pubsub.count();
        confirm(client, b"unsubscribe", None, count);
    }
    channels.len()
}

/// PUNSUBSCRIBE with no argument, in subscription order.
pub fn unsubscribe_all_patterns(server: &mut Server, client: &mut Client, notify: bool) -> usize {
    let patterns = client.pubsub.patterns.clone();
    for p in &patterns {
        unsubscribe_pattern(server, client, p, notify);
    }
    if notify && patterns.is_empty() {
        let count = client.pubsub.count();
        confirm(client, b"punsubscribe", None, count);
    }
    patterns.len()
}

fn add_subscriber(index: &mut Dict<Sds, Vec<u64>>, name: &[u8], id: u64) {
    match index.get_mut(name) {
        Some(ids) => ids.push(id),
        None => {
            index.insert(Sds::new(name), vec![id]);
        }
    }
}

fn remove_subscriber(index: &mut Dict<Sds, Vec<u64>>, name: &[u8], id: u64) {
    let now_empty = match index.get_mut(name) {
        Some(ids) => {
            ids.retain(|&i| i != id);
            ids.is_empty()
        }
        None => false,
    };
    // No subscriber left: the channel stops existing (PUBSUB CHANNELS).
    if now_empty {
        index.remove(name);
    }
}

// ANCHOR: pubsub_publish
/// Deliver `message` to every subscriber of `channel` and of every pattern
/// matching it (Redis's `pubsubPublishMessage`); returns how many frames
/// were delivered (a client matching twice counts twice, as in Redis).
///
/// `current` is the client whose command is running, if the caller has
/// it: its state is already borrowed, so it is written to directly.
pub fn publish(
    server: &mut Server,
    mut current: Option<&mut Client>,
    channel: &[u8],
    message: &[u8],
) -> usize {
    let mut receivers = 0;
    if let Some(ids) = server.pubsub.channels.get(channel).cloned() {
        let mut frame = Reply::new();
        frame.array(3);
        frame.bulk(b"message");
        frame.bulk(channel);
        frame.bulk(message);
        for id in ids {
            deliver(server, current.as_deref_mut(), id, &frame.buf);
            receivers += 1;
        }
    }
    if !server.pubsub.patterns.is_empty() {
        // Collect first: delivering needs the server mutably.
        let mut matched: Vec<(Vec<u8>, Vec<u64>)> = Vec::new();
        for (pattern, ids) in server.pubsub.patterns.iter() {
            if glob_match(pattern, channel, false) {
                matched.push((pattern.to_vec(), ids.clone()));
            }
        }
        for (pattern, ids) in matched {
            let mut frame = Reply::new();
            frame.array(4);
            frame.bulk(b"pmessage");
            frame.bulk(&pattern);
            frame.bulk(channel);
            frame.bulk(message);
            for id in ids {
                deliver(server, current.as_deref_mut(), id, &frame.buf);
                receivers += 1;
            }
        }
    }
    receivers
}
// ANCHOR_END: pubsub_publish

/// Append a frame (encoded as a RESP2 array) to a client's output.
fn append_frame(client: &mut Client, frame: &[u8]) {
    let resp3 = client.reply.is_resp3();
    append_frame_to(&mut client.reply.buf, frame, resp3);
}

/// Append a frame to the client whose own command is running: under
/// `CLIENT REPLY OFF|SKIP` it goes aside, to survive the dropping of that
/// command's reply (see [`Client::pushed`]).
fn append_frame_to_current(client: &mut Client, frame: &[u8]) {
    let resp3 = client.reply.is_resp3();
    if client.reply_mode == ReplyMode::On {
        append_frame_to(&mut client.reply.buf, frame, resp3);
    } else {
        append_frame_to(&mut client.pushed, frame, resp3);
    }
}

fn append_frame_to(out: &mut Vec<u8>, frame: &[u8], resp3: bool) {
    if resp3 {
        // The same frame as a push: only the type byte differs.
        out.push(b'>');
        out.extend_from_slice(&frame[1..]);
    } else {
        out.extend_from_slice(frame);
    }
}

/// Give one frame to client `id`: directly if it is `current`, else through
/// its cell, waking its task and enforcing its output buffer limit; into
/// the mailbox if its cell is busy.
pub fn deliver(server: &mut Server, current: Option<&mut Client>, id: u64, frame: &[u8]) {
    if let Some(c) = current {
        if c.id == id {
            append_frame_to_current(c, frame);
            return;
        }
    }
    let Some(rc) = server.clients.get(&id) else {
        return;
    };
    match rc.try_borrow_mut() {
        Ok(mut c) => {
            append_frame(&mut c, frame);
            crate::server::connection::enforce_output_limit(&server.config, &mut c);
            c.wake.notify_one();
        }
        Err(_) => server.pubsub.mailbox.push((id, frame.to_vec())),
    }
}

/// Append what waited in the mailbox for `client` (see [`PubSubState`]).
pub fn drain_mailbox(server: &mut Server, client: &mut Client) {
    if server.pubsub.mailbox.iter().all(|(id, _)| *id != client.id) {
        return;
    }
    let mut kept = Vec::new();
    for (id, frame) in std::mem::take(&mut server.pubsub.mailbox) {
        if id == client.id {
            append_frame_to_current(client, &frame);
        } else {
            kept.push((id, frame));
        }
    }
    server.pubsub.mailbox = kept;
}

/// Drop every subscription of a client that goes away (`freeClient`).
pub fn forget_client(server: &mut Server, client: &mut Client) {
    if client.pubsub.active() {
        unsubscribe_all_channels(server, client, false);
        unsubscribe_all_patterns(server, client, false);
    }
    server.pubsub.mailbox.retain(|(id, _)| *id != client.id);
}

/// PUBSUB CHANNELS [pattern]: the channels with at least one subscriber.
pub fn channel_list(server: &Server, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
    server
        .pubsub
        .channels
        .iter()
        .filter(|(ch, _)| pattern.is_none_or(|p| glob_match(p, ch, false)))
        .map(|(ch, _)| ch.to_vec())
        .collect()
}

/// PUBSUB NUMSUB's count for one channel (pattern subscribers excluded).
pub fn subscriber_count(server: &Server, channel: &[u8]) -> usize {
    server.pubsub.channels.get(channel).map_or(0, Vec::len)
}

// ANCHOR: pubsub_context
/// In RESP2 subscribed mode, the only commands a connection may send
/// (the check in Redis's `processCommand`).
pub fn allowed_in_subscribed_mode(cmd: &crate::server::Command) -> bool {
    matches!(
        cmd.full_name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}
// ANCHOR_END: pubsub_context

/// Redis 7.0's refusal of any other command in subscribed mode.
pub fn subscribed_mode_error(cmd: &crate::server::Command) -> String {
    format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
         are allowed in this context",
        cmd.full_name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Config;

    fn client(id: u64) -> Client {
        let a = "127.0.0.1:1".parse().unwrap();
        Client::new(id, a, a, -1)
    }

    #[test]
    fn both_indexes_change_together_and_empty_channels_vanish() {
        let mut server = Server::new(Config::default());
        let mut c = client(1);
        subscribe_channel(&mut server, &mut c, b"news");
        subscribe_channel(&mut server, &mut c, b"news");
        assert_eq!(c.pubsub.count(), 1);
        assert_eq!(subscriber_count(&server, b"news"), 1);
        unsubscribe_channel(&mut server, &mut c, b"news", true);
        assert_eq!(c.pubsub.count(), 0);
        assert!(server.pubsub.channels.is_empty());
    }

    #[test]
    fn resp3_frames_are_pushes_with_the_same_body() {
        let mut c = client(1);
        c.reply.protocol = crate::resp::Protocol::Resp3;
        append_frame(&mut c, b"*1\r\n$1\r\nx\r\n");
        assert_eq!(c.reply.buf, b">1\r\n$1\r\nx\r\n");
    }

    #[test]
    fn unsubscribe_all_with_nothing_replies_one_nil_frame() {
        let mut server = Server::new(Config::default());
        let mut c = client(1);
        assert_eq!(unsubscribe_all_channels(&mut server, &mut c, true), 0);
        assert_eq!(c.reply.buf, b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    }
}
