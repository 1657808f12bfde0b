"""netwatch-rack's reports to the DC controller (--dc), against a small
Python TCP server standing in for netwatch-dc: the frames it receives are
parsed here by the protocol's text (docs/report-protocol.md) and, with a
key, their MAC (XChaCha20-Poly1305; keyed BLAKE2b or HMAC-SHA-256 from
older racks) is checked with a key derived in Python (report_frame.py), so
the C side's derivation is checked too.

Everything runs on 127.0.0.1: the socket hook, the agents, the fake DC."""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from nwlab import AGENT, RACK, free_port, wait_for
from report_frame import FLAG_XCHACHA, KIND_OF, MAC_FLAGS, TRAILER_LEN, mac_of, mac_ok, report_keys

SERVERS = (1, 2, 3)  # 1 and 2 send; 3 is registered and never does
INTERVAL = 0.2
BACKOFF_CAP = 30.0


class FakeDC:
    """Accepts connections on 127.0.0.1:port and parses every frame:
    12-byte header ("NWR", version 1, flags, 3 reserved, u32 BE length),
    JSON payload, and the MAC trailer of the one kind flagged (report_mac.h):
    HMAC-SHA-256 (bit 0) or keyed BLAKE2b-256 (bit 1), 32 bytes, from older
    racks; XChaCha20-Poly1305 (bit 2), a 24-byte nonce and a 16-byte tag."""

    def __init__(self, port, key=None):
        self.port, self.key = port, key
        self.frames = []  # (conn number, flags, payload dict, mac_ok or None, raw frame)
        self.errors = []
        self.conns = 0
        self.eofs = 0
        self.lock = threading.Lock()
        self.sock = None
        self.clients = []
        self.threads = []

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(8)
        self.sock = s
        t = threading.Thread(target=self._accept, args=(s,), daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def _accept(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
                n = self.conns
                self.clients.append(c)
            t = threading.Thread(target=self._read, args=(c, n), daemon=True)
            t.start()
            self.threads.append(t)

    @staticmethod
    def _exact(c, n):
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                return None if not buf else buf
            buf += chunk
        return buf

    def _read(self, c, n):
        try:
            while True:
                hdr = self._exact(c, 12)
                if hdr is None:
                    with self.lock:
                        self.eofs += 1
                    return
                if len(hdr) < 12 or hdr[:3] != b"NWR" or hdr[3] != 1 or hdr[5:8] != bytes(3):
                    self.errors.append(f"bad header {hdr!r}")
                    return
                flags = hdr[4]
                (length,) = struct.unpack(">I", hdr[8:12])
                if flags & ~MAC_FLAGS or flags & (flags - 1):
                    self.errors.append(f"bad flags {flags:#x}")
                    return
                kind = KIND_OF.get(flags)
                body = self._exact(c, length + (TRAILER_LEN[kind] if kind else 0))
                if body is None or len(body) < length:
                    self.errors.append("truncated frame")
                    return
                payload = json.loads(body[:length].decode())
                verified = None
                if kind:
                    verified = self.key is not None and mac_ok(kind, self.key, hdr + body[:length],
                                                             body[length:])
                with self.lock:
                    self.frames.append((n, flags, payload, verified, hdr + body))
        except (OSError, ValueError) as e:
            if not isinstance(e, OSError):
                self.errors.append(repr(e))

    def stop(self):
        """Closes the listener and every connection, as a killed DC would."""
        if self.sock:
            # shutdown wakes the thread blocked in accept(); close alone would
            # leave the listener alive in the kernel until that accept returned.
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        with self.lock:
            clients, self.clients = self.clients, []
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def reports(self):
        with self.lock:
            return list(self.frames)


class Rack:
    """netwatch-rack, socket hook on 127.0.0.1, HTTP on, reporting to --dc,
    with an agent sending for servers 1 and 2."""

    def __init__(self, dc_port, key_file=None, rack_id=7, dc_host="127.0.0.1"):
        self.dir = tempfile.mkdtemp(prefix="nwt-report-")
        self.udp = free_port(socket.SOCK_DGRAM)
        self.http_port = free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.dc_port, self.key_file, self.rack_id = dc_port, key_file, rack_id
        self.dc_host = dc_host
        self.servers = ",".join(map(str, SERVERS))
        self.extra = []
        self.proc = self.agent = None
        self.log_path = os.path.join(self.dir, "rack.log")
        self.stderr = open(self.log_path, "w")

    def start(self, agent=True):
        keys = ["--key-file", self.key_file] if self.key_file else []
        self.proc = subprocess.Popen(
            [RACK, "--rack", str(self.rack_id), "--hook", "socket", "--listen", "127.0.0.1",
             "--port", str(self.udp), "--servers", self.servers,
             "--discover", "off", "--state-dir", os.path.join(self.dir, "state"),
             "--interval", str(INTERVAL), "--window", "64",
             "--metrics", f"127.0.0.1:{self.http_port}",
             "--dc", f"{self.dc_host}:{self.dc_port}", *keys, *self.extra],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_for(lambda: self.proc.poll() is not None or self.metrics() is not None, 15,
                 "/metrics")
        assert self.proc.poll() is None, self.log()
        if agent:
            self.agent = subprocess.Popen(
                [AGENT, "--controller", f"127.0.0.1:{self.udp}", "--rack", str(self.rack_id),
                 "--server", "1", "--servers", "2", "--rate", "20", *keys],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def metrics(self):
        """{(name, frozenset(labels)): value} of the rack's /metrics, or None."""
        try:
            with urllib.request.urlopen(self.base + "/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            return None
        out = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name_labels, _, value = line.rpartition(" ")
            name, _, labels = name_labels.partition("{")
            pairs = frozenset(tuple(kv.split("=", 1)) for kv in labels.rstrip("}").split(",")
                              if kv and "=" in kv)
            out[(name, frozenset((k, v.strip('"')) for k, v in pairs))] = float(value)
        return out

    def dc(self):
        """(state, sent, connects, {reason: failed}) from /metrics."""
        m = self.metrics() or {}
        state = [dict(l)["state"] for (n, l), v in m.items()
                 if n == "netwatch_rack_dc_connection_state" and v == 1]
        failed = {dict(l)["reason"]: v for (n, l), v in m.items()
                  if n == "netwatch_rack_reports_failed_total"}
        one = lambda name: next((v for (n, _), v in m.items() if n == name), None)
        return (state[0] if len(state) == 1 else None, one("netwatch_rack_reports_sent_total"),
                one("netwatch_rack_dc_connects_total"), failed)

    def api(self):
        with urllib.request.urlopen(self.base + "/api/v1/rack", timeout=2) as r:
            return json.loads(r.read().decode())

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return getattr(self, "final_log", "")

    def stop(self):
        rc = None
        for p in (self.agent, self.proc):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.proc is not None:
            rc = self.proc.returncode
        self.stderr.close()
        if os.path.isdir(self.dir):
            self.final_log = self.log()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


@pytest.fixture
def env():
    """Racks and fake DCs a test made, stopped on the way out, failure too."""
    made = []
    yield made
    rcs = [(thing, thing.stop()) for thing in reversed(made)]
    # A rack must exit 0 on SIGTERM (also under ASan/UBSan: no leak, no error).
    bad = [(t.log(), rc) for t, rc in rcs if isinstance(t, Rack) and rc not in (0, None)]
    assert not bad, bad


def check_report(p, rack_id):
    assert p["v"] == 1 and p["rack_id"] == rack_id
    assert p["interval_s"] == pytest.approx(INTERVAL)
    assert 0 <= p["rack_score"] <= 1
    servers = {s["id"]: s for s in p["servers"]}
    assert set(servers) == set(SERVERS), p["servers"]
    assert [s["id"] for s in p["servers"]] == sorted(servers)
    for s in p["servers"]:
        assert set(s) >= {"id", "class", "error", "snr_db", "loss_ratio", "jitter_s", "up"}, s
        assert s["class"] in ("healthy", "warning", "critical", "down", "left", "warming")
    # Server 3 never sent: down, never analysed.
    assert servers[3]["class"] == "down" and servers[3]["up"] is False
    assert servers[3]["error"] is None and servers[3]["snr_db"] is None
    return servers


def test_reports_every_interval_with_increasing_seq(env):
    port = free_port()
    dc = FakeDC(port).start()
    env.append(dc)
    rack = Rack(port).start()
    env.append(rack)
    wait_for(lambda: any(r[2]["servers"] and
                         {s["id"]: s for s in r[2]["servers"]}.get(1, {}).get("up")
                         for r in dc.reports()), 20, "a report with server 1 up")
    n0 = len(dc.reports())
    wait_for(lambda: len(dc.reports()) >= n0 + 10, 20, "10 more reports")
    reps = dc.reports()
    assert not dc.errors, dc.errors
    assert {r[0] for r in reps} == {1}, "one connection throughout"
    assert all(r[1] == 0 and r[3] is None for r in reps), "no MAC without a key"
    seqs = [r[2]["seq"] for r in reps]
    assert seqs[0] >= 1
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq grows by 1, none lost"
    assert len({r[2]["boot_ns"] for r in reps}) == 1
    times = [r[2]["time_ns"] for r in reps]
    assert times == sorted(times) and abs(times[-1] / 1e9 - time.time()) < 60
    for r in reps:
        check_report(r[2], 7)
    last = {s["id"]: s for s in reps[-1][2]["servers"]}
    assert last[1]["up"] is True and last[2]["up"] is True
    assert last[1]["class"] in ("healthy", "warning", "critical")
    # What the rack says about it.
    state, sent, connects, failed = rack.dc()
    assert state == "connected" and connects == 1 and sent >= len(reps) - 1
    assert set(failed) == {"not_connected", "replaced", "send_error", "encode"}
    assert failed["send_error"] == 0 and failed["encode"] == 0


def test_with_key_the_mac_verifies(env, tmp_path):
    master = os.urandom(32)
    key_file = tmp_path / "key"
    key_file.write_text(master.hex() + "\n")
    os.chmod(key_file, 0o600)
    port = free_port()
    dc = FakeDC(port, key=report_keys(master)).start()
    env.append(dc)
    rack = Rack(port, key_file=str(key_file), rack_id=9).start()
    env.append(rack)
    wait_for(lambda: len(dc.reports()) >= 5, 20, "5 reports")
    reps = dc.reports()
    assert not dc.errors, dc.errors
    assert all(r[1] == FLAG_XCHACHA for r in reps), "every frame carries XChaCha20-Poly1305"
    assert all(r[3] is True for r in reps), "the MAC verifies with the Python-derived key"
    assert len({r[4][-40:-16] for r in reps}) == len(reps), "a fresh nonce per frame"
    check_report(reps[-1][2], 9)
    # The check above can fail: another master key's report key does not verify.
    raw = reps[-1][4]
    length = struct.unpack(">I", raw[8:12])[0]
    trailer = raw[12 + length:]
    wrong = mac_of("xchacha", report_keys(bytes(32)), raw[:12 + length], nonce=trailer[:24])
    assert wrong != trailer


def test_without_dc_the_rack_keeps_working_then_connects(env):
    port = free_port()  # nobody listens yet
    rack = Rack(port).start()
    env.append(rack)
    wait_for(lambda: rack.dc()[3].get("not_connected", 0) >= 5, 20,
             "reports counted as not_connected")
    state, sent, connects, _ = rack.dc()
    assert state in ("disconnected", "connecting") and sent == 0 and connects == 0
    # The analysis and HTTP go on: the agent's servers come up and get analysed.
    wait_for(lambda: all(s["up"] for s in rack.api()["servers"] if s["server_id"] in (1, 2)),
             20, "servers 1 and 2 up while the DC is away")
    down_since = time.monotonic()
    dc = FakeDC(port).start()
    env.append(dc)
    wait_for(lambda: dc.reports(), BACKOFF_CAP + 5, "the first report after the DC appeared")
    assert time.monotonic() - down_since <= BACKOFF_CAP + 5
    wait_for(lambda: rack.dc()[0] == "connected" and rack.dc()[1] >= 1, 5, "connected in /metrics")
    assert rack.dc()[2] == 1
    check_report(dc.reports()[-1][2], 7)


def test_dc_killed_and_restarted_rack_reconnects(env):
    port = free_port()
    dc = FakeDC(port).start()
    env.append(dc)
    rack = Rack(port).start()
    env.append(rack)
    wait_for(lambda: len(dc.reports()) >= 3, 20, "3 reports")
    dc.stop()
    wait_for(lambda: rack.dc()[0] in ("disconnected", "connecting"), 10,
             "the rack notices the DC's close")
    wait_for(lambda: rack.dc()[3].get("not_connected", 0) >= 3, 10, "failures counted")
    before = dc.reports()
    dc2 = FakeDC(port).start()
    env.append(dc2)
    wait_for(lambda: len(dc2.reports()) >= 3, BACKOFF_CAP + 5, "reports to the restarted DC")
    after = dc2.reports()
    assert not dc.errors and not dc2.errors, (dc.errors, dc2.errors)
    assert after[0][2]["boot_ns"] == before[0][2]["boot_ns"]
    assert after[0][2]["seq"] > before[-1][2]["seq"], "seq keeps growing across the reconnect"
    seqs = [r[2]["seq"] for r in after]
    assert seqs == sorted(set(seqs))
    wait_for(lambda: rack.dc()[0] == "connected", 5, "connected again")
    assert rack.dc()[2] == 2, "two connections established"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


class StuckDC:
    """Accepts one connection and never reads from it: the kernel buffers
    fill and the rack's writes stop making progress."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(1)
        self.conn = None

    def accept(self):
        self.sock.settimeout(10)
        self.conn, _ = self.sock.accept()

    def stop(self):
        for s in (self.conn, self.sock):
            if s is not None:
                s.close()


def test_dc_that_never_reads_does_not_stall_the_rack(env):
    """Big frames (4096 registered servers) to a DC that reads nothing: the
    rack keeps refreshing and serving, keeps only the newest report and
    counts the rest as replaced."""
    port = free_port()
    dc = StuckDC(port)
    env.append(dc)
    rack = Rack(port)
    rack.servers = "0-4095"
    rack.extra = ["--max-servers", "4096"]
    rack.start(agent=False)
    env.append(rack)
    dc.accept()
    wait_for(lambda: (rack.dc()[3].get("replaced") or 0) >= 5, 30,
             "reports replaced while the DC does not read")
    state, sent, connects, failed = rack.dc()
    assert state == "connected" and connects == 1
    rss0 = rss_kib(rack.proc.pid)
    # The loop still runs: the view keeps refreshing while the writes are stuck.
    t0 = rack.api()["time_ns"]
    wait_for(lambda: rack.api()["time_ns"] > t0, 5, "a newer refresh")
    # The baseline for "nothing more went through" is taken once the
    # buffers had 10 more reports' time to fill: on a loaded machine the
    # first writes can still be draining into them when 5 are replaced.
    wait_for(lambda: rack.dc()[3]["replaced"] >= failed["replaced"] + 10, 30,
             "10 more reports replaced")
    sent = rack.dc()[1]
    wait_for(lambda: rack.dc()[3]["replaced"] >= failed["replaced"] + 50, 40,
             "40 more reports replaced")
    # ~370 KB frames: a queue would have grown by ~15 MB; newest-only holds
    # two. (ASan's quarantine keeps freed memory resident: no RSS figure there.)
    grown = rss_kib(rack.proc.pid) - rss0
    assert sanitized(rack.proc.pid) or grown < 8 * 1024, f"RSS grew by {grown} KiB"
    assert rack.dc()[1] <= sent + 2, "nothing more went through a DC that does not read"


def test_dc_given_by_name(env):
    """A name goes through the non-blocking resolver (getaddrinfo_a's thread
    in a daemon that has dropped its capabilities and blocks its signals)."""
    port = free_port()
    dc = FakeDC(port).start()
    env.append(dc)
    rack = Rack(port, dc_host="localhost").start(agent=False)
    env.append(rack)
    wait_for(lambda: len(dc.reports()) >= 3, 20, "3 reports to localhost")
    assert not dc.errors, dc.errors
    assert rack.dc()[0] == "connected"


def test_sigterm_closes_the_connection(env):
    port = free_port()
    dc = FakeDC(port).start()
    env.append(dc)
    rack = Rack(port).start(agent=False)
    env.append(rack)
    wait_for(lambda: len(dc.reports()) >= 2, 20, "2 reports")
    assert rack.stop() == 0, "the rack exits cleanly"
    wait_for(lambda: dc.eofs >= 1, 5, "the DC sees the connection end")
    assert not dc.errors, dc.errors


def test_bad_dc_is_a_usage_error():
    for bad in ("dc:0", "[1.2.3.4]:9", "a:b:", "host:99999", "[::1"):
        res = subprocess.run([RACK, "--hook", "socket", "--dc", bad], capture_output=True,
                             text=True, timeout=10)
        assert res.returncode == 2, (bad, res.stderr)
        assert "--dc" in res.stderr
