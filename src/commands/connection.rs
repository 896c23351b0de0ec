//! Connection commands: PING ECHO HELLO AUTH SELECT SWAPDB QUIT RESET CLIENT.

use crate::resp::Args;
use crate::server::command::{CommandDef, Group};
use crate::server::Ctx;

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "ping",
        arity: -1,
        flags: "fast",
        first_key: 0,
        last_key: 0,
        key_step: 0,
        group: Group::Connection,
        since: "1.0.0",
        summary: "Returns the server's liveliness response.",
        run: ping,
        get_keys: None,
        subcommands: &[],
    },
    CommandDef {
        name: "echo",
        arity: 2,
        flags: "fast",
        first_key: 0,
        last_key: 0,
        key_step: 0,
        group: Group::Connection,
        since: "1.0.0",
        summary: "Returns the given string.",
        run: echo,
        get_keys: None,
        subcommands: &[],
    },
];

/// PING [message]
fn ping(ctx: &mut Ctx, args: Args) {
    match args.len() {
        1 => ctx.reply().simple("PONG"),
        2 => ctx.reply().bulk(&args[1]),
        _ => ctx
            .reply()
            .err("wrong number of arguments for 'ping' command"),
    }
}

/// ECHO message
fn echo(ctx: &mut Ctx, args: Args) {
    ctx.reply().bulk(&args[1]);
}
