//! String commands.

use crate::object::{StrValue, Value};
use crate::resp::Args;
use crate::server::command::{CommandDef, Group};
use crate::server::Ctx;

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "get",
        arity: 2,
        flags: "readonly fast",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        group: Group::String,
        since: "1.0.0",
        summary: "Returns the string value of a key.",
        run: get,
        get_keys: None,
        subcommands: &[],
    },
    CommandDef {
        name: "set",
        arity: -3,
        flags: "write denyoom",
        first_key: 1,
        last_key: 1,
        key_step: 1,
        group: Group::String,
        since: "1.0.0",
        summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        run: set,
        get_keys: None,
        subcommands: &[],
    },
];

fn get(ctx: &mut Ctx, args: Args) {
    match ctx.read_key(&args[1]) {
        (None, reply) => reply.null(),
        (Some(obj), reply) => match &obj.value {
            Value::Str(StrValue::Int(n)) => reply.bulk_i64(*n),
            Value::Str(StrValue::Embstr(s)) | Value::Str(StrValue::Raw(s)) => reply.bulk(s),
        },
    }
}

fn set(ctx: &mut Ctx, args: Args) {
    let value = ctx.new_object(Value::Str(StrValue::from_bytes(&args[2])));
    ctx.set_key(&args[1], value, false);
    ctx.dirty(1);
    ctx.reply().ok();
}
