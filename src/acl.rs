//! # ACL: who may run what, on which keys and channels
//!
//! Before Redis 6 a server had one password (`requirepass`) and a client
//! that knew it could do everything. Access control lists replace that
//! with *users*. A connection is always some user's: at first the user
//! called `default`, later whoever it authenticated as with `AUTH user
//! pass` or `HELLO 3 AUTH user pass`. Every command it sends is checked
//! against that user's rules before it runs, and refused with a `NOPERM`
//! error if the rules do not allow it.
//!
//! ## What a user is
//!
//! ```text
//! user alice on #5e88…42 ~cache:* %R~config:* resetchannels &news.* -@all +@read +set
//!      ^    ^  ^         ^        ^           ^                     ^
//!      |    |  password  key      read-only   channel pattern       command rules
//!      |    enabled      pattern  key pattern
//!      name
//! ```
//!
//! - *flags*: `on`/`off` (may anyone log in as this user?), `nopass` (any
//!   password works), and the RESTORE payload-sanitising pair.
//! - *passwords*: only their SHA-256 digests are kept (`>pw` hashes the
//!   plain text; `#hex` gives the digest directly), so ACL LIST and the
//!   ACL file never show a password.
//! - *selectors*: a set of permissions: which commands (a bitmap with one
//!   bit per command and subcommand), which keys (glob patterns, each
//!   for reading, writing or both), which pub/sub channels (patterns).
//!   The first selector is the *root*, edited by rules written outside
//!   parentheses; Redis 7.0 lets a user have more, written `(...)`, and a
//!   command is allowed if *any* selector allows it.
//!
//! ## The invariant
//!
//! A command runs only if one selector of the client's user (a) has the
//! command's bit set, or the first argument listed for it, (b) matches
//! every key of the command with a pattern that grants the access the
//! command needs (read, write), and (c) matches every channel it
//! publishes or subscribes to. The check happens in `process_command`
//! after authentication and before the command is queued or run; a
//! refusal is logged in the ACL log and answered with `NOPERM`.
//!
//! ## One bitmap, three ways to write it
//!
//! `+get`, `+@read` and `+@all` all end up as bits: a category is only a
//! way to set many bits at once, taken from the command table (the same
//! categories COMMAND INFO reports: one source of truth). So the rules a
//! user typed are not stored; ACL LIST *recomputes* a short description
//! from the bits (see [`describe_commands`]), greedily choosing the
//! categories that fit best, then single commands for the difference.
//! One extra bit, past the last command, is set only by `+@all`: it
//! tells "everything, including commands added later" (`+@all -flushdb`)
//! apart from "these commands" (`-@all +get +set`).
//!
//! ## The Redis C counterpart
//!
//! `src/acl.c`: `ACLSetUser` and `ACLSetSelector` (the rule language),
//! `ACLDescribeUser` / `ACLDescribeSelectorCommandRules` (ACL LIST),
//! `ACLCheckAllUserCommandPerm` / `ACLSelectorCheckCmd` (the check),
//! `ACLAuthenticateUser`, `addACLLogEntry`, `ACLLoadFromFile` /
//! `ACLSaveToFile`, and `aclCommand`, which is `commands/acl.rs` here.
//! `processCommand` in server.c calls the check; `redactClientCommandArgument`
//! in networking.c is [`Ctx::redact_arg`].
//!
//! ## What we simplified
//!
//! - Key access comes from the command's flags, not from per-key specs:
//!   a `readonly` command needs read access to its keys, a `write`
//!   command write access. Redis 7.0's key specs are finer (a `write`
//!   command that also returns the value, like GETDEL, needs both; EXISTS
//!   needs neither). Noted as an exercise.
//! - `CONFIG REWRITE` does not write `user` lines.
//! - ACL LIST runs Redis 7.0.15's description algorithm, but over our
//!   command table, which lacks streams, scripting and cluster commands.
//!   Category sizes differ, so the greedy choice can too: `-@all +@write
//!   -del` reads back as Redis's text only when the categories involved
//!   have the same members. The bitmap it rebuilds is always the same.
//!   Single commands come in table order, Redis's in (seeded, random)
//!   hash order.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::OnceLock;

use crate::resp::Args;
use crate::server::command::{command_table, flags, Command};
use crate::server::config::AclPubsubDefault;
use crate::server::{Client, Ctx, Server};

// ---------------------------------------------------------------------------
// Categories
// ---------------------------------------------------------------------------

// ANCHOR: acl_categories
/// Redis 7.0's ACL categories, in its order (ACL CAT lists them so, and
/// ACL LIST tries them in this order when it describes a user).
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The category's bit in a command's category mask (`None`: unknown).
/// Case-insensitive, as Redis's `strcasecmp`.
pub fn category_index(name: &[u8]) -> Option<usize> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
}

/// Each command's categories as a bit mask, indexed by the command's id
/// (its stats slot). Built once from `Command::acl_categories`, the list
/// COMMAND INFO prints, so both always agree.
fn category_masks() -> &'static [u32] {
    static MASKS: OnceLock<Vec<u32>> = OnceLock::new();
    MASKS.get_or_init(|| {
        let table = command_table();
        let mut masks = vec![0u32; table.stats_slots];
        for cmd in table.all() {
            for cat in cmd.acl_categories() {
                if let Some(i) = category_index(cat.trim_start_matches('@').as_bytes()) {
                    masks[cmd.stats_index] |= 1 << i;
                }
            }
        }
        masks
    })
}

/// Does `cmd` belong to category number `cat`?
pub fn in_category(cmd: &Command, cat: usize) -> bool {
    category_masks()[cmd.stats_index] & (1 << cat) != 0
}
// ANCHOR_END: acl_categories

// ---------------------------------------------------------------------------
// Selectors: commands, keys, channels
// ---------------------------------------------------------------------------

/// A key pattern and the access it grants (`~p` both, `%R~p`, `%W~p`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub read: bool,
    pub write: bool,
}

impl KeyPattern {
    /// How ACL LIST writes it: `~p`, `%R~p` or `%W~p`.
    fn describe(&self, out: &mut Vec<u8>) {
        match (self.read, self.write) {
            (true, true) => out.push(b'~'),
            (true, false) => out.extend_from_slice(b"%R~"),
            (false, true) => out.extend_from_slice(b"%W~"),
            // Refused by `add_key_pattern`; never stored.
            (false, false) => out.extend_from_slice(b"%~"),
        }
        out.extend_from_slice(&self.pattern);
    }
}

/// One set of permissions (Redis's `aclSelector`).
#[derive(Clone, Debug)]
pub struct Selector {
    /// One bit per command id (the command's stats slot), plus the
    /// "future commands" bit at index `stats_slots`, set only by `+@all`.
    pub allowed: Vec<u64>,
    /// Set by `+@all`, cleared by any rule that removes a command: while
    /// set, the bitmap need not be looked at.
    pub all_commands: bool,
    /// `+select|0`: first arguments allowed for a command whose bit is
    /// off, by command id. Kept in the order they were added.
    pub first_args: BTreeMap<usize, Vec<Vec<u8>>>,
    /// `allkeys` / `~*`.
    pub all_keys: bool,
    pub keys: Vec<KeyPattern>,
    /// `allchannels` / `&*`.
    pub all_channels: bool,
    pub channels: Vec<Vec<u8>>,
}

/// Why a rule was refused: Redis's errno values in `ACLSetUser`, with its
/// texts (`ACLSetUserStringError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    Syntax,
    UnknownName,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownName => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and \
                 does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleError::ChannelAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid \
                 and does not have any effect. Try 'resetchannels' to start with an empty list \
                 of channels"
            }
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase \
                 hexadecimal characters"
            }
            RuleError::FirstArgOfSubcommand => {
                "Allowing first-arg of a subcommand is not supported"
            }
        }
    }
}

/// The id of the "future commands" bit: one past the last command.
fn future_bit() -> usize {
    command_table().stats_slots
}

/// Patterns may not contain spaces or NULs (they would break ACL LIST).
fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&b| b.is_ascii_whitespace() || b == 0)
}

impl Selector {
    /// A selector that allows nothing. `all_channels` is the
    /// `acl-pubsub-default` a new user starts from.
    pub fn empty(all_channels: bool) -> Selector {
        Selector {
            allowed: vec![0; future_bit() / 64 + 1],
            all_commands: false,
            first_args: BTreeMap::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels,
            channels: Vec::new(),
        }
    }

    pub fn bit(&self, id: usize) -> bool {
        self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if on {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
            self.all_commands = false;
        }
    }

    /// Allow or deny `cmd`; a container takes its subcommands along
    /// (Redis's `ACLChangeSelectorPerm`).
    fn change_command(&mut self, cmd: &Command, allow: bool) {
        self.set_bit(cmd.stats_index, allow);
        self.first_args.remove(&cmd.stats_index);
        for sub in cmd.subcommands.values() {
            self.set_bit(sub.stats_index, allow);
        }
    }

    /// `+@cat` / `-@cat`: every command and subcommand of the category.
    fn change_category(&mut self, cat: usize, allow: bool) {
        for cmd in command_table().all() {
            if in_category(cmd, cat) {
                self.change_command(cmd, allow);
            }
        }
    }

    /// How many commands of category `cat` are allowed and denied here.
    fn count_category(&self, cat: usize) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for cmd in command_table().all() {
            if in_category(cmd, cat) {
                if self.bit(cmd.stats_index) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    fn set_all_commands(&mut self, allow: bool) {
        let word = if allow { u64::MAX } else { 0 };
        self.allowed.iter_mut().for_each(|w| *w = word);
        self.all_commands = allow;
        self.first_args.clear();
    }

    // ANCHOR: acl_set_selector
    /// Apply one selector rule (Redis's `ACLSetSelector`): key, channel
    /// and command rules. Case-insensitive keywords; patterns as given.
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("allkeys") || op == b"~*" {
            self.all_keys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is("allchannels") || op == b"&*" {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all_commands(true);
        } else if is("nocommands") || is("-@all") {
            self.set_all_commands(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            self.add_key_pattern(op)?;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelAfterAll);
            }
            if has_spaces(&op[1..]) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == &op[1..]) {
                self.channels.push(op[1..].to_vec());
            }
            self.all_channels = false;
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let cat = category_index(&op[2..]).ok_or(RuleError::UnknownName)?;
            self.change_category(cat, op[0] == b'+');
        } else if op[0] == b'+' {
            self.allow_command(&op[1..])?;
        } else if op[0] == b'-' {
            let cmd = lookup_command(&op[1..]).ok_or(RuleError::UnknownName)?;
            self.change_command(cmd, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }
    // ANCHOR_END: acl_set_selector

    /// `~pattern`, `%R~pattern`, `%W~pattern`, `%RW~pattern`.
    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeyAfterAll);
        }
        let (mut read, mut write) = (true, true);
        let mut start = 1;
        if op[0] == b'%' {
            (read, write) = (false, false);
            while start < op.len() {
                match op[start].to_ascii_uppercase() {
                    b'R' if !read => read = true,
                    b'W' if !write => write = true,
                    b'~' => {
                        start += 1;
                        break;
                    }
                    _ => return Err(RuleError::Syntax),
                }
                start += 1;
            }
            // `%~a` grants nothing: refused. (`%R`, with no `~`, is
            // accepted by 7.0.15 as the empty pattern; so here too.)
            if !read && !write {
                return Err(RuleError::Syntax);
            }
        }
        let pattern = &op[start..];
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            // The same pattern again widens its access, not a new entry.
            Some(k) => {
                k.read |= read;
                k.write |= write;
            }
            None => self.keys.push(KeyPattern {
                pattern: pattern.to_vec(),
                read,
                write,
            }),
        }
        self.all_keys = false;
        Ok(())
    }

    /// `+cmd`, `+container|sub`, and the deprecated `+cmd|first-arg`.
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let cmd = lookup_command(name).ok_or(RuleError::UnknownName)?;
            self.change_command(cmd, true);
            return Ok(());
        };
        let (parent_name, sub) = (&name[..bar], &name[bar + 1..]);
        let parent = lookup_command(parent_name).ok_or(RuleError::UnknownName)?;
        if parent_name.contains(&b'|') {
            // `config|get|x`: a first argument of a subcommand.
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !parent.subcommands.is_empty() {
            let cmd = lookup_command(name).ok_or(RuleError::UnknownName)?;
            self.change_command(cmd, true);
        } else {
            let args = self.first_args.entry(parent.stats_index).or_default();
            if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                args.push(sub.to_vec());
            }
        }
        Ok(())
    }
}

/// A command or subcommand by name (`get`, `config|get`), as the table
/// knows it: ACLs ignore `rename-command`, as in Redis.
pub fn lookup_command(name: &[u8]) -> Option<&'static Command> {
    let table = command_table();
    match name.iter().position(|&b| b == b'|') {
        None => table.get(name),
        Some(bar) => {
            let parent = table.get(&name[..bar])?;
            parent
                .subcommands
                .get(&name[bar + 1..].to_ascii_lowercase())
        }
    }
}

// ---------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------

/// `sanitize-payload` / `skip-sanitize-payload`: set by a rule or by
/// `reset`, absent on a fresh user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sanitize {
    Unset,
    Sanitize,
    Skip,
}

/// One ACL user (Redis's `user`).
#[derive(Clone, Debug)]
pub struct User {
    pub name: Vec<u8>,
    /// `on`: clients may authenticate as this user. Already authenticated
    /// clients keep working after `off`, as in Redis 7.0.
    pub enabled: bool,
    /// `nopass`: any password authenticates.
    pub nopass: bool,
    pub sanitize: Sanitize,
    /// SHA-256 digests as 64 lower-case hex characters, in the order
    /// they were added.
    pub passwords: Vec<String>,
    /// The root selector first, then the `(...)` ones.
    pub selectors: Vec<Selector>,
    /// Cached: the root selector allows every command, key and channel,
    /// so the check can be skipped (the `default` user, usually).
    pub unrestricted: bool,
}

/// A shared, mutable user: clients point at their user, and ACL SETUSER
/// changes it in place, so the change applies to them at once.
pub type UserRef = Rc<RefCell<User>>;

impl User {
    /// A new user as `ACL SETUSER name` creates it: off, no passwords, no
    /// permissions (channels per `acl-pubsub-default`).
    pub fn new(name: &[u8], pubsub_default: AclPubsubDefault) -> User {
        let all_channels = pubsub_default == AclPubsubDefault::AllChannels;
        let mut u = User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize: Sanitize::Unset,
            passwords: Vec::new(),
            selectors: vec![Selector::empty(all_channels)],
            unrestricted: false,
        };
        u.refresh();
        u
    }

    /// The `default` user: `on nopass ~* &* +@all`.
    pub fn new_default() -> User {
        let mut u = User::new(b"default", AclPubsubDefault::AllChannels);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            u.apply(op.as_bytes(), AclPubsubDefault::AllChannels)
                .expect("default user rules are valid");
        }
        u
    }

    fn refresh(&mut self) {
        let root = &self.selectors[0];
        self.unrestricted = root.all_commands && root.all_keys && root.all_channels;
    }

    // ANCHOR: acl_set_user
    /// Apply one rule (Redis's `ACLSetUser`): user flags and passwords
    /// here, `(...)` as a new selector, everything else on the root
    /// selector. An empty rule does nothing.
    pub fn apply(&mut self, op: &[u8], pubsub_default: AclPubsubDefault) -> Result<(), RuleError> {
        let result = self.apply_inner(op, pubsub_default);
        self.refresh();
        result
    }

    fn apply_inner(
        &mut self,
        op: &[u8],
        pubsub_default: AclPubsubDefault,
    ) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Sanitize::Skip;
        } else if is("sanitize-payload") {
            self.sanitize = Sanitize::Sanitize;
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let digest = if op[0] == b'>' {
                sha256_hex(&op[1..])
            } else {
                valid_hash(&op[1..]).ok_or(RuleError::BadHash)?
            };
            if !self.passwords.contains(&digest) {
                self.passwords.push(digest);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let digest = if op[0] == b'<' {
                sha256_hex(&op[1..])
            } else {
                valid_hash(&op[1..]).ok_or(RuleError::BadHash)?
            };
            let at = self.passwords.iter().position(|p| *p == digest);
            self.passwords.remove(at.ok_or(RuleError::NoSuchPassword)?);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::empty(pubsub_default == AclPubsubDefault::AllChannels);
            for rule in crate::server::config::split_args(&op[1..op.len() - 1]).unwrap_or_default()
            {
                if !rule.is_empty() {
                    selector.apply(&rule)?;
                }
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.passwords.clear();
            self.nopass = false;
            let all_channels = pubsub_default == AclPubsubDefault::AllChannels;
            self.selectors = vec![Selector::empty(all_channels)];
            self.enabled = false;
            self.sanitize = Sanitize::Sanitize;
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }
    // ANCHOR_END: acl_set_user

    /// The flags ACL GETUSER lists, in Redis's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut names = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            names.push("nopass");
        }
        match self.sanitize {
            Sanitize::Skip => names.push("skip-sanitize-payload"),
            Sanitize::Sanitize => names.push("sanitize-payload"),
            Sanitize::Unset => {}
        }
        names
    }

    /// Redis's `ACLDescribeUser`: the rules that recreate this user, as
    /// ACL LIST and the ACL file show them (without `user <name>`).
    pub fn describe(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for flag in self.flag_names() {
            out.extend_from_slice(flag.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for (i, s) in self.selectors.iter().enumerate() {
            if i == 0 {
                describe_selector(s, &mut out);
            } else {
                out.extend_from_slice(b" (");
                describe_selector(s, &mut out);
                out.push(b')');
            }
        }
        out
    }

    /// Does `password` authenticate this user? (Disabled users never.)
    pub fn password_matches(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let digest = sha256_hex(password);
        // Every stored digest is compared in full, whatever matched: the
        // time taken tells nothing about which one, or how much, matched.
        self.passwords.iter().fold(false, |found, p| {
            found | same_bytes(p.as_bytes(), digest.as_bytes())
        })
    }
}

/// Constant-time equality of two equally long strings.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// `#hash`: exactly 64 lower-case hex digits.
fn valid_hash(h: &[u8]) -> Option<String> {
    (h.len() == 64 && h.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| String::from_utf8_lossy(h).into_owned())
}

/// The keys, channels and commands of one selector, as ACL LIST writes
/// them (Redis's `ACLDescribeSelector`).
fn describe_selector(s: &Selector, out: &mut Vec<u8>) {
    if s.all_keys {
        out.extend_from_slice(b"~* ");
    } else {
        for k in &s.keys {
            k.describe(out);
            out.push(b' ');
        }
    }
    if s.all_channels {
        out.extend_from_slice(b"&* ");
    } else {
        out.extend_from_slice(b"resetchannels ");
        for c in &s.channels {
            out.push(b'&');
            out.extend_from_slice(c);
            out.push(b' ');
        }
    }
    out.extend_from_slice(describe_commands(s).as_bytes());
}

/// ACL GETUSER's `keys` field: the patterns, space-separated.
pub fn describe_keys(s: &Selector) -> Vec<u8> {
    if s.all_keys {
        return b"~*".to_vec();
    }
    let mut out = Vec::new();
    for (i, k) in s.keys.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        k.describe(&mut out);
    }
    out
}

/// ACL GETUSER's `channels` field.
pub fn describe_channels(s: &Selector) -> Vec<u8> {
    if s.all_channels {
        return b"&*".to_vec();
    }
    let mut out = Vec::new();
    for (i, c) in s.channels.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.push(b'&');
        out.extend_from_slice(c);
    }
    out
}

// ANCHOR: acl_describe_commands
/// Turn a selector's command bitmap back into rules (Redis's
/// `ACLDescribeSelectorCommandRules`). The rules typed are not kept, so
/// this finds a short equivalent:
///
/// 1. Start from `+@all` if the "future commands" bit is set, else from
///    `-@all`. Call the selector being built the *fake* one.
/// 2. Greedy categories: among the categories not used yet, take the one
///    that agrees with the user on more of its commands than it
///    disagrees, and disagrees least (ties: agrees most). Apply it to the
///    fake selector; mark its commands as handled in a *temp* copy of the
///    user, so the next round scores only what is left. Repeat until no
///    category qualifies.
/// 3. Single commands: every command whose bit still differs between
///    the user and the fake selector is written `+cmd` or `-cmd`; then
///    the allowed first arguments (`+select|0`).
///
/// Worked example: `-@all +@hash -hset`. Starting from `-@all`, `hash`
/// has every command but one allowed (agree: all but one, disagree: 1),
/// so `+@hash` is emitted; no other category has more commands on than
/// off; the single-command pass finds `hset` on in the fake selector but
/// off in the user and writes `-hset`. Result: `-@all +@hash -hset`.
///
/// Bound: at most 21 rounds of step 2, each scanning every command for
/// every remaining category: 21 × 21 × ~400 bit tests, once per ACL LIST
/// line, never on the command path.
pub fn describe_commands(user: &Selector) -> String {
    let additive = !user.bit(future_bit());
    let mut rules = String::from(if additive { "-@all " } else { "+@all " });
    let mut fake = Selector::empty(false);
    fake.set_all_commands(!additive);
    let mut temp = user.clone();
    let mut applied = [false; CATEGORIES.len()];
    loop {
        let mut best = None;
        let (mut min_diff, mut max_same) = (usize::MAX, 0);
        for (cat, done) in applied.iter().enumerate() {
            if *done {
                continue;
            }
            let (on, off) = temp.count_category(cat);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                best = Some(cat);
                min_diff = diff;
                max_same = same;
            }
        }
        let Some(cat) = best else { break };
        fake.change_category(cat, additive);
        temp.change_category(cat, !additive);
        rules.push(if additive { '+' } else { '-' });
        rules.push('@');
        rules.push_str(CATEGORIES[cat]);
        rules.push(' ');
        applied[cat] = true;
    }
    let table = command_table();
    for name in &table.order {
        let cmd = &table.commands[name];
        describe_single(user, &mut fake, cmd, &mut rules);
        for sub_name in &cmd.subcommand_order {
            describe_single(user, &mut fake, &cmd.subcommands[sub_name], &mut rules);
        }
    }
    rules.pop(); // the trailing space
    debug_assert_eq!(
        fake.allowed, user.allowed,
        "ACL description lost bits: {rules}"
    );
    rules
}

/// Step 3 of [`describe_commands`] for one command.
fn describe_single(user: &Selector, fake: &mut Selector, cmd: &Command, rules: &mut String) {
    let user_bit = user.bit(cmd.stats_index);
    if user_bit != fake.bit(cmd.stats_index) {
        rules.push(if user_bit { '+' } else { '-' });
        rules.push_str(cmd.full_name);
        rules.push(' ');
        fake.change_command(cmd, user_bit);
    }
    if !user_bit {
        for arg in user.first_args.get(&cmd.stats_index).into_iter().flatten() {
            rules.push('+');
            rules.push_str(cmd.full_name);
            rules.push('|');
            rules.push_str(&String::from_utf8_lossy(arg));
            rules.push(' ');
        }
    }
}
// ANCHOR_END: acl_describe_commands

// ---------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------

/// Why a command was refused, with the argument at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denial {
    Command,
    /// The key at this argument position.
    Key(usize),
    /// The channel at this argument position.
    Channel(usize),
}

impl Denial {
    /// Redis ranks its denials command < key < channel when it must pick
    /// one to report among several selectors.
    fn rank(self) -> (u8, usize) {
        match self {
            Denial::Command => (0, 0),
            Denial::Key(p) => (1, p),
            Denial::Channel(p) => (2, p),
        }
    }
}

/// The channels a command publishes or subscribes to: argument positions
/// and whether they are patterns (PSUBSCRIBE). UNSUBSCRIBE and PUBSUB
/// are not checked, as in Redis.
fn channel_args(cmd: &Command, argc: usize) -> (std::ops::Range<usize>, bool) {
    match cmd.full_name {
        "publish" | "spublish" => (1..2.min(argc), false),
        "subscribe" | "ssubscribe" => (1..argc, false),
        "psubscribe" => (1..argc, true),
        _ => (0..0, false),
    }
}

// ANCHOR: acl_selector_check
/// Redis's `ACLSelectorCheckCmd`: may this selector run `cmd` with these
/// arguments? The command bit (or an allowed first argument), then every
/// key, then every channel.
fn selector_check(s: &Selector, cmd: &Command, args: Args) -> Result<(), Denial> {
    if !s.all_commands && !cmd.has(flags::NO_AUTH) && !s.bit(cmd.stats_index) {
        // A subcommand's first argument is the one after its name.
        let at = if cmd.full_name.contains('|') { 2 } else { 1 };
        let allowed = args.len() > at
            && s.first_args
                .get(&cmd.stats_index)
                .is_some_and(|list| list.iter().any(|a| a.eq_ignore_ascii_case(args.get(at))));
        if !allowed {
            return Err(Denial::Command);
        }
    }
    if !s.all_keys {
        // What each key needs comes from its key spec (Redis's
        // `ACLSelectorCheckKey`): `access` reads it, `insert`, `delete`
        // and `update` write it. GETDEL needs both; EXISTS (plain `RO`)
        // needs neither, only a pattern that matches the name.
        for (pos, key_flags) in crate::server::key_specs::keys_and_flags(cmd, args) {
            let (read, write) = key_flags.split(' ').fold((false, false), |(r, w), f| {
                (
                    r || f == "access",
                    w || matches!(f, "insert" | "delete" | "update"),
                )
            });
            let key = args.get(pos);
            let ok = s.keys.iter().any(|k| {
                (!read || k.read)
                    && (!write || k.write)
                    && crate::glob::glob_match(&k.pattern, key, false)
            });
            if !ok {
                return Err(Denial::Key(pos));
            }
        }
    }
    if !s.all_channels {
        let (positions, is_pattern) = channel_args(cmd, args.len());
        for pos in positions {
            let channel = args.get(pos);
            let ok = s.channels.iter().any(|p| {
                if is_pattern {
                    p[..] == *channel
                } else {
                    crate::glob::glob_match(p, channel, false)
                }
            });
            if !ok {
                return Err(Denial::Channel(pos));
            }
        }
    }
    Ok(())
}
// ANCHOR_END: acl_selector_check

/// Redis's `ACLCheckAllUserCommandPerm`: allowed if any selector allows
/// it; otherwise the most specific denial (command < key < channel, then
/// the later argument).
pub fn check_user(user: &User, cmd: &Command, args: Args) -> Result<(), Denial> {
    if user.unrestricted {
        return Ok(());
    }
    let mut worst = Denial::Command;
    for s in &user.selectors {
        match selector_check(s, cmd, args) {
            Ok(()) => return Ok(()),
            Err(d) if d.rank() > worst.rank() => worst = d,
            Err(_) => {}
        }
    }
    Err(worst)
}

// ANCHOR: acl_process_command_hook
/// What the client's user may not do with this command line: `None` if
/// allowed, or for a client with no user (the AOF loader's). An
/// unrestricted user costs one test.
#[inline]
fn denial_for(client: &Client, cmd: &Command, args: Args) -> Option<Denial> {
    let u = client.user.as_ref()?.borrow();
    if u.unrestricted {
        return None;
    }
    check_user(&u, cmd, args).err()
}

/// The hook `process_command` calls after authentication: `None` if the
/// client's user may run the command, else the NOPERM error, after the
/// refusal has been written to the ACL log. A client with no user (the
/// AOF loader's) and an unrestricted user cost one test each.
#[inline]
pub fn refusal(server: &mut Server, client: &Client, cmd: &Command, args: Args) -> Option<String> {
    let denial = denial_for(client, cmd, args)?;
    let context = if client.multi.active {
        "multi"
    } else {
        "toplevel"
    };
    log_denial(server, client, denial, context, args, cmd);
    Some(match denial {
        Denial::Command => format!(
            "NOPERM this user has no permissions to run the '{}' command",
            cmd.full_name
        ),
        Denial::Key(_) => {
            "NOPERM this user has no permissions to access one of the keys used as arguments"
                .to_string()
        }
        Denial::Channel(_) => {
            "NOPERM this user has no permissions to access one of the channels used as \
             arguments"
                .to_string()
        }
    })
}
// ANCHOR_END: acl_process_command_hook

/// The check `redis.call` makes for a script (Redis's `scriptVerifyACL`):
/// the command runs with the permissions of the user who called the
/// script, and a refusal is logged with context `lua` and answered with
/// the script's own wording rather than NOPERM.
pub fn script_refusal(
    server: &mut Server,
    caller: &Client,
    cmd: &Command,
    args: Args,
) -> Option<&'static str> {
    let denial = denial_for(caller, cmd, args)?;
    log_denial(server, caller, denial, "lua", args, cmd);
    Some(match denial {
        Denial::Command => "ERR The user executing the script can't run this command or subcommand",
        Denial::Key(_) => {
            "ERR The user executing the script can't access at least one of the keys mentioned \
             in the command arguments"
        }
        Denial::Channel(_) => {
            "ERR The user executing the script can't publish to the channel mentioned in the \
             command"
        }
    })
}

/// EXEC's second look (Redis's `execCommand`): rules may have changed
/// since a command was queued, so each queued command is checked again
/// as it comes up; a refused one gets this error in its slot of EXEC's
/// reply, and the rest still run.
pub fn exec_refusal(
    server: &mut Server,
    client: &Client,
    cmd: &Command,
    args: Args,
) -> Option<String> {
    let denial = denial_for(client, cmd, args)?;
    log_denial(server, client, denial, "multi", args, cmd);
    let reason = match denial {
        Denial::Command => "no permission to execute the command or subcommand",
        Denial::Key(_) => "no permission to touch the specified keys",
        Denial::Channel(_) => "no permission to access one of the channels used as arguments",
    };
    Some(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the \
         EXEC call. This command is no longer allowed for the following reason: {reason}"
    ))
}

// ---------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------

/// Does a client that has not authenticated need to? Only if the
/// `default` user cannot be used without a password (Redis's
/// `authRequired`, minus the per-client part).
pub fn default_requires_auth(server: &Server) -> bool {
    let d = server.acl.default_user.borrow();
    !d.nopass || !d.enabled
}

/// Attach a new (or RESET) connection to `default`, authenticated if
/// `default` needs no password (Redis's `clientSetDefaultAuth`).
pub fn set_default_auth(server: &Server, client: &mut Client) {
    client.user = Some(server.acl.default_user.clone());
    client.authenticated = !default_requires_auth(server);
}

// ANCHOR: acl_authenticate
/// Redis's `ACLAuthenticateUser`: on success the connection becomes
/// `username`'s; on failure nothing changes and the ACL log records an
/// `auth` entry naming the user tried (never the password).
pub fn authenticate(ctx: &mut Ctx, username: &[u8], password: &[u8], args: Args) -> bool {
    let user = ctx.server.acl.users.get(username).cloned();
    if let Some(u) = user.filter(|u| u.borrow().password_matches(password)) {
        ctx.client.user = Some(u);
        ctx.client.authenticated = true;
        return true;
    }
    let context = if ctx.client.multi.active {
        "multi"
    } else {
        "toplevel"
    };
    let entry = LogEntry {
        count: 1,
        reason: "auth",
        context,
        object: args.get(0).to_vec(),
        username: username.to_vec(),
        time_ms: crate::server::unix_ms(),
        client_info: ctx.client.info_line(std::time::Instant::now()),
    };
    ctx.server
        .acl
        .add_log_entry(entry, ctx.server.config.acllog_max_len);
    false
}
// ANCHOR_END: acl_authenticate

/// `requirepass` changed (or was read at startup): the `default` user's
/// passwords become that one, or `nopass` when it is empty (Redis's
/// `ACLUpdateDefaultUserPassword`).
pub fn update_default_user_password(server: &mut Server) {
    let pubsub = server.config.acl_pubsub_default;
    let mut d = server.acl.default_user.borrow_mut();
    let _ = d.apply(b"resetpass", pubsub);
    match &server.config.requirepass {
        Some(pw) if !pw.is_empty() => {
            let mut op = b">".to_vec();
            op.extend_from_slice(pw);
            let _ = d.apply(&op, pubsub);
        }
        _ => {
            let _ = d.apply(b"nopass", pubsub);
        }
    }
}

// ---------------------------------------------------------------------------
// The ACL log
// ---------------------------------------------------------------------------

/// One ACL LOG entry (Redis 7.0's fields).
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// How many similar refusals this entry stands for.
    pub count: u64,
    /// `command`, `key`, `channel` or `auth`.
    pub reason: &'static str,
    /// `toplevel` or `multi` (`lua` once scripting exists).
    pub context: &'static str,
    /// The command, key or channel refused; for `auth`, the command name.
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// When it last happened (Unix ms).
    pub time_ms: i64,
    /// The CLIENT LIST line of the last client it happened to.
    pub client_info: String,
}

/// Refusals of the same kind within this long are one entry, counted.
const LOG_GROUPING_MS: i64 = 60_000;

/// Only this many recent entries are searched for one to group with.
const LOG_GROUPING_SCAN: usize = 10;

fn log_denial(
    server: &mut Server,
    client: &Client,
    denial: Denial,
    context: &'static str,
    args: Args,
    cmd: &Command,
) {
    let (reason, object) = match denial {
        Denial::Command => ("command", cmd.full_name.as_bytes().to_vec()),
        Denial::Key(p) => ("key", args.get(p).to_vec()),
        Denial::Channel(p) => ("channel", args.get(p).to_vec()),
    };
    let entry = LogEntry {
        count: 1,
        reason,
        context,
        object,
        username: client
            .user
            .as_ref()
            .map(|u| u.borrow().name.clone())
            .unwrap_or_default(),
        time_ms: crate::server::unix_ms(),
        client_info: client.info_line(std::time::Instant::now()),
    };
    server
        .acl
        .add_log_entry(entry, server.config.acllog_max_len);
}

// ---------------------------------------------------------------------------
// Server state
// ---------------------------------------------------------------------------

/// The server's users and ACL log.
pub struct AclState {
    /// Every user by name; sorted, as ACL LIST and ACL SAVE list them.
    pub users: BTreeMap<Vec<u8>, UserRef>,
    /// The `default` user (also in `users`): the one object every new
    /// connection points at, so it is edited in place, never replaced.
    pub default_user: UserRef,
    /// Newest first.
    pub log: VecDeque<LogEntry>,
}

impl AclState {
    /// `default` alone, with `requirepass` applied.
    pub fn new(config: &crate::server::Config) -> AclState {
        let default_user = Rc::new(RefCell::new(User::new_default()));
        if let Some(pw) = config.requirepass.as_ref().filter(|p| !p.is_empty()) {
            let mut d = default_user.borrow_mut();
            let _ = d.apply(b"resetpass", config.acl_pubsub_default);
            let mut op = b">".to_vec();
            op.extend_from_slice(pw);
            let _ = d.apply(&op, config.acl_pubsub_default);
        }
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), default_user.clone());
        AclState {
            users,
            default_user,
            log: VecDeque::new(),
        }
    }

    /// Redis's `addACLLogEntry`: bump a similar recent entry (same reason,
    /// context, object, user, within a minute) and move it to the front,
    /// or add a new one and trim to `acllog-max-len`.
    pub fn add_log_entry(&mut self, entry: LogEntry, max_len: usize) {
        let similar = self.log.iter().take(LOG_GROUPING_SCAN).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && (e.time_ms - entry.time_ms).abs() <= LOG_GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        match similar {
            Some(i) => {
                let mut e = self.log.remove(i).expect("index from position");
                e.count += 1;
                e.time_ms = entry.time_ms;
                e.client_info = entry.client_info;
                self.log.push_front(e);
            }
            None => {
                self.log.push_front(entry);
                self.log.truncate(max_len);
            }
        }
    }
}

/// Disconnect every client authenticated as `user` (deleted, or replaced
/// by ACL LOAD): Redis's `ACLFreeUserAndKillClients`. The client running
/// the command gets its reply first, then is closed; each goes back to
/// `default`, unauthenticated, until then.
pub fn kill_clients_of(server: &Server, current: &mut Client, user: &UserRef) {
    let default = server.acl.default_user.clone();
    let me = current.id;
    server.for_each_client(current, |c| {
        if c.user.as_ref().is_some_and(|u| Rc::ptr_eq(u, user)) {
            c.user = Some(default.clone());
            c.authenticated = false;
            if c.id == me {
                c.close_after_reply = true;
            } else {
                c.close_asap = true;
                c.wake.notify_one();
            }
        }
    });
}

/// ACL SETUSER is about to replace `old` by `new`: if `new` no longer
/// grants channels `old` did, disconnect the user's subscribers whose
/// subscriptions fall outside `new` (Redis's
/// `ACLKillPubsubClientsIfNeeded`). The user keeps its other clients.
///
/// Two shortcuts first, as in Redis: a selector with `allchannels` grants
/// everything; and if every channel pattern of `old` is still listed in
/// `new`, nothing was taken away. Otherwise each subscriber is checked:
/// a pattern subscription must be listed literally, a channel must match
/// some listed pattern.
pub fn kill_pubsub_clients_if_needed(
    server: &Server,
    current: &mut Client,
    user: &UserRef,
    old: &User,
    new: &User,
) {
    if new.selectors.iter().any(|s| s.all_channels) {
        return;
    }
    let upcoming: Vec<&[u8]> = new
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter().map(|c| c.as_slice()))
        .collect();
    let kept = old
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter())
        .all(|c| upcoming.contains(&c.as_slice()));
    if kept && !old.selectors.iter().any(|s| s.all_channels) {
        return;
    }
    let me = current.id;
    server.for_each_client(current, |c| {
        if !c.user.as_ref().is_some_and(|u| Rc::ptr_eq(u, user))
            || c.client_type() != crate::server::client::ClientType::PubSub
        {
            return;
        }
        let pattern_lost = c
            .pubsub
            .patterns
            .iter()
            .any(|p| !upcoming.contains(&p.as_slice()));
        let channel_lost = c.pubsub.channels.iter().any(|(ch, _)| {
            !upcoming
                .iter()
                .any(|p| crate::glob::glob_match(p, ch.as_bytes(), false))
        });
        if pattern_lost || channel_lost {
            if c.id == me {
                c.close_after_reply = true;
            } else {
                c.close_asap = true;
                c.wake.notify_one();
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Loading and saving: `user` lines and the ACL file
// ---------------------------------------------------------------------------

/// Selector rules may be split over several arguments: `(~x` `+get)` is
/// one rule `(~x +get)` (Redis's `ACLMergeSelectorArguments`). On an
/// unclosed parenthesis, the index of the argument that opened it.
pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut merged = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, &op) in args.iter().enumerate() {
        if let Some((_, buf)) = open.as_mut() {
            buf.push(b' ');
            buf.extend_from_slice(op);
            if op.last() == Some(&b')') {
                merged.push(open.take().expect("open selector").1);
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((i, op.to_vec()));
            continue;
        }
        merged.push(op.to_vec());
    }
    match open {
        Some((i, _)) => Err(i),
        None => Ok(merged),
    }
}

/// Build a user from its rules (after `user <name>` in a config or ACL
/// file line). `default` starts from its current state reset, others
/// from nothing.
fn user_from_rules(name: &[u8], rules: &[&[u8]], pubsub: AclPubsubDefault) -> Result<User, String> {
    let merged =
        merge_selector_args(rules).map_err(|_| "Unmatched parenthesis in selector definition.")?;
    let mut u = User::new(name, pubsub);
    if name == b"default" {
        u = User::new_default();
        let _ = u.apply(b"reset", pubsub);
    }
    for rule in &merged {
        u.apply(rule, pubsub).map_err(|e| e.text().to_string())?;
    }
    Ok(u)
}

/// Replace user `u`'s contents, keeping the object clients point at.
fn replace_user(existing: &UserRef, new: User) {
    *existing.borrow_mut() = new;
}

/// Startup (Redis's `ACLLoadUsersAtStartup`): the `user` lines of the
/// config file, then the ACL file. Using both is refused, as in Redis.
pub fn load_users_at_startup(server: &mut Server) -> Result<(), String> {
    let pubsub = server.config.acl_pubsub_default;
    let directives = std::mem::take(&mut server.config.user_directives);
    if !server.config.aclfile.is_empty() && !directives.is_empty() {
        return Err(
            "Configuring Redis with users defined in redis.conf and at the same setting \
                    an ACL file path is invalid. This setup is very likely to lead to \
                    configuration errors and security holes, please define either an ACL file \
                    or declare users directly in your redis.conf, but not both."
                .into(),
        );
    }
    for d in &directives {
        let name = &d.args[0];
        if has_spaces(name) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let rules: Vec<&[u8]> = d.args[1..].iter().map(|a| a.as_slice()).collect();
        let user = user_from_rules(name, &rules, pubsub).map_err(|e| {
            format!(
                "Error in user declaration '{}': {e}",
                String::from_utf8_lossy(name)
            )
        })?;
        match server.acl.users.get(name) {
            Some(existing) => replace_user(existing, user),
            None => {
                server
                    .acl
                    .users
                    .insert(name.clone(), Rc::new(RefCell::new(user)));
            }
        }
    }
    server.config.user_directives = directives;
    if !server.config.aclfile.is_empty() {
        let users = parse_acl_file(&server.config.aclfile, pubsub)?;
        install_users(server, users);
    }
    Ok(())
}

/// Read and check the ACL file (Redis's `ACLLoadFromFile`): every line
/// empty or `user <name> rules...`, split on single spaces. Any error and
/// nothing is loaded; the errors are collected into one message.
pub fn parse_acl_file(path: &str, pubsub: AclPubsubDefault) -> Result<Vec<User>, String> {
    let text = std::fs::read(path).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.split(" (os error").next().unwrap_or(&msg).to_string();
        format!("Error loading ACLs, opening file '{path}': {msg}")
    })?;
    let mut errors = String::new();
    let mut users: Vec<User> = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        if argv[0] != b"user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{path}:{line_no} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = argv[1];
        if has_spaces(name) {
            errors.push_str(&format!(
                "'{path}:{line_no}: username '{}' contains invalid characters. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        if users.iter().any(|u| u.name == name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {line_no}. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        let Ok(merged) = merge_selector_args(&argv[2..]) else {
            errors.push_str(&format!(
                "{path}:{line_no}: Unmatched parenthesis in selector definition."
            ));
            continue;
        };
        let mut u = User::new(name, pubsub);
        for rule in &merged {
            if let Err(e) = u.apply(rule.trim_ascii(), pubsub) {
                errors.push_str(&format!("{path}:{line_no}: {}. ", e.text()));
            }
        }
        users.push(u);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was \
             performed",
        );
        Err(errors)
    }
}

/// Make `users` the server's users. `default` keeps its object (every
/// connection's pointer stays valid) with the new contents, or a fresh
/// default's if the file has none. Every other old user's clients are
/// disconnected: their user object is gone.
pub fn install_users(server: &mut Server, users: Vec<User>) -> Vec<UserRef> {
    let mut new_map = BTreeMap::new();
    let mut new_default = User::new_default();
    for u in users {
        if u.name == b"default" {
            new_default = u;
        } else {
            new_map.insert(u.name.clone(), Rc::new(RefCell::new(u)));
        }
    }
    replace_user(&server.acl.default_user, new_default);
    new_map.insert(b"default".to_vec(), server.acl.default_user.clone());
    let old = std::mem::replace(&mut server.acl.users, new_map);
    old.into_iter()
        .filter(|(name, _)| name != b"default")
        .map(|(_, u)| u)
        .collect()
}

/// The ACL file's text (Redis's `ACLSaveToFile`): `user <name> <rules>`
/// per user, sorted by name.
pub fn acl_file_text(server: &Server) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, u) in &server.acl.users {
        out.extend_from_slice(b"user ");
        out.extend_from_slice(name);
        out.push(b' ');
        out.extend_from_slice(&u.borrow().describe());
        out.push(b'\n');
    }
    out
}

// ---------------------------------------------------------------------------
// Redaction: arguments SLOWLOG and MONITOR must not show
// ---------------------------------------------------------------------------

// ANCHOR: acl_redact
impl Ctx<'_> {
    /// Hide argument `i` of the running command from SLOWLOG and MONITOR:
    /// they show `(redacted)` instead (Redis's
    /// `redactClientCommandArgument`). AUTH, HELLO AUTH and ACL SETUSER
    /// call it for passwords; MIGRATE's AUTH/AUTH2 should too. The list
    /// lives on the client and is cleared after the command.
    pub fn redact_arg(&mut self, i: usize) {
        self.client.redacted_args.push(i as u32);
    }
}

/// Argument `i` as SLOWLOG and MONITOR may show it.
pub fn shown_arg<'a>(client: &Client, args: Args<'a>, i: usize) -> &'a [u8] {
    if !client.redacted_args.is_empty() && client.redacted_args.contains(&(i as u32)) {
        b"(redacted)"
    } else {
        args.get(i)
    }
}
// ANCHOR_END: acl_redact

// ---------------------------------------------------------------------------
// SHA-256
// ---------------------------------------------------------------------------

// ANCHOR: acl_sha256
/// SHA-256 of `data` as 64 lower-case hex digits: how passwords are
/// stored (Redis's `ACLHashPassword`). The hash comes from the `sha2`
/// crate; writing SHA-256 is not this chapter's subject.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(data);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}
// ANCHOR_END: acl_sha256

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_digests() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // The digest real Redis 7.0.15 stored for `>x`.
        assert_eq!(
            sha256_hex(b"x"),
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        );
        // Two blocks (56+ bytes of message).
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    fn user(rules: &[&str]) -> User {
        let mut u = User::new(b"u", AclPubsubDefault::ResetChannels);
        for r in rules {
            u.apply(r.as_bytes(), AclPubsubDefault::ResetChannels)
                .unwrap();
        }
        u
    }

    #[test]
    fn default_user_describes_as_redis_does() {
        assert_eq!(
            String::from_utf8(User::new_default().describe()).unwrap(),
            "on nopass ~* &* +@all"
        );
        assert_eq!(
            String::from_utf8(user(&[]).describe()).unwrap(),
            "off resetchannels -@all"
        );
    }

    #[test]
    fn description_rebuilds_the_same_bitmap() {
        let u = user(&[
            "+@hash",
            "-hset",
            "+get",
            "+config|get",
            "+select|0",
            "~a",
            "%R~b",
        ]);
        let text = String::from_utf8(u.describe()).unwrap();
        assert!(
            text.starts_with("off ~a %R~b resetchannels -@all +@hash"),
            "{text}"
        );
        assert!(text.contains("+select|0"), "{text}");
        let mut again = User::new(b"u", AclPubsubDefault::ResetChannels);
        for r in text.split(' ') {
            again
                .apply(r.as_bytes(), AclPubsubDefault::ResetChannels)
                .unwrap();
        }
        assert_eq!(again.selectors[0].allowed, u.selectors[0].allowed);
    }

    #[test]
    fn selectors_merge_across_arguments() {
        let args: Vec<&[u8]> = vec![b"on", b"(~x", b"+get)", b"+set"];
        assert_eq!(
            merge_selector_args(&args).unwrap(),
            vec![b"on".to_vec(), b"(~x +get)".to_vec(), b"+set".to_vec()]
        );
        assert_eq!(merge_selector_args(&[b"(~x".as_slice()]), Err(0));
    }

    #[test]
    fn rule_errors_are_redis_errnos() {
        let mut u = user(&["~*"]);
        let p = AclPubsubDefault::ResetChannels;
        assert_eq!(u.apply(b"~x", p), Err(RuleError::KeyAfterAll));
        assert_eq!(u.apply(b"+nope", p), Err(RuleError::UnknownName));
        assert_eq!(
            u.apply(b"+config|get|x", p),
            Err(RuleError::FirstArgOfSubcommand)
        );
        assert_eq!(u.apply(b"#abc", p), Err(RuleError::BadHash));
        assert_eq!(u.apply(b"<nope", p), Err(RuleError::NoSuchPassword));
        assert_eq!(u.apply(b"%X~a", p), Err(RuleError::KeyAfterAll));
        assert_eq!(user(&[]).apply(b"%X~a", p), Err(RuleError::Syntax));
        assert_eq!(user(&[]).apply(b"%~a", p), Err(RuleError::Syntax));
        assert_eq!(user(&[]).apply(b"%R", p), Ok(()));
        assert_eq!(u.apply(b"foo", p), Err(RuleError::Syntax));
    }
}
