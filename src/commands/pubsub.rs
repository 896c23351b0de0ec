//! # Pub/Sub commands
//!
//! SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH, and PUBSUB with
//! CHANNELS NUMSUB NUMPAT (plus the shard variants, which answer as a
//! server with no shard channels) and HELP. The mechanics (the two
//! indexes, delivery, subscribed mode) are the `pubsub` chapter module;
//! these functions parse arguments and call it.
//!
//! ## The Redis C counterpart
//!
//! `subscribeCommand`, `unsubscribeCommand`, `psubscribeCommand`,
//! `punsubscribeCommand`, `publishCommand`, `pubsubCommand` (pubsub.c).

use crate::pubsub;
use crate::resp::Args;
use crate::server::command::{CommandDef, Group};
use crate::server::Ctx;

/// What Redis 7.0 flags the (un)subscribe commands with.
const SUBSCRIBE_FLAGS: &str = "pubsub noscript loading stale";
const PUBSUB_SUB: &str = "pubsub loading stale";

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "subscribe",
        arity: -2,
        flags: SUBSCRIBE_FLAGS,
        since: "2.0.0",
        summary: "Listens for messages published to the channels.",
        run: subscribe,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "unsubscribe",
        arity: -1,
        flags: SUBSCRIBE_FLAGS,
        since: "2.0.0",
        summary: "Stops listening to the channels, or to all of them.",
        run: unsubscribe,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "psubscribe",
        arity: -2,
        flags: SUBSCRIBE_FLAGS,
        since: "2.0.0",
        summary: "Listens for messages on every channel matching the glob patterns.",
        run: psubscribe,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "punsubscribe",
        arity: -1,
        flags: SUBSCRIBE_FLAGS,
        since: "2.0.0",
        summary: "Stops listening to the patterns, or to all of them.",
        run: punsubscribe,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "publish",
        arity: 3,
        flags: "pubsub loading stale fast may_replicate",
        since: "2.0.0",
        summary: "Sends a message to the channel's subscribers; returns how many got it.",
        run: publish,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "pubsub",
        arity: -2,
        since: "2.0.0",
        summary: "Inspects the Pub/Sub state: channels, subscriber counts.",
        run: pubsub_container,
        subcommands: PUBSUB_SUBCOMMANDS,
        ..CommandDef::base(Group::PubSub)
    },
];

static PUBSUB_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "channels",
        arity: -2,
        flags: PUBSUB_SUB,
        since: "2.8.0",
        summary: "Lists the channels that have subscribers, optionally matching a pattern.",
        run: pubsub_channels,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "numsub",
        arity: -2,
        flags: PUBSUB_SUB,
        since: "2.8.0",
        summary: "Counts the subscribers of each channel (pattern subscribers excluded).",
        run: pubsub_numsub,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "numpat",
        arity: 2,
        flags: PUBSUB_SUB,
        since: "2.8.0",
        summary: "Counts the patterns that have subscribers.",
        run: pubsub_numpat,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "shardchannels",
        arity: -2,
        flags: PUBSUB_SUB,
        since: "7.0.0",
        summary: "Lists the shard channels that have subscribers (none: no cluster).",
        run: pubsub_channels,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "shardnumsub",
        arity: -2,
        flags: PUBSUB_SUB,
        since: "7.0.0",
        summary: "Counts the subscribers of each shard channel (none: no cluster).",
        run: pubsub_numsub,
        ..CommandDef::base(Group::PubSub)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "6.2.0",
        summary: "Lists the PUBSUB subcommands.",
        run: pubsub_help,
        ..CommandDef::base(Group::PubSub)
    },
];

/// `PUBSUB` alone never runs: the table resolves a subcommand first.
fn pubsub_container(_ctx: &mut Ctx, _args: Args) {}

/// SUBSCRIBE channel [channel ...]: one confirmation per channel.
fn subscribe(ctx: &mut Ctx, args: Args) {
    for ch in args.iter().skip(1) {
        pubsub::subscribe_channel(ctx.server, ctx.client, ch);
    }
}

/// UNSUBSCRIBE [channel ...]
fn unsubscribe(ctx: &mut Ctx, args: Args) {
    if args.len() == 1 {
        pubsub::unsubscribe_all_channels(ctx.server, ctx.client, true);
        return;
    }
    for ch in args.iter().skip(1) {
        pubsub::unsubscribe_channel(ctx.server, ctx.client, ch, true);
    }
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx, args: Args) {
    for p in args.iter().skip(1) {
        pubsub::subscribe_pattern(ctx.server, ctx.client, p);
    }
}

/// PUNSUBSCRIBE [pattern ...]
fn punsubscribe(ctx: &mut Ctx, args: Args) {
    if args.len() == 1 {
        pubsub::unsubscribe_all_patterns(ctx.server, ctx.client, true);
        return;
    }
    for p in args.iter().skip(1) {
        pubsub::unsubscribe_pattern(ctx.server, ctx.client, p, true);
    }
}

/// PUBLISH channel message: the number of frames delivered.
fn publish(ctx: &mut Ctx, args: Args) {
    let receivers = pubsub::publish(ctx.server, Some(ctx.client), &args[1], &args[2]);
    ctx.reply().int(receivers as i64);
    // Replicas publish it to their own subscribers.
    let db = ctx.client.db;
    crate::propagate::propagate_to_replicas(ctx.server, db, &[&args[0], &args[1], &args[2]]);
}

/// The error of a PUBSUB subcommand given the wrong arguments
/// (`addReplySubcommandSyntaxError`).
fn subcommand_syntax_error(ctx: &mut Ctx, args: Args) {
    let msg = format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(&args[1])
    );
    ctx.reply().error(&msg);
}

/// PUBSUB CHANNELS [pattern] (and SHARDCHANNELS, always empty here).
fn pubsub_channels(ctx: &mut Ctx, args: Args) {
    if args.len() > 3 {
        subcommand_syntax_error(ctx, args);
        return;
    }
    let channels = if crate::commands::eq_ic(&args[1], "shardchannels") {
        Vec::new()
    } else {
        pubsub::channel_list(ctx.server, (args.len() == 3).then(|| &args[2]))
    };
    let reply = ctx.reply();
    reply.array(channels.len());
    for ch in &channels {
        reply.bulk(ch);
    }
}

/// PUBSUB NUMSUB [channel ...]: a flat array of channel, count (an array
/// in RESP3 too, as Redis 7.0).
fn pubsub_numsub(ctx: &mut Ctx, args: Args) {
    let shard = crate::commands::eq_ic(&args[1], "shardnumsub");
    ctx.client.reply.array((args.len() - 2) * 2);
    for ch in args.iter().skip(2) {
        let n = if shard {
            0
        } else {
            pubsub::subscriber_count(ctx.server, ch)
        };
        let reply = &mut ctx.client.reply;
        reply.bulk(ch);
        reply.int(n as i64);
    }
}

/// PUBSUB NUMPAT: patterns with at least one subscriber.
fn pubsub_numpat(ctx: &mut Ctx, _args: Args) {
    let n = ctx.server.pubsub.patterns.len() as i64;
    ctx.reply().int(n);
}

/// PUBSUB HELP, Redis 7.0's lines.
fn pubsub_help(ctx: &mut Ctx, _args: Args) {
    const LINES: &[&str] = &[
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ];
    let reply = ctx.reply();
    reply.array(LINES.len() + 3);
    reply.simple("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    for line in LINES {
        reply.simple(line);
    }
    reply.simple("HELP");
    reply.simple("    Prints this help.");
}
