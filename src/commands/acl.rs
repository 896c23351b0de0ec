//! # The ACL command
//!
//! `ACL <subcommand>` shows and edits the users of the ACL chapter
//! (`crate::acl`): this file parses arguments and shapes replies, the
//! rules themselves live there.
//!
//! ```text
//! ACL SETUSER alice on >pw ~cache:* +@read    create or edit, all or nothing
//! ACL GETUSER alice                           flags, passwords, commands, keys, channels, selectors
//! ACL LIST | USERS | WHOAMI                   every user as rules | names | mine
//! ACL DELUSER alice                           and disconnect alice's clients
//! ACL CAT [category]                          the categories | a category's commands
//! ACL DRYRUN alice get k                      would alice be allowed? (nothing runs)
//! ACL LOG [count | RESET]                     recent refusals, newest first
//! ACL GENPASS [bits]                          a random password (hex)
//! ACL SAVE | LOAD                             the `aclfile`
//! ```
//!
//! ## The invariants
//!
//! - ACL SETUSER is all or nothing: the rules are applied to a copy of
//!   the user; only if every rule is valid does the copy replace the
//!   user, in place, so connected clients see the change at once.
//! - ACL SETUSER's arguments never reach SLOWLOG: they may hold
//!   passwords, so every one is redacted before anything else happens.
//!
//! ## The Redis C counterpart
//!
//! `aclCommand` in `src/acl.c`, with `aclCatWithFlags` and
//! `aclAddReplySelectorDescription`.
//!
//! ## What we simplified
//!
//! Nothing in the replies: each was checked against redis-server 7.0.15.
//! GENPASS takes its randomness from `rand`'s thread RNG (a CSPRNG), where
//! Redis keeps its own SHA-256 counter-mode generator.

use std::cell::RefCell;
use std::rc::Rc;

use super::eq_ic;
use crate::acl::{self, Denial, User};
use crate::resp::{Aggregate, Args, OwnedArgs, Reply};
use crate::server::command::{command_table, CommandDef, Group, LookupError};
use crate::server::Ctx;

/// Every ACL subcommand but CAT, GENPASS and WHOAMI is `admin`.
const ACL_ADMIN: &str = "admin noscript loading stale";
const ACL_SELF: &str = "noscript loading stale";

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "acl",
    arity: -2,
    flags: "",
    since: "6.0.0",
    summary: "Shows and edits ACL users (a container for subcommands).",
    run: acl_container,
    subcommands: ACL_SUBCOMMANDS,
    ..CommandDef::base(Group::Server)
}];

static ACL_SUBCOMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "cat",
        arity: -2,
        flags: ACL_SELF,
        since: "6.0.0",
        summary: "The ACL categories, or the commands of one category.",
        run: acl_cat,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "deluser",
        arity: -3,
        flags: ACL_ADMIN,
        since: "6.0.0",
        summary: "Removes users and disconnects their clients.",
        run: acl_deluser,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "dryrun",
        arity: -4,
        flags: ACL_ADMIN,
        since: "7.0.0",
        summary: "Tells whether a user could run a command, without running it.",
        run: acl_dryrun,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "genpass",
        arity: -2,
        flags: ACL_SELF,
        since: "6.0.0",
        summary: "A random hex password of the given number of bits.",
        run: acl_genpass,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "getuser",
        arity: 3,
        flags: ACL_ADMIN,
        since: "6.0.0",
        summary: "One user's flags, password digests and selectors.",
        run: acl_getuser,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "help",
        arity: 2,
        flags: "loading stale",
        since: "6.0.0",
        summary: "Lists the ACL subcommands.",
        run: acl_help,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "list",
        arity: 2,
        flags: ACL_ADMIN,
        since: "6.0.0",
        summary: "Every user as the rules that recreate it.",
        run: acl_list,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "load",
        arity: 2,
        flags: ACL_ADMIN,
        since: "6.0.0",
        summary: "Replaces every user with the aclfile's.",
        run: acl_load,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "log",
        arity: -2,
        flags: ACL_ADMIN,
        since: "6.0.0",
        summary: "Recent refusals, newest first, or RESET.",
        run: acl_log,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "save",
        arity: 2,
        flags: ACL_ADMIN,
        since: "6.0.0",
        summary: "Writes every user to the aclfile.",
        run: acl_save,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "setuser",
        arity: -3,
        flags: ACL_ADMIN,
        since: "6.0.0",
        summary: "Creates a user or applies rules to it, all or nothing.",
        run: acl_setuser,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "users",
        arity: 2,
        flags: ACL_ADMIN,
        since: "6.0.0",
        summary: "The user names, sorted.",
        run: acl_users,
        ..CommandDef::base(Group::Server)
    },
    CommandDef {
        name: "whoami",
        arity: 2,
        flags: ACL_SELF,
        since: "6.0.0",
        summary: "The user this connection is logged in as.",
        run: acl_whoami,
        ..CommandDef::base(Group::Server)
    },
];

/// `ACL` alone, or an unknown subcommand.
fn acl_container(ctx: &mut Ctx, args: Args) {
    let sub = String::from_utf8_lossy(&args[1][..args[1].len().min(128)]).into_owned();
    ctx.reply()
        .error(&format!("ERR unknown subcommand '{sub}'. Try ACL HELP."));
}

/// Usernames become rule words and ACL file fields: no spaces, no NULs.
fn valid_username(name: &[u8]) -> bool {
    !name.iter().any(|&b| b.is_ascii_whitespace() || b == 0)
}

// ANCHOR: acl_setuser
/// ACL SETUSER username [rule ...]: create the user if needed, then apply
/// every rule to a copy; the first bad rule answers its error and leaves
/// the user (or its absence) untouched.
fn acl_setuser(ctx: &mut Ctx, args: Args) {
    for i in 2..args.len() {
        ctx.redact_arg(i);
    }
    let name = &args[2];
    if !valid_username(name) {
        return ctx
            .reply()
            .err("Usernames can't contain spaces or null characters");
    }
    let rules: Vec<&[u8]> = (3..args.len()).map(|i| args.get(i)).collect();
    let merged = match acl::merge_selector_args(&rules) {
        Ok(m) => m,
        Err(at) => {
            let msg = format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(args.get(3 + at))
            );
            return ctx.reply().err(&msg);
        }
    };
    let pubsub = ctx.server.config.acl_pubsub_default;
    let existing = ctx.server.acl.users.get(name).cloned();
    let mut staged = match &existing {
        Some(u) => u.borrow().clone(),
        None => User::new(name, pubsub),
    };
    for rule in &merged {
        if let Err(e) = staged.apply(rule, pubsub) {
            let msg = format!(
                "Error in ACL SETUSER modifier '{}': {}",
                String::from_utf8_lossy(rule),
                e.text()
            );
            return ctx.reply().err(&msg);
        }
    }
    match existing {
        Some(u) => {
            let old = u.borrow().clone();
            acl::kill_pubsub_clients_if_needed(ctx.server, ctx.client, &u, &old, &staged);
            *u.borrow_mut() = staged;
        }
        None => {
            ctx.server
                .acl
                .users
                .insert(name.to_vec(), Rc::new(RefCell::new(staged)));
        }
    }
    ctx.reply().ok();
}
// ANCHOR_END: acl_setuser

/// ACL DELUSER username [username ...]: how many existed. `default`
/// cannot go; naming it refuses the whole command.
fn acl_deluser(ctx: &mut Ctx, args: Args) {
    if (2..args.len()).any(|i| args.get(i) == b"default") {
        return ctx.reply().err("The 'default' user cannot be removed");
    }
    let mut deleted = 0;
    for i in 2..args.len() {
        if let Some(u) = ctx.server.acl.users.remove(args.get(i)) {
            acl::kill_clients_of(ctx.server, ctx.client, &u);
            deleted += 1;
        }
    }
    ctx.reply().int(deleted);
}

/// ACL GETUSER username: a map of flags, passwords (digests), the root
/// selector's commands, keys and channels, and the other selectors.
fn acl_getuser(ctx: &mut Ctx, args: Args) {
    let Some(u) = ctx.server.acl.users.get(&args[2]).cloned() else {
        return ctx.reply().null();
    };
    let u = u.borrow();
    let reply = &mut ctx.client.reply;
    reply.map(6);
    reply.bulk(b"flags");
    let flags = u.flag_names();
    reply.set(flags.len());
    for f in flags {
        reply.bulk(f.as_bytes());
    }
    reply.bulk(b"passwords");
    reply.array(u.passwords.len());
    for p in &u.passwords {
        reply.bulk(p.as_bytes());
    }
    reply_selector(reply, &u.selectors[0]);
    reply.bulk(b"selectors");
    reply.array(u.selectors.len() - 1);
    for s in &u.selectors[1..] {
        reply.map(3);
        reply_selector(reply, s);
    }
}

/// The `commands`, `keys` and `channels` fields of one selector.
fn reply_selector(reply: &mut Reply, s: &acl::Selector) {
    reply.bulk(b"commands");
    reply.bulk(acl::describe_commands(s).as_bytes());
    reply.bulk(b"keys");
    reply.bulk(&acl::describe_keys(s));
    reply.bulk(b"channels");
    reply.bulk(&acl::describe_channels(s));
}

/// ACL LIST: every user as the `user ...` line that recreates it.
fn acl_list(ctx: &mut Ctx, _args: Args) {
    let lines: Vec<Vec<u8>> = ctx
        .server
        .acl
        .users
        .iter()
        .map(|(name, u)| {
            let mut line = b"user ".to_vec();
            line.extend_from_slice(name);
            line.push(b' ');
            line.extend_from_slice(&u.borrow().describe());
            line
        })
        .collect();
    let reply = ctx.reply();
    reply.array(lines.len());
    for l in &lines {
        reply.bulk(l);
    }
}

/// ACL USERS: the names, sorted.
fn acl_users(ctx: &mut Ctx, _args: Args) {
    let Ctx { server, client, .. } = ctx;
    client.reply.array(server.acl.users.len());
    for name in server.acl.users.keys() {
        client.reply.bulk(name);
    }
}

/// ACL WHOAMI
fn acl_whoami(ctx: &mut Ctx, _args: Args) {
    let name = ctx.client.user_name();
    ctx.reply().bulk(name.as_bytes());
}

/// ACL CAT [category]: the 21 categories, or the commands (and
/// subcommands, by full name) of one.
fn acl_cat(ctx: &mut Ctx, args: Args) {
    if args.len() > 3 {
        return subcommand_syntax_error(ctx.reply(), &args[1]);
    }
    if args.len() == 2 {
        let reply = ctx.reply();
        reply.array(acl::CATEGORIES.len());
        for c in acl::CATEGORIES {
            reply.bulk(c.as_bytes());
        }
        return;
    }
    let Some(cat) = acl::category_index(&args[2]) else {
        let msg = format!(
            "Unknown category '{}'",
            String::from_utf8_lossy(&args[2][..args[2].len().min(128)])
        );
        return ctx.reply().err(&msg);
    };
    let reply = ctx.reply();
    let len = reply.defer_len();
    let mut n = 0;
    for cmd in command_table().all() {
        if acl::in_category(cmd, cat) {
            reply.bulk(cmd.full_name.as_bytes());
            n += 1;
        }
    }
    reply.set_len(len, Aggregate::Array, n);
}

/// ACL GENPASS [bits]: `bits` (default 256) rounded up to hex digits.
fn acl_genpass(ctx: &mut Ctx, args: Args) {
    use rand::Rng;
    const MAX_BITS: i64 = 4096;
    if args.len() > 3 {
        return subcommand_syntax_error(ctx.reply(), &args[1]);
    }
    let mut bits = 256;
    if args.len() == 3 {
        match super::arg_i64(ctx, &args[2]) {
            Some(b) => bits = b,
            None => return,
        }
    }
    if bits <= 0 || bits > MAX_BITS {
        return ctx.reply().err(
            "ACL GENPASS argument must be the number of bits for the output password, a \
             positive number up to 4096",
        );
    }
    let chars = (bits as usize).div_ceil(4);
    let mut rng = rand::thread_rng();
    let pass: Vec<u8> = (0..chars)
        .map(|_| b"0123456789abcdef"[rng.gen_range(0..16)])
        .collect();
    ctx.reply().bulk(&pass);
}

/// ACL LOG [count | RESET]: the newest `count` entries (10 by default).
fn acl_log(ctx: &mut Ctx, args: Args) {
    if args.len() > 3 {
        return subcommand_syntax_error(ctx.reply(), &args[1]);
    }
    let mut count = 10;
    if args.len() == 3 {
        if eq_ic(&args[2], "reset") {
            ctx.server.acl.log.clear();
            return ctx.reply().ok();
        }
        match super::arg_i64(ctx, &args[2]) {
            Some(c) => count = c.max(0) as usize,
            None => return,
        }
    }
    let now = crate::server::unix_ms();
    let Ctx { server, client, .. } = ctx;
    let entries = &server.acl.log;
    let count = count.min(entries.len());
    let reply = &mut client.reply;
    reply.array(count);
    for e in entries.iter().take(count) {
        reply.map(7);
        reply.bulk(b"count");
        reply.int(e.count as i64);
        reply.bulk(b"reason");
        reply.bulk(e.reason.as_bytes());
        reply.bulk(b"context");
        reply.bulk(e.context.as_bytes());
        reply.bulk(b"object");
        reply.bulk(&e.object);
        reply.bulk(b"username");
        reply.bulk(&e.username);
        reply.bulk(b"age-seconds");
        reply.double((now - e.time_ms) as f64 / 1000.0);
        reply.bulk(b"client-info");
        reply.bulk(e.client_info.as_bytes());
    }
}

/// ACL DRYRUN username command [arg ...]: `OK`, or (as a bulk string,
/// not an error) why the user could not run it.
fn acl_dryrun(ctx: &mut Ctx, args: Args) {
    let Some(user) = ctx.server.acl.users.get(&args[2]).cloned() else {
        let msg = format!("User '{}' not found", String::from_utf8_lossy(&args[2]));
        return ctx.reply().err(&msg);
    };
    let parts: Vec<&[u8]> = (3..args.len()).map(|i| args.get(i)).collect();
    let owned = OwnedArgs::from_slices(&parts);
    let cmd_args = owned.args();
    let cmd = match ctx.server.renames.lookup(command_table(), cmd_args) {
        Ok(cmd) => cmd,
        Err(LookupError::Arity(msg)) => return ctx.reply().error(&msg),
        Err(_) => {
            let msg = format!("Command '{}' not found", String::from_utf8_lossy(&args[3]));
            return ctx.reply().err(&msg);
        }
    };
    let verdict = acl::check_user(&user.borrow(), cmd, cmd_args);
    let text = match verdict {
        Ok(()) => return ctx.reply().ok(),
        Err(Denial::Command) => format!(
            "This user has no permissions to run the '{}' command",
            cmd.full_name
        ),
        Err(Denial::Key(p)) => format!(
            "This user has no permissions to access the '{}' key",
            String::from_utf8_lossy(cmd_args.get(p))
        ),
        Err(Denial::Channel(p)) => format!(
            "This user has no permissions to access the '{}' channel",
            String::from_utf8_lossy(cmd_args.get(p))
        ),
    };
    ctx.reply().bulk(text.as_bytes());
}

const NO_ACL_FILE: &str = "This Redis instance is not configured to use an ACL file. You may \
    want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming \
    you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// ACL SAVE: write every user to `aclfile`, through a temporary file
/// renamed over it.
fn acl_save(ctx: &mut Ctx, _args: Args) {
    let path = ctx.server.config.aclfile.clone();
    if path.is_empty() {
        return ctx.reply().err(NO_ACL_FILE);
    }
    let text = acl::acl_file_text(ctx.server);
    let tmp = format!(
        "{path}.tmp-{}-{}",
        std::process::id(),
        crate::server::unix_ms()
    );
    let written = std::fs::write(&tmp, &text).and_then(|()| std::fs::rename(&tmp, &path));
    match written {
        Ok(()) => ctx.reply().ok(),
        Err(e) => {
            eprintln!(
                "{} # Writing ACL file for ACL SAVE: {e}",
                std::process::id()
            );
            let _ = std::fs::remove_file(&tmp);
            ctx.reply().err(
                "There was an error trying to save the ACLs. Please check the server logs for \
                 more information",
            );
        }
    }
}

/// ACL LOAD: replace every user with the file's, or change nothing if
/// any line is wrong. Clients of the replaced users are disconnected
/// (`default`'s stay: it is updated in place).
fn acl_load(ctx: &mut Ctx, _args: Args) {
    let path = ctx.server.config.aclfile.clone();
    if path.is_empty() {
        return ctx.reply().err(NO_ACL_FILE);
    }
    match acl::parse_acl_file(&path, ctx.server.config.acl_pubsub_default) {
        Ok(users) => {
            let old = acl::install_users(ctx.server, users);
            for u in &old {
                acl::kill_clients_of(ctx.server, ctx.client, u);
            }
            ctx.reply().ok();
        }
        Err(errors) => ctx.reply().err(&errors),
    }
}

/// ACL HELP
fn acl_help(ctx: &mut Ctx, _args: Args) {
    const LINES: &[&str] = &[
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    ];
    let reply = ctx.reply();
    reply.array(LINES.len() + 3);
    reply.simple("ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    for line in LINES {
        reply.simple(line);
    }
    reply.simple("HELP");
    reply.simple("    Prints this help.");
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(reply: &mut Reply, sub: &[u8]) {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
    reply.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try ACL HELP."
    ));
}
