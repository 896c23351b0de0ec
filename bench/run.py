#!/usr/bin/env python3
"""Side-by-side benchmark: redis-anatomy against Debian's redis-server, in one run.

Usage (from the repository root, after `cargo build --release`):

    python3 bench/run.py                 # full run (~10 min), writes bench/results.md
    python3 bench/run.py --quick         # smoke run (~2 min), 1 round, short runs, 100k keys
    python3 bench/run.py --rounds 5      # more rounds (median/min/max over more pairs)
    python3 bench/run.py --tests set,get --pipelines 16 --sizes 3 --no-memory --no-persistence
    python3 bench/run.py --help          # every option

What it does, and why each step is there:

* Starts both servers with the same settings (no persistence: `--save "" --appendonly no`,
  loopback, a private working directory, free ports from --port-base upward). Where `taskset`
  works and cores 0 and 1 are available, both servers run on core 0 and every client
  (redis-benchmark, and this script's own loader) on core 1, so a server never competes with
  its client for a core. Otherwise nothing is pinned and the output says so.
* Absolute numbers on a shared 2-core machine drift from minute to minute; a ratio taken from
  two runs made back to back does not drift much. So every (test, pipeline depth, value size)
  is run against both servers in alternating order (A B, then B A in the next round, ...) and
  the table shows, per configuration, the median ratio anatomy/redis over the rounds, with the
  min and max.
* Throughput is redis-benchmark's requests per second. Server CPU time per request is read
  from /proc/<pid>/task/*/schedstat (first field: nanoseconds on CPU, summed over the server's
  threads) before and after each run, divided by the number of requests.
* The client's own CPU time (redis-benchmark's user + system time, from getrusage of this
  script's finished children) is shown too, per request and as the share of the run's wall
  time it was busy. When redis-benchmark is busy at least 95% of the run against both servers,
  the client is the bottleneck: such a row is still counted against the target, and is marked
  "client-bound", because there the throughput ratio measures how much work each server makes
  the client do rather than the server's own speed.
* Before the measured rounds, every configuration is run once against each server: that
  warms both up (allocator arenas, page cache, branch predictors) and calibrates -n so a run
  against Redis lasts about --duration seconds.
* A test whose commands this server does not implement yet is detected by sending each
  command once (an error reply means unsupported) and shown as "n/a (unsupported)".
* LRANGE_100/LRANGE_600 run as custom commands against a list this script fills with exactly
  600 elements of the given size, so the measured CPU is LRANGE's alone (redis-benchmark's own
  lrange tests run an LPUSH phase first).
* Memory: loads exactly N distinct keys (default 1,000,000) through a pipelined raw-RESP
  loader in this script (redis-benchmark -r draws keys at random, with repeats, so it cannot
  load an exact number of distinct keys), and reports used_memory and RSS growth per key;
  likewise 1M-member hashes, sets and sorted sets in small encodings (many keys of 100
  members, under the listpack/intset limits) and large ones (one key with 1M members).
  Each data set is loaded into freshly started servers.
* Persistence (SAVE and load time of the 1M string keys, BGREWRITEAOF time, SET throughput
  with appendfsync always/everysec) is measured on Redis and, once the server has SAVE and
  BGREWRITEAOF, on redis-anatomy; until then its column reads "n/a (persistence not built yet)".
* BGSAVE under load: with the same 1M keys (named as redis-benchmark -r names them, so the load
  overwrites them), BGSAVE, then at once redis-benchmark SET at -P 1 while the child writes:
  child duration (polled to 5 ms), throughput kept against the same run with no child, p99 and
  max latency, and rdb_last_cow_size, for both servers, interleaved.

Output: the table on stdout, and the same table in bench/results.md (or --output) with the
date, the machine (nproc, CPU model, kernel) and the exact command line.
Standard library only; needs redis-server and redis-benchmark on PATH (or --redis-server).
"""

import argparse
import datetime
import os
import resource
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ALL_TESTS = ["set", "get", "incr", "lpush", "rpush", "lpop", "rpop", "sadd", "hset",
             "spop", "zadd", "zpopmin", "lrange_100", "lrange_600", "mset"]

# One harmless command per thing a test needs; an error reply marks the test unsupported.
PROBES = {
    "set": [["SET", "bench:probe:s", "v"]],
    "get": [["GET", "bench:probe:s"]],
    "incr": [["INCR", "bench:probe:n"]],
    "lpush": [["LPUSH", "bench:probe:l", "a"]],
    "rpush": [["RPUSH", "bench:probe:l", "a"]],
    "lpop": [["LPOP", "bench:probe:l"]],
    "rpop": [["RPOP", "bench:probe:l"]],
    "sadd": [["SADD", "bench:probe:set", "a"]],
    "hset": [["HSET", "bench:probe:h", "f", "v"]],
    "spop": [["SPOP", "bench:probe:set"]],
    "zadd": [["ZADD", "bench:probe:z", "1", "a"]],
    "zpopmin": [["ZPOPMIN", "bench:probe:z"]],
    "lrange_100": [["RPUSH", "bench:probe:l", "a"], ["LRANGE", "bench:probe:l", "0", "99"]],
    "lrange_600": [["RPUSH", "bench:probe:l", "a"], ["LRANGE", "bench:probe:l", "0", "599"]],
    "mset": [["MSET", "bench:probe:a", "1", "bench:probe:b", "2"]],
}

LRANGE_KEY = "bench:lrange"
LRANGE_LEN = 600


# ---------------------------------------------------------------------------------------------
# A minimal RESP2 client
# ---------------------------------------------------------------------------------------------

class RespError(Exception):
    pass


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b"%d" % a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=120):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass

    def _read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise ConnectionError("bad reply %r" % line)

    def call(self, *args):
        self.sock.sendall(encode(args))
        return self._read()

    def load(self, batches):
        """Pipelined loader: each batch is (bytes of N commands, N); every reply must be a
        one-line non-error reply (+OK or :n). Returns the number of replies read."""
        total = 0
        for data, count in batches:
            self.sock.sendall(data)
            seen = 0
            while seen < count:
                chunk = self.f.read1(1 << 20)
                if not chunk:
                    raise ConnectionError("connection closed while loading")
                if chunk.startswith(b"-") or b"\n-" in chunk:
                    raise RespError("loader got an error reply: %r" % chunk[:200])
                seen += chunk.count(b"\r\n")
            total += seen
        return total


def info_fields(conn, section):
    text = conn.call("INFO", section)
    fields = {}
    for line in text.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            fields[k] = v
    return fields


# ---------------------------------------------------------------------------------------------
# Processes: pinning, servers
# ---------------------------------------------------------------------------------------------

class Pinning:
    def __init__(self, disabled, nice):
        # `nice` execs its command, so the server's pid stays the one Popen returns.
        self.nice = ["nice", "-n", str(nice)] if nice else []
        self.server_cpu = self.client_cpu = None
        self.note = "not pinned"
        if disabled:
            self.note = "not pinned (--no-pin)"
            return
        if not shutil.which("taskset"):
            self.note = "not pinned (taskset not found)"
            return
        try:
            allowed = os.sched_getaffinity(0)
        except (AttributeError, OSError):
            allowed = set()
        if not {0, 1} <= allowed:
            self.note = "not pinned (cores 0 and 1 not both available: %s)" % sorted(allowed)
            return
        ok = subprocess.run(["taskset", "-c", "0", "true"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode == 0
        if not ok:
            self.note = "not pinned (taskset failed)"
            return
        self.server_cpu, self.client_cpu = 0, 1
        self.note = "servers on core 0, clients on core 1 (taskset)"
        os.sched_setaffinity(0, {1})  # this script's loader is a client too

    def server_prefix(self):
        pin = [] if self.server_cpu is None else ["taskset", "-c", str(self.server_cpu)]
        return self.nice + pin

    def client_prefix(self):
        pin = [] if self.client_cpu is None else ["taskset", "-c", str(self.client_cpu)]
        return self.nice + pin


def port_is_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class PortPicker:
    """Hands out free ports from [base, limit): a shared machine gives each user a port range,
    and the script must never step outside it. Every server takes a fresh port, so a range of
    a few hundred ports is plenty for a full run (about 30 servers are started)."""

    def __init__(self, base, limit):
        self.next = base
        self.limit = limit

    def take(self):
        for port in range(self.next, self.limit):
            if port_is_free(port):
                self.next = port + 1
                return port
        raise RuntimeError("no free port in %d..%d" % (self.next, self.limit))


class Server:
    def __init__(self, name, binary, pinning, ports, workroot, extra=()):
        self.name = name
        self.binary = binary
        self.pinning = pinning
        self.ports = ports
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=workroot)
        self.extra = list(extra)
        self.proc = None
        self.port = None

    def start(self, extra=(), port=None):
        self.port = port or self.ports.take()
        argv = self.pinning.server_prefix() + [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", self.dir,
            "--daemonize", "no", "--logfile", "",
        ] + self.extra + list(extra)
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.conn = None
        deadline = t0 + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at startup; see %s/server.log" % (self.name, self.dir))
            try:
                c = Conn(self.port)
                reply = c.call("PING")
                if reply == b"PONG":
                    loading = info_fields(c, "persistence").get("loading", "0")
                    if loading == "0":
                        self.conn = c
                        self.ready_secs = time.monotonic() - t0
                        return self
                c.close()
            except (OSError, ConnectionError):
                pass
            time.sleep(0.005)
        raise RuntimeError("%s did not become ready" % self.name)

    @property
    def pid(self):
        return self.proc.pid  # taskset execs the server, so the pid is the server's

    def cpu_ns(self):
        total = 0
        base = "/proc/%d/task" % self.pid
        for tid in os.listdir(base):
            try:
                with open("%s/%s/schedstat" % (base, tid)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total

    def stop(self):
        if self.proc is None:
            return
        try:
            if self.conn:
                self.conn.sock.sendall(encode(["SHUTDOWN", "NOSAVE"]))
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.conn:
            self.conn.close()
        self.log.close()
        self.proc = None
        self.conn = None

    def supports(self, commands):
        """None if every command works, else the first error text."""
        for args in commands:
            reply = self.conn.call(*args)
            if isinstance(reply, RespError):
                return str(reply)
        return None


# ---------------------------------------------------------------------------------------------
# Throughput and CPU per request
# ---------------------------------------------------------------------------------------------

def benchmark_argv(test, pipeline, size):
    """redis-benchmark arguments (after host/port/n) and the CSV row label to read."""
    if test.startswith("lrange_"):
        count = int(test.split("_")[1])
        return ["LRANGE", LRANGE_KEY, "0", str(count - 1)], "LRANGE"
    return ["-t", test], test.upper()


def fill_lrange(server, size):
    c = server.conn
    c.call("DEL", LRANGE_KEY)
    value = b"x" * size
    c.call("RPUSH", LRANGE_KEY, *([value] * LRANGE_LEN))


class Bench:
    def __init__(self, args, pinning):
        self.args = args
        self.pinning = pinning

    def run(self, server, test, pipeline, size, n):
        if test.startswith("lrange_"):
            fill_lrange(server, size)
        tail, label = benchmark_argv(test, pipeline, size)
        argv = self.pinning.client_prefix() + [
            self.args.redis_benchmark, "-h", "127.0.0.1", "-p", str(server.port),
            "-c", str(self.args.clients), "-n", str(n), "-P", str(pipeline), "-d", str(size),
            "--csv", "-q"] + tail
        before = server.cpu_ns()
        client_before = children_cpu_s()
        t0 = time.monotonic()
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - t0
        after = server.cpu_ns()
        client_cpu = children_cpu_s() - client_before
        rps = None
        for line in out.stdout.splitlines():
            cells = [c.strip('"') for c in line.split('","')]
            if len(cells) >= 2 and cells[0].upper().startswith(label):
                rps = float(cells[1])
        if rps is None:
            raise RuntimeError("no %s row from redis-benchmark against %s:\n%s\n%s"
                               % (label, server.name, out.stdout, out.stderr))
        return {"rps": rps, "cpu_ns_per_req": (after - before) / n, "wall": wall,
                "client_ns_per_req": client_cpu * 1e9 / n, "client_busy": client_cpu / wall}


def children_cpu_s():
    """User + system seconds of this script's children that have ended (and been waited for):
    around one `subprocess.run`, the delta is that child's CPU time. The servers are children
    too, but they have not ended, so they do not count."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def median_min_max(values):
    return statistics.median(values), min(values), max(values)


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------

def batches_of(commands, per_batch):
    buf, count = [], 0
    for args in commands:
        buf.append(encode(args))
        count += 1
        if count == per_batch:
            yield b"".join(buf), count
            buf, count = [], 0
    if count:
        yield b"".join(buf), count


def memory_datasets(n):
    """(name, encoding intent, probe, members, sample key, command generator factory)."""
    small_keys = max(1, n // 100)
    value32 = b"v" * 32

    def strings():
        for i in range(n):
            yield ["SET", b"key:%07d" % i, value32]

    def hash_small():
        for k in range(small_keys):
            args = ["HSET", b"hash:%05d" % k]
            for j in range(100):
                args += [b"field:%03d" % j, b"val:%04d" % j]
            yield args

    def hash_large():
        for start in range(0, n, 1000):
            args = ["HSET", b"bighash"]
            for i in range(start, min(n, start + 1000)):
                args += [b"field:%07d" % i, b"val:%04d" % (i % 10000)]
            yield args

    def set_small():
        for k in range(small_keys):
            yield ["SADD", b"set:%05d" % k] + [b"%d" % (100000 + j) for j in range(100)]

    def set_large():
        for start in range(0, n, 1000):
            yield ["SADD", b"bigset"] + [b"member:%07d" % i for i in range(start, min(n, start + 1000))]

    def zset_small():
        for k in range(small_keys):
            args = ["ZADD", b"zset:%05d" % k]
            for j in range(100):
                args += [b"%d" % j, b"member:%03d" % j]
            yield args

    def zset_large():
        for start in range(0, n, 1000):
            args = ["ZADD", b"bigzset"]
            for i in range(start, min(n, start + 1000)):
                args += [b"%d" % i, b"member:%07d" % i]
            yield args

    return [
        ("strings: %s keys, 32-byte values" % f"{n:,}", "per key", PROBES["set"], n, b"key:0000000", strings, 10000),
        ("hash small: %s keys x 100 fields" % f"{small_keys:,}", "per field", PROBES["hset"], small_keys * 100, b"hash:00000", hash_small, 100),
        ("hash large: 1 key x %s fields" % f"{n:,}", "per field", PROBES["hset"], n, b"bighash", hash_large, 10),
        ("set small: %s keys x 100 integers" % f"{small_keys:,}", "per member", PROBES["sadd"], small_keys * 100, b"set:00000", set_small, 100),
        ("set large: 1 key x %s members" % f"{n:,}", "per member", PROBES["sadd"], n, b"bigset", set_large, 10),
        ("zset small: %s keys x 100 members" % f"{small_keys:,}", "per member", PROBES["zadd"], small_keys * 100, b"zset:00000", zset_small, 100),
        ("zset large: 1 key x %s members" % f"{n:,}", "per member", PROBES["zadd"], n, b"bigzset", zset_large, 10),
    ]


def measure_memory(server, gen, per_batch, sample_key, items):
    c = server.conn
    before = info_fields(c, "memory")
    c.load(batches_of(gen(), per_batch))
    after = info_fields(c, "memory")
    enc = c.call("OBJECT", "ENCODING", sample_key)
    enc = enc.decode() if isinstance(enc, bytes) else "?"
    used = (int(after["used_memory"]) - int(before["used_memory"])) / items
    rss = (int(after["used_memory_rss"]) - int(before["used_memory_rss"])) / items
    return {"used": used, "rss": rss, "encoding": enc}


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------

def fmt_ratio(m, lo, hi):
    return "%.2f (%.2f–%.2f)" % (m, lo, hi)


def safe_ratio(a, r):
    return "%.2f" % (a / r) if r > 0 else "n/a"


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(lines)


def machine_description():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "nproc %d, CPU %s, kernel %s" % (os.cpu_count() or 0, model, os.uname().release)


def version_of(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description="redis-anatomy vs redis-server, side by side",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="alternating A/B rounds per configuration")
    p.add_argument("--duration", type=float, default=1.0,
                   help="target seconds per redis-benchmark run against Redis (sets -n)")
    p.add_argument("--requests", type=int, default=0, help="fixed -n for every run (skips calibration)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 round, 0.25 s runs, 100,000 keys for memory")
    p.add_argument("--tests", default=",".join(ALL_TESTS))
    p.add_argument("--pipelines", default="1,16")
    p.add_argument("--sizes", default="3,1024")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--memory-keys", type=int, default=1_000_000)
    p.add_argument("--no-throughput", action="store_true")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--no-persistence", action="store_true")
    p.add_argument("--no-bgsave", action="store_true", help="skip the BGSAVE-under-load section")
    p.add_argument("--no-pin", action="store_true", help="do not use taskset")
    p.add_argument("--nice", type=int, default=0,
                   help="run servers and clients under `nice -n NICE` (negative needs root); "
                        "helps on a machine busy with other work")
    p.add_argument("--port-base", type=int, default=int(os.environ.get("BENCH_PORT_BASE", 17000)),
                   help="first port to use (env BENCH_PORT_BASE)")
    p.add_argument("--port-limit", type=int, default=int(os.environ.get("BENCH_PORT_LIMIT", 0)),
                   help="ports used are below this one (env BENCH_PORT_LIMIT; default base + 500)")
    p.add_argument("--anatomy", default=os.path.join(ROOT, "target/release/redis-anatomy"))
    p.add_argument("--redis-server", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    p.add_argument("--redis-benchmark", default=shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark")
    p.add_argument("--output", default=os.path.join(ROOT, "bench/results.md"))
    a = p.parse_args()
    if a.quick:
        a.rounds = 1 if "--rounds" not in sys.argv else a.rounds
        a.duration = 0.25 if "--duration" not in sys.argv else a.duration
        a.memory_keys = 100_000 if "--memory-keys" not in sys.argv else a.memory_keys
    a.tests = [t.strip().lower() for t in a.tests.split(",") if t.strip()]
    for t in a.tests:
        if t not in PROBES:
            p.error("unknown test %r (known: %s)" % (t, ",".join(ALL_TESTS)))
    a.pipelines = [int(x) for x in a.pipelines.split(",")]
    a.sizes = [int(x) for x in a.sizes.split(",")]
    return a


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def throughput_section(args, pinning, ports, workroot, out):
    bench = Bench(args, pinning)
    redis = Server("redis", args.redis_server, pinning, ports, workroot).start()
    anatomy = Server("anatomy", args.anatomy, pinning, ports, workroot).start()
    servers = {"redis": redis, "anatomy": anatomy}
    try:
        unsupported = {}
        for t in args.tests:
            err = anatomy.supports(PROBES[t])
            rerr = redis.supports(PROBES[t])
            if rerr:
                raise RuntimeError("redis-server rejects the %s probe: %s" % (t, rerr))
            if err:
                unsupported[t] = err
        for s in servers.values():
            s.conn.call("FLUSHALL")

        configs = [(t, p, d) for p in args.pipelines for d in args.sizes for t in args.tests
                   if t not in unsupported]
        n_for = {}
        say("warm-up and calibration: %d configurations" % len(configs))
        for cfg in configs:
            t, p, d = cfg
            if args.requests:
                n_for[cfg] = args.requests
                probe_n = min(args.requests, 2000 * p)
            else:
                # Short enough to stay well under --duration on a busy machine.
                probe_n = (5000 if p == 1 else 40000) if not t.startswith("lrange") else 300 * p
                probe_n = max(500, int(probe_n * min(1.0, args.duration)))
            r = bench.run(redis, t, p, d, probe_n)
            a = bench.run(anatomy, t, p, d, probe_n)
            if not args.requests:
                n = args.duration * r["rps"]
                # An anatomy run may last at most 3x the target, however slow it is.
                n = min(n, 3 * args.duration * a["rps"])
                n_for[cfg] = max(1000, int(round(n, -3)))

        results = {cfg: {"redis": [], "anatomy": []} for cfg in configs}
        for rnd in range(args.rounds):
            order = ["anatomy", "redis"] if rnd % 2 == 0 else ["redis", "anatomy"]
            say("round %d/%d (%s first)" % (rnd + 1, args.rounds, order[0]))
            for cfg in configs:
                t, p, d = cfg
                for name in order:
                    results[cfg][name].append(bench.run(servers[name], t, p, d, n_for[cfg]))

        rows = []
        below = []
        for p in args.pipelines:
            for d in args.sizes:
                for t in args.tests:
                    label = t.upper()
                    if t in unsupported:
                        continue
                    cfg = (t, p, d)
                    rr, aa = results[cfg]["redis"], results[cfg]["anatomy"]
                    tput = [x["rps"] / y["rps"] for x, y in zip(aa, rr)]
                    cpu = [x["cpu_ns_per_req"] / y["cpu_ns_per_req"] for x, y in zip(aa, rr)]
                    tm, tl, th = median_min_max(tput)
                    cm, cl, ch = median_min_max(cpu)
                    target = 1.0 if p > 1 else 0.95
                    flags = []
                    if tm < target:
                        flags.append("tput<%.2f" % target)
                    if cm > 1.0:
                        flags.append("cpu>1.0")
                    client_bound = all(x["client_busy"] >= 0.95 for x in rr + aa)
                    if flags and client_bound and tm < target:
                        flags.append("(client-bound)")
                    if flags:
                        below.append((t, p, d, tm, cm, ", client-bound" if client_bound else ""))
                    rows.append([label, p, d, n_for[cfg],
                                 "%.0f / %.0f" % (statistics.median(y["rps"] for y in rr),
                                                  statistics.median(x["rps"] for x in aa)),
                                 fmt_ratio(tm, tl, th),
                                 "%.0f" % statistics.median(y["cpu_ns_per_req"] for y in rr),
                                 "%.0f" % statistics.median(x["cpu_ns_per_req"] for x in aa),
                                 fmt_ratio(cm, cl, ch),
                                 "%.0f (%.2f) / %.0f (%.2f)" % (
                                     statistics.median(y["client_ns_per_req"] for y in rr),
                                     statistics.median(y["client_busy"] for y in rr),
                                     statistics.median(x["client_ns_per_req"] for x in aa),
                                     statistics.median(x["client_busy"] for x in aa)),
                                 " ".join(flags) or "ok"])
        for t in args.tests:
            if t in unsupported:
                rows.append([t.upper(), ",".join(map(str, args.pipelines)),
                             ",".join(map(str, args.sizes)), "-", "n/a (unsupported)",
                             "n/a (unsupported)", "-", "-", "n/a (unsupported)", "-", "-"])
        header = ["test", "-P", "-d", "-n", "req/s redis / anatomy (median)",
                  "throughput ratio (min–max)", "CPU ns/req redis", "CPU ns/req anatomy",
                  "CPU ratio (min–max)", "client ns/req (busy) redis / anatomy", "target"]
        out.append("## Throughput and server CPU per request\n")
        out.append("Ratios are anatomy/redis, median over %d alternating round(s) (min–max). "
                   "Throughput target: ≥ 1.00 at -P 16, ≥ 0.95 at -P 1; CPU per request ≤ 1.00. "
                   "%d clients; CPU time from `/proc/<pid>/task/*/schedstat`. The client column: "
                   "redis-benchmark's CPU time per request against each server, and in brackets "
                   "the share of the run it was busy (medians); \"client-bound\" marks a row where "
                   "it was busy at least 95%% of every run against both servers.\n"
                   % (args.rounds, args.clients))
        out.append(table(header, rows) + "\n")
        if unsupported:
            out.append("Unsupported by redis-anatomy at this commit (probe reply): " + "; ".join(
                "%s: `%s`" % (t, e) for t, e in unsupported.items()) + "\n")
        return below
    finally:
        redis.stop()
        anatomy.stop()


def memory_section(args, pinning, ports, workroot, out):
    rows = []
    for name, unit, probe, items, sample, gen, per_batch in memory_datasets(args.memory_keys):
        say("memory: " + name)
        res = {}
        for sname, binary in (("redis", args.redis_server), ("anatomy", args.anatomy)):
            s = Server(sname, binary, pinning, ports, workroot).start()
            try:
                err = s.supports(probe)
                s.conn.call("FLUSHALL")
                if err:
                    if sname == "redis":
                        raise RuntimeError("redis-server rejects %s: %s" % (probe, err))
                    res[sname] = None
                    continue
                res[sname] = measure_memory(s, gen, per_batch, sample, items)
            finally:
                s.stop()
        r, a = res["redis"], res["anatomy"]
        if a is None:
            rows.append([name, unit, r["encoding"] + " / n/a", "%.1f" % r["used"], "n/a (unsupported)",
                         "n/a", "%.1f" % r["rss"], "n/a (unsupported)", "n/a"])
        else:
            rows.append([name, unit, "%s / %s" % (r["encoding"], a["encoding"]),
                         "%.1f" % r["used"], "%.1f" % a["used"], safe_ratio(a["used"], r["used"]),
                         "%.1f" % r["rss"], "%.1f" % a["rss"], safe_ratio(a["rss"], r["rss"])])
    header = ["data set", "bytes", "encoding redis / anatomy", "used_memory redis",
              "used_memory anatomy", "ratio", "RSS redis", "RSS anatomy", "RSS ratio"]
    out.append("## Memory\n")
    out.append("Growth of `used_memory` and `used_memory_rss` (INFO memory) from an empty, freshly "
               "started server, divided by the number of keys or members loaded. Keys are loaded "
               "exactly, one distinct name each, by this script's pipelined RESP loader: "
               "`redis-benchmark -r` draws random key names with repeats, so it cannot load an "
               "exact number of distinct keys. Target: used_memory ratio ≤ 1.10 for strings and "
               "each small encoding.\n")
    out.append(table(header, rows) + "\n")


def persistence_section(args, pinning, ports, workroot, out):
    """SAVE, load, BGREWRITEAOF and appendfsync figures, interleaved like the throughput runs.

    Both servers are loaded with the same 1M string keys (the memory section's data set) and
    stay up side by side; then, for each round, SAVE runs on one and then the other (the order
    flips every round), and likewise BGREWRITEAOF, a restart that loads the RDB file, and a
    SET run with the append-only file on. The table gives medians of each figure and the median
    of the per-round ratios, with min and max: one slow moment of the shared machine then
    spoils one round, not the figure. A server without SAVE/BGREWRITEAOF gets n/a."""
    say("persistence")
    NA = "n/a (persistence not built yet)"
    n = args.memory_keys
    value32 = b"v" * 32

    def strings():
        for i in range(n):
            yield ["SET", b"key:%07d" % i, value32]

    def wait_rewrite(s):
        while True:
            p = info_fields(s.conn, "persistence")
            if p.get("aof_rewrite_in_progress") == "0" and p.get("aof_rewrite_scheduled") == "0":
                return
            time.sleep(0.005)

    figures = {"redis": {}, "anatomy": {}}
    ratios = {}
    servers = {}
    try:
        for sname, binary in (("redis", args.redis_server), ("anatomy", args.anatomy)):
            s = Server(sname, binary, pinning, ports, workroot).start()
            servers[sname] = s
            if s.supports([["SAVE"]]) or s.supports([["BGREWRITEAOF"]]):
                s.stop()
                del servers[sname]
                continue
            wait_rewrite(s)  # the probe's rewrite
            s.conn.call("FLUSHALL")
            s.conn.load(batches_of(strings(), 10000))
        names = list(servers)

        def rounds(measure):
            """measure(server) -> seconds (or req/s) per round, alternating the order."""
            per = {name: [] for name in names}
            for r in range(args.rounds):
                for name in (names if r % 2 == 0 else names[::-1]):
                    per[name].append(measure(name))
            return per

        def timed_save(name):
            s = servers[name]
            t0 = time.monotonic()
            s.conn.call("SAVE")
            return time.monotonic() - t0

        def timed_rewrite(name):
            s = servers[name]
            t0 = time.monotonic()
            s.conn.call("BGREWRITEAOF")
            wait_rewrite(s)
            return time.monotonic() - t0

        def timed_load(name):
            # Restart on the same directory: the RDB file SAVE wrote is read at startup.
            old = servers[name]
            old.stop()
            s = Server(name, old.binary, pinning, ports, workroot)
            s.dir = old.dir
            s.start()
            servers[name] = s
            keys = s.conn.call("DBSIZE")
            if keys != n:
                raise RuntimeError("%s loaded %r keys, expected %d" % (name, keys, n))
            return s.ready_secs

        results = {"save": rounds(timed_save), "rewrite": rounds(timed_rewrite),
                   "load": rounds(timed_load)}
    finally:
        for s in servers.values():
            s.stop()

    # SET throughput with the append-only file on, both servers up, alternating.
    bench = Bench(args, pinning)
    for policy in ("always", "everysec"):
        up = {}
        try:
            for name in names:
                binary = args.redis_server if name == "redis" else args.anatomy
                s = Server(name, binary, pinning, ports, workroot)
                up[name] = s.start(extra=["--appendonly", "yes", "--appendfsync", policy])
            probe = bench.run(up["redis" if "redis" in up else names[0]], "set", 1, 3, 2000)
            reqs = max(2000, int(round(args.duration * probe["rps"], -3)))
            per = {name: [] for name in names}
            for r in range(args.rounds):
                for name in (names if r % 2 == 0 else names[::-1]):
                    per[name].append(bench.run(up[name], "set", 1, 3, reqs)["rps"])
            results[policy] = per
        finally:
            for s in up.values():
                s.stop()

    for key, per in results.items():
        for name, vals in per.items():
            figures[name][key] = statistics.median(vals)
        if "redis" in per and "anatomy" in per:
            ratios[key] = median_min_max([a / r for a, r in zip(per["anatomy"], per["redis"])])

    def cell(sname, key, fmt):
        v = figures[sname].get(key)
        if v is None:
            return NA if sname == "anatomy" else "?"
        return fmt % v

    def ratio(key):
        return fmt_ratio(*ratios[key]) if key in ratios else "n/a"

    rows = [
        ["SAVE of %s keys (s)" % f"{n:,}", cell("redis", "save", "%.3f"), cell("anatomy", "save", "%.3f"), ratio("save")],
        ["load of %s keys at startup (s)" % f"{n:,}", cell("redis", "load", "%.3f"), cell("anatomy", "load", "%.3f"), ratio("load")],
        ["BGREWRITEAOF of %s keys (s)" % f"{n:,}", cell("redis", "rewrite", "%.3f"), cell("anatomy", "rewrite", "%.3f"), ratio("rewrite")],
        ["SET -P 1 req/s, appendfsync always", cell("redis", "always", "%.0f"), cell("anatomy", "always", "%.0f"), ratio("always")],
        ["SET -P 1 req/s, appendfsync everysec", cell("redis", "everysec", "%.0f"), cell("anatomy", "everysec", "%.0f"), ratio("everysec")],
    ]
    out.append("## Persistence\n")
    out.append("Target: SAVE and load of 1M keys ≤ 1.2× Redis's time. Both servers hold the same "
               "%s string keys (32-byte values); each figure is measured %d time(s) per server in "
               "alternating order, and the ratio column is the median of the per-round ratios "
               "anatomy/redis (min–max). The load time is from process start to the first PING "
               "answered with `loading:0`; BGREWRITEAOF from the command to "
               "`aof_rewrite_in_progress:0`.\n" % (f"{n:,}", args.rounds))
    out.append(table(["figure", "redis (median)", "anatomy (median)", "ratio (min–max)"], rows) + "\n")


def bgsave_section(args, pinning, ports, workroot, out):
    """BGSAVE under load: does the parent keep answering while the child writes 1M keys?

    Both servers hold the same 1M string keys, named as redis-benchmark names them
    (`key:` and 12 digits, which is what `-r 1000000` draws), so the SET load overwrites keys
    that exist: every write dirties a page the child may still need, which is what makes
    copy-on-write cost something. Per round and per server, alternating the order:

    * baseline: redis-benchmark SET (-c --clients, -P 1, -r 1000000) with no child running;
    * under BGSAVE: BGSAVE, then at once the same redis-benchmark run, while this script polls
      `rdb_bgsave_in_progress` (INFO persistence) every 5 ms to time the child to the
      millisecond (`rdb_last_bgsave_time_sec` counts whole seconds); the run is sized to last
      about 40% of the child's expected life, and the share of the run that overlapped the
      child is reported, so a figure measured after the child ended shows as such;
    * idle: a BGSAVE with no load, for the child's duration and copy-on-write alone.

    `rdb_last_cow_size` is read after each child. With pinning, the forked child inherits the
    server's core, so parent and child share one core: the throughput kept is the parent's
    share of that core while the child writes (a machine with a spare core does better)."""
    say("bgsave under load")
    n = args.memory_keys
    value32 = b"v" * 32

    def strings():
        for i in range(n):
            yield ["SET", b"key:%012d" % i, value32]

    def wait_bgsave(s, poll=0.005):
        while info_fields(s.conn, "persistence").get("rdb_bgsave_in_progress") != "0":
            time.sleep(poll)
        return time.monotonic()

    def bench_set(s, reqs):
        argv = pinning.client_prefix() + [
            args.redis_benchmark, "-h", "127.0.0.1", "-p", str(s.port), "-c", str(args.clients),
            "-n", str(reqs), "-P", "1", "-r", str(n), "-d", "32", "--csv", "-t", "set"]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def parse_csv(proc, name):
        stdout, stderr = proc.communicate(timeout=600)
        header = None
        for line in stdout.splitlines():
            cells = [c.strip('"') for c in line.strip().split('","')]
            if cells and cells[0] == "test":
                header = cells
            elif header and cells and cells[0].upper().startswith("SET"):
                row = dict(zip(header, cells))
                return {"rps": float(row["rps"]), "p99": float(row["p99_latency_ms"]),
                        "max": float(row["max_latency_ms"])}
        raise RuntimeError("no SET row from redis-benchmark against %s:\n%s\n%s"
                           % (name, stdout, stderr))

    servers = {}
    try:
        for sname, binary in (("redis", args.redis_server), ("anatomy", args.anatomy)):
            s = Server(sname, binary, pinning, ports, workroot).start()
            servers[sname] = s
            if s.supports([["BGSAVE"]]):
                s.stop()
                del servers[sname]
                continue
            wait_bgsave(s)  # the probe's BGSAVE
            s.conn.call("FLUSHALL")
            s.conn.load(batches_of(strings(), 10000))
            if s.conn.call("DBSIZE") != n:
                raise RuntimeError("%s: expected %d keys" % (sname, n))
        names = list(servers)

        def idle(name):
            s = servers[name]
            t0 = time.monotonic()
            s.conn.call("BGSAVE")
            t1 = wait_bgsave(s)
            cow = int(info_fields(s.conn, "persistence").get("rdb_last_cow_size", "0"))
            return {"secs": t1 - t0, "cow": cow}

        # Size the runs: the child's life on an idle server, and Redis's SET rate.
        calib = {name: idle(name) for name in names}
        probe = parse_csv(bench_set(servers[names[0]], 5000), names[0])
        child_secs = min(c["secs"] for c in calib.values())
        reqs = max(5000, int(round(0.4 * child_secs * probe["rps"], -3)))

        def loaded(name):
            s = servers[name]
            base = parse_csv(bench_set(s, reqs), name)
            t0 = time.monotonic()
            if s.conn.call("BGSAVE") not in (b"Background saving started",):
                raise RuntimeError("%s: BGSAVE did not start" % name)
            b0 = time.monotonic()
            proc = bench_set(s, reqs)
            poll = Conn(s.port)
            try:
                while info_fields(poll, "persistence").get("rdb_bgsave_in_progress") != "0":
                    time.sleep(0.005)
                t1 = time.monotonic()
            finally:
                poll.close()
            during = parse_csv(proc, name)
            b1 = time.monotonic()
            fields = info_fields(s.conn, "persistence")
            if fields.get("rdb_last_bgsave_status") != "ok":
                raise RuntimeError("%s: BGSAVE failed" % name)
            overlap = max(0.0, min(b1, t1) - b0) / (b1 - b0)
            return {"base": base, "during": during, "secs": t1 - t0,
                    "cow": int(fields.get("rdb_last_cow_size", "0")), "overlap": overlap}

        per = {name: [] for name in names}
        per_idle = {name: [] for name in names}
        for r in range(args.rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                per_idle[name].append(idle(name))
                per[name].append(loaded(name))
    finally:
        for s in servers.values():
            s.stop()

    med = statistics.median

    def fig(name, f):
        return med(f(x) for x in per[name])

    def kept(x):
        return x["during"]["rps"] / x["base"]["rps"]

    def ratio_of(f):
        if "redis" not in per or "anatomy" not in per:
            return "n/a"
        return fmt_ratio(*median_min_max([f(a) / f(r) for a, r in zip(per["anatomy"], per["redis"])]))

    def idle_fig(name, key):
        return med(x[key] for x in per_idle[name])

    def idle_ratio(key):
        if "redis" not in per_idle or "anatomy" not in per_idle:
            return "n/a"
        return fmt_ratio(*median_min_max([a[key] / r[key] for a, r in
                                          zip(per_idle["anatomy"], per_idle["redis"])]))

    def cells(fmt, get):
        return [fmt % get("redis") if "redis" in per else "?",
                fmt % get("anatomy") if "anatomy" in per else "n/a (BGSAVE not built)"]

    rows = [
        ["BGSAVE with no load (s)"] + cells("%.3f", lambda nm: idle_fig(nm, "secs")) + [idle_ratio("secs")],
        ["rdb_last_cow_size, no load (MB)"] + cells("%.1f", lambda nm: idle_fig(nm, "cow") / 1e6) + ["-"],
        ["BGSAVE under SET load (s)"] + cells("%.3f", lambda nm: fig(nm, lambda x: x["secs"])) + [ratio_of(lambda x: x["secs"])],
        ["rdb_last_cow_size under load (MB)"] + cells("%.1f", lambda nm: fig(nm, lambda x: x["cow"]) / 1e6) + [ratio_of(lambda x: max(1, x["cow"]))],
        ["SET req/s, no child"] + cells("%.0f", lambda nm: fig(nm, lambda x: x["base"]["rps"])) + [ratio_of(lambda x: x["base"]["rps"])],
        ["SET req/s, during BGSAVE"] + cells("%.0f", lambda nm: fig(nm, lambda x: x["during"]["rps"])) + [ratio_of(lambda x: x["during"]["rps"])],
        ["throughput kept during BGSAVE"] + cells("%.2f", lambda nm: fig(nm, kept)) + [ratio_of(kept)],
        ["p99 / max latency ms, no child"] + ["%.2f / %.2f" % (fig(nm, lambda x: x["base"]["p99"]), fig(nm, lambda x: x["base"]["max"])) if nm in per else "n/a" for nm in ("redis", "anatomy")] + ["-"],
        ["p99 / max latency ms, during BGSAVE"] + ["%.2f / %.2f" % (fig(nm, lambda x: x["during"]["p99"]), fig(nm, lambda x: x["during"]["max"])) if nm in per else "n/a" for nm in ("redis", "anatomy")] + ["-"],
        ["share of the loaded run inside the child"] + cells("%.2f", lambda nm: fig(nm, lambda x: x["overlap"])) + ["-"],
    ]
    out.append("## BGSAVE under load\n")
    out.append("Both servers hold %s string keys (`key:` + 12 digits, 32-byte values, %.0f MB "
               "of RDB work); each round, per server in alternating order: a BGSAVE with no load, "
               "then `redis-benchmark -t set -c %d -P 1 -r %d -d 32 -n %d` with no child, then "
               "BGSAVE followed at once by the same run. The SETs overwrite existing keys, so "
               "every write can dirty a page the child still reads. BGSAVE time is from the "
               "command to `rdb_bgsave_in_progress:0` (polled every 5 ms); `rdb_last_cow_size` "
               "from INFO persistence after the child ends. Parent and child share the server's "
               "core (pinned), so the throughput kept is what the parent gets of one core while "
               "its child writes. Medians over %d round(s); ratio column: median of per-round "
               "ratios anatomy/redis (min–max).\n"
               % (f"{n:,}", n * 45 / 1e6, args.clients, n, reqs, args.rounds))
    out.append(table(["figure", "redis (median)", "anatomy (median)", "ratio (min–max)"], rows) + "\n")


def main():
    args = parse_args()
    for b in (args.anatomy, args.redis_server, args.redis_benchmark):
        if not os.access(b, os.X_OK):
            sys.exit("not executable: %s (build with `cargo build --release`?)" % b)
    pinning = Pinning(args.no_pin, args.nice)
    ports = PortPicker(args.port_base, args.port_limit or args.port_base + 500)
    workroot = tempfile.mkdtemp(prefix="redis-anatomy-bench-")
    started = time.monotonic()
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "?"
    out = [
        "# redis-anatomy vs redis-server: side by side\n",
        "- date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "- machine: %s" % machine_description(),
        "- command: `%s`" % " ".join(shlex.quote(x) for x in ["python3", "bench/run.py"] + sys.argv[1:]),
        "- redis-server: %s" % version_of(args.redis_server),
        "- redis-anatomy: %s (commit %s)" % (os.path.relpath(args.anatomy, ROOT), commit),
        "- pinning: %s%s" % (pinning.note, ", nice %d" % args.nice if args.nice else ""),
        "- load average at start (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg(),
        "- both servers: `--save \"\" --appendonly no --bind 127.0.0.1`\n",
    ]
    below = []
    try:
        if not args.no_throughput:
            below = throughput_section(args, pinning, ports, workroot, out)
        if not args.no_memory:
            memory_section(args, pinning, ports, workroot, out)
        if not args.no_persistence:
            persistence_section(args, pinning, ports, workroot, out)
        if not args.no_bgsave:
            bgsave_section(args, pinning, ports, workroot, out)
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    if below:
        out.append("Below target: " + ", ".join(
            "%s -P %d -d %d (throughput %.2f, CPU %.2f%s)" % b for b in below) + "\n")
    out.append("Total benchmark time: %.0f s.\n" % (time.monotonic() - started))
    text = "\n".join(out)
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(text)
    say("written to %s" % args.output)


if __name__ == "__main__":
    main()
