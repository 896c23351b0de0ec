//! # The command table
//!
//! One table, one row per command: its name, its arity, its flags, where
//! its keys are, and the function that runs it. Everything that treats
//! commands generically reads this row instead of knowing commands by name:
//!
//! - the dispatcher checks the arity and authentication;
//! - `COMMAND INFO`, `COMMAND DOCS`, `COMMAND GETKEYS` and `COMMAND LIST`
//!   describe it;
//! - MULTI queues it, MONITOR and SLOWLOG show it (or skip it: `admin`);
//! - later chapters refuse writes on a read-only replica (`write`), refuse
//!   commands that grow memory under `maxmemory` (`denyoom`), check cluster
//!   slots (the key positions), and propagate writes to the AOF and the
//!   replicas (`write`), all from these flags.
//!
//! Adding a command is adding one row and one function.
//!
//! ## Writing a row
//!
//! Every chapter writes its rows the same way: a `CommandDef` struct
//! literal that names the fields it sets, finished by
//! `..CommandDef::base(Group::...)`, which supplies the rest (no keys, no
//! flags, no key function, no subcommands). Named fields keep a row
//! readable without looking up a helper's parameter order, and a command
//! with keys says where they are right in its row.
//!
//! ## Arity
//!
//! Redis's convention: a positive arity is the exact number of arguments
//! including the command name (`GET key` is 2); a negative one is a
//! minimum (`SET key value [options]` is -3).
//!
//! ## Subcommands
//!
//! `CONFIG GET` is the subcommand `get` of the container `config`; its full
//! name is `config|get`, which is what errors, INFO commandstats and
//! SLOWLOG call it, as in Redis 7.0.
//!
//! ## The Redis C counterpart
//!
//! `src/commands.c` (generated from `src/commands/*.json`), `struct
//! redisCommand` in `server.h`, `lookupCommand`, `processCommand` (the
//! checks in order) and `call` (server.c), `commandCommand` and friends.
//!
//! ## What we simplified
//!
//! Redis 7.0 describes keys with *key specs* (begin-search and find-keys
//! steps) and documents every argument. Our rows keep the classic
//! `first, last, step` triple, plus a function for the few commands whose
//! keys move (`numkeys`-style); the key specs COMMAND INFO and COMMAND
//! GETKEYSANDFLAGS report live in their own table (`key_specs.rs`), and a
//! command missing from it gets one derived from its row. COMMAND DOCS
//! carries our own one-line summaries, not argument trees.

use rustc_hash::FxHashMap as HashMap;
use std::sync::OnceLock;

use super::Ctx;
use crate::resp::Args;

/// The function that runs a command.
pub type CommandProc = fn(&mut Ctx, Args);

/// Keys of a command whose key positions depend on its arguments.
pub type GetKeysProc = fn(Args) -> Vec<usize>;

// ANCHOR: command_flags
/// Command flags, Redis 7.0's names (`COMMAND INFO` lists them).
pub mod flags {
    pub const WRITE: u64 = 1 << 0;
    pub const READONLY: u64 = 1 << 1;
    pub const DENYOOM: u64 = 1 << 2;
    pub const ADMIN: u64 = 1 << 4;
    pub const PUBSUB: u64 = 1 << 5;
    pub const NOSCRIPT: u64 = 1 << 6;
    pub const BLOCKING: u64 = 1 << 8;
    pub const LOADING: u64 = 1 << 9;
    pub const STALE: u64 = 1 << 10;
    pub const SKIP_MONITOR: u64 = 1 << 11;
    pub const SKIP_SLOWLOG: u64 = 1 << 12;
    pub const ASKING: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const NO_AUTH: u64 = 1 << 15;
    pub const MAY_REPLICATE: u64 = 1 << 16;
    pub const NO_MANDATORY_KEYS: u64 = 1 << 19;
    pub const PROTECTED: u64 = 1 << 20;
    pub const NO_ASYNC_LOADING: u64 = 1 << 23;
    pub const NO_MULTI: u64 = 1 << 24;
    pub const MOVABLE_KEYS: u64 = 1 << 25;
    pub const ALLOW_BUSY: u64 = 1 << 26;

    /// Flag names in the order COMMAND INFO prints them.
    pub const NAMES: &[(u64, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (PROTECTED, "protected"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];

    /// Parse a space-separated flag list as written in the table rows.
    pub fn parse(list: &str) -> u64 {
        list.split_whitespace()
            .map(|word| {
                NAMES
                    .iter()
                    .find(|(_, name)| *name == word)
                    .unwrap_or_else(|| panic!("unknown command flag {word:?}"))
                    .0
            })
            .fold(0, |acc, f| acc | f)
    }
}
// ANCHOR_END: command_flags

/// The group COMMAND DOCS reports and the ACL category derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Generic,
    String,
    List,
    Set,
    SortedSet,
    Hash,
    PubSub,
    Transactions,
    Connection,
    Server,
    Bitmap,
    HyperLogLog,
    Scripting,
    Geo,
    Stream,
    Cluster,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Generic => "generic",
            Group::String => "string",
            Group::List => "list",
            Group::Set => "set",
            Group::SortedSet => "sorted-set",
            Group::Stream => "stream",
            Group::Hash => "hash",
            Group::PubSub => "pubsub",
            Group::Transactions => "transactions",
            Group::Connection => "connection",
            Group::Server => "server",
            Group::Bitmap => "bitmap",
            Group::HyperLogLog => "hyperloglog",
            Group::Scripting => "scripting",
            Group::Geo => "geo",
            Group::Cluster => "cluster",
        }
    }

    /// The ACL category every command of the group belongs to.
    fn acl_category(self) -> Option<&'static str> {
        Some(match self {
            Group::Generic => "@keyspace",
            Group::String => "@string",
            Group::List => "@list",
            Group::Set => "@set",
            Group::SortedSet => "@sortedset",
            Group::Hash => "@hash",
            Group::PubSub => "@pubsub",
            Group::Transactions => "@transaction",
            Group::Connection => "@connection",
            Group::Bitmap => "@bitmap",
            Group::HyperLogLog => "@hyperloglog",
            Group::Scripting => "@scripting",
            Group::Stream => "@stream",
            Group::Geo => "@geo",
            Group::Server => return None,
            // Redis files the cluster commands under no category of their
            // own; the three a client sends on its connection (READONLY,
            // READWRITE, ASKING, the fast ones) are `@connection`.
            Group::Cluster => return None,
        })
    }
}

// ANCHOR: command_def
/// One row of the table, as written by a chapter.
pub struct CommandDef {
    /// Lower case; a subcommand's is its own name (`get` under `config`).
    pub name: &'static str,
    pub arity: i32,
    /// Space-separated flag names, see [`flags`].
    pub flags: &'static str,
    /// Position of the first key (0: no keys), of the last (-1: the last
    /// argument, -2: the one before...), and the step between keys.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub group: Group,
    /// The Redis version that introduced the command.
    pub since: &'static str,
    pub summary: &'static str,
    pub run: CommandProc,
    /// For commands whose keys move (`numkeys` arguments).
    pub get_keys: Option<GetKeysProc>,
    pub subcommands: &'static [CommandDef],
}

impl CommandDef {
    /// The starting point of every row: a command of `group` with no keys,
    /// no flags, no key function and no subcommands. A row names the
    /// fields it sets and takes the rest from here with struct-update
    /// syntax:
    ///
    /// ```rust,ignore
    /// CommandDef {
    ///     name: "get",
    ///     arity: 2,
    ///     flags: "readonly fast",
    ///     first_key: 1,
    ///     last_key: 1,
    ///     key_step: 1,
    ///     since: "1.0.0",
    ///     summary: "...",
    ///     run: get,
    ///     ..CommandDef::base(Group::String)
    /// }
    /// ```
    ///
    /// `name`, `arity`, `since`, `summary` and `run` have no sensible
    /// default, so every row sets them; the placeholders here only fill
    /// the struct (a row that forgot `run` panics the first time it runs).
    pub const fn base(group: Group) -> CommandDef {
        CommandDef {
            name: "",
            arity: 0,
            flags: "",
            first_key: 0,
            last_key: 0,
            key_step: 0,
            group,
            since: "",
            summary: "",
            run: run_unset,
            get_keys: None,
            subcommands: &[],
        }
    }
}
// ANCHOR_END: command_def

/// The `run` of [`CommandDef::base`], replaced by every row.
fn run_unset(_: &mut Ctx, _: Args) {
    unreachable!("a command row without its own run function")
}

/// A row with its flags parsed and its full name computed.
pub struct Command {
    pub def: &'static CommandDef,
    /// `get` or `config|get`.
    pub full_name: &'static str,
    pub flags: u64,
    /// Index into the server's per-command statistics.
    pub stats_index: usize,
    pub subcommands: HashMap<Vec<u8>, Command>,
    /// Subcommand names in table order (for COMMAND INFO).
    pub subcommand_order: Vec<Vec<u8>>,
}

impl Command {
    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    pub fn arity(&self) -> i32 {
        self.def.arity
    }

    /// Does `argc` satisfy the arity?
    pub fn arity_ok(&self, argc: usize) -> bool {
        let arity = self.def.arity;
        (arity > 0 && argc as i32 == arity) || (arity < 0 && argc as i32 >= -arity)
    }

    /// The ACL categories COMMAND INFO lists and ACL rules (`+@read`)
    /// select: derived as Redis derives its implicit ones
    /// (`setImplicitACLCategories`) plus the group's, corrected by
    /// [`ACL_CATEGORY_EXCEPTIONS`], in Redis's category order (the order
    /// of `crate::acl::CATEGORIES`). The one source of truth for both.
    pub fn acl_categories(&self) -> Vec<&'static str> {
        let exception = ACL_CATEGORY_EXCEPTIONS
            .iter()
            .find(|(name, _, _)| *name == self.full_name);
        let mut cats = Vec::new();
        // A container (CLIENT, OBJECT...) has no group category of its
        // own in Redis: its subcommands carry them.
        let keep_group = self.subcommands.is_empty() && !exception.is_some_and(|e| e.2);
        if let Some(c) = self.def.group.acl_category().filter(|_| keep_group) {
            cats.push(c);
        }
        if self.has(flags::WRITE) {
            cats.push("@write");
        }
        if self.has(flags::READONLY) && self.def.group != Group::Server {
            cats.push("@read");
        }
        if self.has(flags::ADMIN) {
            cats.push("@admin");
            cats.push("@dangerous");
        }
        if self.has(flags::PUBSUB) && !cats.contains(&"@pubsub") {
            cats.push("@pubsub");
        }
        if self.has(flags::FAST) {
            cats.push("@fast");
            if self.def.group == Group::Cluster {
                cats.push("@connection");
            }
        }
        if self.has(flags::BLOCKING) {
            cats.push("@blocking");
        }
        if !self.has(flags::FAST) {
            cats.push("@slow");
        }
        for extra in exception.map(|e| e.1).unwrap_or_default() {
            if !cats.contains(extra) {
                cats.push(extra);
            }
        }
        let rank = |c: &&str| {
            crate::acl::category_index(c.trim_start_matches('@').as_bytes()).unwrap_or(usize::MAX)
        };
        cats.sort_by_key(rank);
        cats
    }

    /// The positions of the keys in `args` (COMMAND GETKEYS, and later the
    /// cluster slot check).
    pub fn key_positions(&self, args: Args) -> Vec<usize> {
        if let Some(f) = self.def.get_keys {
            return f(args);
        }
        let def = self.def;
        if def.first_key <= 0 {
            return Vec::new();
        }
        let argc = args.len() as i32;
        let last = if def.last_key < 0 {
            argc + def.last_key
        } else {
            def.last_key
        };
        let mut keys = Vec::new();
        let mut i = def.first_key;
        while i <= last && i < argc {
            keys.push(i as usize);
            i += def.key_step.max(1);
        }
        keys
    }
}

/// Commands whose ACL categories Redis 7.0 sets explicitly, beyond what
/// their group and flags imply: (full name, categories to add, whether
/// the group's category is dropped). Checked against redis-server 7.0.15
/// COMMAND INFO: with these, every command both servers have lists the
/// same categories.
const ACL_CATEGORY_EXCEPTIONS: &[(&str, &[&str], bool)] = &[
    ("command", &["@connection"], false),
    ("command|count", &["@connection"], false),
    ("command|docs", &["@connection"], false),
    ("command|getkeys", &["@connection"], false),
    ("command|getkeysandflags", &["@connection"], false),
    ("command|help", &["@connection"], false),
    ("command|info", &["@connection"], false),
    ("command|list", &["@connection"], false),
    ("dbsize", &["@keyspace", "@read"], false),
    ("flushall", &["@keyspace", "@dangerous"], false),
    ("flushdb", &["@keyspace", "@dangerous"], false),
    ("info", &["@dangerous"], false),
    ("keys", &["@dangerous"], false),
    ("lastsave", &["@admin", "@dangerous"], false),
    ("memory|usage", &["@read"], false),
    ("restore", &["@dangerous"], false),
    ("role", &["@admin", "@dangerous"], false),
    ("swapdb", &["@keyspace", "@dangerous"], false),
    ("sort", &["@set", "@sortedset", "@list", "@dangerous"], true),
    (
        "sort_ro",
        &["@set", "@sortedset", "@list", "@dangerous"],
        true,
    ),
    ("wait", &["@connection"], true),
    ("pubsub|help", &[], true),
];

/// All commands, by lower-case name. The map uses FxHash rather than the
/// SipHash of the keyspace: its keys are our own command names, not
/// client-chosen data, so there is no flooding attack to defend against,
/// and every command pays for this lookup.
pub struct CommandTable {
    pub commands: HashMap<Vec<u8>, Command>,
    /// Names in table order, for COMMAND LIST and COMMAND with no args.
    pub order: Vec<Vec<u8>>,
    /// How many stats slots commands and subcommands use.
    pub stats_slots: usize,
    /// The full name of each stats slot.
    pub stats_names: Vec<&'static str>,
}

/// Why a lookup failed, with the error text Redis sends.
pub enum LookupError {
    /// Bytes, not text: the message quotes the client's bytes verbatim.
    Unknown(Vec<u8>),
    UnknownSubcommand(Vec<u8>),
    Arity(String),
}

impl CommandTable {
    pub fn build(defs: &[&'static [CommandDef]]) -> CommandTable {
        let mut table = CommandTable {
            commands: HashMap::default(),
            order: Vec::new(),
            stats_slots: 0,
            stats_names: Vec::new(),
        };
        for group in defs {
            for def in group.iter() {
                let cmd = table.make(def, None);
                table.order.push(def.name.as_bytes().to_vec());
                table.commands.insert(def.name.as_bytes().to_vec(), cmd);
            }
        }
        table
    }

    fn make(&mut self, def: &'static CommandDef, parent: Option<&str>) -> Command {
        let full_name: &'static str = match parent {
            None => def.name,
            Some(p) => Box::leak(format!("{p}|{}", def.name).into_boxed_str()),
        };
        let mut flags = flags::parse(def.flags);
        if def.get_keys.is_some() {
            flags |= flags::MOVABLE_KEYS;
        }
        let stats_index = self.stats_slots;
        self.stats_slots += 1;
        self.stats_names.push(full_name);
        let mut cmd = Command {
            def,
            full_name,
            flags,
            stats_index,
            subcommands: HashMap::default(),
            subcommand_order: Vec::new(),
        };
        for sub in def.subcommands {
            let s = self.make(sub, Some(def.name));
            cmd.subcommand_order.push(sub.name.as_bytes().to_vec());
            cmd.subcommands.insert(sub.name.as_bytes().to_vec(), s);
        }
        cmd
    }

    /// Find a command by name, case-insensitively, without allocating for
    /// names up to 32 bytes (every real command name).
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        if name.len() <= buf.len() {
            let lower = &mut buf[..name.len()];
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            self.commands.get(&lower[..])
        } else {
            None
        }
    }

    // ANCHOR: lookup
    /// `lookupCommand` plus the arity check of `processCommand`, with the
    /// exact errors Redis 7.0 sends.
    pub fn lookup(&self, args: Args) -> Result<&Command, LookupError> {
        self.lookup_as(args.get(0), args)
    }

    /// [`lookup`](Self::lookup) of the command the table knows as `name`,
    /// whatever `args[0]` says (`rename-command` makes them differ).
    pub fn lookup_as(&self, name: &[u8], args: Args) -> Result<&Command, LookupError> {
        let Some(cmd) = self.get(name) else {
            return Err(LookupError::Unknown(unknown_command_error(args)));
        };
        let cmd = if !cmd.subcommands.is_empty() && args.len() >= 2 {
            let sub = args.get(1).to_ascii_lowercase();
            match cmd.subcommands.get(&sub) {
                Some(s) => s,
                None => {
                    let mut msg = b"ERR unknown subcommand '".to_vec();
                    msg.extend_from_slice(truncate(args.get(1), 128));
                    msg.extend_from_slice(b"'. Try ");
                    msg.extend_from_slice(cmd.def.name.to_ascii_uppercase().as_bytes());
                    msg.extend_from_slice(b" HELP.");
                    return Err(LookupError::UnknownSubcommand(msg));
                }
            }
        } else {
            cmd
        };
        if !cmd.arity_ok(args.len()) {
            return Err(LookupError::Arity(format!(
                "ERR wrong number of arguments for '{}' command",
                cmd.full_name
            )));
        }
        Ok(cmd)
    }
    // ANCHOR_END: lookup

    /// Every command and subcommand, parents first.
    pub fn all(&self) -> impl Iterator<Item = &Command> {
        self.order.iter().flat_map(move |name| {
            let cmd = &self.commands[name];
            std::iter::once(cmd).chain(cmd.subcommand_order.iter().map(|s| &cmd.subcommands[s]))
        })
    }
}

/// `unknown command 'foo', with args beginning with: 'a' 'b' `: Redis lists
/// arguments until the list reaches 128 bytes. The client's bytes are
/// quoted as they came (`'\x80'` stays one byte 0x80), as Redis's `%s`
/// does; only `\r` and `\n` become spaces, when the reply is written.
pub fn unknown_command_error(args: Args) -> Vec<u8> {
    let mut list = Vec::new();
    for i in 1..args.len() {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend_from_slice(truncate(args.get(i), room));
        list.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(truncate(args.get(0), 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&list);
    msg
}

/// At most `max` bytes of `bytes` (C's `%.128s`).
fn truncate(bytes: &[u8], max: usize) -> &[u8] {
    &bytes[..bytes.len().min(max)]
}

/// At most `max` bytes of `bytes`, as text.
pub fn truncate_lossy(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned()
}

// ANCHOR: compat_rename_command
/// A server's `rename-command` lines, resolved. The table above is shared
/// by every server in the process, so a rename cannot edit it as Redis
/// edits its `server.commands` dict; instead each server keeps the names
/// that differ from the table: a new name maps to the table name it now
/// reaches, and a renamed-away (or renamed-to-empty) name maps to nothing,
/// which makes it unknown. Names are stored lower case.
#[derive(Default, Debug)]
pub struct Renames {
    names: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Renames {
    /// Apply the lines in order, as Redis does while loading its config:
    /// each line removes a name that must exist at that point and adds the
    /// new one, which must not. On error, the line at fault and Redis's
    /// reason.
    pub fn resolve(
        table: &CommandTable,
        lines: &[super::config::RenameCommand],
    ) -> Result<Renames, (usize, &'static str)> {
        let mut r = Renames::default();
        for (i, line) in lines.iter().enumerate() {
            let from = line.from.to_ascii_lowercase();
            let original = match r.names.get(&from) {
                Some(Some(original)) => Some(original.clone()),
                Some(None) => None,
                None => table.get(&from).map(|_| from.clone()),
            };
            let Some(original) = original else {
                return Err((i, "No such command in rename-command"));
            };
            r.names.insert(from, None);
            if !line.to.is_empty() {
                let to = line.to.to_ascii_lowercase();
                let taken = match r.names.get(&to) {
                    Some(target) => target.is_some(),
                    None => table.get(&to).is_some(),
                };
                if taken {
                    return Err((i, "Target command name already exists"));
                }
                r.names.insert(to, Some(original));
            }
        }
        Ok(r)
    }

    /// Look a command up as this server names it.
    pub fn lookup<'t>(
        &self,
        table: &'t CommandTable,
        args: Args,
    ) -> Result<&'t Command, LookupError> {
        if self.names.is_empty() {
            return table.lookup(args);
        }
        match self.names.get(&args.get(0).to_ascii_lowercase()) {
            None => table.lookup(args),
            Some(Some(original)) => table.lookup_as(original, args),
            Some(None) => Err(LookupError::Unknown(unknown_command_error(args))),
        }
    }
}
// ANCHOR_END: compat_rename_command

/// The one table of this process, built on first use from every chapter's
/// rows.
pub fn command_table() -> &'static CommandTable {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    TABLE.get_or_init(|| CommandTable::build(crate::commands::ALL))
}
