//! # EVAL and SCRIPT: the commands of the scripting chapter
//!
//! `EVAL body numkeys key... arg...` runs a Lua script (`crate::scripting`
//! is the engine); `EVALSHA` runs one the server already knows by the
//! SHA1 of its body, so a client sends a long script once (`SCRIPT LOAD`)
//! and then 40 hex digits per call. The `_RO` variants promise the script
//! only reads: a write inside is refused, and they may run where writes
//! may not (a replica, a `CLIENT PAUSE WRITE`).
//!
//! The invariant: the script cache maps `sha1(body)` to the compiled
//! chunk, so `EVALSHA sha` runs exactly the body whose SHA1 it is, and
//! `EVAL body` compiles a body once however often it is sent.
//!
//! The keys are passed apart from the other arguments (`numkeys`) so that
//! the server (and a cluster proxy) can tell which keys a script touches
//! without running it: COMMAND GETKEYS answers for EVAL from `numkeys`.
//!
//! ## The Redis C counterpart
//!
//! `eval.c`: `evalCommand`, `evalRoCommand`, `evalShaCommand`,
//! `evalGenericCommand`, `evalGetKeys`, `scriptCommand`,
//! `luaCreateFunction`, `evalExtractShebangFlags`; `script.c`:
//! `scriptKill`.
//!
//! ## What we simplified
//!
//! SCRIPT DEBUG (the interactive debugger) answers as if it were given a
//! mode it does not know. SCRIPT FLUSH ASYNC frees synchronously: the
//! interpreter is small.

use crate::commands::eq_ic;
use crate::resp::{parse_i64, Args};
use crate::scripting::{self, script_flags, CachedScript, Invocation, RunKind};
use crate::server::command::{CommandDef, Group};
use crate::server::Ctx;

/// Keys of EVAL-like commands: `numkeys` at 2, keys after it.
pub fn eval_keys(args: Args) -> Vec<usize> {
    let Some(n) = (args.len() > 2).then(|| parse_i64(args.get(2))).flatten() else {
        return Vec::new();
    };
    if n < 1 || n as u64 > (args.len() - 3) as u64 {
        return Vec::new();
    }
    (3..3 + n as usize).collect()
}

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "eval",
        arity: -3,
        flags: "noscript skip_monitor may_replicate no_mandatory_keys stale",
        since: "2.6.0",
        summary: "Executes a server-side Lua script.",
        run: eval,
        get_keys: Some(eval_keys),
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "eval_ro",
        arity: -3,
        flags: "readonly noscript skip_monitor no_mandatory_keys stale",
        since: "7.0.0",
        summary: "Executes a read-only server-side Lua script.",
        run: eval_ro,
        get_keys: Some(eval_keys),
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "evalsha",
        arity: -3,
        flags: "noscript skip_monitor may_replicate no_mandatory_keys stale",
        since: "2.6.0",
        summary: "Executes a server-side Lua script by SHA1 digest.",
        run: evalsha,
        get_keys: Some(eval_keys),
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "evalsha_ro",
        arity: -3,
        flags: "readonly noscript skip_monitor no_mandatory_keys stale",
        since: "7.0.0",
        summary: "Executes a read-only server-side Lua script by SHA1 digest.",
        run: evalsha_ro,
        get_keys: Some(eval_keys),
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "script",
        arity: -2,
        since: "2.6.0",
        summary: "A container for Lua scripts management commands.",
        run: script_container,
        subcommands: SCRIPT_SUBCOMMANDS,
        ..CommandDef::base(Group::Scripting)
    },
];

static SCRIPT_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "debug",
        arity: 3,
        flags: "noscript",
        since: "3.2.0",
        summary: "Sets the debug mode of server-side Lua scripts (not supported here).",
        run: script_debug,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "exists",
        arity: -3,
        flags: "noscript",
        since: "2.6.0",
        summary: "Determines whether server-side Lua scripts exist in the script cache.",
        run: script_exists,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "flush",
        arity: -2,
        flags: "noscript may_replicate",
        since: "2.6.0",
        summary: "Removes all server-side Lua scripts from the script cache.",
        run: script_flush,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "5.0.0",
        summary: "Returns helpful text about the different subcommands.",
        run: script_help,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "kill",
        arity: 2,
        flags: "noscript allow_busy",
        since: "2.6.0",
        summary: "Terminates a server-side Lua script during execution.",
        run: script_kill,
        ..CommandDef::base(Group::Scripting)
    },
    CommandDef {
        name: "load",
        arity: 3,
        flags: "noscript stale",
        since: "2.6.0",
        summary: "Loads a server-side Lua script to the script cache.",
        run: script_load,
        ..CommandDef::base(Group::Scripting)
    },
];

fn script_container(ctx: &mut Ctx, _args: Args) {
    ctx.reply()
        .error("ERR unknown subcommand. Try SCRIPT HELP.");
}

/// A script's keys and its other arguments.
type KeysAndArgs<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Parse `numkeys` and split the rest into keys and arguments, with
/// Redis's errors in Redis's order.
fn split_keys<'a>(ctx: &mut Ctx, args: &Args<'a>) -> Option<KeysAndArgs<'a>> {
    let Some(numkeys) = parse_i64(args.get(2)) else {
        ctx.reply()
            .error("ERR value is not an integer or out of range");
        return None;
    };
    if numkeys > (args.len() - 3) as i64 {
        ctx.reply()
            .error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    if numkeys < 0 {
        ctx.reply().error("ERR Number of keys can't be negative");
        return None;
    }
    let n = numkeys as usize;
    let keys = (3..3 + n).map(|i| args.get(i)).collect();
    let argv = (3 + n..args.len()).map(|i| args.get(i)).collect();
    Some((keys, argv))
}

/// Put a body in the cache (compiling it) unless it is there; returns its
/// SHA1, or the error reply's text.
pub fn cache_script(ctx: &mut Ctx, body: &[u8]) -> Result<String, String> {
    let sha = scripting::sha1_hex(body);
    if ctx.server.scripting.scripts.contains_key(&sha) {
        return Ok(sha);
    }
    let (flags, shebang_len) = scripting::parse_shebang(body)?;
    let function = ctx
        .server
        .scripting
        .engine
        .compile(&body[shebang_len..], "@user_script")
        .map_err(|e| format!("ERR Error compiling script (new function): {e}"))?;
    ctx.server.scripting.scripts.insert(
        sha.clone(),
        CachedScript {
            function,
            flags,
            body_len: body.len(),
        },
    );
    Ok(sha)
}

// ANCHOR: scripting_eval
/// EVAL / EVALSHA / their `_RO` twins.
fn eval_generic(ctx: &mut Ctx, args: Args, by_sha: bool, read_only: bool) {
    let Some((keys, argv)) = split_keys(ctx, &args) else {
        return;
    };
    let sha = if by_sha {
        let sha = String::from_utf8_lossy(args.get(1)).to_ascii_lowercase();
        if !ctx.server.scripting.scripts.contains_key(&sha) {
            ctx.reply()
                .error("NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
        sha
    } else {
        match cache_script(ctx, args.get(1)) {
            Ok(sha) => sha,
            Err(e) => {
                ctx.reply().error(&e);
                return;
            }
        }
    };
    let script = &ctx.server.scripting.scripts[&sha];
    let (function, flags) = (script.function.clone(), script.flags);
    if let Err(msg) = scripting::prepare_for_run(ctx, flags, read_only) {
        ctx.reply().error(msg);
        return;
    }
    // MONITOR shows the EVAL before the commands the script runs (the
    // row is `skip_monitor` so that `call` does not show it after them).
    if !ctx.server.monitors.is_empty() {
        crate::server::feed_monitors(ctx.server, ctx.client, args);
    }
    scripting::run(
        ctx,
        Invocation {
            function,
            kind: RunKind::Eval,
            name: &sha,
            flags,
            read_only,
            keys: &keys,
            argv: &argv,
        },
    );
    // The script's effects were propagated, never the script itself.
    // (Asked for after the run: the request is for the command that
    // returns next, and the script's own commands return first.)
    ctx.prevent_propagation();
}
// ANCHOR_END: scripting_eval

fn eval(ctx: &mut Ctx, args: Args) {
    eval_generic(ctx, args, false, false)
}

fn eval_ro(ctx: &mut Ctx, args: Args) {
    eval_generic(ctx, args, false, true)
}

fn evalsha(ctx: &mut Ctx, args: Args) {
    eval_generic(ctx, args, true, false)
}

fn evalsha_ro(ctx: &mut Ctx, args: Args) {
    eval_generic(ctx, args, true, true)
}

/// Does this EVAL/EVALSHA/FCALL declare `no-writes`? Such a script runs
/// during `CLIENT PAUSE WRITE` (Redis derives the command's flags from
/// the script's: `evalGetCommandFlags`).
pub fn declares_no_writes(server: &crate::server::Server, name: &str, args: Args) -> bool {
    let flags = match name {
        "eval" => scripting::parse_shebang(args.get(1))
            .map(|(f, _)| f)
            .unwrap_or(0),
        "evalsha" => {
            let sha = String::from_utf8_lossy(args.get(1)).to_ascii_lowercase();
            server.scripting.scripts.get(&sha).map_or(0, |s| s.flags)
        }
        "fcall" => return crate::commands::function::declares_no_writes(server, args),
        _ => return false,
    };
    flags & script_flags::NO_WRITES != 0
}

/// SCRIPT LOAD body
fn script_load(ctx: &mut Ctx, args: Args) {
    match cache_script(ctx, args.get(2)) {
        Ok(sha) => ctx.reply().bulk(sha.as_bytes()),
        Err(e) => ctx.reply().error(&e),
    }
}

/// SCRIPT EXISTS sha [sha ...]
fn script_exists(ctx: &mut Ctx, args: Args) {
    ctx.reply().array(args.len() - 2);
    for i in 2..args.len() {
        let sha = String::from_utf8_lossy(args.get(i)).to_ascii_lowercase();
        let known = ctx.server.scripting.scripts.contains_key(&sha);
        ctx.reply().int(known as i64);
    }
}

/// SCRIPT FLUSH [ASYNC|SYNC]
fn script_flush(ctx: &mut Ctx, args: Args) {
    if args.len() > 3
        || (args.len() == 3 && !eq_ic(args.get(2), "sync") && !eq_ic(args.get(2), "async"))
    {
        ctx.reply()
            .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    ctx.server.scripting.flush();
    // Not a change of the dataset: 7.0 propagates only what scripts do,
    // so the replicas' caches are theirs to manage.
    ctx.reply().ok();
}

// ANCHOR: scripting_kill
/// SCRIPT KILL (and FUNCTION KILL, with `function` true): only reaches a
/// script while the busy hook serves other clients.
pub fn kill(ctx: &mut Ctx, function: bool) {
    let Some(running) = ctx.server.scripting.running.as_mut() else {
        ctx.reply()
            .error("NOTBUSY No scripts in execution right now.");
        return;
    };
    if running.wrote {
        ctx.reply().error(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        );
        return;
    }
    if running.function != function {
        let msg = if function {
            "NOTBUSY No scripts in execution right now."
        } else {
            "BUSY Redis is busy running a function. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        };
        ctx.reply().error(msg);
        return;
    }
    running.kill = true;
    ctx.reply().ok();
}
// ANCHOR_END: scripting_kill

fn script_kill(ctx: &mut Ctx, _args: Args) {
    kill(ctx, false)
}

/// SCRIPT DEBUG YES|SYNC|NO: the debugger is not part of this server.
fn script_debug(ctx: &mut Ctx, args: Args) {
    if eq_ic(args.get(2), "no") {
        ctx.reply().ok();
        return;
    }
    ctx.reply().error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
}

fn script_help(ctx: &mut Ctx, _args: Args) {
    const LINES: &[&str] = &[
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply().array(LINES.len());
    for line in LINES {
        ctx.reply().simple(line);
    }
}
