//! # Commands, one file per type
//!
//! Each file holds the command functions of one data type or one area,
//! and a `COMMANDS` table of rows for the command table
//! (`server::command`). A command function reads like the Redis docs for
//! that command: parse the arguments, look the key up, act, reply.
//!
//! The helpers here parse arguments the way Redis's `getLongLongFromObject`
//! and friends do, and answer with Redis's exact errors.

pub mod acl;
pub mod anatomy;
pub mod bitmap;
pub mod cluster;
pub mod connection;
pub mod debug;
pub mod function;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod keys;
pub mod memory;
pub mod migrate;
pub mod list;
pub mod multi;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;

use crate::server::command::CommandDef;
use crate::server::{Ctx, NOT_FLOAT, NOT_INTEGER};

/// Every chapter's rows, in the order COMMAND lists them.
pub static ALL: &[&[CommandDef]] = &[
    connection::COMMANDS,
    server::COMMANDS,
    keys::COMMANDS,
    string::COMMANDS,
    bitmap::COMMANDS,
    list::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    sort::COMMANDS,
    zset::COMMANDS,
    geo::COMMANDS,
    hyperloglog::COMMANDS,
    stream::COMMANDS,
    pubsub::COMMANDS,
    multi::COMMANDS,
    anatomy::COMMANDS,
    persistence::COMMANDS,
    memory::COMMANDS,
    crate::aof::COMMANDS,
    function::COMMANDS,
    scripting::COMMANDS,
    replication::COMMANDS,
    acl::COMMANDS,
    migrate::COMMANDS,
    cluster::COMMANDS,
];

/// Parse an integer argument (`string2ll`), replying Redis's error if it
/// is not one.
pub fn arg_i64(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    match crate::resp::parse_i64(arg) {
        Some(n) => Some(n),
        None => {
            ctx.client.reply.error(NOT_INTEGER);
            None
        }
    }
}

/// Parse an integer argument with a custom error message.
pub fn arg_i64_or(ctx: &mut Ctx, arg: &[u8], err: &str) -> Option<i64> {
    match crate::resp::parse_i64(arg) {
        Some(n) => Some(n),
        None => {
            ctx.client.reply.error(err);
            None
        }
    }
}

/// Parse a float argument as Redis's `getLongDoubleFromObject` (strtold):
/// no spaces, no NaN; `inf`, `-inf`, `1e3` accepted.
pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let v: f64 = match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => s.parse().ok()?,
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

pub fn arg_f64(ctx: &mut Ctx, arg: &[u8]) -> Option<f64> {
    match parse_f64(arg) {
        Some(v) => Some(v),
        None => {
            ctx.client.reply.error(NOT_FLOAT);
            None
        }
    }
}

/// Case-insensitive comparison of an argument with an option name.
pub fn eq_ic(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}
