//! bitmap commands (to be written).
use crate::server::command::CommandDef;
pub static COMMANDS: &[CommandDef] = &[];
