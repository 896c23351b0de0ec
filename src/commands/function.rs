//! # FUNCTION and FCALL: libraries of named Lua functions
//!
//! EVAL scripts are anonymous and live in a cache the server may drop
//! (SCRIPT FLUSH, a restart): every client must be ready to resend them.
//! Redis 7.0's *functions* are the other way round: a library, loaded
//! once with `FUNCTION LOAD`, registers named functions
//! (`redis.register_function('incr_by', function(keys, args) ... end)`),
//! and they are part of the dataset: saved with it, replicated, restored.
//! `FCALL incr_by 1 counter 5` calls one.
//!
//! The invariant: every function name belongs to exactly one library
//! (the lookup is case-insensitive, as FCALL's), and a library is either
//! loaded whole or not at all: its code runs once at load time with a
//! restricted view of the world (only `redis.register_function`, `log`
//! and the constants: a library that calls `redis.call` while loading
//! could read keys that differ between the master and a replica), and
//! only if it registered at least one function without an error is it
//! added. A library's code must open with `#!lua name=<library>`.
//!
//! The engine work (compiling, the loader's view, running a function) is
//! in `crate::scripting`; this file is the commands and their checks.
//!
//! ## The Redis C counterpart
//!
//! `functions.c`: `functionLoadCommand`, `functionsCreateWithLibraryCtx`,
//! `functionExtractLibMetaData`, `fcallCommandGeneric`,
//! `functionListCommand`, `functionStatsCommand`, `functionDeleteCommand`,
//! `functionFlushCommand`, `functionKillCommand`, `functionDumpCommand`,
//! `functionRestoreCommand`; `function_lua.c`: `luaRegisterFunction`;
//! the help text is `functionHelpCommand`'s.
//!
//! ## What we simplified
//!
//! There is one engine (LUA) and no engine registry. A library's load is
//! not time-limited (Redis stops a load after 500 ms). FUNCTION FLUSH
//! ASYNC frees synchronously.
//!
//! Libraries persist as keys do: every snapshot (SAVE, BGSAVE, an AOF's
//! RDB base, a full sync to a replica) writes one `FUNCTION2` record per
//! library after its aux fields, and FUNCTION DUMP is those records with
//! DUMP's trailer. An AOF rewritten without an RDB base starts with a
//! FUNCTION LOAD per library (Redis's `rewriteFunctions`).

use crate::commands::eq_ic;
use crate::resp::{parse_i64, Aggregate, Args, Reply};
use crate::scripting::{self, script_flags, Invocation, RunKind};
use crate::server::command::{CommandDef, Group};
use crate::server::Ctx;

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "function",
        arity: -2,
        flags: "",
        since: "7.0.0",
        summary: "A container for function commands.",
        run: container,
        subcommands: FUNCTION_SUBCOMMANDS,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "fcall",
        arity: -3,
        flags: "noscript skip_monitor may_replicate no_mandatory_keys stale",
        since: "7.0.0",
        summary: "Invokes a function.",
        run: fcall,
        get_keys: Some(crate::commands::scripting::eval_keys),
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "fcall_ro",
        arity: -3,
        flags: "readonly noscript skip_monitor no_mandatory_keys stale",
        since: "7.0.0",
        summary: "Invokes a read-only function.",
        run: fcall_ro,
        get_keys: Some(crate::commands::scripting::eval_keys),
        ..CommandDef::base(Group::Scripting)
    },
];

static FUNCTION_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "delete",
        arity: 3,
        flags: "write noscript",
        since: "7.0.0",
        summary: "Deletes a library and its functions.",
        run: function_delete,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "dump",
        arity: 2,
        flags: "noscript",
        since: "7.0.0",
        summary: "Dumps all libraries into a serialized binary payload.",
        run: function_dump,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "flush",
        arity: -2,
        flags: "write noscript",
        since: "7.0.0",
        summary: "Deletes all libraries and functions.",
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
        summary: "Terminates a function during execution.",
        run: function_kill,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "list",
        arity: -2,
        flags: "noscript",
        since: "7.0.0",
        summary: "Returns information about all libraries.",
        run: function_list,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "load",
        arity: -3,
        flags: "write denyoom noscript",
        since: "7.0.0",
        summary: "Creates a library.",
        run: function_load,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "restore",
        arity: -3,
        flags: "write denyoom noscript",
        since: "7.0.0",
        summary: "Restores all libraries from a payload.",
        run: function_restore,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "stats",
        arity: 2,
        flags: "noscript allow_busy",
        since: "7.0.0",
        summary: "Returns information about a function during execution.",
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
/// Forgets every library and starts a fresh interpreter. A change of the
/// dataset: propagated to replicas and the AOF.
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
    ctx.server.scripting.functions.flush();
    ctx.dirty(1);
    ctx.reply().ok();
}
// ANCHOR_END: function_flush

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
///
/// Each option may appear once; a repeated one is an unknown argument,
/// as in Redis.
fn function_list(ctx: &mut Ctx, args: Args) {
    let (mut with_code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if !with_code && eq_ic(arg, "withcode") {
            with_code = true;
        } else if pattern.is_none() && eq_ic(arg, "libraryname") {
            if i + 1 >= args.len() {
                ctx.reply().error("ERR library name argument was not given");
                return;
            }
            pattern = Some(args.get(i + 1));
            i += 1;
        } else {
            let arg = String::from_utf8_lossy(arg);
            ctx.reply().error(&format!("ERR Unknown argument {arg}"));
            return;
        }
        i += 1;
    }
    let libraries = &ctx.server.scripting.functions.libraries;
    let reply = &mut ctx.client.reply;
    let at = reply.defer_len();
    let mut n = 0;
    for lib in libraries.values() {
        if pattern.is_some_and(|p| !crate::glob::glob_match(p, lib.name.as_bytes(), false)) {
            continue;
        }
        n += 1;
        reply.map(if with_code { 4 } else { 3 });
        reply.bulk(b"library_name");
        reply.bulk(lib.name.as_bytes());
        reply.bulk(b"engine");
        reply.bulk(b"LUA");
        reply.bulk(b"functions");
        reply.array(lib.functions.len());
        for f in &lib.functions {
            reply.map(3);
            reply.bulk(b"name");
            reply.bulk(f.name.as_bytes());
            reply.bulk(b"description");
            match &f.description {
                Some(d) => reply.bulk(d),
                None => reply.null(),
            }
            reply.bulk(b"flags");
            let names: Vec<&str> = script_flags::NAMES
                .iter()
                .filter(|(_, bit)| f.flags & bit != 0)
                .map(|(name, _)| *name)
                .collect();
            reply.set(names.len());
            for name in names {
                reply.bulk(name.as_bytes());
            }
        }
        if with_code {
            reply.bulk(b"library_code");
            reply.bulk(&lib.code);
        }
    }
    reply.set_len(at, Aggregate::Array, n);
}

/// FUNCTION STATS: the running script (reachable while a script is busy)
/// and the one engine's counts.
fn function_stats(ctx: &mut Ctx, _args: Args) {
    let functions = &ctx.server.scripting.functions;
    let (libs, funcs) = (functions.libraries.len(), functions.function_count());
    let running = ctx
        .server
        .scripting
        .running
        .as_ref()
        .map(|r| (r.name.clone(), r.started.elapsed().as_millis() as i64));
    let reply = &mut ctx.client.reply;
    reply.map(2);
    reply.bulk(b"running_script");
    match running {
        None => reply.null(),
        Some((name, ms)) => {
            reply.map(3);
            reply.bulk(b"name");
            reply.bulk(name.as_bytes());
            reply.bulk(b"command");
            reply.array(1);
            reply.bulk(name.as_bytes());
            reply.bulk(b"duration_ms");
            reply.int(ms);
        }
    }
    reply.bulk(b"engines");
    reply.map(1);
    reply.bulk(b"LUA");
    reply.map(2);
    reply.bulk(b"libraries_count");
    reply.int(libs as i64);
    reply.bulk(b"functions_count");
    reply.int(funcs as i64);
}

/// FUNCTION DELETE library-name
fn function_delete(ctx: &mut Ctx, args: Args) {
    let name = String::from_utf8_lossy(args.get(2)).into_owned();
    if ctx.server.scripting.functions.remove(&name).is_none() {
        ctx.reply().error("ERR Library not found");
        return;
    }
    ctx.dirty(1);
    ctx.reply().ok();
}

/// FUNCTION KILL
fn function_kill(ctx: &mut Ctx, _args: Args) {
    crate::commands::scripting::kill(ctx, true)
}

// ANCHOR: function_fcall
/// FCALL / FCALL_RO function numkeys key... arg...
fn fcall_generic(ctx: &mut Ctx, args: Args, read_only: bool) {
    let Some(f) = ctx.server.scripting.functions.find(args.get(1)) else {
        ctx.reply().error("ERR Function not found");
        return;
    };
    let (function, flags, name) = (f.function.clone(), f.flags, f.name.clone());
    let Some(numkeys) = parse_i64(args.get(2)) else {
        ctx.reply().error("ERR Bad number of keys provided");
        return;
    };
    if numkeys > (args.len() - 3) as i64 {
        ctx.reply()
            .error("ERR Number of keys can't be greater than number of args");
        return;
    }
    if numkeys < 0 {
        ctx.reply().error("ERR Number of keys can't be negative");
        return;
    }
    let n = numkeys as usize;
    let keys: Vec<&[u8]> = (3..3 + n).map(|i| args.get(i)).collect();
    let argv: Vec<&[u8]> = (3 + n..args.len()).map(|i| args.get(i)).collect();
    if let Err(msg) = scripting::prepare_for_run(ctx, flags, read_only) {
        ctx.reply().error(msg);
        return;
    }
    if !ctx.server.monitors.is_empty() {
        crate::server::feed_monitors(ctx.server, ctx.client, args);
    }
    scripting::run(
        ctx,
        Invocation {
            function,
            kind: RunKind::Function,
            name: &name,
            flags,
            read_only,
            keys: &keys,
            argv: &argv,
        },
    );
    // Only the function's effects are propagated (see EVAL).
    ctx.prevent_propagation();
}
// ANCHOR_END: function_fcall

fn fcall(ctx: &mut Ctx, args: Args) {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: Args) {
    fcall_generic(ctx, args, true)
}

/// Does this FCALL's function declare `no-writes` (it then runs during
/// `CLIENT PAUSE WRITE`)?
pub fn declares_no_writes(server: &crate::server::Server, args: Args) -> bool {
    args.len() > 1
        && server
            .scripting
            .functions
            .find(args.get(1))
            .is_some_and(|f| f.flags & script_flags::NO_WRITES != 0)
}

// ANCHOR: function_load
/// FUNCTION LOAD [REPLACE] code
///
/// The code must open with a metadata line, `#!<engine> name=<library>`,
/// checked with Redis's rules and errors; then the engine loads it.
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
    let replace = code > 2;
    match load_code(&mut ctx.server.scripting.functions, args.get(code), replace) {
        Ok(name) => {
            ctx.dirty(1);
            ctx.reply().bulk(name.as_bytes());
        }
        Err(e) => ctx.reply().error(&e),
    }
}

/// Check, load and register one library's code (FUNCTION LOAD and
/// RESTORE); returns the library's name or the error reply's text.
fn load_code(
    functions: &mut scripting::Functions,
    code: &[u8],
    replace: bool,
) -> Result<String, String> {
    let (engine, name) = library_meta(code).map_err(|e| format!("ERR {e}"))?;
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!(
            "ERR Engine '{}' not found",
            String::from_utf8_lossy(&engine)
        ));
    }
    if functions.libraries.contains_key(&name) && !replace {
        return Err(format!("ERR Library '{name}' already exists"));
    }
    let library = scripting::load_library(functions, &name, code)?;
    for f in &library.functions {
        if let Some(owner) = functions.index.get(&f.name.to_lowercase()) {
            if *owner != name {
                return Err(format!("ERR Function {} already exists", f.name));
            }
        }
    }
    functions.insert(library);
    Ok(name)
}

/// Load the libraries a snapshot holds (an RDB file, an AOF's RDB base,
/// a primary's full sync) into the registry, as Redis's `rdbFunctionLoad`
/// does: a library of the same name is replaced, since whoever loads a
/// whole snapshot has emptied the registry first (DEBUG RELOAD, a full
/// sync) or merges on purpose. A library that does not compile fails the
/// load, with Redis's log line.
pub fn load_snapshot_libraries(
    server: &mut crate::server::Server,
    codes: &[Vec<u8>],
) -> Result<(), String> {
    for code in codes {
        load_code(&mut server.scripting.functions, code, true)
            .map_err(|e| format!("Failed loading library, {e}"))?;
    }
    Ok(())
}

/// Parse the metadata line (`functionExtractLibMetaData` and the name
/// check after it); returns the engine and the library's name.
fn library_meta(code: &[u8]) -> Result<(Vec<u8>, String), String> {
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
    Ok((engine, String::from_utf8_lossy(name).into_owned()))
}
// ANCHOR_END: function_load

// ANCHOR: function_dump
/// FUNCTION DUMP: each library as the RDB's function record (opcode
/// `FUNCTION2`, 245, then its code as an RDB string, LZF-compressed under
/// `rdbcompression` as in a snapshot), then the RDB version (10) as two
/// little-endian bytes, then the CRC64 (Jones) of everything before it,
/// little-endian: the same trailer as DUMP's.
fn function_dump(ctx: &mut Ctx, _args: Args) {
    let opts = crate::commands::persistence::rdb_options(ctx.server);
    let mut w = crate::rdb::save::RdbWriter::new(Vec::new(), opts);
    for code in ctx.server.scripting.functions.codes() {
        // Writes into a Vec cannot fail.
        let _ = w.byte(crate::rdb::opcode::FUNCTION2);
        let _ = w.string(code);
    }
    let mut out = w.into_inner();
    out.extend_from_slice(&[10, 0]);
    let crc = crate::rdb::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    ctx.reply().bulk(&out);
}
// ANCHOR_END: function_dump

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
    let payload = args.get(2);
    let valid = payload.len() >= 10 && {
        let (body, crc) = payload.split_at(payload.len() - 8);
        let version = u16::from_le_bytes([body[body.len() - 2], body[body.len() - 1]]);
        version <= 10 && crate::rdb::crc64(0, body).to_le_bytes() == crc
    };
    if !valid {
        ctx.reply()
            .error("ERR DUMP payload version or checksum are wrong");
        return;
    }
    let mut records = crate::rdb::load::Reader::new(&payload[..payload.len() - 10]);
    let mut codes = Vec::new();
    while !records.at_end() {
        let code = match records.byte() {
            Ok(crate::rdb::opcode::FUNCTION2) => records.string().ok(),
            _ => None,
        };
        match code {
            Some(code) => codes.push(code),
            None => {
                ctx.reply().error("ERR given type is not a function");
                return;
            }
        }
    }
    let policy = if args.len() == 4 {
        args.get(3)
    } else {
        b"append".as_slice()
    };
    if eq_ic(policy, "flush") {
        ctx.server.scripting.functions.flush();
    } else if eq_ic(policy, "append") {
        for code in &codes {
            if let Ok((_, name)) = library_meta(code) {
                if ctx.server.scripting.functions.libraries.contains_key(&name) {
                    ctx.reply()
                        .error(&format!("ERR Library {name} already exists"));
                    return;
                }
            }
        }
    }
    for code in &codes {
        if let Err(e) = load_code(&mut ctx.server.scripting.functions, code, true) {
            ctx.reply().error(&e);
            return;
        }
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
