"""netwatch-dc as a process, on loopback only: racks are simulated here by
building report frames in Python (docs/report-protocol.md, user/common/report.h),
so every hostile variant can be sent byte for byte.

(a) the DC score is the documented formula over the racks' scores;
(b) a table of bad reports, each counted under exactly its reason while a
    good rack keeps being accepted;
(c) 500 idle connections, a slowloris sender and peers announcing huge
    frames do not stop a real rack, and the DC's memory stays bounded;
(d) a rack that stops reporting turns stale within --stale + 1 s; SIGTERM
    ends the DC cleanly.
"""

import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

from nwlab import BUILD, free_port, wait_for
from report_frame import FLAG_HMAC, WRITTEN, frame, report_keys

DC = os.path.join(BUILD, "netwatch-dc")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

REASONS = ("bad_frame", "too_large", "truncated", "json", "duplicate_key", "type", "range",
           "too_many_servers", "auth", "replay", "rack_claimed")
MAX_PAYLOAD = 4 << 20
BOOT_NS = time.time_ns() - 10 * 10**9


def setup_module(_):
    # 500 connections from this process need descriptors beyond a 1024 soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# ------------------------------------------------------------ the protocol

def server(i, error=0.01):
    return {"id": i, "class": "healthy", "error": error, "snr_db": 20.0, "loss_ratio": 0.0,
            "jitter_s": 0.0001, "up": True}


def report(rack, seq, score, servers=None, boot_ns=BOOT_NS, **over):
    r = {"v": 1, "rack_id": rack, "boot_ns": boot_ns, "seq": seq, "time_ns": time.time_ns(),
         "interval_s": 0.2, "rack_score": score,
         "servers": [server(i) for i in range(3)] if servers is None else servers}
    r.update(over)
    return r


def encode(obj):
    return json.dumps(obj, separators=(",", ":"))


# ------------------------------------------------------------ the daemon

def parse_metrics(text):
    """{(name, frozenset(labels.items())): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, f"unparsable line {line!r}"
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


class Dc:
    def __init__(self, *args, key=None):
        self.port = free_port()
        self.http_port = free_port()
        self.dir = tempfile.mkdtemp(prefix="nwt-dc-")
        self.args = list(args)
        self.report_key = None
        if key is not None:
            path = os.path.join(self.dir, "key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, key.hex().encode() + b"\n")
            os.close(fd)
            self.args += ["--key-file", path]
            self.report_key = report_keys(key)
        self.log_path = os.path.join(self.dir, "dc.log")
        self.proc = None

    def __enter__(self):
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [DC, "--listen", f"127.0.0.1:{self.port}", "--metrics",
             f"127.0.0.1:{self.http_port}", "--dc-id", 'dc "one"'] + self.args,
            stdout=subprocess.DEVNULL, stderr=self.log_file)
        wait_for(lambda: self.proc.poll() is not None or self.healthy(), 10, "DC /healthz")
        assert self.proc.poll() is None, self.log()
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def healthy(self):
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        status, body = self.get("/metrics")
        assert status == 200
        return parse_metrics(body)

    def api(self):
        status, body = self.get("/api/v1/dc")
        assert status == 200
        return json.loads(body)

    def value(self, name, **labels):
        labels.setdefault("dc_id", 'dc \\"one\\"')
        return self.metrics().get((name, frozenset(labels.items())))

    def rejected(self):
        m = self.metrics()
        return {r: m[("netwatch_dc_reports_rejected_total",
                      frozenset({"dc_id": 'dc \\"one\\"', "reason": r}.items()))] for r in REASONS}

    def conn_rejected(self, reason):
        return self.value("netwatch_dc_connections_rejected_total", reason=reason)

    def rack_accepted(self, rack):
        return self.value("netwatch_dc_rack_reports_accepted_total", rack_id=str(rack)) or 0

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")


class Rack:
    """A simulated rack controller: one connection, increasing seq."""

    def __init__(self, dc, rack, score=0.9, boot_ns=BOOT_NS, kind=WRITTEN):
        self.dc, self.rack, self.score, self.boot_ns = dc, rack, score, boot_ns
        # the MAC it writes with a key: "xchacha", or "blake2b" / "hmac" (racks not yet upgraded)
        self.kind = kind
        self.seq = 0
        self.sock = dc.connect()

    def frame(self, **over):
        self.seq += 1
        return frame(encode(report(self.rack, self.seq, self.score, boot_ns=self.boot_ns, **over)),
                     key=self.dc.report_key, kind=self.kind)

    def send(self, **over):
        self.sock.sendall(self.frame(**over))

    def send_accepted(self):
        """Sends one report and waits until the DC has counted it."""
        before = self.dc.rack_accepted(self.rack)
        self.send()
        wait_for(lambda: self.dc.rack_accepted(self.rack) > before, 5,
                 f"rack {self.rack}'s report accepted")

    def close(self):
        self.sock.close()


# ------------------------------------------------------------ (a) the score

def test_dc_score_is_mean_over_expected_and_reporting_racks():
    with Dc("--racks", "3", "--stale", "30") as dc:
        r0, r1 = Rack(dc, 0, 0.9), Rack(dc, 1, 0.6)
        r0.send_accepted()
        r1.send_accepted()
        # Rack 2 is expected and never reported: it counts 0.
        assert dc.value("netwatch_dc_health_score") == pytest.approx((0.9 + 0.6 + 0) / 3, abs=1e-12)
        assert dc.value("netwatch_dc_racks_reporting") == 2
        assert dc.value("netwatch_dc_racks_expected") == 3
        assert dc.value("netwatch_dc_rack_stale", rack_id="2") == 1
        assert dc.value("netwatch_dc_rack_state", rack_id="2", state="never") == 1
        assert dc.value("netwatch_dc_rack_state", rack_id="0", state="ok") == 1
        assert dc.value("netwatch_dc_rack_health_score", rack_id="1") == pytest.approx(0.6)
        # A rack outside --racks that reports joins the mean.
        r7 = Rack(dc, 7, 0.3)
        r7.send_accepted()
        assert dc.value("netwatch_dc_health_score") == pytest.approx((0.9 + 0.6 + 0 + 0.3) / 4,
                                                                     abs=1e-12)
        doc = dc.api()
        assert doc["dc_id"] == 'dc "one"'
        assert doc["health_score"] == pytest.approx(0.45, abs=1e-12)
        racks = {r["rack_id"]: r for r in doc["racks"]}
        assert racks[2]["state"] == "never" and racks[2]["score"] == 0 and racks[2]["age_s"] is None
        assert racks[0]["state"] == "ok" and racks[0]["seq"] == 1
        assert racks[0]["authenticated"] is False
        assert [s["id"] for s in racks[0]["servers"]] == [0, 1, 2]
        assert racks[0]["servers"][0]["class"] == "healthy"
        assert dc.value("netwatch_dc_auth_required") == 0
        assert "reports are not authenticated" in dc.log()
        for r in (r0, r1, r7):
            r.close()


METRICS_DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                           "metrics.md")


def documented_dc_families():
    """{name: type} from the "netwatch-dc" section of docs/metrics.md."""
    fams, inside = {}, False
    with open(METRICS_DOC) as f:
        for line in f:
            if line.startswith("## "):
                inside = line.strip() == "## netwatch-dc"
            m = re.match(r"^\|\s*(netwatch_[a-z0-9_]+)\s*\|\s*(\w+)\s*\|", line)
            if inside and m:
                fams[m.group(1)] = m.group(2)
    return fams


def test_metrics_pass_promtool_and_every_reason_is_present():
    with Dc("--racks", "2") as dc:
        r0 = Rack(dc, 0)
        r0.send_accepted()
        status, body = dc.get("/metrics")
        assert status == 200
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                           text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        assert set(dc.rejected()) == set(REASONS)
        for reason in ("limit", "idle", "slow", "memory", "errors"):
            assert dc.conn_rejected(reason) == 0
        assert dc.get("/nope")[0] == 404
        assert dc.get("/healthz") == (200, "ok\n")
        served = dict(re.findall(r"^# TYPE (\S+) (\S+)$", body, re.M))
        assert served == documented_dc_families()
        r0.close()


# ------------------------------------------------------------ (b) bad reports

def huge_servers(n):
    """A servers array of n entries, each the smallest JSON value."""
    return '{"v":1,"rack_id":9,"boot_ns":1,"seq":1,"time_ns":%d,"interval_s":1,' \
           '"rack_score":1,"servers":[%s]}' % (time.time_ns(), ",".join(["0"] * n))


def good_payload(rack=9, **over):
    return encode(report(rack, 1, 0.5, **over))


def replace_value(text, key, literal):
    """`key`'s value in a flat report replaced by a raw JSON literal."""
    return re.sub(r'"%s":[^,}]+' % key, '"%s":%s' % (key, literal), text, count=1)


# (name, a function making the bytes to send, the reason it is counted
# under); built when the test runs, so time_ns is current. Each runs on its
# own connection, which is closed afterwards.
BAD_REPORTS = [
    ("not JSON", lambda: frame("hello, not json"), "json"),
    ("JSON but not an object", lambda: frame("[1,2,3]"), "type"),
    ("truncated frame", lambda: frame(good_payload())[:40], "truncated"),
    ("frame over the limit", lambda: frame(b"", length=MAX_PAYLOAD + 1), "too_large"),
    ("empty payload", lambda: frame(b"", length=0), "too_large"),
    ("wrong magic", lambda: frame(good_payload(), magic=b"XYZ"), "bad_frame"),
    ("wrong version", lambda: frame(good_payload(), version=2), "bad_frame"),
    ("unknown flag", lambda: frame(good_payload(), flags=0x80), "bad_frame"),
    ("both MAC kinds flagged", lambda: frame(good_payload(), mac=bytes(32), flags=0x03), "bad_frame"),
    ("rack_id a string", lambda: frame(replace_value(good_payload(), "rack_id", '"9"')), "type"),
    ("rack_score a string", lambda: frame(replace_value(good_payload(), "rack_score", '"1"')), "type"),
    ("seq a real", lambda: frame(replace_value(good_payload(), "seq", "1.5")), "type"),
    ("servers an object", lambda: frame(good_payload(servers={})), "type"),
    ("field missing", lambda: frame(good_payload().replace('"time_ns"', '"time_nz"')), "type"),
    ("server up a number", lambda: frame(good_payload(servers=[dict(server(1), up=1)])), "type"),
    ("NaN literal", lambda: frame(replace_value(good_payload(), "rack_score", "NaN")), "json"),
    ("Infinity literal", lambda: frame(replace_value(good_payload(), "rack_score", "Infinity")), "json"),
    ("-Infinity literal", lambda: frame(replace_value(good_payload(), "rack_score", "-Infinity")), "json"),
    ("1e999 overflows", lambda: frame(replace_value(good_payload(), "rack_score", "1e999")), "range"),
    ("score above 1", lambda: frame(good_payload(rack_score=1.5)), "range"),
    ("negative rack id", lambda: frame(good_payload(rack=-1)), "range"),
    ("huge rack id", lambda: frame(good_payload(rack=65536)), "range"),
    ("huge rack id 2^63", lambda: frame(good_payload(rack=2**63)), "range"),
    ("negative server id", lambda: frame(good_payload(servers=[server(-5)])), "range"),
    ("server id 2^32", lambda: frame(good_payload(servers=[server(2**32)])), "range"),
    ("server error above 1", lambda: frame(good_payload(servers=[server(1, error=3.0)])), "range"),
    ("unknown class", lambda: frame(good_payload(servers=[dict(server(1), **{"class": "fine"})])), "range"),
    ("duplicate server id", lambda: frame(good_payload(servers=[server(1), server(1)])), "range"),
    ("16385 servers", lambda: frame(huge_servers(16385)), "too_many_servers"),
    # 10^6 entries are refused by the codec's byte budget before jansson
    # allocates them (report.h NW_REPORT_MAX_SEPARATORS): too_large.
    ("a rack claiming 10^6 servers", lambda: frame(huge_servers(10**6)), "too_large"),
    ("duplicate keys", lambda: frame(good_payload().replace('{"v":1,', '{"v":1,"v":1,')), "duplicate_key"),
    ("a MAC the DC cannot check is ignored, payload bad", lambda: frame("nope", mac=bytes(40)), "json"),
]


def send_case(dc, data):
    s = dc.connect()
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the DC may close before it has read everything (framing errors)
    return s


def expect_only(dc, before, reason, what):
    def changed():
        now = dc.rejected()
        return now if now != before else None
    now = wait_for(changed, 10, f"{what}: a rejection counted")
    # Let a second, wrong count show up if there is one.
    time.sleep(0.1)
    now = dc.rejected()
    delta = {r: now[r] - before[r] for r in REASONS if now[r] != before[r]}
    assert delta == {reason: 1}, f"{what}: {delta}"
    return now


@pytest.fixture(scope="module")
def open_dc():
    with Dc("--racks", "1", "--stale", "60") as dc:
        yield dc


@pytest.fixture(scope="module")
def good_rack(open_dc):
    r = Rack(open_dc, 0, 0.8)
    r.send_accepted()
    yield r
    r.close()


@pytest.mark.parametrize("name,data,reason", BAD_REPORTS, ids=[c[0] for c in BAD_REPORTS])
def test_bad_report_counted_under_its_reason(open_dc, good_rack, name, data, reason):
    dc = open_dc
    before = dc.rejected()
    s = send_case(dc, data())
    if reason == "truncated":
        s.close()  # the peer leaves inside the frame
    expect_only(dc, before, reason, name)
    s.close()
    good_rack.send_accepted()


def test_second_connection_claiming_a_connected_rack(open_dc, good_rack):
    dc = open_dc
    before = dc.rejected()
    intruder = Rack(dc, 0, 0.1)
    intruder.seq = good_rack.seq + 100  # newer, so only the claim can refuse it
    intruder.send()
    expect_only(dc, before, "rack_claimed", "rack claimed")
    good_rack.send_accepted()
    assert dc.value("netwatch_dc_rack_health_score", rack_id="0") == pytest.approx(0.8)
    intruder.close()


def test_repeated_errors_close_the_connection(open_dc, good_rack):
    dc = open_dc
    before = dc.conn_rejected("errors")
    warned = dc.log().count("refused a report (further")
    s = dc.connect()
    for _ in range(3):
        s.sendall(frame("still not json"))
    wait_for(lambda: dc.conn_rejected("errors") == before + 1, 5, "connection closed for errors")
    s.settimeout(5)
    assert s.recv(1) == b""  # closed by the DC
    s.close()
    good_rack.send_accepted()
    # Logged once per connection at warn level, not once per report.
    assert dc.log().count("refused a report (further") == warned + 1


def test_replay_on_a_new_connection_is_refused(open_dc, good_rack):
    """Without a key too: (boot_ns, seq) must increase per rack."""
    dc = open_dc
    r5 = Rack(dc, 5, 0.5)
    r5.send_accepted()
    old = frame(encode(report(5, r5.seq, 0.5)))
    r5.close()
    wait_for(lambda: dc.value("netwatch_dc_connections_open") == 1, 5, "rack 5 disconnected")
    before = dc.rejected()
    s = send_case(dc, old)
    expect_only(dc, before, "replay", "replay on a new connection")
    s.close()
    good_rack.send_accepted()


def test_with_key_wrong_mac_missing_mac_and_replay_are_refused():
    master = secrets.token_bytes(32)
    with Dc("--racks", "3", "--stale", "60", key=master) as dc:
        assert dc.value("netwatch_dc_auth_required") == 1
        good = Rack(dc, 0, 0.7)
        good.send_accepted()  # XChaCha20-Poly1305 and key derivation agree with the C side
        assert dc.api()["racks"][0]["authenticated"] is True
        # racks not yet upgraded: keyed BLAKE2b and HMAC-SHA-256 still verify
        for rack, kind in ((1, "blake2b"), (2, "hmac")):
            Rack(dc, rack, 0.8, kind=kind).send_accepted()
            assert dc.api()["racks"][rack]["authenticated"] is True, kind
        payload = encode(report(3, 1, 0.5))
        wrong_key = report_keys(secrets.token_bytes(32))
        right = frame(payload, key=dc.report_key)
        b2b = frame(payload, key=dc.report_key, kind="blake2b")
        nonce_at = len(right) - 40  # the trailer: 24-byte nonce, 16-byte tag
        cases = [
            ("wrong XChaCha20-Poly1305 key", frame(payload, key=wrong_key), "auth"),
            ("wrong BLAKE2b key", frame(payload, key=wrong_key, kind="blake2b"), "auth"),
            ("wrong HMAC key", frame(payload, key=wrong_key, kind="hmac"), "auth"),
            ("zero trailer", frame(payload, mac=bytes(40)), "auth"),
            ("zero MAC flagged BLAKE2b", frame(payload, mac=bytes(32), kind="blake2b"), "auth"),
            ("zero MAC flagged HMAC", frame(payload, mac=bytes(32), kind="hmac"), "auth"),
            ("no MAC", frame(payload), "auth"),
            ("tag bit flipped", right[:-1] + bytes([right[-1] ^ 1]), "auth"),
            ("nonce bit flipped",
             right[:nonce_at] + bytes([right[nonce_at] ^ 1]) + right[nonce_at + 1:], "auth"),
            ("payload bit flipped", right[:20] + bytes([right[20] ^ 1]) + right[21:], "auth"),
            ("BLAKE2b tag flagged as HMAC", b2b[:4] + bytes([FLAG_HMAC]) + b2b[5:], "auth"),
            ("two MAC kinds flagged", right[:4] + bytes([0x06]) + right[5:], "bad_frame"),
        ]
        for name, data, reason in cases:
            before = dc.rejected()
            s = send_case(dc, data)
            expect_only(dc, before, reason, name)
            s.close()
            good.send_accepted()
        # Replayed: the same authenticated frame again, on the same connection.
        data = good.frame()
        before = dc.rack_accepted(0)
        good.sock.sendall(data)
        wait_for(lambda: dc.rack_accepted(0) == before + 1, 5, "original accepted")
        before = dc.rejected()
        good.sock.sendall(data)
        expect_only(dc, before, "replay", "replayed authenticated report")
        # An old boot of the rack is a replay too.
        before = dc.rejected()
        good.sock.sendall(frame(encode(report(0, 10**6, 0.7, boot_ns=BOOT_NS - 1)),
                                key=dc.report_key))
        expect_only(dc, before, "replay", "older boot")
        good.send_accepted()  # two errors on this connection: still open
        # Far from the DC's clock (after a DC restart, the last seq is gone).
        for name, t in (("time far in the past", time.time_ns() - 10**12),
                        ("time far in the future", time.time_ns() + 10**12)):
            before = dc.rejected()
            s = send_case(dc, frame(encode(report(4, 1, 0.7, time_ns=t)), key=dc.report_key))
            expect_only(dc, before, "replay", name)
            s.close()
        # A third error closes the connection; the rack reconnects and goes on.
        before = dc.conn_rejected("errors")
        good.sock.sendall(data)
        wait_for(lambda: dc.conn_rejected("errors") == before + 1, 5, "closed after 3 errors")
        good.close()
        again = Rack(dc, 0, 0.7)
        again.seq = good.seq
        again.send_accepted()
        again.close()


def test_with_key_an_authenticated_newer_report_takes_a_rack_over():
    """The rack reconnects while its old connection is still open (half-open
    after a network cut): its authenticated, newer report wins the rack and
    the old connection is closed. An older one is still rack_claimed."""
    with Dc("--racks", "1", "--stale", "60", key=secrets.token_bytes(32)) as dc:
        old = Rack(dc, 0, 0.7)
        old.send_accepted()
        before = dc.rejected()
        stale_copy = Rack(dc, 0, 0.7)
        stale_copy.seq = old.seq - 1  # sends old.seq: not newer
        stale_copy.send()
        expect_only(dc, before, "rack_claimed", "not newer, rack held")
        stale_copy.close()
        new = Rack(dc, 0, 0.4)
        new.seq = old.seq
        new.send_accepted()
        old.sock.settimeout(5)
        assert old.sock.recv(1) == b""  # the DC closed the superseded connection
        assert dc.value("netwatch_dc_rack_health_score", rack_id="0") == pytest.approx(0.4)
        assert "took over" in dc.log()
        new.send_accepted()
        old.close()
        new.close()


def test_racks_beyond_max_racks_are_refused():
    with Dc("--racks", "1", "--max-racks", "2") as dc:
        Rack(dc, 0).send_accepted()
        Rack(dc, 5).send_accepted()  # a rack outside --racks joins while there is room
        before = dc.rejected()
        extra = Rack(dc, 6)
        extra.send()
        expect_only(dc, before, "range", "a third rack over --max-racks 2")
        assert dc.value("netwatch_dc_racks_known") == 2
        extra.close()


# ------------------------------------------------------------ (c) load

# Growth of the DC's RSS under the load below: --max-buffer (16 MiB) + the
# 500 connections' 16 KiB allowances would be 8 MiB if all were used, + room
# for libc's arenas. AddressSanitizer's shadow and quarantine (freed memory
# is kept) roughly triple what the same allocations cost.
RSS_BOUND_KIB = 16 * 1024 + 48 * 1024


def sanitized():
    with open(DC, "rb") as f:
        return b"__asan_init" in f.read()


class Slowloris(threading.Thread):
    """A header announcing 1000 bytes, then one byte a second."""

    def __init__(self, dc):
        super().__init__(daemon=True)
        self.sock = dc.connect()
        self.stop = threading.Event()
        self.closed_by_peer = False

    def run(self):
        data = frame(b"x" * 1000)
        try:
            self.sock.sendall(data[:12])
            for b in data[12:]:
                if self.stop.wait(1.0):
                    return
                self.sock.sendall(bytes([b]))
        except OSError:
            self.closed_by_peer = True


def test_idle_connections_slowloris_and_huge_frames_do_not_stop_a_rack():
    with Dc("--racks", "1", "--stale", "60", "--frame-timeout", "3", "--idle-timeout", "120",
            "--max-conns", "1024", "--max-buffer", str(16 << 20)) as dc:
        rss0 = dc.rss_kib()
        rack = Rack(dc, 0, 0.9)
        rack.send_accepted()
        idle = [dc.connect() for _ in range(500)]
        wait_for(lambda: dc.value("netwatch_dc_connections_open") == 501, 10, "500 idle open")
        slow = Slowloris(dc)
        slow.start()
        # While the slowloris dribbles, the rack keeps being accepted.
        for _ in range(5):
            rack.send_accepted()
            time.sleep(0.3)
        wait_for(lambda: dc.conn_rejected("slow") == 1, 10, "slowloris closed after --frame-timeout")
        assert dc.rejected()["truncated"] == 1
        rack.send_accepted()

        # 40 peers each announcing a 4 MiB frame and sending 1 MiB of it (a
        # 2 MiB buffer each, doubling): the 16 MiB budget holds about 7, the
        # rest are closed as "memory".
        hogs = []
        chunk = frame(b"", length=MAX_PAYLOAD)[:12] + b"[" * (1 << 20)
        for _ in range(40):
            s = dc.connect()
            try:
                s.sendall(chunk)
            except OSError:
                pass
            hogs.append(s)
        wait_for(lambda: dc.conn_rejected("memory") >= 20, 20, "budget closes hogs")
        buffered = dc.value("netwatch_dc_buffered_bytes")
        assert buffered <= 16 << 20
        rack.send_accepted()
        rss = dc.rss_kib()
        print(f"\nDC VmRSS: start {rss0} KiB, with 500 idle + slowloris + 40 x 1 MiB "
              f"partial frames {rss} KiB (buffered {int(buffered)} B, "
              f"{int(dc.conn_rejected('memory'))} hogs closed as memory, growth bound {RSS_BOUND_KIB} KiB"
              f"{' x3 (ASan)' if sanitized() else ''})")
        assert rss - rss0 < RSS_BOUND_KIB * (3 if sanitized() else 1)
        assert dc.value("netwatch_dc_connections_rejected_total", reason="limit") == 0
        slow.stop.set()
        for s in idle + hogs:
            s.close()
        wait_for(lambda: dc.value("netwatch_dc_connections_open") == 1, 10, "peers gone")
        rack.send_accepted()
        rack.close()


def test_connection_limit_and_idle_timeout():
    with Dc("--max-conns", "4", "--idle-timeout", "1") as dc:
        socks = [dc.connect() for _ in range(6)]
        wait_for(lambda: dc.conn_rejected("limit") == 2, 5, "2 over the limit closed")
        wait_for(lambda: dc.conn_rejected("idle") == 4, 5, "4 idle closed")
        assert dc.value("netwatch_dc_connections_open") == 0
        for s in socks:
            s.close()


# ------------------------------------------------------------ (d) stale, stop

def test_rack_goes_stale_and_dc_score_drops_then_sigterm():
    stale = 1.0
    with Dc("--racks", "2", "--stale", str(stale)) as dc:
        r0, r1 = Rack(dc, 0, 1.0), Rack(dc, 1, 0.5)
        stop = threading.Event()

        def keep_reporting():
            while not stop.wait(0.2):
                r0.send()
        r1.send_accepted()
        r0.send_accepted()
        feeder = threading.Thread(target=keep_reporting, daemon=True)
        feeder.start()
        assert dc.value("netwatch_dc_health_score") == pytest.approx(0.75)
        r1.send_accepted()
        last = time.monotonic()  # rack 1 stops reporting here
        wait_for(lambda: dc.value("netwatch_dc_rack_stale", rack_id="1") == 1, stale + 1,
                 "rack 1 stale within --stale + 1 s")
        assert time.monotonic() - last <= stale + 1
        assert dc.value("netwatch_dc_rack_stale", rack_id="0") == 0
        assert dc.value("netwatch_dc_rack_state", rack_id="1", state="stale") == 1
        assert dc.value("netwatch_dc_health_score") == pytest.approx(0.5)
        assert dc.value("netwatch_dc_racks_reporting") == 1
        assert dc.value("netwatch_dc_rack_report_age_seconds", rack_id="1") > stale
        # It comes back with its next report.
        r1.send_accepted()
        assert dc.value("netwatch_dc_rack_stale", rack_id="1") == 0
        stop.set()
        feeder.join(5)
        dc.proc.send_signal(signal.SIGTERM)
        assert dc.proc.wait(timeout=3) == 0
        assert "stopping" in dc.log()
        r0.close()
        r1.close()


# ------------------------------------------------------------ options

@pytest.mark.parametrize("args,needle", [
    (["--racks", "x"], "--racks"),
    (["--racks", "70000"], "--racks"),
    (["--stale", "-1"], "--stale"),
    (["--listen", "nowhere"], "--listen"),
    (["--metrics", "1.2.3.4"], "--metrics"),
    (["--dc-id", ""], "--dc-id"),
    (["--dc-id", "a\nb"], "--dc-id"),
    (["--max-conns", "0"], "--max-conns"),
    (["--key-file", "/nonexistent/key"], "--key-file"),
    (["--racks", "10", "--max-racks", "5"], "--racks"),
    (["--bogus"], "--bogus"),
    (["extra"], "extra"),
])
def test_bad_options_exit_2_with_one_line(args, needle):
    p = subprocess.run([DC] + args, capture_output=True, text=True, timeout=5)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], p.stderr


def test_env_options_and_help():
    p = subprocess.run([DC], capture_output=True, text=True, timeout=5,
                       env=dict(os.environ, NETWATCH_STALE="zero"))
    assert p.returncode == 2 and "NETWATCH_STALE" in p.stderr
    p = subprocess.run([DC, "--help"], capture_output=True, text=True, timeout=5)
    assert p.returncode == 0 and "--frame-timeout" in p.stdout
