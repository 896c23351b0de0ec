//! # FUNCTION: the library registry of a server without an engine
//!
//! Redis 7.0 added *functions*: Lua libraries loaded with `FUNCTION LOAD`,
//! kept in the keyspace's shadow (saved in RDB, replicated) and called
//! with `FCALL`. This server runs no scripts at all, so its registry is
//! always empty. The commands still exist, because clients and Redis's own
//! test suite call them as housekeeping: every unit of the suite begins
//! with `FUNCTION FLUSH`, and tools list libraries before a migration.
//!
//! The invariant: every subcommand answers exactly what a Redis 7.0 with
//! no libraries answers — `FLUSH` is `+OK` (flushing nothing is honest),
//! `LIST` is an empty array, `DELETE` finds no library, `KILL` finds no
//! running script — with Redis's argument checks and errors in Redis's
//! order. The one place we cannot be Redis is `LOAD`: the library's
//! metadata line is checked as Redis checks it, and then the engine it
//! names is not found, because there is none. For the same reason
//! `STATS` lists no engines (a real Redis lists `LUA`).
//!
//! ## The Redis C counterpart
//!
//! `functions.c`: `functionFlushCommand`, `functionListCommand`,
//! `functionStatsCommand`, `functionDeleteCommand`, `functionKillCommand`,
//! `functionLoadCommand` with `functionExtractLibMetaData`,
//! `functionDumpCommand` and `functionRestoreCommand`; the help text is
//! `functionHelpCommand`'s.
//!
//! ## What we simplified
//!
//! `DUMP` of an empty registry is a fixed payload: the RDB version (10)
//! and the CRC64 of nothing but that version. `RESTORE` accepts exactly
//! that payload (restoring no libraries) and answers any other with
//! Redis's bad-payload error; a real payload holds Lua libraries we could
//! not load anyway. There is no async flush: there is nothing to free.

use crate::commands::eq_ic;
use crate::resp::{Args, Reply};
use crate::server::command::{CommandDef, Group};
use crate::server::Ctx;

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "function",
    arity: -2,
    flags: "",
    since: "7.0.0",
    summary: "Manages the server's function libraries (always none here).",
    run: container,
    subcommands: FUNCTION_SUBCOMMANDS,
    ..CommandDef::base(Group::Scripting)
}];

static FUNCTION_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "delete",
        arity: 3,
        flags: "write noscript",
        since: "7.0.0",
        summary: "Deletes a library: there is none to find.",
        run: function_delete,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "dump",
        arity: 2,
        flags: "noscript",
        since: "7.0.0",
        summary: "Serializes the libraries: an empty payload.",
        run: function_dump,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "flush",
        arity: -2,
        flags: "write noscript",
        since: "7.0.0",
        summary: "Deletes every library: there are none, so OK.",
        run: function_flush,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "7.0.0",
        summary: "Shows the FUNCTION subcommands.",
        run: function_help,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "kill",
        arity: 2,
        flags: "noscript allow_busy",
        since: "7.0.0",
        summary: "Stops the running function: none ever runs.",
        run: function_kill,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "list",
        arity: -2,
        flags: "noscript",
        since: "7.0.0",
        summary: "Lists the libraries: an empty array.",
        run: function_list,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "load",
        arity: -3,
        flags: "write denyoom noscript",
        since: "7.0.0",
        summary: "Checks a library's metadata line, then finds no engine to run it.",
        run: function_load,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "restore",
        arity: -3,
        flags: "write denyoom noscript",
        since: "7.0.0",
        summary: "Restores a dump of libraries: only the empty one.",
        run: function_restore,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "stats",
        arity: 2,
        flags: "noscript allow_busy",
        since: "7.0.0",
        summary: "No running function and no engines.",
        run: function_stats,
        ..CommandDef::base(Group::Scripting)
    },
];

/// Reached only through a misconfigured arity: the table routes
/// `FUNCTION <sub>` to the subcommand's row.
fn container(ctx: &mut Ctx, _args: Args) {
    ctx.reply()
        .error("ERR unknown subcommand. Try FUNCTION HELP.");
}

/// Redis's `addReplySubcommandSyntaxError`, which quotes the subcommand
/// as the client typed it.
fn subcommand_syntax_error(reply: &mut Reply, sub: &[u8]) {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
    reply.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try FUNCTION HELP."
    ));
}

// ANCHOR: function_flush
/// FUNCTION FLUSH [ASYNC|SYNC]
///
/// The mode is checked as Redis checks it, then nothing is freed: the
/// registry is empty. Redis counts the flush as a change (it propagates
/// to replicas and the AOF), so we do too.
fn function_flush(ctx: &mut Ctx, args: Args) {
    if args.len() > 3 {
        subcommand_syntax_error(ctx.reply(), &args[1]);
        return;
    }
    if args.len() == 3 && !eq_ic(&args[2], "sync") && !eq_ic(&args[2], "async") {
        ctx.reply()
            .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    ctx.dirty(1);
    ctx.reply().ok();
}
// ANCHOR_END: function_flush

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
///
/// Each option may appear once; a repeated one is an unknown argument,
/// as in Redis. Whatever the filter, no library matches.
fn function_list(ctx: &mut Ctx, args: Args) {
    let (mut with_code, mut pattern) = (false, false);
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if !with_code && eq_ic(arg, "withcode") {
            with_code = true;
        } else if !pattern && eq_ic(arg, "libraryname") {
            if i + 1 >= args.len() {
                ctx.reply().error("ERR library name argument was not given");
                return;
            }
            pattern = true;
            i += 1;
        } else {
            let arg = String::from_utf8_lossy(arg);
            ctx.reply().error(&format!("ERR Unknown argument {arg}"));
            return;
        }
        i += 1;
    }
    ctx.reply().array(0);
}

/// FUNCTION STATS: no function is running, and there are no engines.
fn function_stats(ctx: &mut Ctx, _args: Args) {
    let reply = ctx.reply();
    reply.map(2);
    reply.bulk(b"running_script");
    reply.null();
    reply.bulk(b"engines");
    reply.map(0);
}

/// FUNCTION DELETE library-name
fn function_delete(ctx: &mut Ctx, _args: Args) {
    ctx.reply().error("ERR Library not found");
}

/// FUNCTION KILL
fn function_kill(ctx: &mut Ctx, _args: Args) {
    ctx.reply()
        .error("NOTBUSY No scripts in execution right now.");
}

// ANCHOR: function_load
/// FUNCTION LOAD [REPLACE] code
///
/// The code must open with a metadata line, `#!<engine> name=<library>`.
/// We check it with Redis's rules and errors (so a client learns about a
/// malformed library the same way), and then report the engine missing.
fn function_load(ctx: &mut Ctx, args: Args) {
    let code = args.len() - 1;
    for i in 2..code {
        if !eq_ic(&args[i], "replace") {
            let opt = String::from_utf8_lossy(&args[i]);
            ctx.reply()
                .error(&format!("ERR Unknown option given: {opt}"));
            return;
        }
    }
    let err = match library_engine(&args[code]) {
        Ok(engine) => format!(
            "ERR Engine '{}' not found",
            String::from_utf8_lossy(&engine)
        ),
        Err(err) => format!("ERR {err}"),
    };
    ctx.reply().error(&err);
}

/// Parse the metadata line (`functionExtractLibMetaData` and the name
/// check after it); returns the engine name it asks for.
fn library_engine(code: &[u8]) -> Result<Vec<u8>, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let invalid = || "Invalid library metadata".to_string();
    let line_end = code.iter().position(|&b| b == b'\n').ok_or_else(invalid)?;
    let parts = crate::server::config::split_args(&code[..line_end]).ok_or_else(invalid)?;
    let Some(first) = parts.first() else {
        return Err(invalid());
    };
    let engine = first[2..].to_vec();
    let mut name: Option<&[u8]> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && eq_ic(&part[..5], "name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(&part[5..]);
        } else {
            return Err(format!(
                "Invalid metadata value given: {}",
                String::from_utf8_lossy(part)
            ));
        }
    }
    let name = name.ok_or_else(|| "Library name was not given".to_string())?;
    let valid = !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(
            "Library names can only contain letters, numbers, or underscores(_) \
                    and must be at least one character long"
                .into(),
        );
    }
    Ok(engine)
}
// ANCHOR_END: function_load

/// What `FUNCTION DUMP` of no libraries is: RDB version 10 as two
/// little-endian bytes, then the CRC64 (Jones) of those two bytes, also
/// little-endian. Byte for byte what Redis 7.0 sends.
const EMPTY_DUMP: &[u8] = b"\x0a\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda";

/// FUNCTION DUMP
fn function_dump(ctx: &mut Ctx, _args: Args) {
    ctx.reply().bulk(EMPTY_DUMP);
}

/// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]
fn function_restore(ctx: &mut Ctx, args: Args) {
    if args.len() > 4 {
        subcommand_syntax_error(ctx.reply(), &args[1]);
        return;
    }
    if args.len() == 4 {
        let policy = &args[3];
        if !eq_ic(policy, "flush") && !eq_ic(policy, "append") && !eq_ic(policy, "replace") {
            ctx.reply().error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            );
            return;
        }
    }
    if &args[2] != EMPTY_DUMP {
        ctx.reply()
            .error("ERR DUMP payload version or checksum are wrong");
        return;
    }
    ctx.dirty(1);
    ctx.reply().ok();
}

/// FUNCTION HELP: Redis's text, line for line.
fn function_help(ctx: &mut Ctx, _args: Args) {
    const LINES: &[&str] = &[
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
    ];
    let reply = ctx.reply();
    reply.array(LINES.len() + 3);
    reply.simple("FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    for line in LINES {
        reply.simple(line);
    }
    reply.simple("HELP");
    reply.simple("    Prints this help.");
}
