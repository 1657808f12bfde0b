"""Process-test helpers: throwaway network namespaces, the project's binaries,
and bounded waiting. Everything a helper creates it also removes, on failure
too, and every name carries a per-run suffix so two runs never collide.

Traffic stays inside namespaces made here, on 198.18.0.0/15 (RFC 2544)."""

import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time

BUILD = os.environ.get("NETWATCH_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
AGENT = os.path.join(BUILD, "netwatch-agent")
RACK = os.path.join(BUILD, "netwatch-rack")


def stop_process(proc, timeout):
    """SIGTERM, then SIGKILL after timeout seconds: the one way a test stops
    a process it started."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_handed_out = set()


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port free for both TCP and UDP, below the kernel's ephemeral
    range. A port from bind(0) is ephemeral: between the probe closing it and
    the daemon binding it, any connect() or unbound sendto() of the same run
    (an agent's source port) may be given it, which failed CI once with
    "Address already in use". Ports below the range are never handed out by
    the kernel, only by this function, which never repeats one in a run.
    kind is accepted for the callers that name the protocol; both are checked."""
    del kind
    low = max(1024, min(_ephemeral_low(), 65536) - 12000)
    high = min(_ephemeral_low(), 65536) - 1
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(2000):
        port = rng.randint(low, high)
        if port in _handed_out:
            continue
        try:
            for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, k) as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise AssertionError(f"no free loopback port in {low}-{high}")


def run(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def wait_for(cond, timeout, what, interval=0.05):
    """Polls cond() until it returns a truthy value or the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class VethPair:
    """Two namespaces joined by one veth: the collector side 198.18.0.1/30
    on `c0`, the agent side 198.18.0.2/30 on `a0` (and fd00:198:18::1/2)."""

    COLLECTOR_ADDR = "198.18.0.1"
    AGENT_ADDR = "198.18.0.2"
    COLLECTOR_ADDR6 = "fd00:198:18::1"

    def __init__(self):
        tag = f"{os.getpid() % 100000}{secrets.token_hex(2)}"
        self.tag = tag
        self.ns_c = f"nwt-c-{tag}"
        self.ns_a = f"nwt-a-{tag}"
        self.pin_dir = f"/sys/fs/bpf/netwatch-test-{tag}"
        self.state_dir = f"/tmp/netwatch-test-{tag}"
        self.created = []

    def __enter__(self):
        try:
            for ns in (self.ns_c, self.ns_a):
                run("ip", "netns", "add", ns)
                self.created.append(ns)
            tmp_c, tmp_a = f"nwc{self.tag}"[:15], f"nwa{self.tag}"[:15]
            run("ip", "link", "add", tmp_c, "type", "veth", "peer", "name", tmp_a)
            run("ip", "link", "set", tmp_c, "netns", self.ns_c, "name", "c0")
            run("ip", "link", "set", tmp_a, "netns", self.ns_a, "name", "a0")
            for ns, dev, addr, addr6 in ((self.ns_c, "c0", self.COLLECTOR_ADDR, self.COLLECTOR_ADDR6),
                                         (self.ns_a, "a0", self.AGENT_ADDR, "fd00:198:18::2")):
                run("ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
                run("ip", "-n", ns, "-6", "addr", "add", f"{addr6}/64", "dev", dev, "nodad")
                run("ip", "-n", ns, "link", "set", dev, "up")
                run("ip", "-n", ns, "link", "set", "lo", "up")
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created = []
        shutil.rmtree(self.pin_dir, ignore_errors=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)
        return False

    def prefix(self, ns):
        # nsenter keeps our mount namespace: `ip netns exec` would remount
        # /sys and hide the bpffs where the collector pins its maps.
        return ["nsenter", f"--net=/run/netns/{ns}"]


class Collector:
    """netwatch-rack running in the collector namespace, with --dump."""

    def __init__(self, lab, hook, servers="0-3", extra=(), log_path=None):
        self.lab = lab
        self.hook = hook
        self.args = lab.prefix(lab.ns_c) + [
            RACK, "--rack", "0", "--hook", hook, "--iface", "c0", "--servers", servers,
            "--pin-dir", lab.pin_dir, "--state-dir", lab.state_dir, "--dump", "--interval", "0.2", "--discover", "off",
            *extra]
        if log_path:
            self.args += ["--record-log", log_path]
        self.proc = None
        self.lines = []
        self.lock = threading.Lock()
        self.stderr_path = None

    def start(self):
        self.stderr_path = f"/tmp/nwt-rack-{self.lab.tag}-{time.monotonic_ns()}.log"
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True)
        # A reader thread keeps the pipe empty: a collector blocked on a full
        # stdout would stop draining its socket and the test would measure that.
        self.reader = threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True)
        self.reader.start()
        wait_for(lambda: self.latest() is not None or self.proc.poll() is not None, 15,
                 "the collector's first dump")
        assert self.proc.poll() is None, f"collector exited: {self.log()}"
        return self

    def _pump(self, stream):
        for line in stream:
            with self.lock:
                self.lines.append(line)

    def latest(self):
        with self.lock:
            lines = self.lines[-5:]
        for line in reversed(lines):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    continue
        return None

    def servers(self, dump=None):
        dump = dump or self.latest() or {"servers": []}
        return {s["server"]: s for s in dump["servers"]}

    def log(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(timeout=timeout)
        self.proc = None
        self.stderr.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None
        self.stderr.close()

    def unpin(self):
        subprocess.run([RACK, "--rack", "0", "--pin-dir", self.lab.pin_dir, "--state-dir",
                        self.lab.state_dir, "--unpin"],
                       capture_output=True)


def run_agent(lab, *args, timeout=120):
    """Runs netwatch-agent to completion in the agent namespace; returns its JSON."""
    res = run(*lab.prefix(lab.ns_a), AGENT, *args, timeout=timeout)
    lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
    assert lines, f"agent printed no report: {res.stderr}"
    return json.loads(lines[-1])


def start_agent(lab, *args):
    return subprocess.Popen(lab.prefix(lab.ns_a) + [AGENT, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# ------------------------------------------------------------ the lab tool

LAB_TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                        "local", "netwatch-lab")
CHAOS = os.path.join(BUILD, "netwatch-chaos")


def lab_cmd(name, *args, timeout=180):
    """netwatch-lab COMMAND ... --name NAME with this build's binaries."""
    return subprocess.run([LAB_TOOL, *args, "--name", name], capture_output=True, text=True,
                          env={**os.environ, "NETWATCH_BUILD": BUILD}, timeout=timeout)


@contextlib.contextmanager
def lab_up(prefix, *up_args, clears=()):
    """`netwatch-lab up UP_ARGS --json` under a fresh name (prefix + random),
    yielding (name, the up document); afterwards, also on failure, each
    `netwatch-chaos clear ARGS` of `clears` and `netwatch-lab down`."""
    name = prefix + secrets.token_hex(3)
    r = lab_cmd(name, "up", *up_args, "--json")
    try:
        assert r.returncode == 0, f"up failed: {r.stderr}"
        yield name, json.loads(r.stdout)
    finally:
        if r.returncode == 0:
            topology = json.loads(r.stdout)["topology"]
            for args in clears:
                subprocess.run([CHAOS, "clear", *args, "--topology", topology],
                               capture_output=True, timeout=30)
        lab_cmd(name, "down")


def chaos_cmd(topology, *args, ok=True):
    """netwatch-chaos ARGS against a lab's topology file; rc 0 asserted when ok."""
    r = subprocess.run([CHAOS, *args, "--topology", topology], capture_output=True, text=True,
                       timeout=30)
    if ok:
        assert r.returncode == 0, f"netwatch-chaos {' '.join(args)}: rc {r.returncode}\n{r.stderr}"
    return r


def get_json(url, timeout=2.0):
    """The JSON at url, or None when it cannot be had (yet)."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None
