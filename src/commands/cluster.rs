//! # CLUSTER, READONLY, READWRITE, ASKING in a server without cluster mode
//!
//! Redis Cluster splits the keyspace into 16384 hash slots spread over
//! several primaries; clients learn who owns which slot with `CLUSTER
//! SHARDS`, are sent elsewhere with `-MOVED` and `-ASK`, and say `ASKING`
//! or `READONLY` to change how a node routes them. That is a later chapter
//! of this book. Until then the server behaves exactly as Redis 7.0 does
//! when started with `cluster-enabled no`, which is most Redis servers in
//! the world: the commands exist, with their real arity and flags, so
//! `COMMAND INFO`, `COMMAND DOCS` and `COMMAND LIST` describe them and a
//! wrong argument count is reported as for any command, but running one
//! answers `ERR This instance has cluster support disabled`.
//!
//! The invariant worth noticing: the arity check comes first. `CLUSTER
//! INFO x` is `ERR wrong number of arguments for 'cluster|info' command`,
//! not the cluster error, because the dispatcher checks the row before the
//! function runs; and `CLUSTER FOO` is an unknown subcommand. Even
//! `CLUSTER HELP` only says that cluster support is disabled.
//!
//! ## Redis C counterpart
//!
//! `cluster.c`: `clusterCommand` (which starts with the `cluster_enabled`
//! check), `readonlyCommand`, `readwriteCommand`, `askingCommand`;
//! `src/commands/cluster-*.json`, `readonly.json`, `readwrite.json`,
//! `asking.json` for the rows.
//!
//! ## What we simplified
//!
//! Everything: no slots, no bus, no redirections yet. The rows are the
//! real ones so that the cluster chapter only has to replace the function
//! each row runs.

use crate::resp::Args;
use crate::server::command::{CommandDef, Group};
use crate::server::Ctx;

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "cluster",
        arity: -2,
        since: "3.0.0",
        summary: "Manages and inspects a Redis Cluster node.",
        run: cluster_disabled,
        subcommands: CLUSTER_SUBCOMMANDS,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "readonly",
        arity: 1,
        flags: "loading stale fast",
        since: "3.0.0",
        summary: "Lets this connection read from a cluster replica.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "readwrite",
        arity: 1,
        flags: "loading stale fast",
        since: "3.0.0",
        summary: "Ends READONLY for this connection.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "asking",
        arity: 1,
        flags: "fast",
        since: "3.0.0",
        summary: "Announces the next command follows an -ASK redirection.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
];

/// The CLUSTER subcommands of Redis 7.0, in its table's order.
static CLUSTER_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "addslots",
        arity: -3,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Assigns hash slots to this node.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "flushslots",
        arity: 2,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Forgets every slot this node owns.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "getkeysinslot",
        arity: 4,
        flags: "stale",
        since: "3.0.0",
        summary: "Lists up to count local keys of a hash slot.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "myid",
        arity: 2,
        flags: "stale",
        since: "3.0.0",
        summary: "Returns this node's id.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "bumpepoch",
        arity: 2,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Advances this node's configuration epoch.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "slots",
        arity: 2,
        flags: "stale",
        since: "3.0.0",
        summary: "Maps slot ranges to nodes (deprecated by SHARDS).",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "links",
        arity: 2,
        flags: "stale",
        since: "7.0.0",
        summary: "Lists the cluster bus links to and from peers.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "nodes",
        arity: 2,
        flags: "stale",
        since: "3.0.0",
        summary: "Returns the cluster configuration as this node sees it.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "setslot",
        arity: -4,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Binds a slot to a node or marks it migrating or importing.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "info",
        arity: 2,
        flags: "stale",
        since: "3.0.0",
        summary: "Reports the cluster's state as this node sees it.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "failover",
        arity: -2,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Makes a replica take over from its master.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "count-failure-reports",
        arity: 3,
        flags: "admin stale",
        since: "3.0.0",
        summary: "Counts the failure reports about a node.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "reset",
        arity: -2,
        flags: "admin noscript stale",
        since: "3.0.0",
        summary: "Resets this node's cluster state.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "forget",
        arity: 3,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Removes a node from this node's table.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "saveconfig",
        arity: 2,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Writes the cluster configuration file.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "delslots",
        arity: -3,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Unassigns hash slots from this node.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "set-config-epoch",
        arity: 3,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Sets the configuration epoch of a new node.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "addslotsrange",
        arity: -4,
        flags: "admin stale no_async_loading",
        since: "7.0.0",
        summary: "Assigns ranges of hash slots to this node.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "keyslot",
        arity: 3,
        flags: "stale",
        since: "3.0.0",
        summary: "Returns the hash slot of a key.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "replicas",
        arity: 3,
        flags: "admin stale",
        since: "5.0.0",
        summary: "Lists the replicas of a master node.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "shards",
        arity: 2,
        flags: "stale",
        since: "7.0.0",
        summary: "Maps slot ranges to shards and their nodes.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "delslotsrange",
        arity: -4,
        flags: "admin stale no_async_loading",
        since: "7.0.0",
        summary: "Unassigns ranges of hash slots from this node.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "5.0.0",
        summary: "Lists the CLUSTER subcommands.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "meet",
        arity: -4,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Introduces another node to this one.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "replicate",
        arity: 3,
        flags: "admin stale no_async_loading",
        since: "3.0.0",
        summary: "Makes this node a replica of a master node.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "slaves",
        arity: 3,
        flags: "admin stale",
        since: "3.0.0",
        summary: "Lists the replicas of a master node (old name of REPLICAS).",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
    CommandDef {
        name: "countkeysinslot",
        arity: 3,
        flags: "stale",
        since: "3.0.0",
        summary: "Counts the local keys of a hash slot.",
        run: cluster_disabled,
        ..CommandDef::base(Group::Cluster)
    },
];

// ANCHOR: cluster_disabled
/// What every cluster command answers while cluster mode is off.
fn cluster_disabled(ctx: &mut Ctx, _args: Args) {
    ctx.reply()
        .err("This instance has cluster support disabled");
}
// ANCHOR_END: cluster_disabled
