//! # Scripting: a Lua interpreter inside the server
//!
//! `EVAL "return redis.call('incr', KEYS[1])" 1 counter` ships a small
//! program to the data instead of shipping the data to the program. The
//! script runs *inside* the command that carries it: nothing else runs
//! until it returns, so a script is a transaction that can branch on what
//! it reads (MULTI/EXEC cannot: its commands are fixed before EXEC).
//!
//! The engine is a real Lua 5.1 (the `mlua` crate, built from the vendored
//! Lua sources, as Redis embeds Lua 5.1). This module is the glue:
//!
//! 1. **The sandbox.** A script sees the base, `table`, `string`, `math`
//!    and `debug` libraries and the `redis` table, nothing that touches
//!    files or the process (`os`, `io`, `loadfile`, `dofile` are gone).
//!    Its global table is read-only: reading a global that does not exist
//!    is an error (a typo would otherwise read `nil` silently), and
//!    writing one is `Attempt to modify a readonly table`, because a
//!    script that leaves state in the interpreter would make the next
//!    script's result depend on the previous one, and replicas run no
//!    scripts to rebuild that state.
//! 2. **`redis.call`.** The script's command runs through the same
//!    [`crate::server::call`] as a client's, on a *fake client* (Redis's
//!    `lua_client`) whose reply buffer we then parse back into Lua values.
//!    Going through `call` is what makes the rest free: INFO commandstats
//!    counts the command, SLOWLOG and MONITOR (as `[0 lua]`) see it, and
//!    its writes join the pending propagation queue (`crate::propagate`),
//!    which the outer EVAL flushes as one `MULTI`/`EXEC` when it holds
//!    more than one write. That is *effects replication*, Redis 7.0's only
//!    mode: replicas and the AOF receive what the script did, never the
//!    script, so a script may be non-deterministic (read the time, pick at
//!    random) without the copies diverging.
//! 3. **The conversions.** RESP to Lua for what `redis.call` returns
//!    (integer → number, bulk → string, nil bulk → `false`, status →
//!    `{ok=...}`, error → `{err=...}`, and RESP3's map/set/double/boolean
//!    after `redis.setresp(3)`), and Lua to RESP for what the script
//!    returns (a number is truncated to an integer, a table is an array up
//!    to its first `nil`, `{ok=}`/`{err=}` are status and error replies).
//! 4. **Errors with a place.** A failing `redis.call` raises a table
//!    `{err=...}`; the handler that wraps every run records where
//!    (`@user_script:LINE`), and the reply reads
//!    `ERR ... script: <sha>, on @user_script:1.` byte for byte as 7.0.
//! 5. **Busy scripts.** An instruction hook fires every 100,000 Lua
//!    instructions. Once the script has run longer than
//!    `busy-reply-threshold`, the hook lets the server serve the other
//!    clients ([`crate::server::busy::serve_while_blocked`]: they get
//!    `-BUSY`, except SCRIPT KILL, FUNCTION KILL and SHUTDOWN NOSAVE), and
//!    after that honours a kill request by raising an error in the script.
//!
//! ## The invariant
//!
//! While a script runs, the server state is only touched through `call`
//! on the fake client, and a script that has written (`wrote`) cannot be
//! killed: a half-applied script is only acceptable if nobody saw a
//! write, since the queued effects are propagated as they stand.
//!
//! ## Borrowing the server from Lua
//!
//! `redis.call` needs `&mut Server` while Lua holds the stack. The
//! command's `Ctx` lives on the Rust stack, so the functions that reach it
//! are *scoped* (`Lua::scope`): they exist only for one run, may borrow
//! the `Ctx`, and Lua references to them die with the scope. The Lua-side
//! `redis.call` is a small Lua wrapper (written once, at startup) around a
//! slot that each run fills with its scoped function. The 'static
//! instruction hook reaches the same scope through a second slot. No
//! `unsafe`.
//!
//! ## The Redis C counterpart
//!
//! `eval.c` (`evalGenericCommand`, `luaCreateFunction`, `scriptCommand`,
//! `evalExtractShebangFlags`), `script_lua.c` (`luaRedisGenericCommand`,
//! `luaReplyToRedisReply`, `redisProtocolToLuaType*`, `luaCallFunction`,
//! `luaMaskCountHook`, the error handler `__redis__err__handler`),
//! `script.c` (`scriptPrepareForRun`, `scriptCall`, `scriptKill`,
//! `scriptInterrupt`), `functions.c` / `function_lua.c` for FUNCTION.
//!
//! ## What we simplified
//!
//! The script debugger (`SCRIPT DEBUG YES|SYNC`) is not there: SCRIPT
//! DEBUG answers Redis's own refusal for an unsupported mode. Of the
//! libraries Redis preloads (`cjson`, `cmsgpack`, `bit`, `struct`), only
//! `bit` is provided (written here over Rust integers); the others are
//! absent and reading them is the usual nonexistent-global error. 7.0.15
//! freezes tables with a flag patched into its Lua; stock Lua has none,
//! so scripts see the globals and the library tables (`redis`, `string`,
//! `table`, `math`, `bit`, `coroutine`) through read-only proxies, and
//! `rawset`, `setmetatable` and `getmetatable` are guarded (a proxy is
//! empty to `pairs`, unlike Redis's frozen tables). `redis.log` writes to
//! our log (stderr) with Redis's level check. ACL checks of script commands do not exist because there
//! are no ACL users.

use std::cell::RefCell;
use std::time::Instant;

use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use rustc_hash::FxHashMap as HashMap;
use sha1::{Digest, Sha1};

use crate::resp::{Aggregate, OwnedArgs, Protocol, Reply};
use crate::server::command::{command_table, flags, LookupError};
use crate::server::{Client, Ctx};

/// Script flags, from a `#!lua flags=...` shebang or `register_function`.
pub mod script_flags {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// An EVAL script without a shebang: 6.x rules (may write, OOM checked
    /// per command). Never set on functions.
    pub const EVAL_COMPAT: u32 = 1 << 5;

    /// The names as scripts write them.
    pub const NAMES: &[(&str, u32)] = &[
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];
}

/// How many Lua instructions pass between two looks at the clock. Redis
/// uses the same count: about a millisecond of plain Lua on a laptop, so
/// a busy script is noticed within a millisecond of the threshold.
const HOOK_EVERY: u32 = 100_000;

/// A script known to the cache (`SCRIPT LOAD`, or the first EVAL).
pub struct CachedScript {
    /// The compiled chunk, its environment already the sandbox.
    pub function: Function,
    pub flags: u32,
    /// The body's size, for INFO's `used_memory_scripts_eval`.
    pub body_len: usize,
}

/// The script being run right now, for SCRIPT KILL and the busy hook.
pub struct Running {
    pub client_id: u64,
    /// FCALL (true) or EVAL (false): SCRIPT KILL kills only the second.
    pub function: bool,
    /// A write command was called: the script can no longer be killed.
    pub wrote: bool,
    /// SCRIPT KILL / FUNCTION KILL asked for the script to stop.
    pub kill: bool,
    pub started: Instant,
    /// The hook already reported the script as busy.
    pub busy: bool,
    /// The SHA1 or the function's name (FUNCTION STATS).
    pub name: String,
}

/// The interpreter and what it knows. One per server, replaced whole by
/// SCRIPT FLUSH (a fresh interpreter forgets every global a script
/// might have smuggled in).
pub struct Engine {
    pub lua: Lua,
    /// What scripts see as their globals: an empty table that reads
    /// through to the real globals and refuses writes.
    env: Table,
    /// The slot `redis.call`'s Lua wrapper calls through (`slots.call`),
    /// filled per run with a scoped function.
    slots: Table,
    /// Runs a function under the error handler: `(ok, result-or-err)`.
    runner: Function,
    /// The functions engine switches what its globals read through to:
    /// the loader's view (only `redis.register_function` and friends)
    /// while FUNCTION LOAD runs a library, the full view otherwise.
    /// `None` for the EVAL engine.
    views: Option<(Table, Table, Table)>,
}

/// Scripting state on the server.
pub struct Scripting {
    pub engine: Engine,
    /// FUNCTION's libraries, in their own interpreter.
    pub functions: Functions,
    /// EVAL's script cache, by lower-case hex SHA1 of the body.
    pub scripts: HashMap<String, CachedScript>,
    pub running: Option<Running>,
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting {
            engine: Engine::new(false).expect("the Lua interpreter starts"),
            functions: Functions::default(),
            scripts: HashMap::default(),
            running: None,
        }
    }
}

impl Scripting {
    /// SCRIPT FLUSH: forget every script and start a fresh interpreter.
    pub fn flush(&mut self) {
        self.scripts.clear();
        self.engine = Engine::new(false).expect("the Lua interpreter starts");
    }
}

/// One function of a library.
pub struct LibFunction {
    pub name: String,
    pub description: Option<Vec<u8>>,
    pub flags: u32,
    pub function: Function,
}

/// A library: its code (kept for FUNCTION LIST WITHCODE, DUMP and the
/// RDB) and the functions it registered.
pub struct Library {
    pub name: String,
    pub code: Vec<u8>,
    pub functions: Vec<LibFunction>,
}

/// FUNCTION's registry.
pub struct Functions {
    pub engine: Engine,
    /// By library name, so FUNCTION LIST and DUMP have a stable order.
    pub libraries: std::collections::BTreeMap<String, Library>,
    /// Lower-case function name (FCALL's lookup ignores case) to the
    /// library that holds it.
    pub index: HashMap<String, String>,
}

impl Default for Functions {
    fn default() -> Self {
        Functions {
            engine: Engine::new(true).expect("the Lua interpreter starts"),
            libraries: Default::default(),
            index: HashMap::default(),
        }
    }
}

impl Functions {
    /// Find a function by name, as FCALL does.
    pub fn find(&self, name: &[u8]) -> Option<&LibFunction> {
        let lower = String::from_utf8_lossy(name).to_lowercase();
        let lib = self.index.get(&lower)?;
        self.libraries[lib]
            .functions
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(&lower))
    }

    /// Add a loaded library, replacing one of the same name.
    /// Every library's code, in name order: what a snapshot saves.
    pub fn codes(&self) -> Vec<&[u8]> {
        self.libraries.values().map(|l| &l.code[..]).collect()
    }

    pub fn insert(&mut self, library: Library) {
        self.remove(&library.name);
        for f in &library.functions {
            self.index
                .insert(f.name.to_lowercase(), library.name.clone());
        }
        self.libraries.insert(library.name.clone(), library);
    }

    pub fn remove(&mut self, name: &str) -> Option<Library> {
        let lib = self.libraries.remove(name)?;
        for f in &lib.functions {
            self.index.remove(&f.name.to_lowercase());
        }
        Some(lib)
    }

    pub fn flush(&mut self) {
        *self = Functions::default();
    }

    pub fn function_count(&self) -> usize {
        self.index.len()
    }
}

/// The hex SHA1 of a script body (`sha1hex`), which names it in the cache.
pub fn sha1_hex(bytes: &[u8]) -> String {
    let digest = Sha1::digest(bytes);
    let mut s = String::with_capacity(40);
    for b in digest {
        s.push(char::from_digit((b >> 4) as u32, 16).unwrap());
        s.push(char::from_digit((b & 15) as u32, 16).unwrap());
    }
    s
}

// ANCHOR: scripting_prelude
/// The Lua half of the `redis` library, run once per interpreter with the
/// real globals. `slots` is the table each run fills with its scoped Rust
/// functions; everything else is captured as locals so that scripts
/// cannot reach or replace it.
const PRELUDE: &str = r#"
local slots = ...
local getinfo, error, type, tostring, xpcall = debug.getinfo, error, type, tostring, xpcall
local select, unpack, raw_pcall = select, unpack, pcall
local ssub, raw_getmetatable, raw_setmetatable = string.sub, getmetatable, setmetatable

-- Where was the script when it raised? The nearest frame of Lua code
-- that is not this glue (named "=..."): the script ("@user_script"), or
-- a chunk it built with loadstring (named by its own text).
local function place(err)
  for level = 2, 50 do
    local info = getinfo(level, 'Sl')
    if not info then return end
    if info.what ~= 'C' and ssub(info.source, 1, 1) ~= '=' then
      err.source = info.source
      err.line = info.currentline
      return
    end
  end
end

-- An error raised by redis.call and the other Rust helpers arrives as
-- a userdata; slots.unwrap turns it back into its {err=...} table.
local function unwrap(err)
  if type(err) == 'userdata' then
    local t = slots.unwrap(err)
    if t then return t end
  end
  return err
end

local function handler(err)
  err = unwrap(err)
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if err.source == nil and type(err.err) == 'string' then place(err) end
  return err
end

-- unpack(t, i, j) counts its results in a C int, j - i + 1: with
-- unpack(t, -2, 2147483647) the count overflows and stock Lua 5.1 crashes
-- the whole server (Redis patches lbaselib.c for this). So the checks of
-- luaB_unpack are made here first, in doubles, where the count is exact,
-- with its messages: the original then only ever runs on a range it can
-- hold. (Raised at level 2, a message names the script's line, as the C
-- function's own errors do in Redis.)
do
  local unpack, tonumber, floor, ceil = unpack, tonumber, math.floor, math.ceil
  local function c_int(x) if x < 0 then return ceil(x) end return floor(x) end
  local function int_arg(v, n, default)
    if v == nil then return default end
    local x = tonumber(v)
    if x == nil then
      error('bad argument #' .. n .. " to 'unpack' (number expected, got " .. type(v) .. ')', 3)
    end
    return c_int(x)
  end
  -- Not a tail call: a tail call would hide the caller.
  local function pass(...) return ... end
  _G.unpack = function(...)
    local t, i, j = ...
    local nargs = select('#', ...)
    if type(t) ~= 'table' then
      local got = nargs == 0 and 'no value' or type(t)
      error("bad argument #1 to 'unpack' (table expected, got " .. got .. ')', 2)
    end
    local first = int_arg(i, 2, 1)
    local last = int_arg(j, 3, #t)
    if first > last then return end
    -- LUAI_MAXCSTACK (8000) slots, the arguments included.
    if last - first + 1 + nargs > 8000 then
      error('too many results to unpack', 2)
    end
    -- The original gets the caller's own arguments: its stack check
    -- counts them, and so must match Redis's to the slot.
    return pass(unpack(...))
  end
end

-- Bytecode can crash the interpreter: loadstring only takes source.
local raw_loadstring = loadstring
loadstring = function(s, ...)
  if type(s) == 'string' and s:sub(1, 1) == '\27' then
    return nil, 'binary chunks are not allowed'
  end
  return raw_loadstring(s, ...)
end

-- getmetatable: a script may not reach the metatables that protect the
-- read-only tables (it gets a locked stand-in) nor those of strings and
-- the other basic types (nil: they are shared by every script).
getmetatable = function(v)
  if type(v) ~= 'table' then return nil end
  if slots.readonly[v] then
    return raw_setmetatable({}, {__newindex = slots.readonly_fn, __metatable = false})
  end
  return raw_getmetatable(v)
end

-- A script's pcall sees an error table as its message (what 7.0 does),
-- so `pcall(redis.call, ...)` returns false and the error text.
local function pack(...) return select('#', ...), {...} end
pcall = function(...)
  local n, r = pack(raw_pcall(...))
  if not r[1] then r[2] = unwrap(r[2]) end
  if not r[1] and type(r[2]) == 'table' and r[2].err then r[2] = r[2].err end
  return unpack(r, 1, n)
end

redis.error_reply = function(msg)
  if type(msg) ~= 'string' then
    error({err = 'ERR wrong number or type of arguments', source = false}, 0)
  end
  if msg:sub(1, 1) == '-' then msg = msg:sub(2) end
  return {err = msg}
end
redis.status_reply = function(msg)
  if type(msg) ~= 'string' then
    error({err = 'ERR wrong number or type of arguments', source = false}, 0)
  end
  return {ok = msg}
end
redis.replicate_commands = function() return true end

return function(f, ...)
  local args = {...}
  local n = select('#', ...)
  return xpcall(function() return f(unpack(args, 1, n)) end, handler)
end
"#;
// ANCHOR_END: scripting_prelude

impl Engine {
    /// A fresh interpreter; `for_functions` adds the loader's view with
    /// `redis.register_function`.
    pub fn new(for_functions: bool) -> mlua::Result<Engine> {
        // SAFETY: mlua calls the `debug` library unsafe because some of
        // its functions (getregistry, setupvalue, setmetatable on any
        // value, sethook) let Lua code reach and break the interpreter
        // state mlua relies on. We need `debug.getinfo` (errors cite the
        // script's line) and scripts use `debug.traceback`; right below,
        // every other function of the library is removed before any
        // script runs, so no script can reach the dangerous ones.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        let globals = lua.globals();
        // Nothing that reaches files or loads code from elsewhere.
        for name in [
            "loadfile", "dofile", "print", "module", "require", "getfenv", "setfenv", "newproxy",
        ] {
            globals.raw_set(name, Value::Nil)?;
        }
        let slots = lua.create_table()?;
        let redis = lua.create_table()?;
        redis.set("REDIS_VERSION", crate::server::config::REDIS_VERSION)?;
        redis.set("REDIS_VERSION_NUM", redis_version_num())?;
        for (name, value) in [
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
        ] {
            redis.set(name, value)?;
        }
        redis.set(
            "sha1hex",
            lua.create_function(|_, v: Value| match v {
                Value::String(s) => Ok(sha1_hex(&s.as_bytes())),
                Value::Integer(i) => Ok(sha1_hex(lua_number_text(i as f64).as_bytes())),
                Value::Number(n) => Ok(sha1_hex(lua_number_text(n).as_bytes())),
                _ => Err(mlua::Error::RuntimeError(
                    "wrong number of arguments".into(),
                )),
            })?,
        )?;
        // redis.call and friends are Rust functions (C functions to Lua):
        // a Lua wrapper would be tail-called by `return redis.call(...)`,
        // and Lua 5.1 forgets the line of a frame it tail-calls from.
        for (name, slot, raise) in [
            ("call", "call", Some(true)),
            ("pcall", "call", Some(false)),
            ("setresp", "call_setresp", None),
            ("set_repl", "call_set_repl", None),
            ("log", "call_log", None),
        ] {
            redis.raw_set(name, forwarder(&lua, &slots, slot, raise)?)?;
        }
        slots.raw_set(
            "unwrap",
            lua.create_function(|lua, err: Value| match err {
                Value::Error(e) => match find_script_error(&e) {
                    Some(se) => Ok(Value::Table(se.to_table(lua)?)),
                    None => Ok(Value::Nil),
                },
                _ => Ok(Value::Nil),
            })?,
        )?;
        // The helpers that need no running command exist for good.
        slots.raw_set(
            "call_set_repl",
            lua.create_function(move |lua, args: MultiValue| {
                if args.len() != 1 {
                    return raise(lua_err_table(lua, "ERR redis.set_repl() requires one argument.")?);
                }
                match args.front() {
                    Some(Value::Integer(0..=3)) => Ok((Value::Nil, false)),
                    _ => raise(lua_err_table(
                        lua,
                        "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                    )?),
                }
            })?,
        )?;
        slots.raw_set(
            "call_log",
            lua.create_function(move |lua, args: MultiValue| {
                if args.len() < 2 {
                    return raise(lua_err_table(
                        lua,
                        "ERR redis.log() requires two arguments or more.",
                    )?);
                }
                let level = match args.front() {
                    Some(Value::Integer(l @ 0..=3)) => *l,
                    Some(Value::Integer(_)) => {
                        return raise(lua_err_table(lua, "ERR Invalid debug level.")?)
                    }
                    _ => {
                        return raise(lua_err_table(
                            lua,
                            "ERR First argument must be a number (log level).",
                        )?)
                    }
                };
                let mut line = String::new();
                for (i, v) in args.iter().skip(1).enumerate() {
                    if i > 0 {
                        line.push(' ');
                    }
                    if let Ok(Some(s)) = lua.coerce_string(v.clone()) {
                        line.push_str(&s.to_string_lossy());
                    }
                }
                if level >= 2 {
                    eprintln!("{line}");
                }
                Ok((Value::Nil, false))
            })?,
        )?;
        globals.raw_set("redis", redis.clone())?;
        globals.raw_set("bit", bit_library(&lua)?)?;

        let runner: Function = lua.load(PRELUDE).set_name("=prelude").call(slots.clone())?;
        // The prelude kept what it needs of `debug` (getinfo); scripts do
        // not see the library at all, as in Redis 7.0.
        globals.raw_set("debug", Value::Nil)?;

        // Reading a global that does not exist is an error (level 2: the
        // script's line, not this function's).
        let strict: Table = lua.create_table()?;
        strict.raw_set(
            "__index",
            lua.load(
                r#"return function(_, name)
                     error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
                   end"#,
            )
            .set_name("=strict")
            .eval::<Function>()?,
        )?;
        let readonly_fn = lua
            .load(r#"return function() error("Attempt to modify a readonly table", 2) end"#)
            .set_name("=readonly")
            .eval::<Function>()?;
        // Code compiled by `loadstring` gets the real globals: they
        // refuse writes too.
        strict.raw_set("__newindex", readonly_fn.clone())?;
        strict.raw_set("__metatable", false)?;
        globals.set_metatable(Some(strict.clone()))?;

        // The scripts' globals: empty, reading through to the real ones,
        // refusing writes.
        let env = lua.create_table()?;
        let meta = lua.create_table()?;
        meta.raw_set("__index", globals.clone())?;
        meta.raw_set("__newindex", readonly_fn.clone())?;
        meta.raw_set("__metatable", false)?;
        env.set_metatable(Some(meta.clone()))?;
        // The redis library is read-only as well: scripts see a proxy.
        let redis_proxy = lua.create_table()?;
        let redis_meta = lua.create_table()?;
        redis_meta.raw_set("__index", redis.clone())?;
        redis_meta.raw_set("__newindex", readonly_fn.clone())?;
        redis_meta.raw_set("__metatable", false)?;
        redis_proxy.set_metatable(Some(redis_meta))?;
        let readonly = lua.create_table()?;
        for t in [&globals, &env, &redis, &redis_proxy] {
            readonly.raw_set(t.clone(), true)?;
        }
        slots.raw_set("readonly_fn", readonly_fn.clone())?;
        // The libraries are shared by every script: scripts see them
        // through read-only proxies (`string.x = 1` is refused).
        for name in ["string", "table", "math", "bit", "coroutine"] {
            let Ok(Value::Table(library)) = globals.raw_get::<Value>(name) else {
                continue;
            };
            let proxy = lua.create_table()?;
            let proxy_meta = lua.create_table()?;
            proxy_meta.raw_set("__index", library)?;
            proxy_meta.raw_set("__newindex", readonly_fn.clone())?;
            proxy_meta.raw_set("__metatable", false)?;
            proxy.set_metatable(Some(proxy_meta))?;
            readonly.raw_set(proxy.clone(), true)?;
            globals.raw_set(name, proxy)?;
        }
        let views = if for_functions {
            // Run-time view: `redis` and `_G`, then the real globals.
            let run_view = lua.create_table()?;
            run_view.raw_set("redis", redis_proxy.clone())?;
            run_view.raw_set("_G", env.clone())?;
            let run_meta = lua.create_table()?;
            run_meta.raw_set("__index", globals.clone())?;
            run_meta.raw_set("__newindex", readonly_fn.clone())?;
            run_view.set_metatable(Some(run_meta))?;
            // Load-time view: a `redis` with register_function, log and
            // the constants; anything else is a nonexistent global.
            let load_redis = lua.create_table()?;
            load_redis.raw_set(
                "register_function",
                forwarder(&lua, &slots, "register", None)?,
            )?;
            load_redis.raw_set("log", redis.raw_get::<Value>("log")?)?;
            for (k, v) in redis.clone().pairs::<String, Value>().flatten() {
                if k.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    load_redis.raw_set(k, v)?;
                }
            }
            let load_view = lua.create_table()?;
            load_view.raw_set("redis", load_redis.clone())?;
            let load_meta = lua.create_table()?;
            load_meta.raw_set("__index", strict.raw_get::<Value>("__index")?)?;
            load_meta.raw_set("__newindex", readonly_fn.clone())?;
            load_view.set_metatable(Some(load_meta.clone()))?;
            load_redis.set_metatable(Some(load_meta))?;
            for t in [&run_view, &load_view, &load_redis] {
                readonly.raw_set(t.clone(), true)?;
            }
            meta.raw_set("__index", run_view.clone())?;
            Some((meta, run_view, load_view))
        } else {
            // `_G` in a script is its own globals, not the real table.
            env.raw_set("_G", env.clone())?;
            env.raw_set("redis", redis_proxy.clone())?;
            None
        };
        slots.raw_set("readonly", readonly)?;
        // rawset and setmetatable bypass metatables: they check the
        // read-only tables themselves.
        for name in ["rawset", "setmetatable"] {
            let original: Function = globals.raw_get(name)?;
            globals.raw_set(name, readonly_guard(&lua, &slots, original)?)?;
        }
        Ok(Engine {
            lua,
            env,
            slots,
            runner,
            views,
        })
    }

    /// Switch the functions engine's globals to the loader's view (or
    /// back).
    fn set_loading(&self, loading: bool) -> mlua::Result<()> {
        if let Some((meta, run_view, load_view)) = &self.views {
            meta.raw_set("__index", if loading { load_view } else { run_view })?;
        }
        Ok(())
    }

    /// Compile a body into a function whose globals are the sandbox.
    /// The error text is Lua's (`user_script:1: unexpected symbol ...`).
    pub fn compile(&self, body: &[u8], name: &str) -> Result<Function, String> {
        self.lua
            .load(body)
            .set_name(name)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }
}

/// An error a helper raises: Redis's `{err=...}` table, carried through
/// mlua's error path as Rust data (mlua raises Rust errors as userdata;
/// the prelude's `unwrap` turns them back into the table).
#[derive(Debug, Clone)]
struct ScriptError {
    msg: String,
    /// The script's chunk name and line where the helper was called.
    place: Option<(String, i64)>,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for ScriptError {}

impl ScriptError {
    fn to_table(&self, lua: &Lua) -> mlua::Result<Table> {
        let t = lua.create_table()?;
        t.raw_set("err", self.msg.as_str())?;
        if let Some((source, line)) = &self.place {
            t.raw_set("source", source.as_str())?;
            t.raw_set("line", *line)?;
        }
        Ok(t)
    }
}

fn find_script_error(e: &mlua::Error) -> Option<&ScriptError> {
    match e {
        mlua::Error::CallbackError { cause, .. } => find_script_error(cause),
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<ScriptError>(),
        mlua::Error::WithContext { cause, .. } => find_script_error(cause),
        _ => None,
    }
}

// ANCHOR: scripting_forwarder
/// A `redis.*` function: looks up this run's scoped function in `slots`
/// and calls it; a `(table, true)` answer is raised as the table, placed
/// at the script's line (level 1: whoever called us).
fn forwarder(
    lua: &Lua,
    slots: &Table,
    slot: &'static str,
    raise_flag: Option<bool>,
) -> mlua::Result<Function> {
    let slots = slots.clone();
    lua.create_function(move |lua, mut args: MultiValue| {
        let scoped: Function = slots.raw_get(slot)?;
        if let Some(flag) = raise_flag {
            args.push_front(Value::Boolean(flag));
        }
        let (value, failed): (Value, bool) = scoped.call(args)?;
        let (true, Value::Table(t)) = (failed, &value) else {
            return Ok(value);
        };
        let msg: String = t.raw_get("err")?;
        let place = lua
            .inspect_stack(1, |d| {
                let source = d.source().source.map(|s| s.into_owned());
                let line = d.current_line();
                source.zip(line).map(|(s, l)| (s, l as i64))
            })
            .flatten();
        Err(mlua::Error::external(ScriptError { msg, place }))
    })
}
// ANCHOR_END: scripting_forwarder

/// `rawset` / `setmetatable` refusing the tables listed in
/// `slots.readonly`, with Redis's error placed at the script's line.
fn readonly_guard(lua: &Lua, slots: &Table, original: Function) -> mlua::Result<Function> {
    let slots = slots.clone();
    lua.create_function(move |lua, args: MultiValue| {
        if let Some(Value::Table(t)) = args.front() {
            let readonly: Table = slots.raw_get("readonly")?;
            if readonly.raw_get::<bool>(t.clone()).unwrap_or(false) {
                let place = lua
                    .inspect_stack(1, |d| {
                        let source = d.source().source.map(|s| s.into_owned());
                        source.zip(d.current_line()).map(|(s, l)| (s, l as i64))
                    })
                    .flatten();
                return Err(mlua::Error::external(ScriptError {
                    msg: "ERR Attempt to modify a readonly table".into(),
                    place,
                }));
            }
        }
        original.call::<MultiValue>(args)
    })
}

/// A Lua 5.1 number as Lua writes it (`%.14g`): 14 significant digits,
/// trailing zeros dropped, exponent form below 1e-4 or from 1e14 on.
/// `redis.sha1hex(1/3)` hashes this text, as Lua's `tostring` would.
pub fn lua_number_text(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.into();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Round to 14 significant digits first: the exponent is the rounded
    // number's (9.99999999999999e13 rounds up to 1e14).
    let sci = format!("{n:.13e}");
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("an integer exponent");
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..14).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let decimals = (13 - exp).max(0) as usize;
        trim(&format!("{n:.decimals$}"))
    }
}

/// `REDIS_VERSION_NUM`: 7.0.15 is 0x07000f.
fn redis_version_num() -> i64 {
    let mut num = 0;
    for part in crate::server::config::REDIS_VERSION.split('.') {
        num = (num << 8) | part.parse::<i64>().unwrap_or(0);
    }
    num
}

// ANCHOR: scripting_bit
/// The `bit` library (LuaBitOp's interface) over 32-bit integers: Lua 5.1
/// numbers are doubles, so every operand is first wrapped to a signed
/// 32-bit value, as LuaBitOp does (`bit.tobit(2^32 + 1) == 1`).
fn bit_library(lua: &Lua) -> mlua::Result<Table> {
    fn tobit(n: f64) -> i32 {
        // Wrap modulo 2^32 like LuaBitOp's "add 2^52+2^51 and take the
        // low word" trick, without the trick.
        (n.trunc().rem_euclid(4294967296.0) as u64 as u32) as i32
    }
    let bit = lua.create_table()?;
    bit.set("tobit", lua.create_function(|_, n: f64| Ok(tobit(n)))?)?;
    bit.set("bnot", lua.create_function(|_, n: f64| Ok(!tobit(n)))?)?;
    let fold = |lua: &Lua, op: fn(i32, i32) -> i32| {
        lua.create_function(move |_, ns: mlua::Variadic<f64>| {
            let mut it = ns.iter();
            let first = it.next().copied().unwrap_or(0.0);
            Ok(it.fold(tobit(first), |acc, &n| op(acc, tobit(n))))
        })
    };
    bit.set("band", fold(lua, |a, b| a & b)?)?;
    bit.set("bor", fold(lua, |a, b| a | b)?)?;
    bit.set("bxor", fold(lua, |a, b| a ^ b)?)?;
    let shift = |lua: &Lua, op: fn(i32, u32) -> i32| {
        lua.create_function(move |_, (n, s): (f64, f64)| Ok(op(tobit(n), (tobit(s) & 31) as u32)))
    };
    bit.set("lshift", shift(lua, |a, s| ((a as u32) << s) as i32)?)?;
    bit.set("rshift", shift(lua, |a, s| ((a as u32) >> s) as i32)?)?;
    bit.set("arshift", shift(lua, |a, s| a >> s)?)?;
    bit.set("rol", shift(lua, |a, s| (a as u32).rotate_left(s) as i32)?)?;
    bit.set("ror", shift(lua, |a, s| (a as u32).rotate_right(s) as i32)?)?;
    bit.set(
        "bswap",
        lua.create_function(|_, n: f64| Ok(tobit(n).swap_bytes()))?,
    )?;
    bit.set(
        "tohex",
        lua.create_function(|_, (n, digits): (f64, Option<f64>)| {
            let v = tobit(n) as u32;
            // i64: `-(-2^31)` does not fit an i32.
            let d = digits.map(tobit).unwrap_or(8) as i64;
            let (count, upper) = if d < 0 { (-d, true) } else { (d, false) };
            let count = count.clamp(1, 8) as usize;
            let full = if upper {
                format!("{v:08X}")
            } else {
                format!("{v:08x}")
            };
            Ok(full[8 - count..].to_string())
        })?,
    )?;
    Ok(bit)
}
// ANCHOR_END: scripting_bit

/// Parse a `#!lua flags=a,b` first line. Returns the flags and how many
/// bytes the line takes (without its newline, so line numbers survive).
/// A body without a shebang is an EVAL in compatibility mode.
pub fn parse_shebang(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((script_flags::EVAL_COMPAT, 0));
    }
    let line_len = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..line_len]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut result = 0;
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match script_flags::NAMES.iter().find(|(n, _)| *n == flag) {
                Some((_, bit)) => result |= bit,
                None => return Err(format!("ERR Unexpected flag in script shebang: {flag}")),
            }
        }
    }
    Ok((result, line_len))
}

// ANCHOR: scripting_run_state
/// What the scoped functions of one run share: the command's context and
/// the fake client the script's commands run on.
struct RunState<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    lua_client: Client,
    /// EVAL_RO / FCALL_RO or a `no-writes` script.
    read_only: bool,
    flags: u32,
}
// ANCHOR_END: scripting_run_state

/// Which kind of run: decides the error suffix and SCRIPT vs FUNCTION KILL.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Eval,
    Function,
}

/// The checks before a script with declared flags may start (Redis's
/// `scriptPrepareForRun`). `Err` is the reply.
pub fn prepare_for_run(
    ctx: &mut Ctx,
    flags: u32,
    read_only_command: bool,
) -> Result<(), &'static str> {
    if flags & script_flags::EVAL_COMPAT != 0 || flags & script_flags::NO_WRITES != 0 {
        return Ok(());
    }
    if let Some(msg) = crate::commands::persistence::writes_denied_by_disk_error(ctx.server) {
        return Err(msg);
    }
    if read_only_command {
        return Err("ERR Can not execute a script with write flag using *_ro command.");
    }
    if flags & script_flags::ALLOW_OOM == 0
        && ctx.server.config.maxmemory > 0
        && crate::evict::refuse_for_oom(ctx.server, ctx.client, ctx.cmd)
    {
        return Err(crate::evict::OOM_ERR);
    }
    Ok(())
}

/// One script or function to run, as EVAL or FCALL found it.
pub struct Invocation<'a> {
    pub function: Function,
    pub kind: RunKind,
    /// What errors cite: the SHA1 or the function's name.
    pub name: &'a str,
    pub flags: u32,
    /// EVAL_RO / FCALL_RO.
    pub read_only: bool,
    /// KEYS and ARGV (EVAL), or the function's two arguments (FCALL).
    pub keys: &'a [&'a [u8]],
    pub argv: &'a [&'a [u8]],
}

// ANCHOR: scripting_run
/// Run a script or function for the command in `ctx` and write its
/// reply.
pub fn run(ctx: &mut Ctx, invocation: Invocation) {
    let Invocation {
        function,
        kind,
        name,
        flags,
        read_only,
        keys,
        argv,
    } = invocation;
    let engine = match kind {
        RunKind::Eval => &ctx.server.scripting.engine,
        RunKind::Function => &ctx.server.scripting.functions.engine,
    };
    let engine_lua = engine.lua.clone();
    let env = engine.env.clone();
    let slots = engine.slots.clone();
    let runner = engine.runner.clone();
    let lua = &engine_lua;

    let to_table = |items: &[&[u8]]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            t.raw_set(i + 1, lua.create_string(item)?)?;
        }
        Ok(t)
    };
    let (keys_table, argv_table) = match (to_table(keys), to_table(argv)) {
        (Ok(k), Ok(a)) => (k, a),
        _ => {
            ctx.reply().error("ERR Lua out of memory");
            return;
        }
    };
    let call_args: Vec<Value> = match kind {
        RunKind::Eval => {
            let _ = env.raw_set("KEYS", keys_table);
            let _ = env.raw_set("ARGV", argv_table);
            Vec::new()
        }
        RunKind::Function => vec![Value::Table(keys_table), Value::Table(argv_table)],
    };

    let mut lua_client = Client::new(u64::MAX, ctx.client.addr, ctx.client.local_addr, -1);
    lua_client.lua = true;
    lua_client.db = ctx.client.db;
    lua_client.authenticated = true;
    // A script must not block (BLPOP in a script answers at once).
    lua_client.in_exec = true;

    ctx.server.scripting.running = Some(Running {
        client_id: ctx.client.id,
        function: kind == RunKind::Function,
        wrote: false,
        kill: false,
        started: Instant::now(),
        busy: false,
        name: name.to_string(),
    });

    let state = RefCell::new(RunState {
        ctx: &mut *ctx,
        lua_client,
        read_only: read_only || flags & script_flags::NO_WRITES != 0,
        flags,
    });

    let outcome: mlua::Result<MultiValue> = lua.scope(|scope| {
        let state = &state;
        slots.raw_set(
            "call",
            scope.create_function_mut(move |lua, args: MultiValue| {
                let mut st = state.borrow_mut();
                script_call(lua, &mut st, args)
            })?,
        )?;
        slots.raw_set(
            "call_setresp",
            scope.create_function_mut(move |_, args: MultiValue| {
                let mut st = state.borrow_mut();
                match args.front() {
                    Some(Value::Integer(2)) if args.len() == 1 => {
                        st.lua_client.reply.protocol = Protocol::Resp2
                    }
                    Some(Value::Integer(3)) if args.len() == 1 => {
                        st.lua_client.reply.protocol = Protocol::Resp3
                    }
                    _ if args.len() != 1 => {
                        return raise(lua_err_table(
                            lua,
                            "ERR redis.setresp() requires one argument.",
                        )?)
                    }
                    _ => return raise(lua_err_table(lua, "ERR RESP version must be 2 or 3.")?),
                }
                Ok((Value::Nil, false))
            })?,
        )?;
        // The hook is 'static: it finds this run's tick through the slot.
        slots.raw_set(
            "tick",
            scope.create_function_mut(move |_, ()| {
                let mut st = state.borrow_mut();
                Ok(tick(&mut st, kind))
            })?,
        )?;
        let hook_slots = slots.clone();
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |_, _| {
                let tick: Function = hook_slots.raw_get("tick")?;
                if tick.call::<bool>(())? {
                    return Err(mlua::Error::RuntimeError("killed".into()));
                }
                Ok(VmState::Continue)
            },
        )?;
        let mut all = MultiValue::new();
        all.push_back(Value::Function(function));
        all.extend(call_args);
        let out = runner.call::<MultiValue>(all);
        lua.remove_hook();
        out
    });
    for slot in ["call", "call_setresp", "tick"] {
        let _ = slots.raw_set(slot, Value::Nil);
    }

    let RunState { lua_client, .. } = state.into_inner();
    drop(lua_client);
    let running = ctx.server.scripting.running.take();
    let killed = running.as_ref().is_some_and(|r| r.kill);
    let reply = &mut ctx.client.reply;
    if killed {
        reply.error("ERR Script killed by user with SCRIPT KILL...");
    } else {
        match outcome {
            Ok(values) => {
                let mut it = values.into_iter();
                let ok = matches!(it.next(), Some(Value::Boolean(true)));
                let value = it.next().unwrap_or(Value::Nil);
                if ok {
                    lua_to_reply(reply, &value, 0);
                } else {
                    script_error_reply(reply, &value, name, kind);
                }
            }
            Err(e) => reply.error(&format!("ERR {e}")),
        }
    }
    if kind == RunKind::Eval {
        let _ = env.raw_set("KEYS", Value::Nil);
        let _ = env.raw_set("ARGV", Value::Nil);
    }
}
// ANCHOR_END: scripting_run

/// A helper's argument error: the error table and the "failed" marker
/// its Lua wrapper raises on.
fn raise(t: Table) -> mlua::Result<(Value, bool)> {
    Ok((Value::Table(t), true))
}

fn lua_err_table(lua: &Lua, msg: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    Ok(t)
}

/// The error reply of a script that raised: `<msg> script: <name>, on
/// <source>:<line>.`
fn script_error_reply(reply: &mut Reply, value: &Value, name: &str, kind: RunKind) {
    let (msg, place) = match value {
        Value::Table(t) => {
            let msg: String = t
                .raw_get("err")
                .unwrap_or_else(|_| "ERR unknown error".into());
            let source: Option<String> = t.raw_get("source").ok();
            let line: Option<i64> = t.raw_get("line").ok();
            (msg, source.zip(line))
        }
        // A Rust-side error (an argument check of a helper): its message
        // is the error table's text.
        Value::Error(e) => (error_text(e), None),
        other => (format!("ERR {other:?}"), None),
    };
    let mut msg = msg;
    if !msg.contains(' ') || msg.starts_with(char::is_lowercase) {
        msg.insert_str(0, "ERR ");
    }
    let what = match kind {
        RunKind::Eval => "script",
        RunKind::Function => "script",
    };
    match place {
        Some((source, line)) => reply.error(&format!("{msg} {what}: {name}, on {source}:{line}.")),
        None => reply.error(&msg),
    }
}

/// The text of an mlua error that wraps one of ours.
fn error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        mlua::Error::ExternalError(inner) => inner.to_string(),
        mlua::Error::RuntimeError(msg) => format!("ERR {msg}"),
        other => format!("ERR {other}"),
    }
}

/// Called by the instruction hook every [`HOOK_EVERY`] instructions: once
/// the script is past `busy-reply-threshold`, serve the other clients,
/// then report whether the script must stop.
fn tick(st: &mut RunState, kind: RunKind) -> bool {
    let server = &mut *st.ctx.server;
    let threshold = server.config.busy_reply_threshold as u128;
    let Some(running) = server.scripting.running.as_mut() else {
        return false;
    };
    if threshold > 0 && running.started.elapsed().as_millis() >= threshold {
        running.busy = true;
        let reason = match kind {
            RunKind::Eval => crate::server::busy::BusyReason::Eval,
            RunKind::Function => crate::server::busy::BusyReason::Function,
        };
        let client_id = st.ctx.client.id;
        crate::server::busy::serve_while_blocked(server, client_id, reason);
    }
    let kill_for_shutdown = server.shutdown_requested;
    let running = server.scripting.running.as_mut();
    running.is_some_and(|r| r.kill || kill_for_shutdown)
}

// ANCHOR: scripting_call
/// `redis.call` / `redis.pcall`: run one command on the fake client and
/// turn its reply into Lua. Returns `(reply, failed)`; the Lua wrapper of
/// `redis.call` raises when `failed`.
fn script_call(lua: &Lua, st: &mut RunState, args: MultiValue) -> mlua::Result<(Value, bool)> {
    let mut it = args.into_iter();
    let raise_errors = matches!(it.next(), Some(Value::Boolean(true)));
    let fail = |msg: &str| command_error(lua, raise_errors, msg);
    let mut argv = OwnedArgs::default();
    for v in it {
        match v {
            Value::String(s) => argv.push(&s.as_bytes()),
            // Numbers are sent with 17 significant digits (`%.17g`), not
            // Lua's 14: `2^53 - 1` arrives as 9007199254740991.
            Value::Integer(i) => argv.push(crate::resp::fmt_g17(i as f64).as_bytes()),
            Value::Number(n) => argv.push(crate::resp::fmt_g17(n).as_bytes()),
            _ => return fail("ERR Lua redis lib command arguments must be strings or integers"),
        }
    }
    if argv.is_empty() {
        return fail("ERR Please specify at least one argument for this redis lib call");
    }
    let args = argv.args();
    let server = &mut *st.ctx.server;
    let cmd = match server.renames.lookup(command_table(), args) {
        Ok(cmd) => cmd,
        Err(LookupError::Arity(_)) => {
            return command_error(
                lua,
                raise_errors,
                "ERR Wrong number of args calling Redis command from script",
            )
        }
        Err(_) => {
            return command_error(
                lua,
                raise_errors,
                "ERR Unknown Redis command called from script",
            )
        }
    };
    if cmd.has(flags::NOSCRIPT) {
        return command_error(
            lua,
            raise_errors,
            "ERR This Redis command is not allowed from script",
        );
    }
    // The caller's ACL user bounds what its script may run.
    if let Some(msg) = crate::acl::script_refusal(server, st.ctx.client, cmd, args) {
        return command_error(lua, raise_errors, msg);
    }
    // A read-only script may not write, nor run what may replicate
    // (PUBLISH): its caller promised the run changes nothing anywhere.
    if st.read_only && (cmd.has(flags::WRITE) || cmd.has(flags::MAY_REPLICATE)) {
        return command_error(
            lua,
            raise_errors,
            "ERR Write commands are not allowed from read-only scripts.",
        );
    }
    if cmd.has(flags::WRITE) {
        if let Some(msg) = crate::commands::persistence::writes_denied_by_disk_error(server) {
            return command_error(lua, raise_errors, msg);
        }
    }
    // Compatibility-mode scripts are checked for memory at their first
    // command that may grow it, as long as nothing was written yet.
    let wrote = server.scripting.running.as_ref().is_some_and(|r| r.wrote);
    if cmd.has(flags::DENYOOM)
        && !wrote
        && st.flags & script_flags::ALLOW_OOM == 0
        && server.config.maxmemory > 0
        && crate::evict::refuse_for_oom(server, &st.lua_client, cmd)
    {
        return command_error(lua, raise_errors, crate::evict::OOM_ERR);
    }
    if cmd.has(flags::WRITE) {
        if let Some(r) = server.scripting.running.as_mut() {
            r.wrote = true;
        }
    }
    st.lua_client.reply.buf.clear();
    crate::server::call(server, &mut st.lua_client, cmd, args);
    let bytes = std::mem::take(&mut st.lua_client.reply.buf);
    let mut pos = 0;
    let value = resp_to_lua(lua, &bytes, &mut pos)?;
    st.lua_client.reply.buf = bytes;
    let failed = bytes_is_error(&st.lua_client.reply.buf);
    Ok((value, failed && raise_errors))
}
// ANCHOR_END: scripting_call

fn bytes_is_error(buf: &[u8]) -> bool {
    buf.first() == Some(&b'-')
}

/// A refusal of the command itself: raised by `redis.call`, returned as an
/// error table by `redis.pcall`.
fn command_error(lua: &Lua, raise_errors: bool, msg: &str) -> mlua::Result<(Value, bool)> {
    Ok((Value::Table(lua_err_table(lua, msg)?), raise_errors))
}

// ANCHOR: scripting_resp_to_lua
/// Parse one RESP2/RESP3 reply starting at `*pos` into a Lua value.
fn resp_to_lua(lua: &Lua, buf: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let line_end = |from: usize| -> usize {
        buf[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| from + p)
            .unwrap_or(buf.len())
    };
    if *pos >= buf.len() {
        return Ok(Value::Nil);
    }
    let kind = buf[*pos];
    let end = line_end(*pos + 1);
    let line = &buf[*pos + 1..end];
    *pos = (end + 2).min(buf.len());
    let int = || crate::resp::parse_i64(line).unwrap_or(0);
    let single = |field: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(field, v)?;
        Ok(Value::Table(t))
    };
    Ok(match kind {
        b'+' => single("ok", Value::String(lua.create_string(line)?))?,
        b'-' => single("err", Value::String(lua.create_string(line)?))?,
        b':' => Value::Integer(int()),
        b'$' | b'=' => {
            let n = int();
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let start = *pos;
            let stop = (start + n as usize).min(buf.len());
            *pos = (stop + 2).min(buf.len());
            let body = &buf[start..stop];
            if kind == b'=' {
                let t = lua.create_table()?;
                t.raw_set("format", lua.create_string(&body[..3.min(body.len())])?)?;
                t.raw_set("string", lua.create_string(body.get(4..).unwrap_or(b""))?)?;
                return single("verbatim_string", Value::Table(t));
            }
            Value::String(lua.create_string(body)?)
        }
        b'*' | b'>' | b'~' | b'%' | b'|' => {
            let n = int();
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(if kind == b'*' { n as usize } else { 0 }, 0)?;
            match kind {
                b'%' | b'|' => {
                    for _ in 0..n {
                        let k = resp_to_lua(lua, buf, pos)?;
                        let v = resp_to_lua(lua, buf, pos)?;
                        t.raw_set(k, v)?;
                    }
                    if kind == b'|' {
                        // Attributes are metadata: skip them, read the
                        // reply they annotate.
                        return resp_to_lua(lua, buf, pos);
                    }
                    return single("map", Value::Table(t));
                }
                b'~' => {
                    for _ in 0..n {
                        let k = resp_to_lua(lua, buf, pos)?;
                        t.raw_set(k, true)?;
                    }
                    return single("set", Value::Table(t));
                }
                _ => {
                    for i in 0..n {
                        let v = resp_to_lua(lua, buf, pos)?;
                        t.raw_set(i + 1, v)?;
                    }
                }
            }
            Value::Table(t)
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(line == b"t"),
        b',' => {
            let d: f64 = std::str::from_utf8(line)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            single("double", Value::Number(d))?
        }
        b'(' => single("big_number", Value::String(lua.create_string(line)?))?,
        _ => Value::Nil,
    })
}
// ANCHOR_END: scripting_resp_to_lua

// ANCHOR: scripting_lua_to_reply
/// Write a Lua value as the script's reply, in the caller's protocol.
pub fn lua_to_reply(reply: &mut Reply, value: &Value, depth: usize) {
    match value {
        Value::Nil => reply.null(),
        Value::Boolean(true) => reply.boolean(true),
        Value::Boolean(false) => {
            if reply.is_resp3() {
                reply.boolean(false)
            } else {
                reply.null()
            }
        }
        Value::Integer(i) => reply.int(*i),
        // C's double-to-long-long cast: out of range (or NaN) is the
        // x86 "integer indefinite" value, which is what Redis replies.
        Value::Number(n) => reply.int(if n.is_finite() && n.abs() < i64::MAX as f64 {
            *n as i64
        } else {
            i64::MIN
        }),
        Value::String(s) => reply.bulk(&s.as_bytes()),
        Value::Table(t) => {
            // Nesting deeper than this is almost surely a cycle.
            if depth > 1000 {
                reply.error("ERR reached lua stack limit");
                return;
            }
            if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
                let msg = e.as_bytes();
                reply.error_bytes(&msg);
                return;
            }
            if let Ok(Value::String(ok)) = t.raw_get::<Value>("ok") {
                let text = ok.to_string_lossy().replace(['\r', '\n'], " ");
                reply.simple(&text);
                return;
            }
            if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
                reply.double(d);
                return;
            }
            if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
                reply.double(d as f64);
                return;
            }
            if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
                let at = reply.defer_len();
                let mut n = 0;
                for (k, v) in m.pairs::<Value, Value>().flatten() {
                    lua_to_reply(reply, &k, depth + 1);
                    lua_to_reply(reply, &v, depth + 1);
                    n += 1;
                }
                reply.set_len(at, Aggregate::Map, n);
                return;
            }
            if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
                let at = reply.defer_len();
                let mut n = 0;
                for (k, _) in s.pairs::<Value, Value>().flatten() {
                    lua_to_reply(reply, &k, depth + 1);
                    n += 1;
                }
                reply.set_len(at, Aggregate::Set, n);
                return;
            }
            // An array: up to the first nil.
            let at = reply.defer_len();
            let mut n = 0;
            loop {
                match t.raw_get::<Value>(n + 1) {
                    Ok(Value::Nil) | Err(_) => break,
                    Ok(v) => lua_to_reply(reply, &v, depth + 1),
                }
                n += 1;
            }
            reply.set_len(at, Aggregate::Array, n);
        }
        _ => reply.null(),
    }
}
// ANCHOR_END: scripting_lua_to_reply

// ANCHOR: scripting_load_library
/// FUNCTION LOAD's engine half: compile a library's code and run it with
/// the loader's view, collecting what it registers. `code` starts with
/// its `#!lua name=...` line (checked by the caller). The error is the
/// whole reply text.
pub fn load_library(functions: &Functions, name: &str, code: &[u8]) -> Result<Library, String> {
    let engine = &functions.engine;
    let line_len = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let chunk = engine
        .compile(&code[line_len..], "@user_function")
        .map_err(|e| format!("ERR Error compiling function: {e}"))?;
    let collected: RefCell<Vec<LibFunction>> = RefCell::new(Vec::new());
    let lua = &engine.lua;
    let outcome = lua.scope(|scope| {
        let collected = &collected;
        engine.slots.raw_set(
            "register",
            scope.create_function(move |lua, args: MultiValue| {
                register_function(lua, collected, args)
            })?,
        )?;
        engine.set_loading(true)?;
        let out = engine.runner.call::<MultiValue>(chunk);
        engine.set_loading(false)?;
        out
    });
    let _ = engine.slots.raw_set("register", Value::Nil);
    let _ = engine.set_loading(false);
    let values = outcome.map_err(|e| format!("ERR Error registering functions: {e}"))?;
    let mut it = values.into_iter();
    if !matches!(it.next(), Some(Value::Boolean(true))) {
        let msg = match it.next() {
            Some(Value::Table(t)) => t.raw_get::<String>("err").unwrap_or_default(),
            other => format!("{other:?}"),
        };
        return Err(format!("ERR Error registering functions: {msg}"));
    }
    let functions = collected.into_inner();
    if functions.is_empty() {
        return Err("ERR No functions registered".into());
    }
    Ok(Library {
        name: name.to_string(),
        code: code.to_vec(),
        functions,
    })
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=, callback=, flags=, description=}`.
fn register_function(
    lua: &Lua,
    collected: &RefCell<Vec<LibFunction>>,
    args: MultiValue,
) -> mlua::Result<(Value, bool)> {
    let fail = |msg: &str| -> mlua::Result<(Value, bool)> {
        Ok((Value::Table(lua_err_table(lua, msg)?), true))
    };
    let (name, callback, flags, description) = match args.len() {
        1 => {
            let Some(Value::Table(t)) = args.front() else {
                return fail("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
            };
            let (mut name, mut callback, mut flags, mut description) = (None, None, 0, None);
            for (k, v) in t.pairs::<Value, Value>().flatten() {
                let key = match &k {
                    Value::String(s) => s.to_string_lossy(),
                    _ => return fail(
                        "ERR named argument key given to redis.register_function is not a string",
                    ),
                };
                match (key.as_str(), v) {
                    ("function_name", Value::String(s)) => name = Some(s.to_string_lossy()),
                    ("function_name", _) => return fail("ERR function_name argument given to redis.register_function must be a string"),
                    ("description", Value::String(s)) => description = Some(s.as_bytes().to_vec()),
                    ("description", _) => return fail("ERR description argument given to redis.register_function must be a string"),
                    ("callback", Value::Function(f)) => callback = Some(f),
                    ("callback", _) => return fail("ERR callback argument given to redis.register_function must be a function"),
                    ("flags", Value::Table(list)) => {
                        for flag in list.sequence_values::<Value>() {
                            let Ok(Value::String(flag)) = flag else {
                                return fail("ERR unknown flag given");
                            };
                            let flag = flag.to_string_lossy();
                            match script_flags::NAMES.iter().find(|(n, _)| *n == flag) {
                                Some((_, bit)) => flags |= bit,
                                None => return fail("ERR unknown flag given"),
                            }
                        }
                    }
                    ("flags", _) => return fail("ERR flags argument to redis.register_function must be a table representing function flags"),
                    _ => return fail("ERR unknown argument given to redis.register_function"),
                }
            }
            let Some(name) = name else {
                return fail("ERR redis.register_function must get a function name argument");
            };
            let Some(callback) = callback else {
                return fail("ERR redis.register_function must get a callback argument");
            };
            (name, callback, flags, description)
        }
        2 => {
            let mut it = args.into_iter();
            let name = match it.next() {
                Some(Value::String(s)) => s.to_string_lossy(),
                _ => return fail("ERR first argument to redis.register_function must be a string"),
            };
            let Some(Value::Function(callback)) = it.next() else {
                return fail("ERR second argument to redis.register_function must be a function");
            };
            (name, callback, 0, None)
        }
        _ => return fail("ERR wrong number of arguments to redis.register_function"),
    };
    // (7.0 reuses the library-name message for function names.)
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return fail("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }
    let mut list = collected.borrow_mut();
    if list.iter().any(|f| f.name.eq_ignore_ascii_case(&name)) {
        return fail("ERR Function already exists in the library");
    }
    list.push(LibFunction {
        name,
        description,
        flags,
        function: callback,
    });
    Ok((Value::Nil, false))
}
// ANCHOR_END: scripting_load_library

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_lua_5_1_writes_them() {
        for (n, text) in [
            (3.0, "3"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e14, "1e+14"),
            (99999999999999.0, "99999999999999"),
            (9007199254740991.0, "9.007199254741e+15"),
            (1.0 / 3.0, "0.33333333333333"),
        ] {
            assert_eq!(lua_number_text(n), text, "{n}");
        }
    }

    #[test]
    fn shebang_flags_and_errors() {
        assert_eq!(
            parse_shebang(b"return 1"),
            Ok((script_flags::EVAL_COMPAT, 0))
        );
        assert_eq!(
            parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((script_flags::NO_WRITES | script_flags::ALLOW_OOM, 31))
        );
        assert_eq!(
            parse_shebang(b"#!lua name=x\n"),
            Err("ERR Unknown lua shebang option: name=x".into())
        );
        assert_eq!(
            parse_shebang(b"#!js\n"),
            Err("ERR Unexpected engine in script shebang: #!js".into())
        );
    }
}
