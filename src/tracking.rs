//! # Client-side caching: the server remembers who may hold what
//!
//! A client that keeps a local copy of the values it reads saves a round
//! trip per read, but must learn when a copy goes stale. With `CLIENT
//! TRACKING on` the server takes that job: every key the client *reads*
//! is written down in a table, key → ids of the clients that read it, and
//! the first time the key is *modified* afterwards each of those clients
//! gets an `invalidate` message with the key's name, and the key leaves
//! the table. The client drops its copy; its next read goes to the server
//! and is remembered again.
//!
//! ## The invariant
//!
//! For every client `c` with tracking on (default mode) and every key `k`
//! that `c` has read since the last invalidation of `k` sent to `c`, the
//! table maps `k` to a set containing `c`'s id. So a modification is
//! always announced to everyone who may hold a stale value; it may also be
//! announced to a client that no longer holds one (a false positive, at
//! worst one more read). The table is cleared per key when it is
//! announced, so each read buys at most one message.
//!
//! ## Bounds
//!
//! The table costs memory per read key, so it is bounded by
//! `tracking-table-max-keys` (default 1,000,000; 0 means no limit). When
//! it is over, before each command and in cron, keys are invalidated as if
//! modified, chosen arbitrarily, until it is back under the limit or an
//! effort of 100 keys (times the number of consecutive attempts that did
//! not finish) is spent. Evicting an entry is always safe: it only sends
//! an early invalidation.
//!
//! ## Broadcasting mode (BCAST)
//!
//! A client that says `BCAST PREFIX user: PREFIX cart:` is not tracked per
//! read at all: it hears about *every* modified key that starts with one
//! of its prefixes (the empty prefix: every key). The server keeps, per
//! prefix, the clients subscribed and the keys modified since the last
//! broadcast; after each command (and each cron tick) each prefix's keys
//! go out as one message to each of its clients. Memory no longer grows
//! with reads, at the price of messages about keys the client never
//! cached.
//!
//! ## Where the messages go
//!
//! - A RESP3 client gets a push, `>2 invalidate [key]`.
//! - `REDIRECT id` sends them to another connection instead: as a push if
//!   that one speaks RESP3, else as a pub/sub `message` on
//!   `__redis__:invalidate` if it is subscribed (that is how a RESP2
//!   client library receives them). A RESP2 client without a redirect
//!   gets nothing: it has nowhere to receive pushes.
//! - If the redirect client is gone, the tracking client is marked
//!   `broken_redirect` (CLIENT LIST flag `R`) and, if it speaks RESP3, gets
//!   `>2 tracking-redir-broken <id>` instead.
//! - FLUSHALL and FLUSHDB invalidate everything at once: the key is a
//!   null, and the whole table is dropped.
//! - The client whose own command modified a key it tracks gets the
//!   message after that command's reply (unless `NOLOOP`: then not at
//!   all), never in the middle of it.
//!
//! `OPTIN` tracks only the reads that follow `CLIENT CACHING yes`;
//! `OPTOUT` tracks every read except those after `CLIENT CACHING no`. The
//! CACHING flag lasts for one command (or one MULTI/EXEC).
//!
//! ## Redis C counterpart
//!
//! `tracking.c`: `enableTracking`, `disableTracking`,
//! `trackingRememberKeys`, `trackingInvalidateKey`, `sendTrackingMessage`,
//! `trackingInvalidateKeysOnFlush`, `trackingLimitUsedSlots`,
//! `trackingBroadcastInvalidationMessages`,
//! `trackingHandlePendingKeyInvalidations`; `networking.c`:
//! `clientCommand` (TRACKING, CACHING, GETREDIR, TRACKINGINFO).
//!
//! ## What we simplified
//!
//! Redis keeps the table and the prefixes in radix trees (`rax`); we use
//! a `HashMap` of key → `BTreeSet` of ids and a `BTreeMap` of prefixes
//! (ordered, so a prefix walk and TRACKINGINFO list them as Redis does).
//! BCAST messages are sent after each command rather than once per event
//! loop iteration, so a pipeline of writes may produce several messages
//! where Redis would send one. Scripts are not considered (no Lua here).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::resp::Args;
use crate::server::client::Client;
use crate::server::command::{flags, Command};
use crate::server::Server;

/// One client's tracking settings (Redis's `CLIENT_TRACKING_*` flags).
#[derive(Default, Debug)]
pub struct ClientTracking {
    /// `CLIENT TRACKING on`.
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// `CLIENT CACHING yes|no` was given for the next command.
    pub caching: bool,
    /// The redirect client went away (`R` in CLIENT LIST).
    pub broken_redirect: bool,
    /// Where the messages go; 0: to this client itself.
    pub redirect: u64,
    /// BCAST prefixes, sorted.
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// One BCAST prefix: who listens, and what changed since the last
/// broadcast.
#[derive(Default, Debug)]
struct PrefixState {
    clients: BTreeSet<u64>,
    /// Modified keys, with the id of the client whose command modified
    /// each (0: none, e.g. expiry), so a NOLOOP client can skip its own.
    keys: BTreeMap<Vec<u8>, u64>,
}

/// The server's side of tracking.
#[derive(Default, Debug)]
pub struct Tracking {
    /// Key → ids of the clients that read it (Redis's `TrackingTable`).
    table: HashMap<Vec<u8>, BTreeSet<u64>>,
    /// Sum of the sets' sizes (INFO `tracking_total_items`).
    total_items: usize,
    /// BCAST prefix → its state (Redis's `PrefixTable`).
    prefixes: BTreeMap<Vec<u8>, PrefixState>,
    /// Clients with tracking on (INFO `tracking_clients`).
    pub clients: usize,
    /// Invalidations for a client whose command is running, sent after
    /// its reply: its id, and a key or `None` for a flush. Also where a
    /// message waits when its client's cell is busy (the client being
    /// served while the change came from elsewhere: a key it read
    /// lazily expiring, say).
    pending: Vec<(u64, Option<Vec<u8>>)>,
    /// Consecutive table-limit passes that could not get under the limit
    /// (each one tries harder).
    limit_misses: u32,
}

impl Tracking {
    /// INFO `tracking_total_keys`.
    pub fn total_keys(&self) -> usize {
        self.table.len()
    }
    /// INFO `tracking_total_items`.
    pub fn total_items(&self) -> usize {
        self.total_items
    }
    /// INFO `tracking_total_prefixes`.
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }
}

const REDIRECT_TWICE: &str = "ERR A client can only redirect to a single other client";
const NO_SUCH_REDIRECT: &str = "ERR The client ID you want redirect to does not exist";

/// The options of CLIENT TRACKING, parsed.
#[derive(Default)]
struct TrackingOptions {
    redirect: u64,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    prefixes: Vec<Vec<u8>>,
}

// ANCHOR: tracking_command
/// CLIENT TRACKING on|off [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP]: checks in Redis's order, every error its text.
pub fn client_tracking(ctx: &mut crate::server::Ctx, args: Args) {
    let mut o = TrackingOptions::default();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = &args[j];
        if a.eq_ignore_ascii_case(b"redirect") && more {
            j += 1;
            if o.redirect != 0 {
                return ctx.reply().error(REDIRECT_TWICE);
            }
            let Some(id) = crate::commands::arg_i64(ctx, &args[j]) else {
                return;
            };
            let exists = id == ctx.client.id as i64
                || (id > 0 && ctx.server.clients.contains_key(&(id as u64)));
            if !exists {
                return ctx.reply().error(NO_SUCH_REDIRECT);
            }
            o.redirect = id as u64;
        } else if a.eq_ignore_ascii_case(b"bcast") {
            o.bcast = true;
        } else if a.eq_ignore_ascii_case(b"optin") {
            o.optin = true;
        } else if a.eq_ignore_ascii_case(b"optout") {
            o.optout = true;
        } else if a.eq_ignore_ascii_case(b"noloop") {
            o.noloop = true;
        } else if a.eq_ignore_ascii_case(b"prefix") && more {
            j += 1;
            o.prefixes.push(args[j].to_vec());
        } else {
            return ctx.reply().error(crate::server::SYNTAX_ERR);
        }
        j += 1;
    }
    let mode = &args[2];
    if mode.eq_ignore_ascii_case(b"on") {
        if let Err(msg) = check_enable(&ctx.client.tracking, &o) {
            return ctx.reply().error_bytes(&msg);
        }
        enable(ctx.server, ctx.client, o);
    } else if mode.eq_ignore_ascii_case(b"off") {
        disable(ctx.server, ctx.client);
    } else {
        return ctx.reply().error(crate::server::SYNTAX_ERR);
    }
    ctx.reply().ok();
}
// ANCHOR_END: tracking_command

/// The compatibility checks of `CLIENT TRACKING on`, in Redis's order.
fn check_enable(current: &ClientTracking, o: &TrackingOptions) -> Result<(), Vec<u8>> {
    let err = |s: &str| Err(s.as_bytes().to_vec());
    if !o.bcast && !o.prefixes.is_empty() {
        return err("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if current.on && current.bcast != o.bcast {
        return err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if o.bcast && (o.optin || o.optout) {
        return err("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if o.optin && o.optout {
        return err("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if (o.optin && current.optout) || (o.optout && current.optin) {
        return err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if o.bcast {
        check_prefix_collisions(current, &o.prefixes)?;
    }
    Ok(())
}

/// Prefixes of one client must not overlap (one a prefix of another),
/// neither with its existing ones nor among the new ones.
fn check_prefix_collisions(current: &ClientTracking, new: &[Vec<u8>]) -> Result<(), Vec<u8>> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    for (i, p) in new.iter().enumerate() {
        for old in &current.prefixes {
            if overlap(old, p) {
                let mut msg = b"ERR Prefix '".to_vec();
                msg.extend_from_slice(p);
                msg.extend_from_slice(b"' overlaps with an existing prefix '");
                msg.extend_from_slice(old);
                msg.extend_from_slice(b"'. Prefixes for a single client must not overlap.");
                return Err(msg);
            }
        }
        for q in &new[i + 1..] {
            if overlap(p, q) {
                let mut msg = b"ERR Prefix '".to_vec();
                msg.extend_from_slice(p);
                msg.extend_from_slice(b"' overlaps with another provided prefix '");
                msg.extend_from_slice(q);
                msg.extend_from_slice(b"'. Prefixes for a single client must not overlap.");
                return Err(msg);
            }
        }
    }
    Ok(())
}

/// `enableTracking`: the options replace the previous ones (the BCAST
/// prefixes add up).
fn enable(server: &mut Server, client: &mut Client, o: TrackingOptions) {
    let t = &mut client.tracking;
    if !t.on {
        server.tracking.clients += 1;
    }
    t.on = true;
    t.broken_redirect = false;
    t.redirect = o.redirect;
    t.bcast = o.bcast;
    t.optin = o.optin;
    t.optout = o.optout;
    t.noloop = o.noloop;
    if o.bcast {
        let prefixes = if o.prefixes.is_empty() {
            vec![Vec::new()]
        } else {
            o.prefixes
        };
        for p in prefixes {
            server
                .tracking
                .prefixes
                .entry(p.clone())
                .or_default()
                .clients
                .insert(client.id);
            t.prefixes.insert(p);
        }
    }
}

/// `disableTracking`: CLIENT TRACKING off, RESET, a client going away.
/// Its entries in the key table stay (they are cleared lazily, when the
/// keys are invalidated and the id no longer tracks).
pub fn disable(server: &mut Server, client: &mut Client) {
    let t = &mut client.tracking;
    for p in std::mem::take(&mut t.prefixes) {
        if let Some(state) = server.tracking.prefixes.get_mut(&p) {
            state.clients.remove(&client.id);
            if state.clients.is_empty() {
                server.tracking.prefixes.remove(&p);
            }
        }
    }
    if t.on {
        server.tracking.clients -= 1;
    }
    *t = ClientTracking::default();
}

// ANCHOR: tracking_remember
/// After a read-only command of a tracking client (default mode): write
/// its keys down (`trackingRememberKeys`). OPTIN remembers only after
/// CACHING yes, OPTOUT all but after CACHING no.
pub fn remember_keys(server: &mut Server, client: &Client, cmd: &Command, args: Args) {
    let t = &client.tracking;
    if (t.optin && !t.caching) || (t.optout && t.caching) || cmd.has(flags::PUBSUB) {
        return;
    }
    for pos in cmd.key_positions(args) {
        let key = args.get(pos);
        let ids = match server.tracking.table.get_mut(key) {
            Some(ids) => ids,
            None => server.tracking.table.entry(key.to_vec()).or_default(),
        };
        if ids.insert(client.id) {
            server.tracking.total_items += 1;
        }
    }
}
// ANCHOR_END: tracking_remember

// ANCHOR: tracking_invalidate
/// A key changed (`trackingInvalidateKey`): tell everyone who read it,
/// forget them, and note the key for the BCAST prefixes it matches.
/// `current` is the client whose command changed it, if any.
pub fn invalidate_key(server: &mut Server, current: Option<&mut Client>, key: &[u8]) {
    if server.tracking.clients == 0 && server.tracking.table.is_empty() {
        return;
    }
    let modifier = current.as_ref().map_or(0, |c| c.id);
    for (prefix, state) in server.tracking.prefixes.iter_mut() {
        if key.starts_with(prefix) {
            state.keys.insert(key.to_vec(), modifier);
        }
    }
    let Some(ids) = server.tracking.table.remove(key) else {
        return;
    };
    server.tracking.total_items -= ids.len();
    let mut current = current;
    for id in ids {
        if let Some(c) = current.as_deref_mut().filter(|c| c.id == id) {
            if !c.tracking.on || c.tracking.bcast || c.tracking.noloop {
                continue;
            }
            // After the reply of the command now running.
            server.tracking.pending.push((id, Some(key.to_vec())));
            continue;
        }
        let Some(target) = tracking_state(server, id) else {
            if server.clients.contains_key(&id) {
                server.tracking.pending.push((id, Some(key.to_vec())));
            }
            continue;
        };
        if !target.on || target.bcast {
            continue;
        }
        let frame = key_array(key);
        send(server, current.as_deref_mut(), id, &frame);
    }
}
// ANCHOR_END: tracking_invalidate

/// FLUSHALL / FLUSHDB (`trackingInvalidateKeysOnFlush`): every tracking
/// client hears a null invalidation, and the table is emptied.
pub fn invalidate_all(server: &mut Server, current: Option<&mut Client>) {
    if server.tracking.clients > 0 {
        let mut current = current;
        let ids: Vec<u64> = server.clients.keys().copied().collect();
        for id in ids {
            if let Some(c) = current.as_deref_mut().filter(|c| c.id == id) {
                if c.tracking.on {
                    server.tracking.pending.push((id, None));
                }
                continue;
            }
            let Some(t) = tracking_state(server, id) else {
                if server.clients.contains_key(&id) {
                    server.tracking.pending.push((id, None));
                }
                continue;
            };
            if t.on {
                // The null is spelt in the tracking client's protocol,
                // even when it goes to a redirect client (as in Redis).
                let null: &[u8] = if t.resp3 { b"_\r\n" } else { b"$-1\r\n" };
                send(server, current.as_deref_mut(), id, null);
            }
        }
    }
    server.tracking.table.clear();
    server.tracking.total_items = 0;
}

/// Before the command of `client` runs: what waited for it while the
/// server prepared the command (keys evicted to make room, in
/// `processCommand`) goes out first, ahead of the reply, as in Redis;
/// then the table is brought under its limit.
pub fn before_command(server: &mut Server, client: &mut Client) {
    if !client.in_exec
        && server
            .tracking
            .pending
            .iter()
            .any(|(id, _)| *id == client.id)
    {
        flush_pending(server, client);
    }
    limit_table(server, Some(client));
}

/// After the command of `client`: the invalidations it caused for itself
/// (`trackingHandlePendingKeyInvalidations`), then the BCAST batches, then
/// the CACHING flag expires (unless it was just set, or a transaction is
/// open).
pub fn after_command(server: &mut Server, client: &mut Client, cmd: &Command) {
    if server.tracking.clients == 0 && server.tracking.pending.is_empty() {
        return;
    }
    if client.in_exec {
        // Inside EXEC: everything waits for EXEC's own reply, so that no
        // message lands in the middle of its array.
        return;
    }
    flush_pending(server, client);
    broadcast(server, Some(&mut *client));
    if cmd.full_name != "client|caching" && !client.multi.active {
        client.tracking.caching = false;
    }
}

/// Send `client` the invalidations that waited for it.
fn flush_pending(server: &mut Server, client: &mut Client) {
    let (mine, others) = std::mem::take(&mut server.tracking.pending)
        .into_iter()
        .partition(|(id, _)| *id == client.id);
    server.tracking.pending = others;
    for (_, key) in mine {
        if !client.tracking.on || (key.is_some() && client.tracking.bcast) {
            continue;
        }
        let frame = match &key {
            Some(k) => key_array(k),
            None if client.reply.is_resp3() => b"_\r\n".to_vec(),
            None => b"$-1\r\n".to_vec(),
        };
        let id = client.id;
        send(server, Some(&mut *client), id, &frame);
    }
}

// ANCHOR: tracking_broadcast
/// Send each prefix's modified keys to its clients as one message
/// (`trackingBroadcastInvalidationMessages`). A NOLOOP client does not
/// hear about keys its own commands modified.
pub fn broadcast(server: &mut Server, current: Option<&mut Client>) {
    if server.tracking.prefixes.values().all(|s| s.keys.is_empty()) {
        return;
    }
    let mut current = current;
    // Each prefix's listeners and its keys, taken out of the table.
    type Batch = (BTreeSet<u64>, BTreeMap<Vec<u8>, u64>);
    let batches: Vec<Batch> = server
        .tracking
        .prefixes
        .values_mut()
        .filter(|s| !s.keys.is_empty())
        .map(|s| (s.clients.clone(), std::mem::take(&mut s.keys)))
        .collect();
    for (clients, keys) in batches {
        for id in clients {
            let noloop = match current.as_deref().filter(|c| c.id == id) {
                Some(c) => c.tracking.noloop,
                None => tracking_state(server, id).is_some_and(|t| t.noloop),
            };
            let sent: Vec<&[u8]> = keys
                .iter()
                .filter(|(_, by)| !(noloop && **by == id))
                .map(|(k, _)| k.as_slice())
                .collect();
            if sent.is_empty() {
                continue;
            }
            let mut frame = Vec::new();
            crate::propagate::encode_command(&mut frame, &sent);
            send(server, current.as_deref_mut(), id, &frame);
        }
    }
}
// ANCHOR_END: tracking_broadcast

/// Over `tracking-table-max-keys`: invalidate arbitrary keys until under
/// it, within an effort that grows with each pass that fell short
/// (`trackingLimitUsedSlots`). Before each command and in cron.
pub fn limit_table(server: &mut Server, current: Option<&mut Client>) {
    let max = server.config.tracking_table_max_keys;
    if max == 0 || server.tracking.table.len() <= max {
        server.tracking.limit_misses = 0;
        return;
    }
    let mut effort = 100 * (server.tracking.limit_misses as usize + 1);
    let mut current = current;
    while effort > 0 {
        effort -= 1;
        let Some(key) = server.tracking.table.keys().next().cloned() else {
            break;
        };
        // Not a modification: no BCAST note, only the readers are told.
        let Some(ids) = server.tracking.table.remove(&key) else {
            break;
        };
        server.tracking.total_items -= ids.len();
        for id in ids {
            let on = match current.as_deref().filter(|c| c.id == id) {
                Some(c) => c.tracking.on && !c.tracking.bcast,
                None => tracking_state(server, id).is_some_and(|t| t.on && !t.bcast),
            };
            if on {
                send(server, current.as_deref_mut(), id, &key_array(&key));
            }
        }
        if server.tracking.table.len() <= max {
            server.tracking.limit_misses = 0;
            return;
        }
    }
    server.tracking.limit_misses += 1;
}

/// What decides a message's route, copied out of a client's cell.
struct TargetState {
    on: bool,
    bcast: bool,
    noloop: bool,
    resp3: bool,
}

/// Client `id`'s tracking state, if it is connected and its cell is free.
fn tracking_state(server: &Server, id: u64) -> Option<TargetState> {
    let c = server.clients.get(&id)?.try_borrow().ok()?;
    Some(TargetState {
        on: c.tracking.on,
        bcast: c.tracking.bcast,
        noloop: c.tracking.noloop,
        resp3: c.reply.is_resp3(),
    })
}

/// `[key]`: a one-key invalidation payload.
fn key_array(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 16);
    crate::propagate::encode_command(&mut out, &[key]);
    out
}

/// The route of one message for tracking client `id`
/// (`sendTrackingMessage`): to itself or its redirect, as a push or a
/// pub/sub message, or nowhere; `tracking-redir-broken` when the redirect
/// is gone.
fn send(server: &mut Server, current: Option<&mut Client>, id: u64, payload: &[u8]) {
    let mut current = current;
    // The tracking client's redirect and protocol.
    let (redirect, resp3) = match current.as_deref().filter(|c| c.id == id) {
        Some(c) => (c.tracking.redirect, c.reply.is_resp3()),
        None => match server.clients.get(&id).and_then(|rc| rc.try_borrow().ok()) {
            Some(c) => (c.tracking.redirect, c.reply.is_resp3()),
            None => return,
        },
    };
    let (to, to_resp3, to_subscribed) = if redirect == 0 || redirect == id {
        (id, resp3, false)
    } else {
        let target = match current.as_deref().filter(|c| c.id == redirect) {
            Some(c) => Some((c.reply.is_resp3(), c.pubsub.active())),
            None => server
                .clients
                .get(&redirect)
                .and_then(|rc| rc.try_borrow().ok())
                .map(|c| (c.reply.is_resp3(), c.pubsub.active())),
        };
        match target {
            Some((r3, sub)) => (redirect, r3, sub),
            None => {
                mark_broken(server, current.as_deref_mut(), id);
                if resp3 {
                    let mut frame = b"*2\r\n$21\r\ntracking-redir-broken\r\n".to_vec();
                    frame.extend_from_slice(format!(":{redirect}\r\n").as_bytes());
                    crate::pubsub::deliver(server, current, id, &frame);
                }
                return;
            }
        }
    };
    let mut frame;
    if to_resp3 {
        // Written as an array; delivery makes it a push for RESP3.
        frame = b"*2\r\n$10\r\ninvalidate\r\n".to_vec();
    } else if to != id && to_subscribed {
        frame = b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n".to_vec();
    } else {
        return;
    }
    frame.extend_from_slice(payload);
    crate::pubsub::deliver(server, current, to, &frame);
}

fn mark_broken(server: &mut Server, current: Option<&mut Client>, id: u64) {
    if let Some(c) = current.filter(|c| c.id == id) {
        c.tracking.broken_redirect = true;
        return;
    }
    if let Some(mut c) = server
        .clients
        .get(&id)
        .and_then(|rc| rc.try_borrow_mut().ok())
    {
        c.tracking.broken_redirect = true;
    }
}

/// CLIENT CACHING yes|no
pub fn client_caching(ctx: &mut crate::server::Ctx, args: Args) {
    let t = &ctx.client.tracking;
    if !t.on {
        return ctx.reply().err("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    }
    let opt = &args[2];
    if opt.eq_ignore_ascii_case(b"yes") {
        if !t.optin {
            return ctx
                .reply()
                .err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
        }
    } else if opt.eq_ignore_ascii_case(b"no") {
        if !t.optout {
            return ctx
                .reply()
                .err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
        }
    } else {
        return ctx.reply().error(crate::server::SYNTAX_ERR);
    }
    ctx.client.tracking.caching = true;
    ctx.reply().ok();
}

/// CLIENT GETREDIR: the redirect id, 0 for none, -1 with tracking off.
pub fn client_getredir(ctx: &mut crate::server::Ctx, _args: Args) {
    let t = &ctx.client.tracking;
    let id = if t.on { t.redirect as i64 } else { -1 };
    ctx.reply().int(id);
}

/// CLIENT TRACKINGINFO: flags, redirect, prefixes.
pub fn client_trackinginfo(ctx: &mut crate::server::Ctx, _args: Args) {
    let t = &ctx.client.tracking;
    let mut names: Vec<&str> = vec![if t.on { "on" } else { "off" }];
    if t.bcast {
        names.push("bcast");
    }
    if t.optin {
        names.push("optin");
        if t.caching {
            names.push("caching-yes");
        }
    }
    if t.optout {
        names.push("optout");
        if t.caching {
            names.push("caching-no");
        }
    }
    if t.noloop {
        names.push("noloop");
    }
    if t.broken_redirect {
        names.push("broken_redirect");
    }
    let redirect = if t.on { t.redirect as i64 } else { -1 };
    let prefixes: Vec<Vec<u8>> = t.prefixes.iter().cloned().collect();
    let reply = ctx.reply();
    reply.map(3);
    reply.bulk(b"flags");
    reply.set(names.len());
    for n in names {
        reply.bulk(n.as_bytes());
    }
    reply.bulk(b"redirect");
    reply.int(redirect);
    reply.bulk(b"prefixes");
    reply.array(prefixes.len());
    for p in prefixes {
        reply.bulk(&p);
    }
}

/// CLIENT LIST's tracking letters: `t`, `R` (broken redirect), `B`.
pub fn flag_letters(t: &ClientTracking, out: &mut String) {
    if t.on {
        out.push('t');
    }
    if t.broken_redirect {
        out.push('R');
    }
    if t.bcast {
        out.push('B');
    }
}
