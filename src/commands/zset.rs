//! zset commands (being written).
use crate::server::command::CommandDef;
pub static COMMANDS: &[CommandDef] = &[];
