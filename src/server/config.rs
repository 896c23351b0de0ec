//! # Configuration: one table, five ways in
//!
//! A Redis server is tuned by about 160 *directives*: `port 6379`,
//! `maxmemory 2gb`, `save 3600 1 300 100`. The same directive can arrive five
//! ways, and all five must agree on its spelling, its type, its limits and
//! its error messages:
//!
//! 1. a line in the config file (`redis-server /etc/redis/redis.conf`);
//! 2. a command-line override (`redis-server --port 6380`), which Redis
//!    simply turns into one more config-file line;
//! 3. `CONFIG GET pattern`, which prints the current value;
//! 4. `CONFIG SET name value`, which changes it while the server runs;
//! 5. `CONFIG REWRITE`, which writes the running values back to the file.
//!
//! Early Redis had a long `if/else` chain per path, and they drifted apart.
//! Redis 6.0 began describing directives **once**, in a table in `config.c`,
//! and 7.0 finished the move (even `save` and `bind` are rows now): the
//! `standardConfig static_configs[]` table, built with macros such as
//! `createBoolConfig`, `createIntConfig`, `createEnumConfig` and
//! `createSpecialConfig`. Each entry says: the name, an optional alias (old
//! names like `slave-read-only` keep working), flags (`IMMUTABLE_CONFIG`,
//! `PROTECTED_CONFIG`, ...), the default, the limits, and where in
//! `struct redisServer` the value lives. Generic code per *kind* then
//! parses, checks, prints and rewrites. This module is the same design:
//! [`CONFIGS`] is the table and [`Kind`] the kinds.
//!
//! ## Kinds
//!
//! | kind               | syntax                                  | example                 |
//! |--------------------|-----------------------------------------|-------------------------|
//! | [`Kind::Bool`]     | `yes` / `no`, any case                  | `appendonly yes`        |
//! | [`Kind::Number`]   | integer, memory (`1k 1kb 1m 1mb 1g 1gb`), percent, octal; inclusive bounds | `maxmemory 2gb` |
//! | [`Kind::Enum`]     | one word of a fixed list (a few take several) | `maxmemory-policy allkeys-lru` |
//! | [`Kind::Text`]     | a string, sometimes validated           | `dbfilename dump.rdb`   |
//! | [`Kind::Bytes`]    | a binary-safe string (passwords)        | `requirepass s3cret`    |
//! | [`Kind::Special`]  | its own grammar                         | `save 3600 1 300 100`   |
//!
//! ## Typed storage: no lookups on hot paths
//!
//! The values live in [`Config`], one `pub` field per directive, named after
//! it in snake case (`maxmemory-policy` is `config.maxmemory_policy`, a
//! [`MaxmemoryPolicy`]). The server reads `config.hz` directly; only the five
//! paths above go through the table. Each table row reaches its field
//! through a pair of tiny functions (a [`Field`]: `get` and `set`), the Rust
//! stand-in for the C pointer `&server.config_hz` in Redis's table.
//!
//! ## The paths in detail
//!
//! **Config file** ([`Config::load_from_str`]). Split into lines; trim
//! spaces, tabs and line ends; skip blanks and `#` comments; split the line
//! into words with [`split_args`] (Redis's `sdssplitargs`: `"double quotes
//! with \x41 escapes"` and `'single quotes'`). The first word, lower-cased,
//! names the directive. An ordinary directive needs exactly one value; a
//! `MULTI_ARG` one (save, bind, client-output-buffer-limit, ...) takes
//! several, or one quoted string that is split again. A few words are not
//! table entries: `include`, `rename-command`, `user`, `sentinel`. The first
//! error stops the server with
//!
//! ```text
//!
//! *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
//! Reading the configuration file, at line 2
//! >>> 'hz "abc"'
//! argument couldn't be parsed into an integer
//! ```
//!
//! **Command line** ([`Config::from_args`]). `--name v1 v2` becomes the line
//! `name "v1" "v2"` (values re-quoted, Redis's `sdscatrepr`), appended after
//! the file's text and a newline. That is why the error above says *line 2*
//! when there is no file: line 1 is the empty file.
//!
//! **CONFIG GET** ([`Config::config_get`]). A pattern without `*`, `?` or `[`
//! is looked up by name and answered under the name the client typed (so
//! `CONFIG GET HZ` answers `HZ`). Any other pattern is matched, ignoring
//! case, against every name *and every alias*: `CONFIG GET hash-max-*`
//! answers four pairs, two of them under the old `ziplist` names. Hidden
//! configs (test hooks) only answer to their exact name. A name is answered
//! once even if several patterns match it.
//!
//! **CONFIG SET** ([`Config::config_set`]). All or nothing: first every name
//! is checked (unknown? immutable? protected? given twice?), then every
//! value is parsed and stored, and if any value is bad nothing changes. Redis
//! does this by saving each old value as a string and re-setting it on
//! failure; we parse into a clone of the whole [`Config`] and keep the clone
//! only if everything succeeded. Redis then runs an `apply` function for
//! each changed directive. Two of those only adjust the value (`hz` is
//! clamped to 1..=500, `repl-backlog-size` raised to 16 KB), and a row's
//! [`ConfigDef::apply`] does that here. The rest act on the running server
//! (re-listen on a new `port`, start evicting for a smaller `maxmemory`), so
//! CONFIG SET returns the names that changed and the server acts on them. If
//! that fails, the server restores its copy of the old [`Config`] and
//! answers with [`config_set_error`].
//!
//! **CONFIG REWRITE** is not written yet. It will walk the same table; the
//! `default` column tells it which values are worth writing.
//!
//! ## What we simplified, and why
//!
//! * No TLS, no modules: the `tls-*` directives do not exist here, and
//!   `loadmodule` or `module.option` lines are "Bad directive" errors.
//! * Things Redis does while parsing that need the rest of the server are
//!   handed over instead: `rename-command` and `user` lines are collected
//!   (with their line, for error messages) for the command table and ACLs;
//!   `sentinel` lines likewise for Sentinel.
//! * `dir` is checked and stored, not applied: Redis `chdir()`s on the spot,
//!   we record the canonical path and the server changes directory. Relative
//!   paths in later lines (`logfile`, `include`) are resolved against it, as
//!   they would be after a real `chdir`.
//! * Redis stores some strings as C strings; we keep text values as UTF-8
//!   `String`s (invalid bytes are replaced). Passwords are binary-safe, as in
//!   Redis.
//! * `activedefrag yes` is refused with Redis's own message, as Debian's
//!   build (our reference, linked with the system jemalloc) refuses it.
//!
//! Everything that *is* implemented was compared with a real Redis 7.0.15
//! (Debian's build): `CONFIG GET *` on a default server and on one started
//! with Debian's `redis.conf`; about 60,000 random CONFIG SET / CONFIG GET
//! commands, single and multi-pair, replies and resulting values; and 2,500
//! bad `--name value` command lines, fatal messages byte for byte.

use crate::glob::glob_match;
use std::path::{Path, PathBuf};

/// The version we answer to; it appears in the fatal config error banner.
pub const REDIS_VERSION: &str = "7.0.15";

/// Flags of a directive, as in Redis's `config.c` (`*_CONFIG`).
pub mod flags {
    /// No flags: the directive can be changed with CONFIG SET.
    pub const MODIFIABLE: u32 = 0;
    /// Only settable at startup (file or command line). CONFIG SET answers
    /// "can't set immutable config".
    pub const IMMUTABLE: u32 = 1 << 0;
    /// The value is a secret: the server must redact it from SLOWLOG,
    /// MONITOR and the command log when it arrives in a CONFIG SET.
    pub const SENSITIVE: u32 = 1 << 1;
    /// Redis's `DEBUG_CONFIG`: marks directives its test suite sets
    /// (only used by `DEBUG CONFIG-REWRITE-FORCE-ALL`).
    pub const DEBUG: u32 = 1 << 2;
    /// Takes several words (`save 3600 1 300 100`), not exactly one.
    pub const MULTI_ARG: u32 = 1 << 3;
    /// A test hook: `CONFIG GET *` does not show it, only its exact name.
    pub const HIDDEN: u32 = 1 << 4;
    /// Dangerous to change at runtime (it decides where files are written):
    /// CONFIG SET refuses unless `enable-protected-configs` allows it.
    pub const PROTECTED: u32 = 1 << 5;
    /// CONFIG SET refuses while the dataset is being loaded.
    pub const DENY_LOADING: u32 = 1 << 6;
}
use flags::*;

// ===========================================================================
// Value types
// ===========================================================================

/// A set of named values for a [`Kind::Enum`] directive. Every spelling the
/// parser accepts maps to a value; the *first* spelling of a value is the one
/// CONFIG GET prints (so `oom-score-adj relative` reads back as `yes`, as in
/// Redis).
pub trait Choices: Copy + 'static {
    /// (spelling, code) in Redis's order; the order also appears in the
    /// "must be one of the following" error.
    const CODES: &'static [(&'static str, i32)];
    /// This value's code.
    fn code(self) -> i32;
    /// The value for a code taken from [`Choices::CODES`].
    fn from_code(code: i32) -> Self;
    /// The spelling CONFIG GET shows.
    fn name(self) -> &'static str {
        let code = self.code();
        Self::CODES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(name, _)| *name)
            .unwrap_or("unknown")
    }
}

/// Declares an enum for a directive together with its spellings.
/// `Variant = "spelling"` or `Variant = "first" | "second"`.
macro_rules! config_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $($spelling:literal)|+ ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// The spelling CONFIG GET (and INFO) shows.
            pub fn name(self) -> &'static str {
                <Self as Choices>::name(self)
            }
        }

        impl Choices for $name {
            const CODES: &'static [(&'static str, i32)] =
                &[ $( $( ($spelling, $name::$variant as i32) ),+ ),+ ];
            fn code(self) -> i32 {
                self as i32
            }
            fn from_code(code: i32) -> Self {
                [$($name::$variant),+]
                    .into_iter()
                    .find(|v| *v as i32 == code)
                    .expect("a code from the CODES table")
            }
        }
    };
}

config_enum! {
    /// `maxmemory-policy`: what to do when a write would go over `maxmemory`.
    pub enum MaxmemoryPolicy {
        /// Evict the least recently used key among keys with a TTL.
        VolatileLru = "volatile-lru",
        /// Evict the least frequently used key among keys with a TTL.
        VolatileLfu = "volatile-lfu",
        /// Evict a random key among keys with a TTL.
        VolatileRandom = "volatile-random",
        /// Evict the key with the nearest expiry.
        VolatileTtl = "volatile-ttl",
        /// Evict the least recently used key.
        AllkeysLru = "allkeys-lru",
        /// Evict the least frequently used key.
        AllkeysLfu = "allkeys-lfu",
        /// Evict a random key.
        AllkeysRandom = "allkeys-random",
        /// Evict nothing: refuse the write with `-OOM`.
        NoEviction = "noeviction",
    }
}

config_enum! {
    /// `loglevel`: how chatty the log is.
    pub enum LogLevel {
        Debug = "debug",
        Verbose = "verbose",
        Notice = "notice",
        Warning = "warning",
    }
}

config_enum! {
    /// `appendfsync`: when the AOF is flushed to disk.
    pub enum AppendFsync {
        /// Once a second, from a background thread.
        Everysec = "everysec",
        /// After every write, before replying.
        Always = "always",
        /// Whenever the kernel decides.
        No = "no",
    }
}

config_enum! {
    /// `supervised`: how to tell a supervisor (upstart, systemd) we are ready.
    pub enum Supervised {
        Upstart = "upstart",
        Systemd = "systemd",
        Auto = "auto",
        No = "no",
    }
}

config_enum! {
    /// `syslog-facility`.
    pub enum SyslogFacility {
        User = "user",
        Local0 = "local0",
        Local1 = "local1",
        Local2 = "local2",
        Local3 = "local3",
        Local4 = "local4",
        Local5 = "local5",
        Local6 = "local6",
        Local7 = "local7",
    }
}

config_enum! {
    /// `repl-diskless-load`: how a replica loads the RDB it receives.
    pub enum ReplDisklessLoad {
        /// Write it to disk first, then load the file.
        Disabled = "disabled",
        /// Load straight from the socket, but only into an empty dataset.
        OnEmptyDb = "on-empty-db",
        /// Load from the socket into a new dataset, swap when done.
        Swapdb = "swapdb",
    }
}

config_enum! {
    /// `oom-score-adj`: whether and how to set Linux's OOM-killer score.
    /// (`yes` is an older spelling of `relative`; CONFIG GET shows `yes`.)
    pub enum OomScoreAdj {
        No = "no",
        Relative = "yes" | "relative",
        Absolute = "absolute",
    }
}

config_enum! {
    /// `acl-pubsub-default`: may new ACL users use every channel?
    pub enum AclPubsubDefault {
        AllChannels = "allchannels",
        ResetChannels = "resetchannels",
    }
}

config_enum! {
    /// `sanitize-dump-payload`: deep-check RESTORE payloads?
    pub enum SanitizeDumpPayload {
        No = "no",
        Yes = "yes",
        /// Only for normal clients, not for the master link.
        Clients = "clients",
    }
}

config_enum! {
    /// `enable-protected-configs`, `enable-debug-command`,
    /// `enable-module-command`: is the dangerous thing allowed?
    pub enum ProtectedAction {
        No = "no",
        Yes = "yes",
        /// Only for clients connected over loopback or a unix socket.
        Local = "local",
    }
}

config_enum! {
    /// `cluster-preferred-endpoint-type`: what MOVED/ASK redirections name.
    pub enum ClusterPreferredEndpointType {
        Ip = "ip",
        Hostname = "hostname",
        UnknownEndpoint = "unknown-endpoint",
    }
}

config_enum! {
    /// `propagation-error-behavior`: what a replica does when a replicated
    /// command fails.
    pub enum PropagationErrorBehavior {
        Ignore = "ignore",
        Panic = "panic",
        PanicOnReplicas = "panic-on-replicas",
    }
}

/// Bits of `shutdown-on-sigint` / `shutdown-on-sigterm` (several may be
/// given: `shutdown-on-sigterm nosave now`). 0 prints as `default`.
pub const SHUTDOWN_SAVE: u32 = 1;
/// See [`SHUTDOWN_SAVE`].
pub const SHUTDOWN_NOSAVE: u32 = 2;
/// See [`SHUTDOWN_SAVE`].
pub const SHUTDOWN_NOW: u32 = 4;
/// See [`SHUTDOWN_SAVE`].
pub const SHUTDOWN_FORCE: u32 = 8;
const SHUTDOWN_ON_SIGNAL_CODES: &[(&str, i32)] = &[
    ("default", 0),
    ("save", SHUTDOWN_SAVE as i32),
    ("nosave", SHUTDOWN_NOSAVE as i32),
    ("now", SHUTDOWN_NOW as i32),
    ("force", SHUTDOWN_FORCE as i32),
];

/// One `save <seconds> <changes>` rule: snapshot when at least `changes`
/// writes happened in the last `seconds` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveParam {
    /// At least 1.
    pub seconds: i64,
    /// At least 0. (Redis keeps this in a C `int`, so a huge number wraps
    /// exactly as it does there.)
    pub changes: i32,
}

/// The three client classes that have output buffer limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientClass {
    /// Ordinary clients.
    Normal = 0,
    /// Replicas (Redis's config spells it `slave`; `replica` is accepted).
    Replica = 1,
    /// Clients subscribed to Pub/Sub channels.
    Pubsub = 2,
}

impl ClientClass {
    /// The name CONFIG GET prints.
    pub fn name(self) -> &'static str {
        match self {
            ClientClass::Normal => "normal",
            ClientClass::Replica => "slave",
            ClientClass::Pubsub => "pubsub",
        }
    }

    /// Parse a class name as `client-output-buffer-limit` does. `master` is
    /// a client type in Redis but has no limits, so it is refused too.
    fn parse(word: &[u8]) -> Option<ClientClass> {
        let word = word.to_ascii_lowercase();
        match word.as_slice() {
            b"normal" => Some(ClientClass::Normal),
            b"slave" | b"replica" => Some(ClientClass::Replica),
            b"pubsub" => Some(ClientClass::Pubsub),
            _ => None,
        }
    }

    const ALL: [ClientClass; 3] = [
        ClientClass::Normal,
        ClientClass::Replica,
        ClientClass::Pubsub,
    ];
}

/// `client-output-buffer-limit <class> <hard> <soft> <soft-seconds>`:
/// a client whose pending replies exceed `hard_limit_bytes`, or stay above
/// `soft_limit_bytes` for `soft_limit_seconds`, is disconnected. 0 = no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientBufferLimit {
    pub hard_limit_bytes: u64,
    pub soft_limit_bytes: u64,
    pub soft_limit_seconds: u64,
}

/// `maxmemory-clients`: a byte count (0 = no limit) or a percentage of
/// `maxmemory` (written `10%`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxmemoryClients {
    Bytes(u64),
    Percent(u32),
}

/// Where a config-file line came from, so errors found later (say, by the
/// command table for `rename-command`) can name it the way Redis would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    /// 1-based line number in the text being loaded.
    pub number: usize,
    /// The line as Redis prints it after `>>>`: trimmed, otherwise verbatim.
    pub text: String,
}

/// `rename-command <old> <new>`: the server applies these to its command
/// table at startup. An empty `to` removes the command. If `from` is not a
/// command, Redis stops with "No such command in rename-command"; if `to`
/// already exists, with "Target command name already exists" (format those
/// with [`fatal_config_error`] and `at`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenameCommand {
    pub from: Vec<u8>,
    pub to: Vec<u8>,
    pub at: SourceLine,
}

/// A line this module collects for another part of the server: `user ...`
/// for ACLs, `sentinel ...` for Sentinel. `args` excludes the directive name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeferredDirective {
    pub args: Vec<Vec<u8>>,
    pub at: SourceLine,
}

// Bits of `notify-keyspace-events`, with Redis's values (server.h).
/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const NOTIFY_KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const NOTIFY_KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const NOTIFY_GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const NOTIFY_STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const NOTIFY_LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const NOTIFY_SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const NOTIFY_HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const NOTIFY_ZSET: u32 = 1 << 7;
/// `x`: a key expired.
pub const NOTIFY_EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted for maxmemory.
pub const NOTIFY_EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const NOTIFY_STREAM: u32 = 1 << 10;
/// `m`: a read found no key. Deliberately *not* part of `A`.
pub const NOTIFY_KEY_MISS: u32 = 1 << 11;
/// Modules only: a key was loaded from disk (no letter).
pub const NOTIFY_LOADED: u32 = 1 << 12;
/// `d`: module key types.
pub const NOTIFY_MODULE: u32 = 1 << 13;
/// `n`: a new key was created.
pub const NOTIFY_NEW: u32 = 1 << 14;
/// `A`: alias for `g$lshzxetd` (note: not `m`, not `n`).
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

// ===========================================================================
// The configuration itself
// ===========================================================================

/// Every directive's current value, one field per directive (see the module
/// essay). `Config::default()` is what a Redis 7.0 server started without a
/// config file runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    // ---- Network --------------------------------------------------------
    /// `bind`: addresses to listen on. `-` in front means "skip if the
    /// address is unavailable"; `*` is every IPv4 address. Up to 16.
    pub bind: Vec<String>,
    /// `bind-source-addr`: source address for outgoing connections.
    pub bind_source_addr: Option<String>,
    /// `port`: TCP port; 0 = don't listen on TCP.
    pub port: u16,
    /// `tcp-backlog`: the `listen()` backlog.
    pub tcp_backlog: u32,
    /// `unixsocket`: path of a unix socket to listen on, if any.
    pub unixsocket: Option<String>,
    /// `unixsocketperm`: its permissions (octal, as in `700`).
    pub unixsocketperm: u32,
    /// `socket-mark-id`: SO_MARK for outgoing sockets.
    pub socket_mark_id: u32,
    /// `timeout`: close a client idle for this many seconds; 0 = never.
    pub timeout: u32,
    /// `tcp-keepalive`: TCP keepalive interval in seconds; 0 = off.
    pub tcp_keepalive: u32,
    /// `protected-mode`: with no password and no explicit `bind`, refuse
    /// clients that are not on loopback.
    pub protected_mode: bool,
    /// `maxclients`: refuse connections beyond this many clients.
    pub maxclients: u32,
    /// `io-threads`: threads for socket I/O. We always use one thread; the
    /// value is accepted and shown.
    pub io_threads: u32,
    /// `io-threads-do-reads`: let the I/O threads parse too (accepted, unused).
    pub io_threads_do_reads: bool,

    // ---- Process --------------------------------------------------------
    /// `daemonize`: fork into the background. Accepted and shown; Redis
    /// Anatomy always stays in the foreground.
    pub daemonize: bool,
    /// `supervised`: talk to upstart/systemd.
    pub supervised: Supervised,
    /// `pidfile`: where to write our pid, if anywhere.
    pub pidfile: Option<String>,
    /// `loglevel`.
    pub loglevel: LogLevel,
    /// `logfile`: "" = standard output.
    pub logfile: String,
    /// `syslog-enabled`, `syslog-ident`, `syslog-facility`.
    pub syslog_enabled: bool,
    pub syslog_ident: String,
    pub syslog_facility: SyslogFacility,
    /// `crash-log-enabled`: print a stack trace on crashes.
    pub crash_log_enabled: bool,
    /// `crash-memcheck-enabled`: run a memory test after a crash.
    pub crash_memcheck_enabled: bool,
    /// `use-exit-on-panic` (hidden, for tests): `exit()` instead of `abort()`.
    pub use_exit_on_panic: bool,
    /// `always-show-logo`: print the ASCII-art logo even when not on a tty.
    pub always_show_logo: bool,
    /// `set-proc-title`, `proc-title-template`: how `ps` shows the process.
    pub set_proc_title: bool,
    pub proc_title_template: String,
    /// `disable-thp`: turn off transparent huge pages for this process.
    pub disable_thp: bool,
    /// `oom-score-adj` and `oom-score-adj-values` (for master, replica,
    /// background child).
    pub oom_score_adj: OomScoreAdj,
    pub oom_score_adj_values: [i32; 3],
    /// `server_cpulist`, `bio_cpulist`, `aof_rewrite_cpulist`,
    /// `bgsave_cpulist`: CPU affinity lists (accepted, unused).
    pub server_cpulist: Option<String>,
    pub bio_cpulist: Option<String>,
    pub aof_rewrite_cpulist: Option<String>,
    pub bgsave_cpulist: Option<String>,
    /// `ignore-warnings`: start-up warnings not to print.
    pub ignore_warnings: String,
    /// `shutdown-timeout`: seconds SHUTDOWN waits for replicas to catch up.
    pub shutdown_timeout: u32,
    /// `shutdown-on-sigint`, `shutdown-on-sigterm`: `SHUTDOWN_*` bits.
    pub shutdown_on_sigint: u32,
    pub shutdown_on_sigterm: u32,
    /// `jemalloc-bg-thread`: let jemalloc purge memory from a thread.
    pub jemalloc_bg_thread: bool,
    /// `watchdog-period` (hidden): milliseconds; 0 = off.
    pub watchdog_period: u32,

    // ---- Keyspace and the event loop ------------------------------------
    /// `databases`: how many numbered databases SELECT can reach.
    pub databases: usize,
    /// `hz`: how many times a second `serverCron` runs (active expiry,
    /// rehashing, timeouts...). Redis accepts any non-negative number and
    /// clamps it to 1..=500, so this is always within that range.
    pub hz: u32,
    /// `dynamic-hz`: raise the effective hz with many clients.
    pub dynamic_hz: bool,
    /// `activerehashing`: spend 1 ms per cron tick rehashing the keyspace.
    pub activerehashing: bool,
    /// `active-expire-effort`: 1..=10, how hard active expiry works.
    pub active_expire_effort: u32,
    /// `notify-keyspace-events`: `NOTIFY_*` bits; 0 = Pub/Sub key events off.
    pub notify_keyspace_events: u32,
    /// `lazyfree-lazy-*`: free big values in a background thread when
    /// evicting, expiring, on internal deletes, on DEL, on FLUSHALL/FLUSHDB.
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,

    // ---- Memory ---------------------------------------------------------
    /// `maxmemory`: bytes; 0 = no limit.
    pub maxmemory: u64,
    /// `maxmemory-policy`.
    pub maxmemory_policy: MaxmemoryPolicy,
    /// `maxmemory-samples`: keys sampled per eviction (approximated LRU).
    pub maxmemory_samples: u32,
    /// `maxmemory-eviction-tenacity`: 0..=100, how long one eviction round
    /// may run.
    pub maxmemory_eviction_tenacity: u32,
    /// `maxmemory-clients`: limit on memory used by all clients together.
    pub maxmemory_clients: MaxmemoryClients,
    /// `lfu-log-factor`, `lfu-decay-time`: the LFU counter's growth and decay.
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    /// `activedefrag` and friends: active defragmentation. Like Debian's
    /// Redis we cannot defragment, so `activedefrag` is always `no`; the
    /// tuning knobs are accepted and unused.
    pub activedefrag: bool,
    pub active_defrag_ignore_bytes: u64,
    pub active_defrag_threshold_lower: u32,
    pub active_defrag_threshold_upper: u32,
    pub active_defrag_cycle_min: u32,
    pub active_defrag_cycle_max: u32,
    pub active_defrag_max_scan_fields: u64,

    // ---- Encodings (the "small is compact" thresholds) ------------------
    /// `hash-max-listpack-entries` / `-value`: a hash stays a listpack while
    /// it has at most this many fields, each at most this many bytes.
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    /// `list-max-listpack-size`: entries per quicklist node if positive;
    /// -1..=-5 mean 4, 8, 16, 32, 64 KB per node.
    pub list_max_listpack_size: i32,
    /// `list-compress-depth`: quicklist nodes left uncompressed at each end
    /// (0 = no compression).
    pub list_compress_depth: u32,
    /// `set-max-intset-entries`: a set of integers stays an intset up to this.
    pub set_max_intset_entries: usize,
    /// `zset-max-listpack-entries` / `-value`.
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// `hll-sparse-max-bytes`: a HyperLogLog turns dense above this size.
    pub hll_sparse_max_bytes: usize,
    /// `stream-node-max-bytes` / `-entries`: size of a stream's radix nodes.
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: u64,

    // ---- Clients --------------------------------------------------------
    /// `client-output-buffer-limit`, indexed by [`ClientClass`] as `usize`.
    pub client_output_buffer_limit: [ClientBufferLimit; 3],
    /// `client-query-buffer-limit`: bytes of unparsed input per client.
    pub client_query_buffer_limit: usize,
    /// `proto-max-bulk-len`: the largest bulk string a client may send.
    pub proto_max_bulk_len: u64,
    /// `tracking-table-max-keys`: client-side caching's key table size.
    pub tracking_table_max_keys: usize,
    /// `busy-reply-threshold` (alias `lua-time-limit`): milliseconds a script
    /// may run before other clients get `-BUSY`.
    pub busy_reply_threshold: u64,

    // ---- Security -------------------------------------------------------
    /// `requirepass`: the default user's password, if any.
    pub requirepass: Option<Vec<u8>>,
    /// `aclfile`: where ACL users are kept, "" = in this config.
    pub aclfile: String,
    /// `acllog-max-len`: entries kept by ACL LOG.
    pub acllog_max_len: usize,
    /// `acl-pubsub-default`.
    pub acl_pubsub_default: AclPubsubDefault,
    /// `enable-protected-configs`, `enable-debug-command`,
    /// `enable-module-command`.
    pub enable_protected_configs: ProtectedAction,
    pub enable_debug_command: ProtectedAction,
    pub enable_module_command: ProtectedAction,
    /// `sanitize-dump-payload`.
    pub sanitize_dump_payload: SanitizeDumpPayload,

    // ---- Snapshotting (RDB) ---------------------------------------------
    /// `save`: the snapshot rules; empty = no automatic snapshots.
    pub save: Vec<SaveParam>,
    /// `stop-writes-on-bgsave-error`: refuse writes after a failed BGSAVE.
    pub stop_writes_on_bgsave_error: bool,
    /// `rdbcompression`: LZF-compress strings in the RDB.
    pub rdbcompression: bool,
    /// `rdbchecksum`: end the RDB with a CRC64.
    pub rdbchecksum: bool,
    /// `dbfilename`: the RDB's file name (no directories).
    pub dbfilename: String,
    /// `rdb-del-sync-files`: delete RDBs made only for replication.
    pub rdb_del_sync_files: bool,
    /// `rdb-save-incremental-fsync`: fsync every 4 MB while saving.
    pub rdb_save_incremental_fsync: bool,
    /// `rdb-key-save-delay`, `key-load-delay` (hidden test hooks):
    /// microseconds to sleep per key saved / loaded.
    pub rdb_key_save_delay: i32,
    pub key_load_delay: i32,
    /// `loading-process-events-interval-bytes` (hidden): how often loading
    /// stops to serve clients.
    pub loading_process_events_interval_bytes: u64,
    /// `dir`: the working directory, where RDB and AOF files go. Always
    /// absolute; the server `chdir`s to it at startup and when it changes.
    pub dir: PathBuf,

    // ---- Append only file -----------------------------------------------
    /// `appendonly`: log every write to the AOF.
    pub appendonly: bool,
    /// `appendfilename`: base name of the AOF files.
    pub appendfilename: String,
    /// `appenddirname`: the directory (inside `dir`) holding them.
    pub appenddirname: String,
    /// `appendfsync`.
    pub appendfsync: AppendFsync,
    /// `no-appendfsync-on-rewrite`: skip fsync while a rewrite runs.
    pub no_appendfsync_on_rewrite: bool,
    /// `auto-aof-rewrite-percentage` / `-min-size`: rewrite when the AOF
    /// grew by this percentage and is at least this big.
    pub auto_aof_rewrite_percentage: u32,
    pub auto_aof_rewrite_min_size: u64,
    /// `aof-load-truncated`: load a truncated AOF instead of refusing.
    pub aof_load_truncated: bool,
    /// `aof-use-rdb-preamble`: rewrite the AOF as an RDB plus a tail.
    pub aof_use_rdb_preamble: bool,
    /// `aof-timestamp-enabled`: write timestamp annotations.
    pub aof_timestamp_enabled: bool,
    /// `aof-rewrite-incremental-fsync`: fsync every 4 MB while rewriting.
    pub aof_rewrite_incremental_fsync: bool,
    /// `aof-disable-auto-gc`: keep old AOF files after a rewrite.
    pub aof_disable_auto_gc: bool,

    // ---- Replication ----------------------------------------------------
    /// `replicaof` (alias `slaveof`): the master's host and port, if we are a
    /// replica at startup.
    pub replicaof: Option<(String, u16)>,
    /// `masterauth`, `masteruser`: credentials for the master.
    pub masterauth: Option<Vec<u8>>,
    pub masteruser: Option<String>,
    /// `replica-serve-stale-data`: answer while the link is down.
    pub replica_serve_stale_data: bool,
    /// `replica-read-only`: refuse writes from clients on a replica.
    pub replica_read_only: bool,
    /// `replica-lazy-flush`: flush the old dataset in the background.
    pub replica_lazy_flush: bool,
    /// `replica-ignore-maxmemory`: a replica does not evict on its own.
    pub replica_ignore_maxmemory: bool,
    /// `replica-announced`: Sentinel may report this replica.
    pub replica_announced: bool,
    /// `replica-announce-ip`, `replica-announce-port`: what INFO tells the
    /// master about us (behind NAT).
    pub replica_announce_ip: Option<String>,
    pub replica_announce_port: u16,
    /// `replica-priority`: Sentinel prefers lower; 0 = never promote.
    pub replica_priority: u32,
    /// `replica-ignore-disk-write-errors`.
    pub replica_ignore_disk_write_errors: bool,
    /// `repl-diskless-sync` and its delay and max replicas: stream the RDB
    /// to replicas over the socket instead of through a file.
    pub repl_diskless_sync: bool,
    pub repl_diskless_sync_delay: u32,
    pub repl_diskless_sync_max_replicas: u32,
    /// `repl-diskless-load`.
    pub repl_diskless_load: ReplDisklessLoad,
    /// `repl-ping-replica-period`: seconds between master PINGs.
    pub repl_ping_replica_period: u32,
    /// `repl-timeout`: seconds before a silent link counts as dead.
    pub repl_timeout: u32,
    /// `repl-disable-tcp-nodelay`: batch replication traffic.
    pub repl_disable_tcp_nodelay: bool,
    /// `repl-backlog-size`: bytes of the ring buffer that lets a replica
    /// resume with a partial resync.
    pub repl_backlog_size: u64,
    /// `repl-backlog-ttl`: seconds to keep the backlog with no replicas.
    pub repl_backlog_ttl: u64,
    /// `min-replicas-to-write`, `min-replicas-max-lag`: refuse writes
    /// unless enough replicas acknowledged recently. 0 = off.
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag: u32,
    /// `propagation-error-behavior`.
    pub propagation_error_behavior: PropagationErrorBehavior,

    // ---- Cluster --------------------------------------------------------
    /// `cluster-enabled`.
    pub cluster_enabled: bool,
    /// `cluster-config-file`: where the node keeps its view of the cluster.
    pub cluster_config_file: String,
    /// `cluster-node-timeout`: milliseconds before a node is suspected.
    pub cluster_node_timeout: u64,
    /// `cluster-port`: the bus port; 0 = `port` + 10000.
    pub cluster_port: u16,
    /// `cluster-announce-*`: what we tell other nodes (behind NAT).
    pub cluster_announce_ip: Option<String>,
    pub cluster_announce_hostname: Option<String>,
    pub cluster_announce_port: u16,
    pub cluster_announce_bus_port: u16,
    pub cluster_announce_tls_port: u16,
    /// `cluster-replica-validity-factor`: a replica too long disconnected
    /// will not fail over; 0 = always may.
    pub cluster_replica_validity_factor: u32,
    /// `cluster-migration-barrier`: replicas a master keeps before one may
    /// migrate to an orphaned master.
    pub cluster_migration_barrier: u32,
    /// `cluster-allow-replica-migration`.
    pub cluster_allow_replica_migration: bool,
    /// `cluster-require-full-coverage`: stop serving if any slot is down.
    pub cluster_require_full_coverage: bool,
    /// `cluster-replica-no-failover`: this replica never fails over by itself.
    pub cluster_replica_no_failover: bool,
    /// `cluster-allow-reads-when-down`, `cluster-allow-pubsubshard-when-down`.
    pub cluster_allow_reads_when_down: bool,
    pub cluster_allow_pubsubshard_when_down: bool,
    /// `cluster-link-sendbuf-limit`: bytes; 0 = no limit.
    pub cluster_link_sendbuf_limit: u64,
    /// `cluster-preferred-endpoint-type`.
    pub cluster_preferred_endpoint_type: ClusterPreferredEndpointType,

    // ---- Introspection --------------------------------------------------
    /// `slowlog-log-slower-than`: microseconds; -1 = off, 0 = log everything.
    pub slowlog_log_slower_than: i64,
    /// `slowlog-max-len`: entries kept.
    pub slowlog_max_len: usize,
    /// `latency-monitor-threshold`: milliseconds; 0 = off.
    pub latency_monitor_threshold: u64,
    /// `latency-tracking`: per-command latency histograms for INFO.
    pub latency_tracking: bool,
    /// `latency-tracking-info-percentiles`: which percentiles INFO shows.
    pub latency_tracking_info_percentiles: Vec<f64>,

    // ---- Not directives: startup facts and lines for other subsystems ----
    /// The config file given on the command line, made absolute (CONFIG
    /// REWRITE writes here; without one it answers "The server is running
    /// without a config file").
    pub config_file: Option<PathBuf>,
    /// Started with `--sentinel`: enables `sentinel` directives.
    pub sentinel_mode: bool,
    /// `rename-command` lines, in file order, for the command table.
    pub rename_commands: Vec<RenameCommand>,
    /// `user` lines, in file order, for ACLs.
    pub user_directives: Vec<DeferredDirective>,
    /// `sentinel` lines (Sentinel mode only), in file order.
    pub sentinel_directives: Vec<DeferredDirective>,
}

impl Default for Config {
    /// Redis 7.0's built-in defaults. (The test
    /// `defaults_agree_with_the_table` checks these against [`CONFIGS`].)
    fn default() -> Self {
        Config {
            bind: vec!["127.0.0.1".to_string(), "-::1".to_string()],
            bind_source_addr: None,
            port: 6379,
            tcp_backlog: 511,
            unixsocket: None,
            unixsocketperm: 0,
            socket_mark_id: 0,
            timeout: 0,
            tcp_keepalive: 300,
            protected_mode: true,
            maxclients: 10000,
            io_threads: 1,
            io_threads_do_reads: false,

            daemonize: false,
            supervised: Supervised::No,
            pidfile: None,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            syslog_enabled: false,
            syslog_ident: "redis".to_string(),
            syslog_facility: SyslogFacility::Local0,
            crash_log_enabled: true,
            crash_memcheck_enabled: true,
            use_exit_on_panic: false,
            always_show_logo: false,
            set_proc_title: true,
            proc_title_template: "{title} {listen-addr} {server-mode}".to_string(),
            disable_thp: true,
            oom_score_adj: OomScoreAdj::No,
            oom_score_adj_values: [0, 200, 800],
            server_cpulist: None,
            bio_cpulist: None,
            aof_rewrite_cpulist: None,
            bgsave_cpulist: None,
            ignore_warnings: String::new(),
            shutdown_timeout: 10,
            shutdown_on_sigint: 0,
            shutdown_on_sigterm: 0,
            jemalloc_bg_thread: true,
            watchdog_period: 0,

            databases: 16,
            hz: 10,
            dynamic_hz: true,
            activerehashing: true,
            active_expire_effort: 1,
            notify_keyspace_events: 0,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,

            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            maxmemory_clients: MaxmemoryClients::Bytes(0),
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            activedefrag: false,
            active_defrag_ignore_bytes: 100 << 20,
            active_defrag_threshold_lower: 10,
            active_defrag_threshold_upper: 100,
            active_defrag_cycle_min: 1,
            active_defrag_cycle_max: 25,
            active_defrag_max_scan_fields: 1000,

            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,

            client_output_buffer_limit: [
                ClientBufferLimit {
                    hard_limit_bytes: 0,
                    soft_limit_bytes: 0,
                    soft_limit_seconds: 0,
                },
                ClientBufferLimit {
                    hard_limit_bytes: 256 << 20,
                    soft_limit_bytes: 64 << 20,
                    soft_limit_seconds: 60,
                },
                ClientBufferLimit {
                    hard_limit_bytes: 32 << 20,
                    soft_limit_bytes: 8 << 20,
                    soft_limit_seconds: 60,
                },
            ],
            client_query_buffer_limit: 1 << 30,
            proto_max_bulk_len: 512 << 20,
            tracking_table_max_keys: 1_000_000,
            busy_reply_threshold: 5000,

            requirepass: None,
            aclfile: String::new(),
            acllog_max_len: 128,
            acl_pubsub_default: AclPubsubDefault::ResetChannels,
            enable_protected_configs: ProtectedAction::No,
            enable_debug_command: ProtectedAction::No,
            enable_module_command: ProtectedAction::No,
            sanitize_dump_payload: SanitizeDumpPayload::No,

            save: vec![
                SaveParam {
                    seconds: 3600,
                    changes: 1,
                },
                SaveParam {
                    seconds: 300,
                    changes: 100,
                },
                SaveParam {
                    seconds: 60,
                    changes: 10000,
                },
            ],
            stop_writes_on_bgsave_error: true,
            rdbcompression: true,
            rdbchecksum: true,
            dbfilename: "dump.rdb".to_string(),
            rdb_del_sync_files: false,
            rdb_save_incremental_fsync: true,
            rdb_key_save_delay: 0,
            key_load_delay: 0,
            loading_process_events_interval_bytes: 2 << 20,
            // Redis's `dir` is simply the process's working directory.
            dir: std::env::current_dir().unwrap_or_default(),

            appendonly: false,
            appendfilename: "appendonly.aof".to_string(),
            appenddirname: "appendonlydir".to_string(),
            appendfsync: AppendFsync::Everysec,
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            aof_timestamp_enabled: false,
            aof_rewrite_incremental_fsync: true,
            aof_disable_auto_gc: false,

            replicaof: None,
            masterauth: None,
            masteruser: None,
            replica_serve_stale_data: true,
            replica_read_only: true,
            replica_lazy_flush: false,
            replica_ignore_maxmemory: true,
            replica_announced: true,
            replica_announce_ip: None,
            replica_announce_port: 0,
            replica_priority: 100,
            replica_ignore_disk_write_errors: false,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            repl_diskless_load: ReplDisklessLoad::Disabled,
            repl_ping_replica_period: 10,
            repl_timeout: 60,
            repl_disable_tcp_nodelay: false,
            repl_backlog_size: 1 << 20,
            repl_backlog_ttl: 3600,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            propagation_error_behavior: PropagationErrorBehavior::Ignore,

            cluster_enabled: false,
            cluster_config_file: "nodes.conf".to_string(),
            cluster_node_timeout: 15000,
            cluster_port: 0,
            cluster_announce_ip: None,
            cluster_announce_hostname: None,
            cluster_announce_port: 0,
            cluster_announce_bus_port: 0,
            cluster_announce_tls_port: 0,
            cluster_replica_validity_factor: 10,
            cluster_migration_barrier: 1,
            cluster_allow_replica_migration: true,
            cluster_require_full_coverage: true,
            cluster_replica_no_failover: false,
            cluster_allow_reads_when_down: false,
            cluster_allow_pubsubshard_when_down: true,
            cluster_link_sendbuf_limit: 0,
            cluster_preferred_endpoint_type: ClusterPreferredEndpointType::Ip,

            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],

            config_file: None,
            sentinel_mode: false,
            rename_commands: Vec::new(),
            user_directives: Vec::new(),
            sentinel_directives: Vec::new(),
        }
    }
}

// ===========================================================================
// The table
// ===========================================================================

/// How a table row reads and writes its field in [`Config`]: the Rust
/// stand-in for the `&server.field` pointer in Redis's table.
pub struct Field<T> {
    pub get: fn(&Config) -> T,
    pub set: fn(&mut Config, T),
}

// Written out because `derive` would demand `T: Copy`; two function
// pointers are always copyable.
impl<T> Clone for Field<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Field<T> {}

/// How the text of a [`Kind::Number`] is read and printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberStyle {
    /// A plain decimal integer (Redis's `string2ll`: no spaces, no `+`, no
    /// leading zeros).
    Integer,
    /// Bytes, with an optional unit: `b`, `k` (1000), `kb` (1024), `m`,
    /// `mb`, `g`, `gb`, any case. CONFIG GET prints plain bytes.
    Memory,
    /// Memory, or a percentage such as `10%` (stored as a negative number).
    MemoryOrPercent,
    /// Octal, as in `unixsocketperm 700`.
    Octal,
}

/// A whole-number directive.
#[derive(Clone, Copy)]
pub struct Number {
    /// Inclusive bounds. For unsigned fields (`unsigned`), a negative input
    /// is compared as the huge unsigned number it becomes in C, which only
    /// changes which error you get.
    pub min: i128,
    pub max: i128,
    /// The field is unsigned in Redis (`unsigned int`, `size_t`,
    /// `unsigned long long`), which is how its bounds are compared.
    pub unsigned: bool,
    pub style: NumberStyle,
    /// The value as Redis's `long long`. Unsigned 64-bit fields round-trip
    /// through it unchanged (`u64 as i64 as u64`).
    pub field: Field<i64>,
}

/// Extra validation of an enum's combined code.
pub type EnumCheck = fn(i32) -> Result<(), &'static str>;
/// Extra validation of a text value, given the configuration as it is.
pub type TextCheck = fn(&Config, &str) -> Result<(), &'static str>;
/// Parse a special directive's words into the configuration; `Ok(changed)`.
pub type SpecialSetter = fn(&mut Config, &[Vec<u8>], &mut LoadContext) -> Result<bool, String>;

/// A directive whose value is one word from a list (or several, `multi`).
#[derive(Clone, Copy)]
pub struct EnumKind {
    /// (spelling, code), as in [`Choices::CODES`].
    pub names: &'static [(&'static str, i32)],
    /// Several words may be given; their codes are OR-ed together.
    pub multi: bool,
    /// Extra validation of the combined code.
    pub check: Option<EnumCheck>,
    pub field: Field<i32>,
}

/// A string directive. `set` receives the text as given; for fields that
/// are `Option<String>`, the setter turns "" into `None` (Redis's
/// `EMPTY_STRING_IS_NULL`), and `get` prints `None` as "".
#[derive(Clone, Copy)]
pub struct TextKind {
    pub check: Option<TextCheck>,
    pub field: Field<String>,
}

/// A directive with its own grammar. `set` gets all the value words and
/// answers whether the value changed; `get` prints the CONFIG GET form.
#[derive(Clone, Copy)]
pub struct SpecialKind {
    pub set: SpecialSetter,
    pub get: fn(&Config) -> String,
}

/// The six kinds of directive (see the module essay).
#[derive(Clone, Copy)]
pub enum Kind {
    Bool(Field<bool>),
    Number(Number),
    Enum(EnumKind),
    Text(TextKind),
    /// Binary-safe text (Redis's SDS configs: the passwords).
    Bytes(Field<Vec<u8>>),
    Special(SpecialKind),
}

/// One row of the table: everything about one directive.
#[derive(Clone, Copy)]
pub struct ConfigDef {
    /// The canonical name.
    pub name: &'static str,
    /// An older name that still works everywhere (`slave-read-only`).
    pub alias: Option<&'static str>,
    /// `flags::*` bits.
    pub flags: u32,
    /// What CONFIG GET answers on a server started with no config.
    /// (`dir` is the exception: its default is the working directory.)
    pub default: &'static str,
    pub kind: Kind,
    /// Run by CONFIG SET after this directive's value changed: Redis's
    /// `apply` function, reduced to what it does to the configuration (the
    /// server does the rest, like re-binding a port). Not run while loading
    /// a config file, which is why `repl-backlog-size 1` in a file stays 1
    /// but `CONFIG SET repl-backlog-size 1` becomes 16384.
    pub apply: Option<fn(&mut Config)>,
}

impl ConfigDef {
    /// Does this directive take several words?
    pub fn is_multi_arg(&self) -> bool {
        self.flags & MULTI_ARG != 0
    }
}

/// State that lives for one load of a config file (including its
/// `include`s). Redis keeps these in C statics.
#[derive(Clone, Debug, Default)]
pub struct LoadContext {
    /// We are reading a config file, not serving CONFIG SET.
    pub reading_file: bool,
    /// A `save` line was already seen in this load: the first one throws
    /// away the default rules, later ones add to them.
    pub save_reset_done: bool,
}

// Builders that keep the table rows short. They are `const` so the table can
// be a `static`.
const fn row(name: &'static str, flags: u32, default: &'static str, kind: Kind) -> ConfigDef {
    ConfigDef {
        name,
        alias: None,
        flags,
        default,
        kind,
        apply: None,
    }
}

impl ConfigDef {
    const fn or(mut self, alias: &'static str) -> Self {
        self.alias = Some(alias);
        self
    }

    const fn then(mut self, apply: fn(&mut Config)) -> Self {
        self.apply = Some(apply);
        self
    }
}

const fn int(min: i128, max: i128, field: Field<i64>) -> Kind {
    number(min, max, false, NumberStyle::Integer, field)
}
const fn uint(min: i128, max: i128, field: Field<i64>) -> Kind {
    number(min, max, true, NumberStyle::Integer, field)
}
const fn mem(min: i128, max: i128, field: Field<i64>) -> Kind {
    number(min, max, false, NumberStyle::Memory, field)
}
const fn umem(min: i128, max: i128, field: Field<i64>) -> Kind {
    number(min, max, true, NumberStyle::Memory, field)
}
const fn number(
    min: i128,
    max: i128,
    unsigned: bool,
    style: NumberStyle,
    field: Field<i64>,
) -> Kind {
    Kind::Number(Number {
        min,
        max,
        unsigned,
        style,
        field,
    })
}
const fn choice(names: &'static [(&'static str, i32)], field: Field<i32>) -> Kind {
    Kind::Enum(EnumKind {
        names,
        multi: false,
        check: None,
        field,
    })
}
const fn text(check: Option<TextCheck>, field: Field<String>) -> Kind {
    Kind::Text(TextKind { check, field })
}
const fn special(set: SpecialSetter, get: fn(&Config) -> String) -> Kind {
    Kind::Special(SpecialKind { set, get })
}

// Field accessors, one per kind of Rust field.
macro_rules! bool_field {
    ($f:ident) => {
        Kind::Bool(Field {
            get: |c| c.$f,
            set: |c, v| c.$f = v,
        })
    };
}
macro_rules! num_field {
    ($f:ident as $t:ty) => {
        Field {
            get: |c| c.$f as i64,
            set: |c, v| c.$f = v as $t,
        }
    };
}
macro_rules! enum_field {
    ($f:ident) => {
        Field {
            get: |c| Choices::code(c.$f),
            set: |c, v| c.$f = Choices::from_code(v),
        }
    };
}
/// A `String` field ("" is a normal value).
macro_rules! string_field {
    ($f:ident) => {
        Field {
            get: |c| c.$f.clone(),
            set: |c, v| c.$f = v,
        }
    };
}
/// An `Option<String>` field ("" means "not set").
macro_rules! optional_string_field {
    ($f:ident) => {
        Field {
            get: |c| c.$f.clone().unwrap_or_default(),
            set: |c, v| c.$f = if v.is_empty() { None } else { Some(v) },
        }
    };
}
macro_rules! optional_bytes_field {
    ($f:ident) => {
        Kind::Bytes(Field {
            get: |c| c.$f.clone().unwrap_or_default(),
            set: |c, v| c.$f = if v.is_empty() { None } else { Some(v) },
        })
    };
}

const INT_MAX: i128 = i32::MAX as i128;
const INT_MIN: i128 = i32::MIN as i128;
const UINT_MAX: i128 = u32::MAX as i128;
const LONG_MAX: i128 = i64::MAX as i128;
const ULLONG_MAX: i128 = u64::MAX as i128;

/// Every directive Redis Anatomy knows, in the order of Redis 7.0's
/// `static_configs[]` (bools, strings, enums, numbers, specials).
// One row per line, so the table reads as a table.
#[rustfmt::skip]
pub static CONFIGS: &[ConfigDef] = &[
    // ---- yes/no ---------------------------------------------------------
    row("rdbchecksum", IMMUTABLE, "yes", bool_field!(rdbchecksum)),
    row("daemonize", IMMUTABLE, "no", bool_field!(daemonize)),
    row("io-threads-do-reads", DEBUG | IMMUTABLE, "no", bool_field!(io_threads_do_reads)),
    row("always-show-logo", IMMUTABLE, "no", bool_field!(always_show_logo)),
    row("protected-mode", MODIFIABLE, "yes", bool_field!(protected_mode)),
    row("rdbcompression", MODIFIABLE, "yes", bool_field!(rdbcompression)),
    row("rdb-del-sync-files", MODIFIABLE, "no", bool_field!(rdb_del_sync_files)),
    row("activerehashing", MODIFIABLE, "yes", bool_field!(activerehashing)),
    row("stop-writes-on-bgsave-error", MODIFIABLE, "yes", bool_field!(stop_writes_on_bgsave_error)),
    row("set-proc-title", IMMUTABLE, "yes", bool_field!(set_proc_title)),
    row("dynamic-hz", MODIFIABLE, "yes", bool_field!(dynamic_hz)),
    row("lazyfree-lazy-eviction", DEBUG, "no", bool_field!(lazyfree_lazy_eviction)),
    row("lazyfree-lazy-expire", DEBUG, "no", bool_field!(lazyfree_lazy_expire)),
    row("lazyfree-lazy-server-del", DEBUG, "no", bool_field!(lazyfree_lazy_server_del)),
    row("lazyfree-lazy-user-del", DEBUG, "no", bool_field!(lazyfree_lazy_user_del)),
    row("lazyfree-lazy-user-flush", DEBUG, "no", bool_field!(lazyfree_lazy_user_flush)),
    row("repl-disable-tcp-nodelay", MODIFIABLE, "no", bool_field!(repl_disable_tcp_nodelay)),
    row("repl-diskless-sync", DEBUG, "yes", bool_field!(repl_diskless_sync)),
    row("aof-rewrite-incremental-fsync", MODIFIABLE, "yes", bool_field!(aof_rewrite_incremental_fsync)),
    row("no-appendfsync-on-rewrite", MODIFIABLE, "no", bool_field!(no_appendfsync_on_rewrite)),
    row("cluster-require-full-coverage", MODIFIABLE, "yes", bool_field!(cluster_require_full_coverage)),
    row("rdb-save-incremental-fsync", MODIFIABLE, "yes", bool_field!(rdb_save_incremental_fsync)),
    row("aof-load-truncated", MODIFIABLE, "yes", bool_field!(aof_load_truncated)),
    row("aof-use-rdb-preamble", MODIFIABLE, "yes", bool_field!(aof_use_rdb_preamble)),
    row("aof-timestamp-enabled", MODIFIABLE, "no", bool_field!(aof_timestamp_enabled)),
    row("cluster-replica-no-failover", MODIFIABLE, "no", bool_field!(cluster_replica_no_failover))
        .or("cluster-slave-no-failover"),
    row("replica-lazy-flush", MODIFIABLE, "no", bool_field!(replica_lazy_flush)).or("slave-lazy-flush"),
    row("replica-serve-stale-data", MODIFIABLE, "yes", bool_field!(replica_serve_stale_data))
        .or("slave-serve-stale-data"),
    row("replica-read-only", DEBUG, "yes", bool_field!(replica_read_only)).or("slave-read-only"),
    row("replica-ignore-maxmemory", MODIFIABLE, "yes", bool_field!(replica_ignore_maxmemory))
        .or("slave-ignore-maxmemory"),
    row("jemalloc-bg-thread", MODIFIABLE, "yes", bool_field!(jemalloc_bg_thread)),
    // A yes/no that can only be `no`, as in Debian's Redis (see below).
    row("activedefrag", DEBUG, "no", special(set_activedefrag, get_activedefrag)),
    row("syslog-enabled", IMMUTABLE, "no", bool_field!(syslog_enabled)),
    row("cluster-enabled", IMMUTABLE, "no", bool_field!(cluster_enabled)),
    row("appendonly", DENY_LOADING, "no", bool_field!(appendonly)),
    row("cluster-allow-reads-when-down", MODIFIABLE, "no", bool_field!(cluster_allow_reads_when_down)),
    row("cluster-allow-pubsubshard-when-down", MODIFIABLE, "yes", bool_field!(cluster_allow_pubsubshard_when_down)),
    row("crash-log-enabled", MODIFIABLE, "yes", bool_field!(crash_log_enabled)),
    row("crash-memcheck-enabled", MODIFIABLE, "yes", bool_field!(crash_memcheck_enabled)),
    row("use-exit-on-panic", HIDDEN, "no", bool_field!(use_exit_on_panic)),
    row("disable-thp", IMMUTABLE, "yes", bool_field!(disable_thp)),
    row("cluster-allow-replica-migration", MODIFIABLE, "yes", bool_field!(cluster_allow_replica_migration)),
    row("replica-announced", MODIFIABLE, "yes", bool_field!(replica_announced)),
    row("latency-tracking", MODIFIABLE, "yes", bool_field!(latency_tracking)),
    row("aof-disable-auto-gc", MODIFIABLE, "no", bool_field!(aof_disable_auto_gc)),
    row("replica-ignore-disk-write-errors", MODIFIABLE, "no", bool_field!(replica_ignore_disk_write_errors)),
    // ---- text -----------------------------------------------------------
    row("aclfile", IMMUTABLE, "", text(None, string_field!(aclfile))),
    row("unixsocket", IMMUTABLE, "", text(None, optional_string_field!(unixsocket))),
    row("pidfile", IMMUTABLE, "", text(None, optional_string_field!(pidfile))),
    row("replica-announce-ip", MODIFIABLE, "", text(None, optional_string_field!(replica_announce_ip)))
        .or("slave-announce-ip"),
    row("masteruser", SENSITIVE, "", text(None, optional_string_field!(masteruser))),
    row("cluster-announce-ip", MODIFIABLE, "", text(None, optional_string_field!(cluster_announce_ip))),
    row("cluster-config-file", IMMUTABLE, "nodes.conf", text(None, string_field!(cluster_config_file))),
    row(
        "cluster-announce-hostname",
        MODIFIABLE,
        "",
        text(
            Some(check_hostname),
            optional_string_field!(cluster_announce_hostname),
        ),
    ),
    row("syslog-ident", IMMUTABLE, "redis", text(None, string_field!(syslog_ident))),
    row("dbfilename", PROTECTED, "dump.rdb", text(Some(check_dbfilename), string_field!(dbfilename))),
    row("appendfilename", IMMUTABLE, "appendonly.aof", text(Some(check_appendfilename), string_field!(appendfilename))),
    row("appenddirname", IMMUTABLE, "appendonlydir", text(Some(check_appenddirname), string_field!(appenddirname))),
    row("server_cpulist", IMMUTABLE, "", text(None, optional_string_field!(server_cpulist))),
    row("bio_cpulist", IMMUTABLE, "", text(None, optional_string_field!(bio_cpulist))),
    row("aof_rewrite_cpulist", IMMUTABLE, "", text(None, optional_string_field!(aof_rewrite_cpulist))),
    row("bgsave_cpulist", IMMUTABLE, "", text(None, optional_string_field!(bgsave_cpulist))),
    row("ignore-warnings", MODIFIABLE, "", text(None, string_field!(ignore_warnings))),
    row(
        "proc-title-template",
        MODIFIABLE,
        "{title} {listen-addr} {server-mode}",
        text(
            Some(check_proc_title_template),
            string_field!(proc_title_template),
        ),
    ),
    row("bind-source-addr", MODIFIABLE, "", text(None, optional_string_field!(bind_source_addr))),
    row("logfile", IMMUTABLE, "", text(None, string_field!(logfile))),
    row("masterauth", SENSITIVE, "", optional_bytes_field!(masterauth)),
    row("requirepass", SENSITIVE, "", optional_bytes_field!(requirepass)),
    // ---- one word of a list ---------------------------------------------
    row("supervised", IMMUTABLE, "no", choice(Supervised::CODES, enum_field!(supervised))),
    row("syslog-facility", IMMUTABLE, "local0", choice(SyslogFacility::CODES, enum_field!(syslog_facility))),
    row(
        "repl-diskless-load",
        DEBUG | DENY_LOADING,
        "disabled",
        choice(ReplDisklessLoad::CODES, enum_field!(repl_diskless_load)),
    ),
    row("loglevel", MODIFIABLE, "notice", choice(LogLevel::CODES, enum_field!(loglevel))),
    row("maxmemory-policy", MODIFIABLE, "noeviction", choice(MaxmemoryPolicy::CODES, enum_field!(maxmemory_policy))),
    row("appendfsync", MODIFIABLE, "everysec", choice(AppendFsync::CODES, enum_field!(appendfsync))),
    row("oom-score-adj", MODIFIABLE, "no", choice(OomScoreAdj::CODES, enum_field!(oom_score_adj))),
    row(
        "acl-pubsub-default",
        MODIFIABLE,
        "resetchannels",
        choice(AclPubsubDefault::CODES, enum_field!(acl_pubsub_default)),
    ),
    row("sanitize-dump-payload", DEBUG, "no", choice(SanitizeDumpPayload::CODES, enum_field!(sanitize_dump_payload))),
    row(
        "enable-protected-configs",
        IMMUTABLE,
        "no",
        choice(
            ProtectedAction::CODES,
            enum_field!(enable_protected_configs),
        ),
    ),
    row("enable-debug-command", IMMUTABLE, "no", choice(ProtectedAction::CODES, enum_field!(enable_debug_command))),
    row("enable-module-command", IMMUTABLE, "no", choice(ProtectedAction::CODES, enum_field!(enable_module_command))),
    row(
        "cluster-preferred-endpoint-type",
        MODIFIABLE,
        "ip",
        choice(
            ClusterPreferredEndpointType::CODES,
            enum_field!(cluster_preferred_endpoint_type),
        ),
    ),
    row(
        "propagation-error-behavior",
        MODIFIABLE,
        "ignore",
        choice(
            PropagationErrorBehavior::CODES,
            enum_field!(propagation_error_behavior),
        ),
    ),
    row(
        "shutdown-on-sigint",
        MULTI_ARG,
        "default",
        Kind::Enum(EnumKind {
            names: SHUTDOWN_ON_SIGNAL_CODES,
            multi: true,
            check: Some(check_shutdown_flags),
            field: Field {
                get: |c| c.shutdown_on_sigint as i32,
                set: |c, v| c.shutdown_on_sigint = v as u32,
            },
        }),
    ),
    row(
        "shutdown-on-sigterm",
        MULTI_ARG,
        "default",
        Kind::Enum(EnumKind {
            names: SHUTDOWN_ON_SIGNAL_CODES,
            multi: true,
            check: Some(check_shutdown_flags),
            field: Field {
                get: |c| c.shutdown_on_sigterm as i32,
                set: |c, v| c.shutdown_on_sigterm = v as u32,
            },
        }),
    ),
    // ---- numbers --------------------------------------------------------
    row("databases", IMMUTABLE, "16", int(1, INT_MAX, num_field!(databases as usize))),
    row("port", MODIFIABLE, "6379", int(0, 65535, num_field!(port as u16))),
    row("io-threads", DEBUG | IMMUTABLE, "1", int(1, 128, num_field!(io_threads as u32))),
    row(
        "auto-aof-rewrite-percentage",
        MODIFIABLE,
        "100",
        int(0, INT_MAX, num_field!(auto_aof_rewrite_percentage as u32)),
    ),
    row(
        "cluster-replica-validity-factor",
        MODIFIABLE,
        "10",
        int(
            0,
            INT_MAX,
            num_field!(cluster_replica_validity_factor as u32),
        ),
    )
    .or("cluster-slave-validity-factor"),
    row("list-max-listpack-size", MODIFIABLE, "-2", int(INT_MIN, INT_MAX, num_field!(list_max_listpack_size as i32)))
        .or("list-max-ziplist-size"),
    row("tcp-keepalive", MODIFIABLE, "300", int(0, INT_MAX, num_field!(tcp_keepalive as u32))),
    row("cluster-migration-barrier", MODIFIABLE, "1", int(0, INT_MAX, num_field!(cluster_migration_barrier as u32))),
    row("active-defrag-cycle-min", MODIFIABLE, "1", int(1, 99, num_field!(active_defrag_cycle_min as u32))),
    row("active-defrag-cycle-max", MODIFIABLE, "25", int(1, 99, num_field!(active_defrag_cycle_max as u32))),
    row(
        "active-defrag-threshold-lower",
        MODIFIABLE,
        "10",
        int(0, 1000, num_field!(active_defrag_threshold_lower as u32)),
    ),
    row(
        "active-defrag-threshold-upper",
        MODIFIABLE,
        "100",
        int(0, 1000, num_field!(active_defrag_threshold_upper as u32)),
    ),
    row("lfu-log-factor", MODIFIABLE, "10", int(0, INT_MAX, num_field!(lfu_log_factor as u32))),
    row("lfu-decay-time", MODIFIABLE, "1", int(0, INT_MAX, num_field!(lfu_decay_time as u32))),
    row("replica-priority", MODIFIABLE, "100", int(0, INT_MAX, num_field!(replica_priority as u32)))
        .or("slave-priority"),
    row("repl-diskless-sync-delay", MODIFIABLE, "5", int(0, INT_MAX, num_field!(repl_diskless_sync_delay as u32))),
    row("maxmemory-samples", MODIFIABLE, "5", int(1, INT_MAX, num_field!(maxmemory_samples as u32))),
    row("maxmemory-eviction-tenacity", MODIFIABLE, "10", int(0, 100, num_field!(maxmemory_eviction_tenacity as u32))),
    row("timeout", MODIFIABLE, "0", int(0, INT_MAX, num_field!(timeout as u32))),
    row("replica-announce-port", MODIFIABLE, "0", int(0, 65535, num_field!(replica_announce_port as u16)))
        .or("slave-announce-port"),
    row("tcp-backlog", IMMUTABLE, "511", int(0, INT_MAX, num_field!(tcp_backlog as u32))),
    row("cluster-port", IMMUTABLE, "0", int(0, 65535, num_field!(cluster_port as u16))),
    row("cluster-announce-bus-port", MODIFIABLE, "0", int(0, 65535, num_field!(cluster_announce_bus_port as u16))),
    row("cluster-announce-port", MODIFIABLE, "0", int(0, 65535, num_field!(cluster_announce_port as u16))),
    row("cluster-announce-tls-port", MODIFIABLE, "0", int(0, 65535, num_field!(cluster_announce_tls_port as u16))),
    row("repl-timeout", MODIFIABLE, "60", int(1, INT_MAX, num_field!(repl_timeout as u32))),
    row("repl-ping-replica-period", MODIFIABLE, "10", int(1, INT_MAX, num_field!(repl_ping_replica_period as u32)))
        .or("repl-ping-slave-period"),
    row("list-compress-depth", DEBUG, "0", int(0, INT_MAX, num_field!(list_compress_depth as u32))),
    row("rdb-key-save-delay", HIDDEN, "0", int(INT_MIN, INT_MAX, num_field!(rdb_key_save_delay as i32))),
    row("key-load-delay", HIDDEN, "0", int(INT_MIN, INT_MAX, num_field!(key_load_delay as i32))),
    row("active-expire-effort", MODIFIABLE, "1", int(1, 10, num_field!(active_expire_effort as u32))),
    // Redis accepts any non-negative hz and clamps it (after CONFIG SET, and
    // at the end of loading a file): hz is a hint, not a contract.
    row("hz", MODIFIABLE, "10", int(0, INT_MAX, num_field!(hz as u32))).then(clamp_hz),
    row("min-replicas-to-write", MODIFIABLE, "0", int(0, INT_MAX, num_field!(min_replicas_to_write as u32)))
        .or("min-slaves-to-write"),
    row("min-replicas-max-lag", MODIFIABLE, "10", int(0, INT_MAX, num_field!(min_replicas_max_lag as u32)))
        .or("min-slaves-max-lag"),
    row("watchdog-period", HIDDEN, "0", int(0, INT_MAX, num_field!(watchdog_period as u32))),
    row("shutdown-timeout", MODIFIABLE, "10", int(0, INT_MAX, num_field!(shutdown_timeout as u32))),
    row(
        "repl-diskless-sync-max-replicas",
        MODIFIABLE,
        "0",
        int(
            0,
            INT_MAX,
            num_field!(repl_diskless_sync_max_replicas as u32),
        ),
    ),
    row("maxclients", MODIFIABLE, "10000", uint(1, UINT_MAX, num_field!(maxclients as u32))),
    row(
        "unixsocketperm",
        IMMUTABLE,
        "0",
        number(
            0,
            0o777,
            true,
            NumberStyle::Octal,
            num_field!(unixsocketperm as u32),
        ),
    ),
    row("socket-mark-id", IMMUTABLE, "0", uint(0, UINT_MAX, num_field!(socket_mark_id as u32))),
    row(
        "active-defrag-max-scan-fields",
        MODIFIABLE,
        "1000",
        int(
            1,
            LONG_MAX,
            num_field!(active_defrag_max_scan_fields as u64),
        ),
    ),
    row("slowlog-max-len", MODIFIABLE, "128", int(0, LONG_MAX, num_field!(slowlog_max_len as usize))),
    row("acllog-max-len", MODIFIABLE, "128", int(0, LONG_MAX, num_field!(acllog_max_len as usize))),
    row("busy-reply-threshold", MODIFIABLE, "5000", int(0, LONG_MAX, num_field!(busy_reply_threshold as u64)))
        .or("lua-time-limit"),
    row("cluster-node-timeout", MODIFIABLE, "15000", int(0, LONG_MAX, num_field!(cluster_node_timeout as u64))),
    row("slowlog-log-slower-than", MODIFIABLE, "10000", int(-1, LONG_MAX, num_field!(slowlog_log_slower_than as i64))),
    row("latency-monitor-threshold", MODIFIABLE, "0", int(0, LONG_MAX, num_field!(latency_monitor_threshold as u64))),
    row("proto-max-bulk-len", DEBUG, "536870912", mem(1 << 20, LONG_MAX, num_field!(proto_max_bulk_len as u64))),
    row("stream-node-max-entries", MODIFIABLE, "100", int(0, LONG_MAX, num_field!(stream_node_max_entries as u64))),
    row("repl-backlog-size", MODIFIABLE, "1048576", mem(1, LONG_MAX, num_field!(repl_backlog_size as u64)))
        .then(enforce_min_backlog),
    row("maxmemory", MODIFIABLE, "0", umem(0, ULLONG_MAX, num_field!(maxmemory as u64))),
    row(
        "cluster-link-sendbuf-limit",
        MODIFIABLE,
        "0",
        umem(0, ULLONG_MAX, num_field!(cluster_link_sendbuf_limit as u64)),
    ),
    row(
        "hash-max-listpack-entries",
        MODIFIABLE,
        "512",
        uint(0, LONG_MAX, num_field!(hash_max_listpack_entries as usize)),
    )
    .or("hash-max-ziplist-entries"),
    row("set-max-intset-entries", MODIFIABLE, "512", uint(0, LONG_MAX, num_field!(set_max_intset_entries as usize))),
    row(
        "zset-max-listpack-entries",
        MODIFIABLE,
        "128",
        uint(0, LONG_MAX, num_field!(zset_max_listpack_entries as usize)),
    )
    .or("zset-max-ziplist-entries"),
    row(
        "active-defrag-ignore-bytes",
        MODIFIABLE,
        "104857600",
        umem(1, LONG_MAX, num_field!(active_defrag_ignore_bytes as u64)),
    ),
    row("hash-max-listpack-value", MODIFIABLE, "64", umem(0, LONG_MAX, num_field!(hash_max_listpack_value as usize)))
        .or("hash-max-ziplist-value"),
    row("stream-node-max-bytes", MODIFIABLE, "4096", umem(0, LONG_MAX, num_field!(stream_node_max_bytes as usize))),
    row("zset-max-listpack-value", MODIFIABLE, "64", umem(0, LONG_MAX, num_field!(zset_max_listpack_value as usize)))
        .or("zset-max-ziplist-value"),
    row("hll-sparse-max-bytes", MODIFIABLE, "3000", umem(0, LONG_MAX, num_field!(hll_sparse_max_bytes as usize))),
    row(
        "tracking-table-max-keys",
        MODIFIABLE,
        "1000000",
        uint(0, LONG_MAX, num_field!(tracking_table_max_keys as usize)),
    ),
    row(
        "client-query-buffer-limit",
        DEBUG,
        "1073741824",
        umem(
            1 << 20,
            LONG_MAX,
            num_field!(client_query_buffer_limit as usize),
        ),
    ),
    row(
        "maxmemory-clients",
        MODIFIABLE,
        "0",
        number(
            -100,
            LONG_MAX,
            false,
            NumberStyle::MemoryOrPercent,
            // Redis keeps a percentage as a negative number; so does the
            // table, while the field says what it means.
            Field {
                get: |c| match c.maxmemory_clients {
                    MaxmemoryClients::Bytes(bytes) => bytes as i64,
                    MaxmemoryClients::Percent(percent) => -i64::from(percent),
                },
                set: |c, v| {
                    c.maxmemory_clients = if v < 0 {
                        MaxmemoryClients::Percent(v.unsigned_abs() as u32)
                    } else {
                        MaxmemoryClients::Bytes(v as u64)
                    }
                },
            },
        ),
    ),
    row("repl-backlog-ttl", MODIFIABLE, "3600", int(0, LONG_MAX, num_field!(repl_backlog_ttl as u64))),
    row(
        "auto-aof-rewrite-min-size",
        MODIFIABLE,
        "67108864",
        mem(0, LONG_MAX, num_field!(auto_aof_rewrite_min_size as u64)),
    ),
    row(
        "loading-process-events-interval-bytes",
        HIDDEN,
        "2097152",
        int(
            1024,
            INT_MAX,
            num_field!(loading_process_events_interval_bytes as u64),
        ),
    ),
    // ---- their own grammar ----------------------------------------------
    row("dir", PROTECTED | DENY_LOADING, "", special(set_dir, get_dir)),
    row("save", MULTI_ARG, "3600 1 300 100 60 10000", special(set_save, get_save)),
    row(
        "client-output-buffer-limit",
        MULTI_ARG,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        special(
            set_client_output_buffer_limit,
            get_client_output_buffer_limit,
        ),
    ),
    row("oom-score-adj-values", MULTI_ARG, "0 200 800", special(set_oom_score_adj_values, get_oom_score_adj_values)),
    row("notify-keyspace-events", MODIFIABLE, "", special(set_notify_keyspace_events, get_notify_keyspace_events)),
    // Redis's compiled-in default is "* -::*" (every interface), made safe
    // by protected mode refusing non-loopback clients when no password is
    // set. Until this server has protected mode, it listens on loopback
    // only: the default of Debian's redis.conf, and what a student running
    // it on a laptop expects.
    row("bind", MULTI_ARG, "127.0.0.1 -::1", special(set_bind, get_bind)),
    row("replicaof", IMMUTABLE | MULTI_ARG, "", special(set_replicaof, get_replicaof)).or("slaveof"),
    row(
        "latency-tracking-info-percentiles",
        MULTI_ARG,
        "50 99 99.9",
        special(set_latency_percentiles, get_latency_percentiles),
    ),
];

/// `hz` is clamped to this range (Redis's `CONFIG_MIN_HZ`, `CONFIG_MAX_HZ`).
pub const MIN_HZ: u32 = 1;
/// See [`MIN_HZ`].
pub const MAX_HZ: u32 = 500;

fn clamp_hz(config: &mut Config) {
    config.hz = config.hz.clamp(MIN_HZ, MAX_HZ);
}

/// The smallest replication backlog CONFIG SET leaves in place
/// (`CONFIG_REPL_BACKLOG_MIN_SIZE`).
pub const MIN_REPL_BACKLOG_SIZE: u64 = 16 * 1024;

fn enforce_min_backlog(config: &mut Config) {
    config.repl_backlog_size = config.repl_backlog_size.max(MIN_REPL_BACKLOG_SIZE);
}

/// How many addresses `bind` takes at most (`CONFIG_BINDADDR_MAX`).
pub const MAX_BIND_ADDRESSES: usize = 16;

/// Find a directive by name or alias, ignoring ASCII case. The `bool` says
/// whether `name` was the alias: Redis registers an alias as a separate
/// entry, and that shows (CONFIG GET answers under the alias, errors name
/// it, and `CONFIG SET x-alias 1 x 2` is not a "duplicate").
pub fn lookup_config(name: &[u8]) -> Option<(&'static ConfigDef, bool)> {
    CONFIGS.iter().find_map(|def| {
        if def.name.as_bytes().eq_ignore_ascii_case(name) {
            Some((def, false))
        } else if def
            .alias
            .is_some_and(|alias| alias.as_bytes().eq_ignore_ascii_case(name))
        {
            Some((def, true))
        } else {
            None
        }
    })
}

/// The name a directive is registered under: its alias if looked up by it.
fn registered_name(def: &ConfigDef, via_alias: bool) -> &'static str {
    match (via_alias, def.alias) {
        (true, Some(alias)) => alias,
        _ => def.name,
    }
}

// ===========================================================================
// Setting and getting one directive
// ===========================================================================

/// Parse the value words `args` into `config` for the directive `def`.
/// Returns whether the value changed, or the error text Redis gives (the
/// part after "possibly related to argument '...' - " in CONFIG SET, the
/// last line of the fatal banner in a config file).
fn set_value(
    def: &ConfigDef,
    config: &mut Config,
    args: &[Vec<u8>],
    ctx: &mut LoadContext,
) -> Result<bool, String> {
    // Only special and multi-word directives look at anything but the first
    // word; the callers make sure ordinary ones get exactly one.
    let first = || args.first().map(Vec::as_slice).unwrap_or_default();
    match def.kind {
        Kind::Bool(field) => {
            let value = parse_yes_no(first()).ok_or("argument must be 'yes' or 'no'")?;
            let old = (field.get)(config);
            (field.set)(config, value);
            Ok(old != value)
        }
        Kind::Number(number) => {
            let value = parse_number(number.style, first())?;
            check_bounds(&number, value)?;
            let old = (number.field.get)(config);
            (number.field.set)(config, value);
            Ok(old != value)
        }
        Kind::Enum(choices) => {
            let code = parse_choices(choices.names, args, choices.multi)
                .ok_or_else(|| enum_error(choices.names))?;
            if let Some(check) = choices.check {
                check(code)?;
            }
            let old = (choices.field.get)(config);
            (choices.field.set)(config, code);
            Ok(old != code)
        }
        Kind::Text(text) => {
            let value = String::from_utf8_lossy(first()).into_owned();
            if let Some(check) = text.check {
                check(config, &value)?;
            }
            let old = (text.field.get)(config);
            (text.field.set)(config, value);
            Ok((text.field.get)(config) != old)
        }
        Kind::Bytes(field) => {
            let old = (field.get)(config);
            (field.set)(config, first().to_vec());
            Ok((field.get)(config) != old)
        }
        Kind::Special(special) => (special.set)(config, args, ctx),
    }
}

/// The value of `def` as CONFIG GET prints it.
fn get_value(def: &ConfigDef, config: &Config) -> String {
    match def.kind {
        Kind::Bool(field) => yes_no((field.get)(config)).to_string(),
        Kind::Number(number) => format_number(&number, (number.field.get)(config)),
        Kind::Enum(choices) => {
            enum_names(choices.names, (choices.field.get)(config), choices.multi)
        }
        Kind::Text(text) => (text.field.get)(config),
        Kind::Bytes(field) => String::from_utf8_lossy(&(field.get)(config)).into_owned(),
        Kind::Special(special) => (special.get)(config),
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// Redis's `yesnotoi`: "yes" or "no", any case.
fn parse_yes_no(word: &[u8]) -> Option<bool> {
    if word.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if word.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// Read a number the way `numericParseString` does: try each syntax the
/// style allows, in order; fail with the message for the style.
fn parse_number(style: NumberStyle, text: &[u8]) -> Result<i64, &'static str> {
    use NumberStyle::*;
    // Memory sizes are stored in a C `long long`: values above i64::MAX
    // wrap negative, exactly as in Redis (see the bounds check).
    let memory = || memtoull(text).map(|bytes| bytes as i64);
    let parsed = match style {
        Memory => memory(),
        MemoryOrPercent => memory().or_else(|| parse_percent(text)),
        Octal => strtoll_whole(text, 8),
        Integer => string2ll(text),
    };
    parsed.ok_or(match style {
        MemoryOrPercent => "argument must be a memory or percent value",
        Memory => "argument must be a memory value",
        Octal => "argument couldn't be parsed as an octal number",
        Integer => "argument couldn't be parsed into an integer",
    })
}

/// `10%` → -10: a percentage is stored as a negative number.
fn parse_percent(text: &[u8]) -> Option<i64> {
    let digits = text.strip_suffix(b"%").filter(|d| !d.is_empty())?;
    string2ll(digits).filter(|p| *p >= 0).map(|p| -p)
}

/// `numericBoundaryCheck`: unsigned fields compare the C-unsigned view of
/// the value; a negative value of a percent field is a percentage and only
/// has a lower bound.
fn check_bounds(number: &Number, value: i64) -> Result<(), String> {
    let (min, max) = (number.min, number.max);
    if number.unsigned {
        let unsigned = i128::from(value as u64);
        if unsigned > max || unsigned < min {
            return Err(if number.style == NumberStyle::Octal {
                format!("argument must be between {min:o} and {max:o} inclusive")
            } else {
                format!("argument must be between {min} and {max} inclusive")
            });
        }
    } else if number.style == NumberStyle::MemoryOrPercent && value < 0 {
        if i128::from(value) < min {
            return Err(format!(
                "percentage argument must be less or equal to {}",
                -min
            ));
        }
    } else if i128::from(value) > max || i128::from(value) < min {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(())
}

fn format_number(number: &Number, value: i64) -> String {
    match number.style {
        NumberStyle::MemoryOrPercent if value < 0 => format!("{}%", -i128::from(value)),
        NumberStyle::Memory | NumberStyle::MemoryOrPercent => (value as u64).to_string(),
        NumberStyle::Octal => format!("{:o}", value as u64),
        NumberStyle::Integer => value.to_string(),
    }
}

/// `configEnumGetValue`: every word must be a known spelling (any case);
/// several words only for `multi`, and their codes are OR-ed.
fn parse_choices(names: &[(&str, i32)], words: &[Vec<u8>], multi: bool) -> Option<i32> {
    if words.is_empty() || (!multi && words.len() != 1) {
        return None;
    }
    let mut code = 0;
    for word in words {
        let mut matched = false;
        for &(name, value) in names {
            if name.as_bytes().eq_ignore_ascii_case(word) {
                code |= value;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(code)
}

/// `configEnumGetName`: the first spelling with exactly this code; for a
/// `multi` directive, otherwise the spellings whose bits are all set.
fn enum_names(names: &[(&str, i32)], code: i32, multi: bool) -> String {
    let mut parts = Vec::new();
    let mut unmatched = code;
    for &(name, value) in names {
        if value == code {
            return name.to_string();
        }
        if multi && value != 0 && value == (unmatched & value) {
            parts.push(name);
            unmatched &= !value;
        }
    }
    if parts.is_empty() || unmatched != 0 {
        "unknown".to_string()
    } else {
        parts.join(" ")
    }
}

fn enum_error(names: &[(&str, i32)]) -> String {
    let list: Vec<&str> = names.iter().map(|(name, _)| *name).collect();
    let mut message = format!(
        "argument(s) must be one of the following: {}",
        list.join(", ")
    );
    // Redis builds this in a 256-byte buffer.
    message.truncate(255);
    message
}

// ---- Validators (Redis's `isValid*` functions) -----------------------------

/// No `/` and no `\`: Redis's `pathIsBaseName`.
fn is_base_name(name: &str) -> bool {
    !name.contains(['/', '\\'])
}

fn check_dbfilename(_: &Config, name: &str) -> Result<(), &'static str> {
    if is_base_name(name) {
        Ok(())
    } else {
        Err("dbfilename can't be a path, just a filename")
    }
}

fn check_appendfilename(_: &Config, name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("appendfilename can't be empty")
    } else if !is_base_name(name) {
        Err("appendfilename can't be a path, just a filename")
    } else {
        Ok(())
    }
}

fn check_appenddirname(_: &Config, name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        Err("appenddirname can't be empty")
    } else if !is_base_name(name) {
        Err("appenddirname can't be a path, just a dirname")
    } else {
        Ok(())
    }
}

fn check_hostname(_: &Config, name: &str) -> Result<(), &'static str> {
    if name.len() >= 256 {
        Err("Hostnames must be less than 256 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        Err("Hostnames may only contain alphanumeric characters, hyphens or dots")
    } else {
        Ok(())
    }
}

/// A template is valid if every `{variable}` is known and the expansion (with
/// an empty title) is not blank, judged with the configuration as it is now.
fn check_proc_title_template(config: &Config, template: &str) -> Result<(), &'static str> {
    match config.expand_proc_title_template(template, "") {
        Some(title) if !title.is_empty() => Ok(()),
        _ => Err("template format is invalid or contains unknown variables"),
    }
}

fn check_shutdown_flags(code: i32) -> Result<(), &'static str> {
    let bits = code as u32;
    if bits & SHUTDOWN_SAVE != 0 && bits & SHUTDOWN_NOSAVE != 0 {
        Err("shutdown options SAVE and NOSAVE can't be used simultaneously")
    } else {
        Ok(())
    }
}

// ---- Special directives ----------------------------------------------------

/// `activedefrag yes|no`. Active defragmentation needs Redis's bundled
/// jemalloc; Debian's build (our reference) links the system one and refuses
/// `yes` with this message. We have no defragmenter either, so we do the same.
fn set_activedefrag(
    config: &mut Config,
    args: &[Vec<u8>],
    _: &mut LoadContext,
) -> Result<bool, String> {
    let enable = parse_yes_no(args.first().map(Vec::as_slice).unwrap_or_default())
        .ok_or("argument must be 'yes' or 'no'")?;
    if enable {
        return Err(
            "Active defragmentation cannot be enabled: it requires a Redis server compiled \
                    with a modified Jemalloc like the one shipped by default with the Redis source \
                    distribution"
                .to_string(),
        );
    }
    let changed = config.activedefrag;
    config.activedefrag = false;
    Ok(changed)
}

fn get_activedefrag(config: &Config) -> String {
    yes_no(config.activedefrag).to_string()
}

/// `dir <path>`: must name a directory we can resolve. Stored canonical
/// (absolute, no symlinks), which is what Redis's `getcwd()` later reports.
fn set_dir(config: &mut Config, args: &[Vec<u8>], _: &mut LoadContext) -> Result<bool, String> {
    use std::os::unix::ffi::OsStrExt;
    let [path] = args else {
        return Err("wrong number of arguments".to_string());
    };
    if path.is_empty() {
        // chdir("") fails with ENOENT.
        return Err(os_error_text(&std::io::Error::from(
            std::io::ErrorKind::NotFound,
        )));
    }
    // A relative path is relative to the current `dir`, as a second
    // `chdir()` would be.
    let target = config.dir.join(std::ffi::OsStr::from_bytes(path));
    match std::fs::canonicalize(&target) {
        Ok(resolved) if resolved.is_dir() => {
            config.dir = resolved;
            Ok(true)
        }
        Ok(_) => Err(os_error_text(&std::io::Error::from_raw_os_error(ENOTDIR))),
        Err(error) => Err(os_error_text(&error)),
    }
}

/// `ENOTDIR` on Linux, for "Not a directory".
const ENOTDIR: i32 = 20;

fn get_dir(config: &Config) -> String {
    config.dir.to_string_lossy().into_owned()
}

/// `save <seconds> <changes> [<seconds> <changes> ...]`, or `save ""` for no
/// snapshots. In a config file the first `save` line replaces the default
/// rules and later lines add to them; CONFIG SET replaces them all.
fn set_save(config: &mut Config, args: &[Vec<u8>], ctx: &mut LoadContext) -> Result<bool, String> {
    let mut args = args;
    if args.len() == 1 && args[0].is_empty() {
        config.save.clear();
        args = &[];
    }
    const INVALID: &str = "Invalid save parameters";
    if !args.len().is_multiple_of(2) {
        return Err(INVALID.to_string());
    }
    let mut rules = Vec::new();
    for pair in args.chunks(2) {
        let (seconds, seconds_whole) = strtoll(&pair[0], 10);
        let (changes, changes_whole) = strtoll(&pair[1], 10);
        if !seconds_whole || seconds < 1 || !changes_whole || changes < 0 {
            return Err(INVALID.to_string());
        }
        // `changes` lives in a C int in Redis: keep its wrap-around.
        rules.push(SaveParam {
            seconds,
            changes: changes as i32,
        });
    }
    if !ctx.reading_file || !ctx.save_reset_done {
        ctx.save_reset_done = ctx.reading_file;
        config.save.clear();
    }
    config.save.extend(rules);
    Ok(true)
}

fn get_save(config: &Config) -> String {
    let rules: Vec<String> = config
        .save
        .iter()
        .map(|rule| format!("{} {}", rule.seconds, rule.changes))
        .collect();
    rules.join(" ")
}

/// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`: any
/// number of groups of four; classes not mentioned keep their limits. All
/// groups are checked before any is applied.
fn set_client_output_buffer_limit(
    config: &mut Config,
    args: &[Vec<u8>],
    _: &mut LoadContext,
) -> Result<bool, String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    let mut updates = Vec::new();
    for group in args.chunks(4) {
        let class = ClientClass::parse(&group[0])
            .ok_or("Invalid client class specified in buffer limit configuration.")?;
        let hard = memtoull(&group[1]);
        let soft = memtoull(&group[2]);
        let (seconds, seconds_whole) = strtoll(&group[3], 10);
        // Redis reads the seconds into a C int before checking the sign.
        let seconds = seconds as i32;
        let (Some(hard), Some(soft), true, true) = (hard, soft, seconds >= 0, seconds_whole) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                    .to_string(),
            );
        };
        updates.push((
            class,
            ClientBufferLimit {
                hard_limit_bytes: hard,
                soft_limit_bytes: soft,
                soft_limit_seconds: seconds as u64,
            },
        ));
    }
    for (class, limit) in updates {
        config.client_output_buffer_limit[class as usize] = limit;
    }
    Ok(true)
}

fn get_client_output_buffer_limit(config: &Config) -> String {
    let groups: Vec<String> = ClientClass::ALL
        .iter()
        .map(|&class| {
            let limit = config.client_output_buffer_limit[class as usize];
            format!(
                "{} {} {} {}",
                class.name(),
                limit.hard_limit_bytes,
                limit.soft_limit_bytes,
                limit.soft_limit_seconds
            )
        })
        .collect();
    groups.join(" ")
}

/// `oom-score-adj-values <master> <replica> <bgchild>`, each -2000..=2000.
fn set_oom_score_adj_values(
    config: &mut Config,
    args: &[Vec<u8>],
    _: &mut LoadContext,
) -> Result<bool, String> {
    if args.len() != 3 {
        return Err("wrong number of arguments".to_string());
    }
    let mut values = [0i32; 3];
    for (slot, arg) in values.iter_mut().zip(args) {
        let (value, whole) = strtoll(arg, 10);
        if !whole || !(-2000..=2000).contains(&value) {
            return Err(
                "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                    .to_string(),
            );
        }
        *slot = value as i32;
    }
    let changed = config.oom_score_adj_values != values;
    config.oom_score_adj_values = values;
    Ok(changed)
}

fn get_oom_score_adj_values(config: &Config) -> String {
    let values: Vec<String> = config
        .oom_score_adj_values
        .iter()
        .map(i32::to_string)
        .collect();
    values.join(" ")
}

/// `notify-keyspace-events <classes>`, e.g. `KEA` or `""`.
fn set_notify_keyspace_events(
    config: &mut Config,
    args: &[Vec<u8>],
    _: &mut LoadContext,
) -> Result<bool, String> {
    let [classes] = args else {
        return Err("wrong number of arguments".to_string());
    };
    config.notify_keyspace_events = keyspace_events_string_to_flags(classes)
        .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
    Ok(true)
}

fn get_notify_keyspace_events(config: &Config) -> String {
    keyspace_events_flags_to_string(config.notify_keyspace_events)
}

/// `bind <addr> [<addr> ...]`, at most 16; `bind ""` means no TCP listener
/// addresses at all.
fn set_bind(config: &mut Config, args: &[Vec<u8>], _: &mut LoadContext) -> Result<bool, String> {
    if args.len() > MAX_BIND_ADDRESSES {
        return Err("Too many bind addresses specified.".to_string());
    }
    let args = if args.len() == 1 && args[0].is_empty() {
        &[]
    } else {
        args
    };
    config.bind = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Ok(true)
}

fn get_bind(config: &Config) -> String {
    config.bind.join(" ")
}

/// `replicaof <host> <port>` or `replicaof no one`.
fn set_replicaof(
    config: &mut Config,
    args: &[Vec<u8>],
    _: &mut LoadContext,
) -> Result<bool, String> {
    let [host, port] = args else {
        return Err("wrong number of arguments".to_string());
    };
    config.replicaof = None;
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        return Ok(true);
    }
    let (port, whole) = strtoll(port, 10);
    if !whole || !(0..=65535).contains(&port) {
        return Err("Invalid master port".to_string());
    }
    config.replicaof = Some((String::from_utf8_lossy(host).into_owned(), port as u16));
    Ok(true)
}

fn get_replicaof(config: &Config) -> String {
    match &config.replicaof {
        Some((host, port)) => format!("{host} {port}"),
        None => String::new(),
    }
}

/// `latency-tracking-info-percentiles <p> [<p> ...]`, each 0.0..=100.0, or
/// `""` for none.
fn set_latency_percentiles(
    config: &mut Config,
    args: &[Vec<u8>],
    _: &mut LoadContext,
) -> Result<bool, String> {
    let args = if args.len() == 1 && args[0].is_empty() {
        &[]
    } else {
        args
    };
    let mut percentiles = Vec::with_capacity(args.len());
    for arg in args {
        let value = string2d(arg).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&value) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .to_string(),
            );
        }
        percentiles.push(value);
    }
    config.latency_tracking_info_percentiles = percentiles;
    Ok(true)
}

fn get_latency_percentiles(config: &Config) -> String {
    let values: Vec<String> = config
        .latency_tracking_info_percentiles
        .iter()
        .map(|&p| format_percentile(p))
        .collect();
    values.join(" ")
}

/// C's `%f` followed by Redis's `trimDoubleString`: six decimals, then
/// trailing zeros (and a bare `.`) removed. `99.9` prints `99.9`, `100`
/// prints `100`.
fn format_percentile(value: f64) -> String {
    let mut text = format!("{value:.6}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    text
}

// ===========================================================================
// CONFIG GET and CONFIG SET
// ===========================================================================

/// What CONFIG SET needs to know about the client asking.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientContext {
    /// Connected over loopback or a unix socket (for
    /// `enable-protected-configs local`).
    pub is_local: bool,
    /// The server is loading its dataset (RDB/AOF) right now.
    pub loading: bool,
}

/// The error CONFIG SET gives for `DENY_LOADING` directives during loading.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// Format a CONFIG SET failure the way Redis does, e.g. for a failure the
/// server detects while applying a change:
/// `config_set_error("port", "Unable to listen on this port. Check server logs.")`.
pub fn config_set_error(argument: &str, reason: &str) -> String {
    error_reply(format!(
        "ERR CONFIG SET failed (possibly related to argument '{argument}') - {reason}"
    ))
}

/// Redis's formatted errors never contain line breaks (they would break the
/// protocol): CR and LF become spaces.
fn error_reply(text: String) -> String {
    text.replace(['\r', '\n'], " ")
}

impl Config {
    /// `CONFIG GET pattern [pattern ...]`: (name, value) pairs, each name at
    /// most once. See the module essay for how names, aliases, case and
    /// hidden directives behave. Redis answers in hash-table order; we
    /// answer in a stable order (table order, aliases after their names).
    pub fn config_get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut answer: Vec<(String, String)> = Vec::new();
        let answered = |answer: &Vec<(String, String)>, name: &[u8]| {
            answer
                .iter()
                .any(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
        };
        for pattern in patterns {
            let is_glob = pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
            if !is_glob {
                // An exact name, answered under the spelling the client used.
                if answered(&answer, pattern) {
                    continue;
                }
                if let Some((def, _)) = lookup_config(pattern) {
                    let typed = String::from_utf8_lossy(pattern).into_owned();
                    answer.push((typed, get_value(def, self)));
                }
                continue;
            }
            for def in CONFIGS.iter().filter(|def| def.flags & HIDDEN == 0) {
                for name in std::iter::once(def.name).chain(def.alias) {
                    if !answered(&answer, name.as_bytes())
                        && glob_match(pattern, name.as_bytes(), true)
                    {
                        answer.push((name.to_string(), get_value(def, self)));
                    }
                }
            }
        }
        answer
    }

    /// The policy's name as INFO's `maxmemory_policy` field shows it.
    pub fn maxmemory_policy_name(&self) -> &'static str {
        self.maxmemory_policy.name()
    }

    /// The CONFIG GET value of one directive (name or alias), if it exists.
    pub fn value_of(&self, name: &str) -> Option<String> {
        lookup_config(name.as_bytes()).map(|(def, _)| get_value(def, self))
    }

    /// `CONFIG SET name value [name value ...]` from a remote client while
    /// not loading; see [`Config::config_set_for`].
    pub fn config_set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        self.config_set_for(pairs, ClientContext::default())
    }

    /// `CONFIG SET`, all or nothing. On success, the canonical names of the
    /// directives whose value changed (each once; special directives such
    /// as `bind` or `save` always count as changed, as in Redis), so the
    /// server can apply them. On failure nothing changed and the error is
    /// the reply text without the leading `-`.
    ///
    /// Every outcome, in the order Redis checks them:
    /// 1. For each name, left to right, until the first problem:
    ///    unknown → `ERR Unknown option or number of arguments for CONFIG
    ///    SET - '<name>'`; immutable → `... - can't set immutable config`;
    ///    protected and not allowed → `... - can't set protected config`;
    ///    refused while loading → `LOADING ...`; the same entry twice →
    ///    `... - duplicate parameter`. These errors quote the name as typed.
    /// 2. Then each value, left to right: the first that does not parse
    ///    gives `ERR CONFIG SET failed (possibly related to argument
    ///    '<name>') - <reason>`, quoting the registered (lower-case) name.
    ///
    /// The caller checks the argument count first: Redis answers an odd
    /// number of name/value words with `ERR syntax error`.
    pub fn config_set_for(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        client: ClientContext,
    ) -> Result<Vec<&'static str>, String> {
        // Step 1: names.
        let mut found: Vec<(&'static ConfigDef, bool)> = Vec::with_capacity(pairs.len());
        let mut first_error: Option<String> = None;
        for &(name, _) in pairs {
            let typed = String::from_utf8_lossy(name);
            let Some((def, via_alias)) = lookup_config(name) else {
                first_error.get_or_insert_with(|| {
                    format!("ERR Unknown option or number of arguments for CONFIG SET - '{typed}'")
                });
                continue;
            };
            if first_error.is_some() {
                continue;
            }
            if def.flags & IMMUTABLE != 0 {
                first_error = Some(config_set_error(&typed, "can't set immutable config"));
            } else if def.flags & PROTECTED != 0
                && !self.allows(self.enable_protected_configs, client)
            {
                first_error = Some(config_set_error(&typed, "can't set protected config"));
            } else if client.loading && def.flags & DENY_LOADING != 0 {
                first_error = Some(LOADING_ERROR.to_string());
            } else if found
                .iter()
                .any(|&(d, a)| std::ptr::eq(d, def) && a == via_alias)
            {
                first_error = Some(config_set_error(&typed, "duplicate parameter"));
            }
            found.push((def, via_alias));
        }
        if let Some(error) = first_error {
            return Err(error_reply(error));
        }

        // Step 2: values, into a copy that replaces us only if all succeed.
        let mut next = self.clone();
        let mut ctx = LoadContext::default();
        let mut changed: Vec<&'static str> = Vec::new();
        for (&(def, via_alias), &(_, value)) in found.iter().zip(pairs) {
            // CONFIG SET splits multi-word values on single spaces (Redis's
            // `sdssplitlen`), not with the quoting rules of a config file.
            let args = if def.is_multi_arg() {
                split_on_spaces(value)
            } else {
                vec![value.to_vec()]
            };
            match set_value(def, &mut next, &args, &mut ctx) {
                Ok(true) if !changed.contains(&def.name) => changed.push(def.name),
                Ok(_) => {}
                Err(reason) => {
                    return Err(config_set_error(registered_name(def, via_alias), &reason));
                }
            }
        }
        // Then the apply step, once per changed directive, after all values
        // are in (as in Redis, where one apply may depend on two values).
        for name in &changed {
            if let Some(apply) = lookup_config(name.as_bytes()).and_then(|(def, _)| def.apply) {
                apply(&mut next);
            }
        }
        *self = next;
        Ok(changed)
    }

    /// Redis's `allowProtectedAction`: may this client do a thing guarded by
    /// `setting` (`enable-protected-configs`, `enable-debug-command`, ...)?
    pub fn allows(&self, setting: ProtectedAction, client: ClientContext) -> bool {
        match setting {
            ProtectedAction::Yes => true,
            ProtectedAction::Local => client.is_local,
            ProtectedAction::No => false,
        }
    }

    /// Expand a `proc-title-template` (`{title} {listen-addr} {server-mode}`)
    /// with this configuration: `None` if it names an unknown variable or
    /// has an unterminated `{`. `{{` is a literal `{`. Spaces are trimmed.
    pub fn expand_proc_title_template(&self, template: &str, title: &str) -> Option<String> {
        let variable = |name: &str| -> Option<String> {
            Some(match name {
                "title" => title.to_string(),
                "listen-addr" if self.port != 0 => {
                    format!(
                        "{}:{}",
                        self.bind.first().map_or("*", String::as_str),
                        self.port
                    )
                }
                "listen-addr" => format!("unixsocket:{}", self.unixsocket.as_deref().unwrap_or("")),
                "server-mode" if self.cluster_enabled => "[cluster]".to_string(),
                "server-mode" if self.sentinel_mode => "[sentinel]".to_string(),
                "server-mode" => String::new(),
                "config-file" => self
                    .config_file
                    .as_ref()
                    .map_or("-".to_string(), |p| p.to_string_lossy().into_owned()),
                "port" => self.port.to_string(),
                "tls-port" => "0".to_string(),
                "unixsocket" => self.unixsocket.clone().unwrap_or_default(),
                _ => return None,
            })
        };
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            if after.is_empty() {
                return None;
            }
            if let Some(quoted) = after.strip_prefix('{') {
                out.push('{');
                rest = quoted;
                continue;
            }
            let close = after.find('}')?;
            out.push_str(&variable(&after[..close])?);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Some(out.trim_matches(' ').to_string())
    }
}

/// Split a CONFIG SET value on single spaces: "" is no words, and two
/// spaces in a row make an empty word (which then fails to parse).
fn split_on_spaces(value: &[u8]) -> Vec<Vec<u8>> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
}

// ===========================================================================
// Loading a config file, and the command line
// ===========================================================================

/// The text Redis prints to standard error before exiting when the
/// configuration is bad: a blank line, the banner, the line (if the problem
/// is on one) and the reason, each line ending in `\n`.
pub fn fatal_config_error(at: Option<&SourceLine>, reason: &str) -> String {
    let mut text = format!("\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n");
    if let Some(at) = at {
        text.push_str(&format!(
            "Reading the configuration file, at line {}\n>>> '{}'\n",
            at.number, at.text
        ));
    }
    text.push_str(reason);
    text.push('\n');
    text
}

/// Lines that Redis 7.0 still accepts (with exactly one value) and ignores.
const DEPRECATED_DIRECTIVES: &[&str] = &[
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

impl Config {
    /// Apply a config file's text on top of the current values. On error,
    /// the full fatal-error text (see [`fatal_config_error`]); the values
    /// are then partly applied, which does not matter because the server
    /// exits.
    pub fn load_from_str(&mut self, text: &str) -> Result<(), String> {
        self.load_from_bytes(text.as_bytes())
    }

    /// [`Config::load_from_str`] for text that may not be UTF-8.
    pub fn load_from_bytes(&mut self, text: &[u8]) -> Result<(), String> {
        self.load_text(text, &mut LoadContext::default())
    }

    /// Redis's `loadServerConfigFromString`, line by line.
    fn load_text(&mut self, text: &[u8], ctx: &mut LoadContext) -> Result<(), String> {
        ctx.reading_file = true;
        // The text is a C string in Redis: a NUL byte ends it.
        let text = until_nul(text);
        let lines: Vec<&[u8]> = if text.is_empty() {
            Vec::new()
        } else {
            text.split(|&b| b == b'\n').collect()
        };
        for (index, raw) in lines.iter().enumerate() {
            let line = trim(raw, b" \t\r\n");
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let at = SourceLine {
                number: index + 1,
                text: String::from_utf8_lossy(line).into_owned(),
            };
            let fail = |reason: &str| Err(fatal_config_error(Some(&at), reason));

            let Some(mut argv) = split_args(line) else {
                return fail("Unbalanced quotes in configuration line");
            };
            if argv.is_empty() {
                continue;
            }
            argv[0].make_ascii_lowercase();

            // A directive from the table?
            if let Some((def, _)) = lookup_config(&argv[0]) {
                if !def.is_multi_arg() && argv.len() != 2 {
                    return fail("wrong number of arguments");
                }
                // `save "3600 1 300 100"`: one quoted value for a multi-word
                // directive is split again (so `--save "3600 1"` works too).
                let values = if def.is_multi_arg() && argv.len() == 2 && !argv[1].is_empty() {
                    split_args(&argv[1]).unwrap_or_default()
                } else {
                    argv[1..].to_vec()
                };
                if let Err(reason) = set_value(def, self, &values, ctx) {
                    return fail(&reason);
                }
                continue;
            }

            let name = std::str::from_utf8(&argv[0]).unwrap_or("");
            let argc = argv.len();
            match name {
                _ if argc == 2 && DEPRECATED_DIRECTIVES.contains(&name) => {}
                "include" if argc == 2 => {
                    self.load_file(&argv[1], ctx)?;
                    // Redis's "reading a config file" flag is a global that
                    // the included file's load switches off when it ends; so
                    // after an `include`, each `save` line replaces the rules
                    // instead of adding to them. We keep that quirk.
                    ctx.reading_file = false;
                }
                "rename-command" if argc == 3 => self.rename_commands.push(RenameCommand {
                    from: argv[1].clone(),
                    to: argv[2].clone(),
                    at,
                }),
                "user" if argc >= 2 => self.user_directives.push(DeferredDirective {
                    args: argv[1..].to_vec(),
                    at,
                }),
                // A lone `sentinel` is how `--sentinel` arrives; ignore it.
                "sentinel" if argc == 1 => {}
                "sentinel" if !self.sentinel_mode => {
                    return fail("sentinel directive while not in sentinel mode");
                }
                "sentinel" => self.sentinel_directives.push(DeferredDirective {
                    args: argv[1..].to_vec(),
                    at,
                }),
                _ => return fail("Bad directive or wrong number of arguments"),
            }
        }

        // Checks on the whole configuration (reported without a line).
        if !self.logfile.is_empty() {
            // Redis opens the log file here so that a bad path stops the
            // server now rather than failing silently later.
            let path = self.dir.join(&self.logfile);
            if let Err(error) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
            {
                let reason = format!("Can't open the log file: {}", os_error_text(&error));
                return Err(fatal_config_error(None, &reason));
            }
        }
        if self.cluster_enabled && self.replicaof.is_some() {
            return Err(fatal_config_error(
                None,
                "replicaof directive not allowed in cluster mode",
            ));
        }
        clamp_hz(self);
        ctx.reading_file = false;
        Ok(())
    }

    /// Load a file named by `include` (or the command line). A name with
    /// `*`, `?` or `[` is a pattern: every matching file is loaded in name
    /// order, and none matching is fine. A plain name must exist.
    fn load_file(&mut self, name: &[u8], ctx: &mut LoadContext) -> Result<(), String> {
        let text = read_config_files(&self.dir, name)?;
        self.load_text(&text, ctx)
    }

    /// Build the configuration from `redis-server`'s arguments (without the
    /// program name), as `main()` in Redis's `server.c` does:
    ///
    /// * If the first argument does not start with `-`, it is the config
    ///   file (remembered, made absolute, in [`Config::config_file`]).
    /// * `--name v1 v2` adds the line `name "v1" "v2"` after the file; a
    ///   single argument `"--name v1"` works as well. `--save` with no value
    ///   means `save ""`.
    /// * A lone `-` as the first or last argument also reads config text from
    ///   standard input (after the file, before the options).
    /// * `--sentinel` anywhere turns on [`Config::sentinel_mode`].
    ///
    /// `-v`, `--version`, `-h`, `--help`, `--test-memory` and
    /// `--check-system` must be handled by the caller before this. With no
    /// arguments at all this is `Config::default()`.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config::default();
        if args.is_empty() {
            return Ok(config);
        }
        config.sentinel_mode = args.iter().any(|arg| arg == "--sentinel");

        let mut next = 0;
        if !args[0].starts_with('-') {
            config.config_file = Some(absolute_path(&args[0]));
            next = 1;
        }
        let (options, from_stdin) = options_from_args(&args[next..], next == 0);

        let mut text = Vec::new();
        if let Some(path) = &config.config_file {
            use std::os::unix::ffi::OsStrExt;
            text = read_config_files(Path::new("/"), path.as_os_str().as_bytes())?;
        }
        if from_stdin {
            use std::io::Read;
            std::io::stdin()
                .read_to_end(&mut text)
                .map_err(|error| format!("Fatal error, can't read config from stdin: {error}"))?;
        }
        text.push(b'\n');
        text.extend_from_slice(&options);
        config.load_text(&text, &mut LoadContext::default())?;
        Ok(config)
    }
}

/// Turn the option arguments into config-file lines (Redis's `main()`).
/// `first_is_argv1` says whether `args[0]` is the program's first argument
/// (a lone `-` there means stdin). Returns the text and whether to read
/// stdin.
fn options_from_args(args: &[String], first_is_argv1: bool) -> (Vec<u8>, bool) {
    let mut options: Vec<u8> = Vec::new();
    let mut from_stdin = false;
    // False right after an option name that came without a value, while
    // we wait for its value: then even `--something` is taken as a value.
    let mut last_option_has_value = true;
    for (j, arg) in args.iter().enumerate() {
        let arg = arg.as_bytes();
        let is_last = j == args.len() - 1;
        if arg == b"-" && ((j == 0 && first_is_argv1) || is_last) {
            from_stdin = true;
        } else if last_option_has_value && arg.starts_with(b"--") {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(&arg[2..]);
            options.push(b' ');
            let words = split_args(arg).map_or(0, |words| words.len());
            if words == 1 {
                // Only a name, like `--port`: its value follows.
                last_option_has_value = false;
                let next_is_option = !is_last && args[j + 1].starts_with("--");
                if arg.eq_ignore_ascii_case(b"--save") && (next_is_option || is_last) {
                    // `--save` alone (before another option, or last) means
                    // `save ""`, as before Redis 7.0.1.
                    options.extend_from_slice(b"\"\"");
                    last_option_has_value = next_is_option;
                } else if arg.eq_ignore_ascii_case(b"--sentinel") && next_is_option {
                    // `--sentinel` is a flag, not a name waiting for a value.
                    last_option_has_value = true;
                }
            } else {
                // Name and value in one argument: `"--port 6380"`.
                last_option_has_value = true;
            }
        } else {
            options.extend_from_slice(&repr(arg));
            options.push(b' ');
            last_option_has_value = true;
        }
    }
    (options, from_stdin)
}

/// Read a config file, or every file matching a pattern, relative to `dir`.
fn read_config_files(dir: &Path, name: &[u8]) -> Result<Vec<u8>, String> {
    use std::os::unix::ffi::OsStrExt;
    let shown = String::from_utf8_lossy(name);
    let cant_open = |path: &str, error: &std::io::Error| {
        format!(
            "Fatal error, can't open config file '{path}': {}",
            os_error_text(error)
        )
    };
    let path = dir.join(std::ffi::OsStr::from_bytes(name));
    if !name.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
        return std::fs::read(&path).map_err(|error| cant_open(&shown, &error));
    }
    // A pattern: only its last component may be one (glob(3) allows more;
    // we keep it simple). Hidden files need a pattern starting with `.`.
    let (Some(parent), Some(pattern)) = (path.parent(), path.file_name()) else {
        return Ok(Vec::new());
    };
    let pattern = pattern.as_bytes();
    let mut names: Vec<_> = match std::fs::read_dir(parent) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .filter(|file| {
                let file = file.as_bytes();
                (pattern.starts_with(b".") || !file.starts_with(b"."))
                    && glob_match(pattern, file, false)
            })
            .collect(),
        Err(_) => return Ok(Vec::new()),
    };
    names.sort();
    let mut text = Vec::new();
    for file in names {
        let path = parent.join(file);
        let mut content =
            std::fs::read(&path).map_err(|error| cant_open(&path.to_string_lossy(), &error))?;
        text.append(&mut content);
    }
    Ok(text)
}

/// Redis's `getAbsolutePath`: trim blanks; an absolute path stays; a
/// relative one is joined to the working directory, with leading `../`
/// steps resolved.
fn absolute_path(name: &str) -> PathBuf {
    let name = name.trim_matches([' ', '\r', '\n', '\t']);
    if name.starts_with('/') {
        return PathBuf::from(name);
    }
    let mut base = std::env::current_dir().unwrap_or_default();
    let mut rest = name;
    while let Some(stripped) = rest.strip_prefix("../") {
        rest = stripped;
        if base.parent().is_some() {
            base.pop();
        }
    }
    base.join(rest)
}

/// The text of an OS error as C's `strerror()` prints it (Rust's `Display`
/// adds " (os error N)").
fn os_error_text(error: &std::io::Error) -> String {
    let text = match error.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => match error.kind() {
            std::io::ErrorKind::NotFound => return "No such file or directory".to_string(),
            _ => error.to_string(),
        },
    };
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

// ===========================================================================
// Words and numbers, the way Redis's C helpers read them
// ===========================================================================

/// C's `isspace()` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Everything before the first NUL byte (where C stops reading a string).
fn until_nul(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(end) => &bytes[..end],
        None => bytes,
    }
}

/// Remove any of the bytes in `set` from both ends (Redis's `sdstrim`).
fn trim<'a>(mut bytes: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = bytes {
        if !set.contains(first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !set.contains(last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// Split a line into words like Redis's `sdssplitargs`, which reads both
/// config files and inline commands (`SET "a b" 'c'` typed into telnet).
///
/// * Words are separated by blanks.
/// * `"double quotes"` allow `\n \r \t \b \a`, `\xHH` (two hex digits) and
///   `\` before any other byte to mean that byte.
/// * `'single quotes'` are literal, except `\'`.
/// * Quotes may start mid-word (`a"b c"` is the word `ab c`), but a closing
///   quote must be followed by a blank or the end of the line.
///
/// `None` for unbalanced quotes or a closing quote followed by something
/// else, as in `"foo"bar`. An empty or blank line gives no words. A NUL
/// byte ends the line, as it does for the C function.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = until_nul(line);
    // "The byte at i", with 0 past the end standing for C's terminator.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while at(i) != 0 && is_c_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Some(words);
        }
        let mut word = Vec::new();
        let (mut in_double, mut in_single, mut done) = (false, false, false);
        while !done {
            let c = at(i);
            if in_double {
                if c == b'\\'
                    && at(i + 1) == b'x'
                    && at(i + 2).is_ascii_hexdigit()
                    && at(i + 3).is_ascii_hexdigit()
                {
                    word.push(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3)));
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    word.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    word.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    word.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    word.push(c);
                }
            } else {
                match c {
                    // Note: only these four (and the end) end a bare word,
                    // though any `isspace` byte separates words.
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => word.push(c),
                }
            }
            if at(i) != 0 {
                i += 1;
            }
        }
        words.push(word);
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// Quote bytes so that [`split_args`] reads them back as one word (Redis's
/// `sdscatrepr`): `"..."` with `\\ \" \n \r \t \a \b` and `\xHH` for other
/// unprintable bytes.
pub fn repr(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in bytes {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
    out
}

/// Parse a memory size like Redis's `memtoull`: digits, then an optional
/// unit (`b`, `k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`, any case).
///
/// Its C quirks are kept, because CONFIG SET shows them: no sign or spaces
/// allowed; no digits at all reads as 0 (so `""` and `mb` are 0); too many
/// digits saturate at u64::MAX; the multiplication wraps around.
pub fn memtoull(text: &[u8]) -> Option<u64> {
    let text = until_nul(text);
    if text.first() == Some(&b'-') {
        return None;
    }
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = text[digits..].to_ascii_lowercase();
    let multiplier: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    let value = text[..digits].iter().fold(0u64, |value, &digit| {
        value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit - b'0')))
            .unwrap_or(u64::MAX)
    });
    Some(value.wrapping_mul(multiplier))
}

/// Redis's `string2ll`: a strict decimal `long long`. No spaces, no `+`, no
/// leading zeros (except `0` itself), no `-0`, no overflow.
pub fn string2ll(text: &[u8]) -> Option<i64> {
    crate::resp::parse_i64(text)
}

/// C's `strtoll(text, &end, base)` as Redis uses it: leading blanks and a
/// sign are allowed, overflow saturates. Returns the value and whether the
/// whole string was consumed (`*end == '\0'`). An empty string gives
/// `(0, true)`; a string with no digits gives `(0, false)` unless empty.
fn strtoll(text: &[u8], base: u32) -> (i64, bool) {
    let (value, _, whole) = strtoll_full(text, base);
    (value, whole)
}

/// [`strtoll`] plus whether it overflowed (C's `errno == ERANGE`).
fn strtoll_full(text: &[u8], base: u32) -> (i64, bool, bool) {
    let text = until_nul(text);
    let mut i = 0;
    while i < text.len() && is_c_space(text[i]) {
        i += 1;
    }
    let negative = match text.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while let Some(digit) = text.get(i).and_then(|&b| (b as char).to_digit(base)) {
        match magnitude
            .checked_mul(u64::from(base))
            .and_then(|m| m.checked_add(u64::from(digit)))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        // No digits: C sets `end` back to the start of the whole string.
        return (0, false, text.is_empty());
    }
    let value = if negative {
        match 0i64.checked_sub_unsigned(magnitude) {
            Some(v) if !overflow => v,
            _ => {
                overflow = true;
                i64::MIN
            }
        }
    } else {
        match i64::try_from(magnitude) {
            Ok(v) if !overflow => v,
            _ => {
                overflow = true;
                i64::MAX
            }
        }
    };
    (value, overflow, i == text.len())
}

/// `strtoll` that must consume everything and must not overflow, as the
/// octal directives require.
fn strtoll_whole(text: &[u8], base: u32) -> Option<i64> {
    let (value, overflow, whole) = strtoll_full(text, base);
    (whole && !overflow).then_some(value)
}

/// Redis's `string2d`: a whole-string float as C's `strtod` reads it
/// (decimal, `inf`, or hex like `0x1p3`), no leading blank, not NaN, not out
/// of range (`1e999` is refused, while `inf` is a valid infinity).
fn string2d(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    if text.is_empty() || text.as_bytes()[0].is_ascii_whitespace() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let value = if unsigned.starts_with("0x") && lower.len() - unsigned.len() <= 1 {
        let magnitude = parse_hex_float(&unsigned[2..])?;
        if lower.starts_with('-') {
            -magnitude
        } else {
            magnitude
        }
    } else {
        text.parse::<f64>().ok()?
    };
    let mantissa = lower.split(['e', 'p']).next().unwrap_or("");
    let overflowed = value.is_infinite() && !lower.contains("inf");
    let underflowed = value == 0.0
        && mantissa
            .trim_start_matches("0x")
            .bytes()
            .any(|b| b.is_ascii_alphanumeric() && b != b'0');
    if value.is_nan() || overflowed || underflowed {
        return None;
    }
    Some(value)
}

/// The part of a C hex float after `0x`: hex digits, an optional `.` and
/// more, an optional binary exponent `p[+-]digits`.
fn parse_hex_float(text: &str) -> Option<f64> {
    let (digits, exponent) = match text.split_once('p') {
        Some((digits, exponent)) => (digits, exponent.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut value = 0.0f64;
    for c in whole.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in fraction.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exponent))
}

// ===========================================================================
// notify-keyspace-events
// ===========================================================================

/// The letter of each class, in the order Redis prints them (the letters of
/// `A` first; `K`, `E`, `m` are printed separately, after).
const KEYSPACE_EVENT_LETTERS: &[(u8, u32)] = &[
    (b'g', NOTIFY_GENERIC),
    (b'$', NOTIFY_STRING),
    (b'l', NOTIFY_LIST),
    (b's', NOTIFY_SET),
    (b'h', NOTIFY_HASH),
    (b'z', NOTIFY_ZSET),
    (b'x', NOTIFY_EXPIRED),
    (b'e', NOTIFY_EVICTED),
    (b't', NOTIFY_STREAM),
    (b'd', NOTIFY_MODULE),
    (b'n', NOTIFY_NEW),
];

/// Redis's `keyspaceEventsStringToFlags`: `"KEA"` → `K|E|A` bits. `None` if
/// any character is not a class letter (Redis answers "Invalid event class
/// character"). Order and repetition do not matter.
pub fn keyspace_events_string_to_flags(classes: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in until_nul(classes) {
        flags |= match c {
            b'A' => NOTIFY_ALL,
            b'K' => NOTIFY_KEYSPACE,
            b'E' => NOTIFY_KEYEVENT,
            b'm' => NOTIFY_KEY_MISS,
            _ => {
                KEYSPACE_EVENT_LETTERS
                    .iter()
                    .find(|&&(letter, _)| letter == c)?
                    .1
            }
        };
    }
    Some(flags)
}

/// Redis's `keyspaceEventsFlagsToString`, the canonical spelling: `A` if all
/// of its classes are set, else their letters in the order `g$lshzxetdn`;
/// then `K`, `E`, `m`. So `"KEA"` reads back as `"AKE"`, and `n` (not part
/// of `A`) is lost when `A` is printed.
pub fn keyspace_events_flags_to_string(flags: u32) -> String {
    let mut text = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        text.push('A');
    } else {
        for &(letter, bit) in KEYSPACE_EVENT_LETTERS {
            if flags & bit != 0 {
                text.push(letter as char);
            }
        }
    }
    for (letter, bit) in [
        ('K', NOTIFY_KEYSPACE),
        ('E', NOTIFY_KEYEVENT),
        ('m', NOTIFY_KEY_MISS),
    ] {
        if flags & bit != 0 {
            text.push(letter);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn set(config: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
        let pairs: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        config.config_set(&pairs)
    }

    fn get(config: &Config, patterns: &[&str]) -> Vec<(String, String)> {
        let patterns: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
        config.config_get(&patterns)
    }

    fn value(config: &Config, name: &str) -> String {
        config
            .value_of(name)
            .unwrap_or_else(|| panic!("no directive {name}"))
    }

    /// A fresh, empty directory for tests that touch files, removed when the
    /// test ends.
    struct ScratchDir(PathBuf);

    impl std::ops::Deref for ScratchDir {
        type Target = PathBuf;
        fn deref(&self) -> &PathBuf {
            &self.0
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch_dir(test: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!(
            "redis-anatomy-config-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir.canonicalize().unwrap())
    }

    // ---- Defaults ---------------------------------------------------------

    #[test]
    fn defaults_agree_with_the_table() {
        let config = Config::default();
        for def in CONFIGS.iter().filter(|def| def.name != "dir") {
            assert_eq!(
                value(&config, def.name),
                def.default,
                "default of {}",
                def.name
            );
        }
        assert_eq!(
            value(&config, "dir"),
            std::env::current_dir().unwrap().to_string_lossy()
        );
    }

    #[test]
    fn defaults_are_redis_7_0s() {
        let config = Config::default();
        assert_eq!(config.port, 6379);
        // Loopback, not Redis's "* -::*": see the `bind` row.
        assert_eq!(config.bind, ["127.0.0.1", "-::1"]);
        assert_eq!(config.hz, 10);
        assert_eq!(config.databases, 16);
        assert_eq!(config.maxclients, 10000);
        assert_eq!(config.maxmemory, 0);
        assert_eq!(config.maxmemory_policy, MaxmemoryPolicy::NoEviction);
        assert_eq!(config.requirepass, None);
        assert_eq!(config.hash_max_listpack_entries, 512);
        assert_eq!(config.list_max_listpack_size, -2);
        assert_eq!(config.slowlog_log_slower_than, 10000);
        assert_eq!(config.enable_debug_command, ProtectedAction::No);
        assert_eq!(value(&config, "save"), "3600 1 300 100 60 10000");
        assert_eq!(
            value(&config, "client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert_eq!(
            value(&config, "latency-tracking-info-percentiles"),
            "50 99 99.9"
        );
        assert_eq!(value(&config, "proto-max-bulk-len"), "536870912");
        assert_eq!(value(&config, "client-query-buffer-limit"), "1073741824");
    }

    #[test]
    fn every_name_and_alias_is_unique() {
        let mut names: Vec<&str> = CONFIGS
            .iter()
            .flat_map(|d| std::iter::once(d.name).chain(d.alias))
            .collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total);
    }

    // ---- split_args (sdssplitargs) ----------------------------------------

    #[test]
    fn split_args_follows_sdssplitargs() {
        type Case = (&'static [u8], Option<&'static [&'static [u8]]>);
        let cases: &[Case] = &[
            (b"", Some(&[])),
            (b"   \t ", Some(&[])),
            (b"set key value", Some(&[b"set", b"key", b"value"])),
            (
                b"  leading   and trailing  ",
                Some(&[b"leading", b"and", b"trailing"]),
            ),
            (
                b"\"double quotes\" 'single quotes'",
                Some(&[b"double quotes", b"single quotes"]),
            ),
            (b"\"\\x41\\x42\\x4a\"", Some(&[b"ABJ"])),
            (
                b"\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"",
                Some(&[b"\n\r\t\x08\x07\\\"q"]),
            ),
            (b"\"\\x4g\"", Some(&[b"x4g"])),
            (b"'it\\'s' 'a\\nb'", Some(&[b"it's", b"a\\nb"])),
            (b"a\"b c\"d", None),
            (b"a\"b c\" d", Some(&[b"ab c", b"d"])),
            (b"\"\"", Some(&[b""])),
            (b"save \"\"", Some(&[b"save", b""])),
            (b"\"unbalanced", None),
            (b"'unbalanced", None),
            (b"\"foo\"bar", None),
            (b"'foo'bar", None),
            (b"\"ends in backslash\\", None),
            // Any isspace() byte separates words, but only space, tab, CR and
            // LF end a bare word: a vertical tab inside a word stays.
            (b"\x0bword\x0bmore", Some(&[b"word\x0bmore"])),
            // A NUL ends the line, as in C.
            (b"one two\0three", Some(&[b"one", b"two"])),
            (b"\xc3\xa9t\xc3\xa9", Some(&[b"\xc3\xa9t\xc3\xa9"])),
        ];
        for &(line, expected) in cases {
            let expected =
                expected.map(|words| words.iter().map(|w| w.to_vec()).collect::<Vec<_>>());
            assert_eq!(
                split_args(line),
                expected,
                "line {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn repr_quotes_so_split_args_reads_the_same_bytes_back() {
        let samples: &[&[u8]] = &[
            b"plain",
            b"",
            b"with space",
            b"q\"uote",
            b"back\\slash",
            b"\x00\x01\xff\n\r\t\x07\x08",
        ];
        for &sample in samples {
            let quoted = repr(sample);
            assert_eq!(
                split_args(&quoted),
                Some(vec![sample.to_vec()]),
                "{quoted:?}"
            );
        }
        assert_eq!(repr(b"a\"b\n\xff"), b"\"a\\\"b\\n\\xff\"");
    }

    // ---- Numbers ----------------------------------------------------------

    #[test]
    fn memtoull_reads_units_like_redis() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"100", Some(100)),
            (b"1b", Some(1)),
            (b"1k", Some(1000)),
            (b"1K", Some(1000)),
            (b"1kb", Some(1024)),
            (b"1KB", Some(1024)),
            (b"1m", Some(1_000_000)),
            (b"1mb", Some(1 << 20)),
            (b"1Mb", Some(1 << 20)),
            (b"1g", Some(1_000_000_000)),
            (b"1gb", Some(1 << 30)),
            (b"32mb", Some(32 << 20)),
            // C quirks: no digits is 0, overflow saturates, the unit wraps.
            (b"", Some(0)),
            (b"mb", Some(0)),
            (b"99999999999999999999999", Some(u64::MAX)),
            (
                b"20000000000gb",
                Some(20_000_000_000u64.wrapping_mul(1 << 30)),
            ),
            (b"-1", None),
            (b"+1", None),
            (b" 1", None),
            (b"1 ", None),
            (b"1tb", None),
            (b"10xb", None),
            (b"1.5mb", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(
                memtoull(text),
                expected,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn string2ll_is_strict() {
        let cases: &[(&[u8], Option<i64>)] = &[
            (b"0", Some(0)),
            (b"42", Some(42)),
            (b"-42", Some(-42)),
            (b"9223372036854775807", Some(i64::MAX)),
            (b"-9223372036854775808", Some(i64::MIN)),
            (b"9223372036854775808", None),
            (b"", None),
            (b"-", None),
            (b"-0", None),
            (b"05", None),
            (b"+5", None),
            (b" 5", None),
            (b"5 ", None),
            (b"1.5", None),
            (b"123456789012345678901", None),
        ];
        for &(text, expected) in cases {
            assert_eq!(
                string2ll(text),
                expected,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn memory_units_are_accepted_and_printed_as_bytes() {
        let mut config = Config::default();
        set(&mut config, &[("maxmemory", "1GB")]).unwrap();
        assert_eq!(config.maxmemory, 1 << 30);
        assert_eq!(value(&config, "maxmemory"), "1073741824");
        set(&mut config, &[("maxmemory", "99999999999999999999999")]).unwrap();
        assert_eq!(value(&config, "maxmemory"), "18446744073709551615");
        set(
            &mut config,
            &[(
                "client-output-buffer-limit",
                "normal 1mb 2mb 3 replica 4kb 5k 6",
            )],
        )
        .unwrap();
        assert_eq!(
            value(&config, "client-output-buffer-limit"),
            "normal 1048576 2097152 3 slave 4096 5000 6 pubsub 33554432 8388608 60"
        );
        assert_eq!(
            config.client_output_buffer_limit[ClientClass::Replica as usize].soft_limit_bytes,
            5000
        );
    }

    #[test]
    fn maxmemory_clients_takes_bytes_or_a_percentage() {
        let mut config = Config::default();
        set(&mut config, &[("maxmemory-clients", "10%")]).unwrap();
        assert_eq!(config.maxmemory_clients, MaxmemoryClients::Percent(10));
        assert_eq!(value(&config, "maxmemory-clients"), "10%");
        set(&mut config, &[("maxmemory-clients", "1mb")]).unwrap();
        assert_eq!(config.maxmemory_clients, MaxmemoryClients::Bytes(1 << 20));
        assert_eq!(
            set(&mut config, &[("maxmemory-clients", "200%")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - \
             percentage argument must be less or equal to 100"
        );
        assert_eq!(
            set(&mut config, &[("maxmemory-clients", "-5")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - \
             argument must be a memory or percent value"
        );
    }

    #[test]
    fn hz_is_clamped_not_refused() {
        let mut config = Config::default();
        assert_eq!(set(&mut config, &[("hz", "1000")]), Ok(vec!["hz"]));
        assert_eq!(config.hz, 500);
        set(&mut config, &[("hz", "0")]).unwrap();
        assert_eq!(value(&config, "hz"), "1");
        assert_eq!(
            set(&mut config, &[("hz", "-1")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - \
             argument must be between 0 and 2147483647 inclusive"
        );
        let loaded = Config::from_args(&args(&["--hz", "100000"])).unwrap();
        assert_eq!(loaded.hz, 500);
    }

    #[test]
    fn repl_backlog_size_minimum_applies_to_config_set_only() {
        let mut config = Config::from_args(&args(&["--repl-backlog-size", "1"])).unwrap();
        assert_eq!(config.repl_backlog_size, 1);
        // Unchanged value: no apply step, as in Redis.
        set(&mut config, &[("repl-backlog-size", "1")]).unwrap();
        assert_eq!(config.repl_backlog_size, 1);
        set(&mut config, &[("repl-backlog-size", "2")]).unwrap();
        assert_eq!(config.repl_backlog_size, MIN_REPL_BACKLOG_SIZE);
    }

    // ---- CONFIG SET -------------------------------------------------------

    #[test]
    fn config_set_errors_match_redis_byte_for_byte() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("foo", "bar")],
                "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
            ),
            (
                &[("hz", "abc")],
                "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            ),
            (
                &[("hz", "05")],
                "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
            ),
            (
                &[("daemonize", "yes")],
                "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
            ),
            // Errors about names quote the name as typed...
            (
                &[("DAEMONIZE", "yes")],
                "ERR CONFIG SET failed (possibly related to argument 'DAEMONIZE') - can't set immutable config",
            ),
            (
                &[("port", "1"), ("PORT", "2")],
                "ERR CONFIG SET failed (possibly related to argument 'PORT') - duplicate parameter",
            ),
            // ...errors about values quote the registered name.
            (
                &[("ACTIVEREHASHING", "maybe")],
                "ERR CONFIG SET failed (possibly related to argument 'activerehashing') - argument must be 'yes' or 'no'",
            ),
            (
                &[("HASH-MAX-ZIPLIST-ENTRIES", "x")],
                "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - \
                 argument couldn't be parsed into an integer",
            ),
            (
                &[("dir", "/tmp")],
                "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config",
            ),
            (
                &[("dbfilename", "x.rdb")],
                "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config",
            ),
            (
                &[("slaveof", "127.0.0.1 6379")],
                "ERR CONFIG SET failed (possibly related to argument 'slaveof') - can't set immutable config",
            ),
            (
                &[("enable-debug-command", "yes")],
                "ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config",
            ),
            (
                &[("maxmemory-policy", "foo")],
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of \
                 the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, \
                 allkeys-random, noeviction",
            ),
            (
                &[("maxclients", "0")],
                "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and \
                 4294967295 inclusive",
            ),
            (
                &[("list-max-listpack-size", "-99999999999")],
                "ERR CONFIG SET failed (possibly related to argument 'list-max-listpack-size') - argument must be \
                 between -2147483648 and 2147483647 inclusive",
            ),
            (
                &[("maxmemory", "-1")],
                "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
            ),
            (
                &[("notify-keyspace-events", "x?")],
                "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class \
                 character. Use 'Ag$lshzxeKEtmdn'.",
            ),
            (
                &[("save", "100 1 200")],
                "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
            ),
            (
                &[("save", "100 1  200 2")],
                "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters",
            ),
            (
                &[("client-output-buffer-limit", "master 1 2 3")],
                "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client \
                 class specified in buffer limit configuration.",
            ),
            (
                &[("client-output-buffer-limit", "normal 1 2")],
                "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of \
                 arguments in buffer limit configuration.",
            ),
            (
                &[("client-output-buffer-limit", "normal 1 2 -3")],
                "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, \
                 soft or soft_seconds setting in buffer limit configuration.",
            ),
            (
                &[("bind", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17")],
                "ERR CONFIG SET failed (possibly related to argument 'bind') - Too many bind addresses specified.",
            ),
            (
                &[("proc-title-template", "{foo}")],
                "ERR CONFIG SET failed (possibly related to argument 'proc-title-template') - template format is \
                 invalid or contains unknown variables",
            ),
            (
                &[("shutdown-on-sigint", "save nosave")],
                "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - shutdown options SAVE \
                 and NOSAVE can't be used simultaneously",
            ),
            (
                &[("latency-tracking-info-percentiles", "50 101")],
                "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - \
                 latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
            ),
            (
                &[("activedefrag", "yes")],
                "ERR CONFIG SET failed (possibly related to argument 'activedefrag') - Active defragmentation cannot \
                 be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by \
                 default with the Redis source distribution",
            ),
            // The first problem with the names wins, whatever comes after.
            (
                &[("daemonize", "yes"), ("foo", "bar")],
                "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
            ),
            (
                &[("foo", "bar"), ("daemonize", "yes")],
                "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
            ),
            // Name problems are found before any value is parsed.
            (
                &[("hz", "abc"), ("foo", "bar")],
                "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
            ),
            // Line breaks in a name cannot reach the protocol.
            (
                &[("a\r\nb", "1")],
                "ERR Unknown option or number of arguments for CONFIG SET - 'a  b'",
            ),
        ];
        for &(pairs, expected) in cases {
            let mut config = Config::default();
            assert_eq!(
                set(&mut config, pairs),
                Err(expected.to_string()),
                "CONFIG SET {pairs:?}"
            );
            assert_eq!(
                config,
                Config::default(),
                "a failed CONFIG SET {pairs:?} changed something"
            );
        }
    }

    #[test]
    fn config_set_is_all_or_nothing() {
        let mut config = Config::default();
        let error = set(&mut config, &[("hz", "5"), ("maxmemory-policy", "foo")]).unwrap_err();
        assert!(error.contains("'maxmemory-policy'"), "{error}");
        assert_eq!(config.hz, 10, "the good first pair must not stick");

        let error = set(
            &mut config,
            &[("maxmemory", "1gb"), ("save", "10"), ("hz", "20")],
        )
        .unwrap_err();
        assert!(error.contains("'save'"), "{error}");
        assert_eq!(config, Config::default());

        assert_eq!(
            set(
                &mut config,
                &[("hz", "5"), ("maxmemory-policy", "allkeys-lru")]
            ),
            Ok(vec!["hz", "maxmemory-policy"])
        );
        assert_eq!(
            (config.hz, config.maxmemory_policy),
            (5, MaxmemoryPolicy::AllkeysLru)
        );
    }

    #[test]
    fn config_set_reports_what_changed() {
        let mut config = Config::default();
        assert_eq!(
            set(&mut config, &[("hz", "10")]),
            Ok(vec![]),
            "same value: nothing changed"
        );
        assert_eq!(
            set(&mut config, &[("hz", "11"), ("maxmemory", "1mb")]),
            Ok(vec!["hz", "maxmemory"])
        );
        // An alias reports the canonical name.
        assert_eq!(
            set(&mut config, &[("slave-read-only", "no")]),
            Ok(vec!["replica-read-only"])
        );
        // Special directives always count as changed, as in Redis.
        assert_eq!(set(&mut config, &[("bind", "* -::*")]), Ok(vec!["bind"]));
        // An alias and its name are different entries: no "duplicate", and
        // the last one wins.
        assert_eq!(
            set(
                &mut config,
                &[
                    ("hash-max-ziplist-entries", "1"),
                    ("hash-max-listpack-entries", "2")
                ]
            ),
            Ok(vec!["hash-max-listpack-entries"])
        );
        assert_eq!(config.hash_max_listpack_entries, 2);
    }

    #[test]
    fn protected_and_loading_checks_depend_on_the_client() {
        let dir = scratch_dir("protected");
        let dir_text = dir.to_string_lossy().into_owned();
        let pair: &[(&[u8], &[u8])] = &[(b"dir", dir_text.as_bytes())];
        let local = ClientContext {
            is_local: true,
            loading: false,
        };

        let mut config =
            Config::from_args(&args(&["--enable-protected-configs", "local"])).unwrap();
        assert!(config
            .config_set(pair)
            .unwrap_err()
            .contains("can't set protected config"));
        assert_eq!(config.config_set_for(pair, local), Ok(vec!["dir"]));
        assert_eq!(config.dir, *dir);

        let mut config = Config::from_args(&args(&["--enable-protected-configs", "yes"])).unwrap();
        let loading = ClientContext {
            is_local: false,
            loading: true,
        };
        assert_eq!(
            config.config_set_for(pair, loading),
            Err(LOADING_ERROR.to_string())
        );
        assert_eq!(
            config.config_set_for(&[(b"hz", b"20")], loading),
            Ok(vec!["hz"])
        );
    }

    #[test]
    fn enum_spellings_and_multi_word_enums() {
        let mut config = Config::default();
        set(&mut config, &[("loglevel", "VERBOSE")]).unwrap();
        assert_eq!(value(&config, "loglevel"), "verbose");
        // Two spellings of one value: CONFIG GET shows the first.
        set(&mut config, &[("oom-score-adj", "relative")]).unwrap();
        assert_eq!(config.oom_score_adj, OomScoreAdj::Relative);
        assert_eq!(value(&config, "oom-score-adj"), "yes");
        set(&mut config, &[("shutdown-on-sigint", "SAVE now")]).unwrap();
        assert_eq!(config.shutdown_on_sigint, SHUTDOWN_SAVE | SHUTDOWN_NOW);
        assert_eq!(value(&config, "shutdown-on-sigint"), "save now");
        set(&mut config, &[("shutdown-on-sigint", "default")]).unwrap();
        assert_eq!(value(&config, "shutdown-on-sigint"), "default");
    }

    #[test]
    fn save_rules_and_percentiles_print_like_redis() {
        let mut config = Config::default();
        set(&mut config, &[("save", "100 1 200 2")]).unwrap();
        assert_eq!(
            config.save,
            [
                SaveParam {
                    seconds: 100,
                    changes: 1
                },
                SaveParam {
                    seconds: 200,
                    changes: 2
                }
            ]
        );
        set(&mut config, &[("save", "")]).unwrap();
        assert!(config.save.is_empty());
        assert_eq!(value(&config, "save"), "");
        set(
            &mut config,
            &[("latency-tracking-info-percentiles", "1.50 99.999 100 0x1p3")],
        )
        .unwrap();
        assert_eq!(
            value(&config, "latency-tracking-info-percentiles"),
            "1.5 99.999 100 8"
        );
        assert!(set(
            &mut config,
            &[("latency-tracking-info-percentiles", "1e999")]
        )
        .is_err());
        set(&mut config, &[("latency-tracking-info-percentiles", "")]).unwrap();
        assert_eq!(value(&config, "latency-tracking-info-percentiles"), "");
    }

    #[test]
    fn dir_must_exist_and_is_stored_canonical() {
        let base = scratch_dir("dir");
        std::fs::create_dir(base.join("data")).unwrap();
        std::fs::write(base.join("file"), b"").unwrap();
        let mut config = Config::from_args(&args(&["--enable-protected-configs", "yes"])).unwrap();
        let base_text = base.to_string_lossy().into_owned();
        set(&mut config, &[("dir", &base_text)]).unwrap();
        // Relative to the current dir, as a second chdir() would be.
        set(&mut config, &[("dir", "data/../data")]).unwrap();
        assert_eq!(config.dir, base.join("data"));
        assert_eq!(value(&config, "dir"), base.join("data").to_string_lossy());
        let missing = base.join("missing").to_string_lossy().into_owned();
        assert_eq!(
            set(&mut config, &[("dir", &missing)]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
        );
        let file = base.join("file").to_string_lossy().into_owned();
        assert_eq!(
            set(&mut config, &[("dir", &file)]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - Not a directory"
        );
    }

    // ---- CONFIG GET -------------------------------------------------------

    #[test]
    fn config_get_answers_names_as_typed_and_patterns_with_aliases() {
        let config = Config::default();
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(get(&config, &["HZ"]), pairs(&[("HZ", "10")]));
        assert_eq!(get(&config, &["hz", "HZ"]), pairs(&[("hz", "10")]));
        assert_eq!(
            get(&config, &["hash-max-ziplist-entries"]),
            pairs(&[("hash-max-ziplist-entries", "512")])
        );
        assert_eq!(
            get(&config, &["hash-max-*"]),
            pairs(&[
                ("hash-max-listpack-entries", "512"),
                ("hash-max-ziplist-entries", "512"),
                ("hash-max-listpack-value", "64"),
                ("hash-max-ziplist-value", "64"),
            ])
        );
        // Patterns ignore case; each name is answered once.
        assert_eq!(
            get(
                &config,
                &[
                    "HASH-MAX-*-VALUE",
                    "hash-max-listpack-value",
                    "hash-*-ziplist-value"
                ]
            ),
            pairs(&[
                ("hash-max-listpack-value", "64"),
                ("hash-max-ziplist-value", "64")
            ])
        );
        assert_eq!(get(&config, &["nosuchthing", "nosuch*"]), pairs(&[]));
        // Hidden test hooks only answer to their exact name.
        assert_eq!(get(&config, &["rdb-key-save-*"]), pairs(&[]));
        assert_eq!(
            get(&config, &["rdb-key-save-delay"]),
            pairs(&[("rdb-key-save-delay", "0")])
        );
        // `*` lists every visible name and alias: 153 + 19 (Redis 7.0.15
        // answers the same 172, plus its 20 tls-* directives).
        assert_eq!(get(&config, &["*"]).len(), 172);
    }

    // ---- notify-keyspace-events -------------------------------------------

    #[test]
    fn keyspace_event_flags_round_trip_to_redis_spelling() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("KEA", "AKE"),
            ("AKE", "AKE"),
            ("Ex", "xE"),
            ("mEK", "KEm"),
            ("gA", "A"),
            ("Kx$", "$xK"),
            ("g$lshzxetd", "A"),
            ("g$lshzxet", "g$lshzxet"),
            ("nK", "nK"),
            // `n` is not in `A`, and `A` hides it when printing.
            ("An", "A"),
            ("KKKEEE", "KE"),
        ];
        for &(input, canonical) in cases {
            let flags = keyspace_events_string_to_flags(input.as_bytes()).unwrap();
            assert_eq!(keyspace_events_flags_to_string(flags), canonical, "{input}");
        }
        assert_eq!(
            keyspace_events_string_to_flags(b"KEA"),
            Some(NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL)
        );
        assert_eq!(
            keyspace_events_string_to_flags(b"An"),
            Some(NOTIFY_ALL | NOTIFY_NEW)
        );
        assert_eq!(keyspace_events_string_to_flags(b"KEq"), None);
        assert_eq!(keyspace_events_string_to_flags(b"k"), None);

        let mut config = Config::default();
        set(&mut config, &[("notify-keyspace-events", "KEA")]).unwrap();
        assert_eq!(value(&config, "notify-keyspace-events"), "AKE");
    }

    // ---- Config files and the command line --------------------------------

    #[test]
    fn config_file_comments_quotes_and_multi_word_values() {
        let mut config = Config::default();
        config
            .load_from_str(
                "# a comment\n\
                 \n\
                 \t  port 7000  \r\n\
                 PORT 7001\n\
                 requirepass \"pa ss\\x21\"\n\
                 dbfilename 'my dump.rdb'\n\
                 save 900 1\n\
                 save \"300 10\"\n\
                 client-output-buffer-limit replica 512mb 128mb 120\n\
                 slave-read-only no\n\
                 maxmemory 2GB\n\
                 list-max-ziplist-entries 5\n\
                 notify-keyspace-events \"\"\n\
                 rename-command FLUSHALL \"\"\n\
                 user alice on >secret ~* +@all\n",
            )
            .unwrap();
        assert_eq!(
            config.port, 7001,
            "names are case-insensitive; the last line wins"
        );
        assert_eq!(config.requirepass.as_deref(), Some(&b"pa ss!"[..]));
        assert_eq!(config.dbfilename, "my dump.rdb");
        // The first `save` line replaces the defaults; later ones add.
        assert_eq!(
            config.save,
            [
                SaveParam {
                    seconds: 900,
                    changes: 1
                },
                SaveParam {
                    seconds: 300,
                    changes: 10
                }
            ]
        );
        assert_eq!(
            config.client_output_buffer_limit[ClientClass::Replica as usize].hard_limit_bytes,
            512 << 20
        );
        assert!(!config.replica_read_only);
        assert_eq!(config.maxmemory, 2 << 30);
        assert_eq!(config.rename_commands.len(), 1);
        assert_eq!(config.rename_commands[0].from, b"FLUSHALL");
        assert_eq!(config.rename_commands[0].to, b"");
        assert_eq!(config.rename_commands[0].at.number, 14);
        assert_eq!(config.user_directives[0].args[0], b"alice");
    }

    #[test]
    fn save_empty_string_disables_snapshots() {
        let config = Config::from_args(&args(&["--save", ""])).unwrap();
        assert!(config.save.is_empty());
        // `--save` with no value, last or before another option, means the same.
        assert!(Config::from_args(&args(&["--save"]))
            .unwrap()
            .save
            .is_empty());
        let config = Config::from_args(&args(&["--save", "--hz", "20"])).unwrap();
        assert!(config.save.is_empty());
        assert_eq!(config.hz, 20);
    }

    #[test]
    fn command_line_options_become_config_lines() {
        let config = Config::from_args(&args(&[
            "--port",
            "7000",
            "--bind",
            "127.0.0.1",
            "::1",
            "--maxmemory 10mb",
        ]))
        .unwrap();
        assert_eq!(config.port, 7000);
        assert_eq!(config.bind, ["127.0.0.1", "::1"]);
        assert_eq!(config.maxmemory, 10 << 20);
        assert_eq!(config.config_file, None);
        // Values are re-quoted, so spaces and quotes survive.
        let config = Config::from_args(&args(&["--requirepass", "a \"b\" c"])).unwrap();
        assert_eq!(config.requirepass.as_deref(), Some(&b"a \"b\" c"[..]));
        assert_eq!(Config::from_args(&[]).unwrap(), Config::default());
    }

    #[test]
    fn fatal_errors_match_redis_byte_for_byte() {
        let banner = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n";
        let cases: &[(&[&str], &str)] = &[
            // Line 1 is the (missing) config file; options start on line 2.
            (
                &["--hz", "abc"],
                "Reading the configuration file, at line 2\n>>> 'hz \"abc\"'\nargument couldn't be parsed into an integer\n",
            ),
            (
                &["--bind", "127.0.0.1", "--port", "7000", "--hz"],
                "Reading the configuration file, at line 4\n>>> 'hz'\nwrong number of arguments\n",
            ),
            (
                &["--foo", "bar"],
                "Reading the configuration file, at line 2\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments\n",
            ),
            (&["--hz 5 6"], "Reading the configuration file, at line 2\n>>> 'hz 5 6'\nwrong number of arguments\n"),
            (
                &["--port", "--hz", "5"],
                "Reading the configuration file, at line 2\n>>> 'port \"--hz\" \"5\"'\nwrong number of arguments\n",
            ),
            (
                &["--appendonly", "maybe"],
                "Reading the configuration file, at line 2\n>>> 'appendonly \"maybe\"'\nargument must be 'yes' or 'no'\n",
            ),
            (
                &["--save", "10"],
                "Reading the configuration file, at line 2\n>>> 'save \"10\"'\nInvalid save parameters\n",
            ),
            (
                &["--sentinel", "monitor"],
                "Reading the configuration file, at line 2\n>>> 'sentinel \"monitor\"'\nsentinel directive while not in \
                 sentinel mode\n"
                    .split_at(0)
                    .1,
            ),
            (
                &["--cluster-enabled", "yes", "--replicaof", "127.0.0.1", "6379"],
                "replicaof directive not allowed in cluster mode\n",
            ),
        ];
        for &(argv, expected) in cases {
            let result = Config::from_args(&args(argv));
            // `--sentinel` switches Sentinel mode on, which makes that line
            // legal; the error needs a config line without the flag.
            if argv[0] == "--sentinel" {
                let mut config = Config::default();
                let error = config.load_from_str("\nsentinel \"monitor\"").unwrap_err();
                assert_eq!(error, format!("{banner}{expected}"));
                assert!(result.unwrap().sentinel_mode);
                continue;
            }
            assert_eq!(
                result,
                Err(format!("{banner}{expected}")),
                "redis-server {argv:?}"
            );
        }
        let mut config = Config::default();
        assert_eq!(
            config.load_from_str("port 1\n\"unbalanced").unwrap_err(),
            format!(
                "{banner}Reading the configuration file, at line 2\n>>> '\"unbalanced'\nUnbalanced quotes in \
                 configuration line\n"
            )
        );
    }

    #[test]
    fn config_file_from_the_command_line_with_overrides() {
        let dir = scratch_dir("file");
        let path = dir.join("redis.conf");
        std::fs::write(&path, "port 7000\nhz 20\n").unwrap();
        let path_text = path.to_string_lossy().into_owned();
        let config = Config::from_args(&args(&[&path_text, "--hz", "30"])).unwrap();
        assert_eq!((config.port, config.hz), (7000, 30));
        assert_eq!(config.config_file.as_deref(), Some(path.as_path()));

        // Errors in overrides count lines after the file's.
        let error = Config::from_args(&args(&[&path_text, "--hz", "x"])).unwrap_err();
        assert!(error.contains("at line 4\n>>> 'hz \"x\"'"), "{error}");

        let missing = dir.join("missing.conf").to_string_lossy().into_owned();
        assert_eq!(
            Config::from_args(&args(&[&missing])).unwrap_err(),
            format!("Fatal error, can't open config file '{missing}': No such file or directory")
        );
    }

    #[test]
    fn include_reads_files_and_patterns_relative_to_dir() {
        let dir = scratch_dir("include");
        std::fs::create_dir(dir.join("conf.d")).unwrap();
        std::fs::write(dir.join("conf.d/10-port.conf"), "port 7100\n").unwrap();
        std::fs::write(dir.join("conf.d/20-hz.conf"), "hz 40\nport 7200\n").unwrap();
        std::fs::write(dir.join("conf.d/.hidden.conf"), "hz 1\n").unwrap();
        std::fs::write(dir.join("bad.conf"), "\nmaxmemory lots\n").unwrap();
        let mut config = Config::default();
        let text = format!(
            "dir {}\ninclude conf.d/*.conf\ninclude conf.d/none-*.conf\n",
            dir.display()
        );
        config.load_from_str(&text).unwrap();
        assert_eq!((config.port, config.hz), (7200, 40));

        // An error inside an included file names that file's line.
        let error = config.load_from_str("include bad.conf").unwrap_err();
        assert!(
            error.ends_with("at line 2\n>>> 'maxmemory lots'\nargument must be a memory value\n"),
            "{error}"
        );
        let error = config.load_from_str("include nope.conf").unwrap_err();
        assert_eq!(
            error,
            "Fatal error, can't open config file 'nope.conf': No such file or directory"
        );
    }

    #[test]
    fn logfile_must_be_openable() {
        let dir = scratch_dir("logfile");
        let mut config = Config::default();
        config
            .load_from_str(&format!("dir {}\nlogfile redis.log\n", dir.display()))
            .unwrap();
        assert!(dir.join("redis.log").exists());
        let error = config
            .load_from_str("logfile /nonexistent-dir/redis.log")
            .unwrap_err();
        assert_eq!(
            error,
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory\n"
        );
    }

    #[test]
    fn sentinel_lines_are_collected_in_sentinel_mode() {
        let config = Config::from_args(&args(&[
            "--sentinel",
            "--sentinel",
            "monitor",
            "m",
            "127.0.0.1",
            "6379",
            "2",
        ]))
        .unwrap();
        assert!(config.sentinel_mode);
        assert_eq!(config.sentinel_directives.len(), 1);
        assert_eq!(config.sentinel_directives[0].args[0], b"monitor");
    }

    #[test]
    fn proc_title_template_expands_like_redis() {
        let config = Config::default();
        let title = config
            .expand_proc_title_template("{title} {listen-addr} {server-mode}", "redis-server");
        assert_eq!(title.as_deref(), Some("redis-server 127.0.0.1:6379"));
        assert_eq!(
            config
                .expand_proc_title_template("{{x} {port}", "")
                .as_deref(),
            Some("{x} 6379")
        );
        assert_eq!(config.expand_proc_title_template("{nope}", ""), None);
        assert_eq!(config.expand_proc_title_template("{title", ""), None);
        assert_eq!(config.expand_proc_title_template("x {", ""), None);
    }
}
