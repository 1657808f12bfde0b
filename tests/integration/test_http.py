"""netwatch-rack's HTTP side: /metrics, /healthz and the JSON API, checked
against promtool and a real Prometheus scraping the collector. The contract
is docs/metrics.md: every family listed there must reach Prometheus with its
labels.

Most tests run the socket hook on the host's loopback (no namespace needed);
one runs the XDP hook in a namespace and asks from inside it with curl."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import prom_run
from nwlab import AGENT, RACK, Collector, VethPair, free_port, run, wait_for
from prom_run import PROMETHEUS
from slowloris import Slowloris

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "metrics.md")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

# A family that exists only once there is something to report: a disturbance
# period. Server STALLED's agent is stopped (SIGSTOP) for STALL_S every
# STALL_EVERY_S, so its loss series has that period; the others may or may
# not show one (a false alarm is rare but allowed here).
PERIODIC_ONLY = ("netwatch_server_disturbance_period_seconds",)
STALLED = 4
STALL_EVERY_S = 4.0
# Short enough that the gap (stall + one sample period) stays below the
# collector's "down" limit (--down-after sample periods), which would restart
# the server's warm-up; long enough for 6 lost samples a cycle.
STALL_S = 0.3
# The loss series' peak grows with the points in the horizon (~0.08 of
# them for this duty cycle): 30 s keeps it far above the false-alarm
# threshold once full, and the first report still comes after ~10-15 s.
HORIZON_S = 30

# Measured on a server's window, so absent for one that never sent (server 3
# here: it is down, and only its spectral_error is defined, as 1.0).
ANALYSED_ONLY = (
    "netwatch_server_snr_db",
    "netwatch_server_spectral_error_short",  # while the short scale has a figure
    "netwatch_server_peak_frequency_hertz",
    "netwatch_server_expected_frequency_hertz",
    "netwatch_server_tone_offset_hertz",
    "netwatch_server_tone_mismatch",
    "netwatch_server_clock_skew_ppm",
    "netwatch_server_one_way_delay_seconds",
)

# promtool's naming lint objects to the seed's own histogram name (its unit
# is abbreviated); the name is a contract (docs/design.md), so that one line is expected.
PROMTOOL_ACCEPTED = {"netwatch_latency_ms metric names should not contain abbreviated units"}

SERVERS = (1, 2, 3, STALLED)  # 1, 2 and 4 send; 3 is registered and never does


def documented_families():
    """(name, type, labels) for every row of docs/metrics.md's family table."""
    rows = []
    with open(DOCS) as f:
        for line in f:
            m = re.match(r"^\|\s*`(netwatch_[a-z0-9_]+)`\s*\|\s*(\w+)\s*\|([^|]*)\|", line)
            if m:
                labels = tuple(l.strip() for l in m.group(3).split(",") if l.strip())
                rows.append((m.group(1), m.group(2), labels))
    return rows


FAMILIES = documented_families()


def documented_values(family, label):
    """The values docs/metrics.md lists for a label (`label` = `a`, `b`, ...)."""
    with open(DOCS) as f:
        for line in f:
            if line.startswith(f"| `{family}`"):
                m = re.search(rf"`{label}` = ((?:`[a-z_]+`(?:, )?)+)", line)
                assert m, line
                return set(re.findall(r"`([a-z_]+)`", m.group(1)))
    raise AssertionError(f"{family} is not in docs/metrics.md")


def http(base, path, method="GET", data=None, timeout=5):
    """(status, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(base + path, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse_exposition(text):
    """{family: {"help", "type", "samples": [(name, labels, value)]}}"""
    fams, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            fams.setdefault(name, {})["help"] = help_
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            fams.setdefault(name, {})["type"] = typ
        elif line and not line.startswith("#"):
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
            assert m, f"unparsable line {line!r}"
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                     m.group(2) or ""))
            samples.append((m.group(1), labels, float(m.group(3))))
    for f in fams.values():
        f["samples"] = []
    for name, labels, value in samples:
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in fams and \
                    fams[name[:-len(suffix)]].get("type") == "histogram":
                fam = name[:-len(suffix)]
        assert fam in fams, f"sample {name} has no # TYPE"
        fams[fam]["samples"].append((name, labels, value))
    return fams


class Staller:
    """Stops a process for `stall` seconds every `every` seconds (SIGSTOP,
    SIGCONT) until stop(): a periodic fault the collector must find."""

    def __init__(self, proc, every, stall):
        self.proc, self.every, self.stall = proc, every, stall
        self.done = threading.Event()
        self.cycles = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        # Absolute deadlines: a late wake-up shifts one stall, not the period.
        resume = time.monotonic() + self.every
        while not self.done.wait(max(0.0, resume - self.stall - time.monotonic())):
            if self.proc.poll() is not None:
                return
            self.proc.send_signal(signal.SIGSTOP)
            try:
                self.done.wait(max(0.0, resume - time.monotonic()))
            finally:
                self.proc.send_signal(signal.SIGCONT)
            self.cycles += 1
            resume += self.every

    def stop(self):
        self.done.set()
        self.thread.join(timeout=5)


class SocketRack:
    """netwatch-rack with the socket hook on 127.0.0.1, serving HTTP, an
    agent sending for servers 1 and 2 until stopped, one for server
    STALLED that is stalled periodically, and a fabric agent standing in
    for rack 1 (the path 1 -> 0: its netwatch_path_in_* series)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nwt-http-")
        self.udp = free_port(socket.SOCK_DGRAM)
        self.http_port = free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.proc = self.agent = self.stalled = self.staller = self.fabric = None
        self.stderr = open(os.path.join(self.dir, "rack.log"), "w")

    def peers(self, name, doc):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def start(self):
        local = [{"rack_id": r, "addr": "127.0.0.1"} for r in (0, 1)]
        self.proc = subprocess.Popen(
            [RACK, "--rack", "0", "--hook", "socket", "--listen", "127.0.0.1",
             "--port", str(self.udp), "--servers", ",".join(map(str, SERVERS)),
             "--discover", "off", "--state-dir", os.path.join(self.dir, "state"),
             "--interval", "0.2", "--window", "64", "--horizon", str(HORIZON_S),
             "--metrics", f"127.0.0.1:{self.http_port}",
             "--fabric-peers", self.peers("rack0.json", {"self": 0, "racks": local[1:]})],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_for(lambda: self.proc.poll() is not None or self._healthy(), 15, "/healthz")
        assert self.proc.poll() is None, self.log()
        self.agent = subprocess.Popen(
            [AGENT, "--controller", f"127.0.0.1:{self.udp}", "--rack", "0", "--server", "1",
             "--servers", "2", "--rate", "20"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.stalled = subprocess.Popen(
            [AGENT, "--controller", f"127.0.0.1:{self.udp}", "--rack", "0", "--server",
             str(STALLED), "--servers", "1", "--rate", "20"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.fabric = subprocess.Popen(
            [AGENT, "--fabric", "--fabric-port", str(self.udp), "--fabric-peers",
             self.peers("rack1.json", {"self": 1, "racks": local[:1]})],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._both_up(), 20, "servers 1, 2 and 4 up")
        self.staller = Staller(self.stalled, STALL_EVERY_S, STALL_S)
        return self

    def _healthy(self):
        try:
            return http(self.base, "/healthz", timeout=1)[0] == 200
        except OSError:
            return False

    def _both_up(self):
        doc = json.loads(http(self.base, "/api/v1/rack")[1])
        s = {x["server_id"]: x for x in doc["servers"]}
        return all(s.get(i, {}).get("up") and s[i]["received"] > 0 for i in (1, 2, STALLED))

    def analysed(self, ids):
        doc = json.loads(http(self.base, "/api/v1/rack")[1])
        s = {x["server_id"]: x for x in doc["servers"]}
        return all(s.get(i, {}).get("analysed") for i in ids)

    def skew_known(self, ids):
        doc = json.loads(http(self.base, "/api/v1/rack")[1])
        s = {x["server_id"]: x for x in doc["servers"]}
        return all((s.get(i, {}).get("analysis") or {}).get("skew_ppm") is not None for i in ids)

    def loss_period(self, sid):
        """The period found in server sid's loss series, or None."""
        doc = json.loads(http(self.base, "/api/v1/rack")[1])
        s = {x["server_id"]: x for x in doc["servers"]}.get(sid, {})
        p = (s.get("analysis") or {}).get("loss_period") or {}
        return p.get("period_s") if p.get("found") else None

    def log(self):
        try:
            with open(os.path.join(self.dir, "rack.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        rc = None
        if self.staller is not None:
            self.staller.stop()
        if self.stalled is not None and self.stalled.poll() is None:
            self.stalled.send_signal(signal.SIGCONT)  # a stopped process ignores SIGTERM
        for p in (self.agent, self.stalled, self.fabric, self.proc):
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
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc


@pytest.fixture(scope="module")
def rack():
    r = SocketRack()
    try:
        r.start()
        yield r
    finally:
        rc = r.stop()
    assert rc == 0, "collector did not exit cleanly"


# ------------------------------------------------------------- endpoints

def test_healthz_ok(rack):
    assert http(rack.base, "/healthz") == (200, "ok\n")


# "/" is the web UI's page (tests/integration/test_webui.py).
@pytest.mark.parametrize("path", ["/index.htm", "/ui/", "/ui/x.js", "/metric", "/metrics/", "/healthz/x", "/api/v1",
                                  "/api/v1/rack/", "/api/v1/servers", "/api/v1/servers/1",
                                  "/api/v1/servers/1/spectrum/", "/api/v1/servers/1/other",
                                  "/../metrics"])
def test_unknown_paths_404(rack, path):
    assert http(rack.base, path)[0] == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_405(rack, method):
    status, _ = http(rack.base, "/metrics", method=method, data=b"x=1" if method != "DELETE" else None)
    assert status == 405


def test_get_with_a_body_is_refused(rack):
    status, _ = http(rack.base, "/metrics", data=b"x" * 100, method="GET")
    assert status == 413


def test_rack_json_lists_every_server(rack):
    status, body = http(rack.base, "/api/v1/rack")
    assert status == 200
    doc = json.loads(body)
    assert doc["rack_id"] == 0 and doc["hook"] == "socket" and doc["attached"] is True
    assert doc["version"]
    servers = {s["server_id"]: s for s in doc["servers"]}
    assert sorted(servers) == list(SERVERS)
    for sid in (1, 2):
        s = servers[sid]
        # up, measured by the short scale (healthy) or not yet (warming)
        assert s["up"] and not s["left"] and s["class"] in ("healthy", "warming"), s
        assert s["received"] > 0 and 0 <= s["loss_ratio"] <= 1 and s["jitter_s"] >= 0, s
        assert len(s["latency_hist"]) == 18 and s["analysed"] is False, s
    assert servers[3]["class"] == "down" and servers[3]["received"] == 0
    assert sum(doc["servers_by_state"].values()) == len(SERVERS)


def test_spectrum_known_server(rack):
    status, body = http(rack.base, "/api/v1/servers/2/spectrum")
    assert status == 200
    doc = json.loads(body)
    assert doc["server_id"] == 2 and doc["rack_id"] == 0 and isinstance(doc["bins"], list)
    if not doc["analysed"]:
        assert doc["bins"] == []


def test_delay_known_server(rack):
    """The web UI's delay series: parallel arrays, at most NW_API_DELAY_MAX."""
    status, body = http(rack.base, "/api/v1/servers/2/delay")
    assert status == 200
    doc = json.loads(body)
    assert doc["server_id"] == 2 and doc["rack_id"] == 0
    assert len(doc["t_s"]) == len(doc["delay_ms"]) <= 2400
    assert doc["t_s"] == sorted(doc["t_s"])
    assert http(rack.base, "/api/v1/servers/5/delay")[0] == 404


@pytest.mark.parametrize("sid", ["5", "0", "abc", "-1", "+1", "01", "1.0", "1x", "0x1", " 1",
                                 "99999999999", "4294967296", "18446744073709551617", "",
                                 "4294967295"])  # a path's id: paths are not servers
def test_spectrum_unknown_or_bad_id_404(rack, sid):
    assert http(rack.base, f"/api/v1/servers/{urllib.parse.quote(sid)}/spectrum")[0] == 404


def test_hostile_clients_do_not_stall_the_loop(rack):
    """Half-sent requests park no thread (there is none) and a header bigger
    than the per-connection memory is refused; the collector keeps serving."""
    idle = []
    try:
        for _ in range(8):
            c = socket.create_connection(("127.0.0.1", rack.http_port), timeout=5)
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            idle.append(c)
        assert http(rack.base, "/healthz") == (200, "ok\n")

        with socket.create_connection(("127.0.0.1", rack.http_port), timeout=5) as c:
            reply = b""
            try:
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 +
                          b"\r\n\r\n")
                reply = c.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                pass
            assert not reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert http(rack.base, "/healthz") == (200, "ok\n")
        assert http(rack.base, "/metrics")[0] == 200
    finally:
        for c in idle:
            c.close()
    assert rack.proc.poll() is None, rack.log()


def test_metrics_scraped_under_slowloris(rack):
    """Issue 15 item 12: 64 connections from 4 addresses dribbling header
    bytes held every slot (16 per address x 4 = the limit) and every scrape
    failed. The oldest dribbler now makes room for a new connection."""
    with Slowloris(rack.http_port) as attack:
        wait_for(attack.accept_queue_empty, 10, "the server to take the slow connections")
        for _ in range(3):
            status, body = http(rack.base, "/metrics", timeout=5)
            assert status == 200 and "netwatch_rack_health_score" in body
    assert cut_count(body, "netwatch_rack_http_connections_cut_total", "evicted") >= 1
    assert rack.proc.poll() is None, rack.log()


def cut_count(body, family, reason):
    m = re.search(rf'^{family}{{[^}}]*reason="{reason}"}} (\S+)$', body, re.M)
    assert m, f"{family} reason={reason} missing"
    return float(m.group(1))


def test_dribbled_request_is_cut_at_the_deadline(rack):
    """One header byte a second never lets MHD's idle timeout fire; the
    request deadline (NW_HTTP_REQUEST_S, 10 s) cuts the connection anyway."""
    c = socket.create_connection(("127.0.0.1", rack.http_port), timeout=1)
    header = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    sent = [0]

    def cut():
        try:
            c.send(header[sent[0]:sent[0] + 1])
            sent[0] += 1
            return c.recv(1) == b""  # the server closed it
        except socket.timeout:
            return False  # still open: one more byte a second later
        except OSError:
            return True  # reset: closed as well
    try:
        wait_for(cut, 20, "the server to cut the dribbling connection", interval=0)
        assert sent[0] < len(header)
    finally:
        c.close()
    assert http(rack.base, "/healthz") == (200, "ok\n")
    body = http(rack.base, "/metrics")[1]
    assert cut_count(body, "netwatch_rack_http_connections_cut_total", "expired") >= 1


# --------------------------------------------------------------- /metrics

def test_metrics_families_match_the_docs(rack):
    status, body = http(rack.base, "/metrics")
    assert status == 200
    fams = parse_exposition(body)
    documented = {name for name, _, _ in FAMILIES}
    assert len(documented) == len(FAMILIES), "a family is documented twice"
    assert set(fams) == documented, (set(fams) ^ documented)
    for name, typ, labels in FAMILIES:
        f = fams[name]
        assert f.get("help") and f.get("type") == typ, (name, f)
        for sample, got, _ in f["samples"]:
            want = set(labels) | ({"le"} if sample.endswith("_bucket") else set())
            assert set(got) == want, (sample, got, labels)


def test_metrics_values(rack):
    fams = parse_exposition(http(rack.base, "/metrics")[1])

    def series(name):
        return {tuple(sorted(l.items())): v for n, l, v in fams[name]["samples"] if n == name}

    recv = {dict(k)["server_id"]: v for k, v in series("netwatch_packets_received_total").items()}
    assert set(recv) == {str(s) for s in SERVERS} and recv["1"] > 0 and recv["3"] == 0
    buckets = [(float(l["le"]), v) for n, l, v in fams["netwatch_latency_ms"]["samples"]
               if n == "netwatch_latency_ms_bucket" and l["server_id"] == "1"]
    assert [b for b, _ in buckets] == [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250,
                                       500, 1000, 2500, 5000, 10000, float("inf")]
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets not cumulative"
    count = [v for n, l, v in fams["netwatch_latency_ms"]["samples"]
             if n == "netwatch_latency_ms_count" and l["server_id"] == "1"]
    assert count == [buckets[-1][1]]
    states = {(l["server_id"], l["state"]): v
              for n, l, v in fams["netwatch_server_health_state"]["samples"]}
    for sid in map(str, SERVERS):
        assert sum(v for (s, _), v in states.items() if s == sid) == 1
    assert states[("3", "down")] == 1
    assert states[("1", "healthy")] + states[("1", "warming")] == 1  # measured or not yet
    reasons = {l["reason"] for _, l, _ in fams["netwatch_collector_malformed_total"]["samples"]}
    assert reasons == documented_values("netwatch_collector_malformed_total", "reason")
    results = {l["result"] for _, l, _ in fams["netwatch_collector_discovery_total"]["samples"]}
    assert results == {"sent", "suppressed", "rejected", "promoted", "evicted"}
    info = fams["netwatch_collector_info"]["samples"]
    assert info == [("netwatch_collector_info", {"rack_id": "0", "hook": "socket", "iface": ""}, 1)]


def test_promtool_check_metrics_clean(rack):
    status, body = http(rack.base, "/metrics")
    assert status == 200
    res = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                         text=True, timeout=30)
    problems = [l for l in (res.stdout + res.stderr).splitlines()
                if l.strip() and l.strip() not in PROMTOOL_ACCEPTED]
    assert not problems, "\n".join(problems)
    # promtool exits 3 for lint findings only; the accepted one is a lint.
    assert res.returncode in (0, 3), res
    if res.returncode == 3:
        assert (res.stdout + res.stderr).strip() in PROMTOOL_ACCEPTED


# ------------------------------------------------------ a real Prometheus

class Prometheus(prom_run.Prometheus):
    def __init__(self, target):
        super().__init__([target], "netwatch")

    def scraped(self):
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited")
        try:
            up = self.query('up{job="netwatch"}')
            return up and up[0]["value"][1] == "1" and self.query("netwatch_server_up")
        except (OSError, ValueError):
            return False


@pytest.fixture(scope="module")
def prometheus(rack):
    if not os.path.exists(PROMETHEUS):
        pytest.skip("prometheus is not installed")
    p = Prometheus(f"127.0.0.1:{rack.http_port}")
    try:
        wait_for(lambda: rack.analysed((1, 2, STALLED)), 30,
                 "servers 1, 2 and 4 past their warm-up window")
        # The clock-skew fit needs >= 10 s of history, evaluated every 5 s.
        wait_for(lambda: rack.skew_known((1, 2)), 40, "a clock-skew estimate for servers 1 and 2",
                 interval=0.5)
        # A period needs >= 10 s of the loss series with a few cycles in it,
        # and is re-evaluated every 5 s; the first report, from the fewest
        # points, may still be off, so wait for the right one (the last
        # value seen is in the failure message).
        seen = []

        def right_period():
            seen.append(rack.loss_period(STALLED))
            return seen[-1] is not None and abs(seen[-1] - STALL_EVERY_S) < 0.1 * STALL_EVERY_S

        try:
            wait_for(right_period, 60, f"server {STALLED}'s loss period near {STALL_EVERY_S} s",
                     interval=0.5)
        except AssertionError as e:
            raise AssertionError(f"{e}; last reported {seen[-1]}, "
                                 f"{rack.staller.cycles} stalls") from None
        wait_for(p.scraped, 60, "Prometheus to scrape the collector", interval=0.5)
        # Two scrapes more: the collector's interval refresh has landed in the TSDB.
        time.sleep(2.5)
        yield p
    finally:
        p.stop()


@pytest.mark.parametrize("name,typ,labels", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_prometheus_has_every_documented_family(prometheus, name, typ, labels):
    if name == "netwatch_path_in_period_seconds":
        pytest.skip("absent while the path has no disturbance period")
    q = f"{name}_bucket" if typ == "histogram" else name
    result = prometheus.query(q)
    assert result, f"Prometheus has no {q}"
    for r in result:
        got = set(r["metric"]) - {"__name__", "job", "instance"}
        want = set(labels) | ({"le"} if typ == "histogram" else set())
        if name == "netwatch_collector_info" and r["metric"].get("hook") == "socket":
            want.discard("iface")  # empty for the socket hook: Prometheus drops empty labels
        assert got == want, (q, r["metric"])
        if "rack_id" in want:
            assert r["metric"]["rack_id"] == "0"
    if "server_id" in labels:
        got = {r["metric"]["server_id"] for r in result}
        if name in PERIODIC_ONLY:
            series = {(r["metric"]["server_id"], r["metric"]["series"]): float(r["value"][1])
                      for r in result}
            stalled = series.get((str(STALLED), "loss"))
            assert stalled is not None, result
            assert abs(stalled - STALL_EVERY_S) < 0.1 * STALL_EVERY_S, result
        elif name in ANALYSED_ONLY:
            assert got and got <= {str(s) for s in SERVERS}, result
        else:
            assert got == {str(s) for s in SERVERS}, result


# ------------------------------------------------------------ options

def test_bad_metrics_address_is_usage_error():
    for bad in ("8000", "localhost:8000", "127.0.0.1:0", "127.0.0.1:70000", "[::1:8000",
                "::1:8000", "1.2.3.4:80x"):
        res = subprocess.run([RACK, "--hook", "socket", "--metrics", bad], capture_output=True,
                             text=True, timeout=10)
        assert res.returncode == 2, (bad, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "metrics" in lines[0], res.stderr
    res = subprocess.run([RACK, "--hook", "socket"], capture_output=True, text=True, timeout=10,
                         env={**os.environ, "NETWATCH_METRICS": "nonsense"})
    assert res.returncode == 2 and "NETWATCH_METRICS" in res.stderr


def test_metrics_off_serves_nothing(tmp_path):
    port, udp = free_port(), free_port(socket.SOCK_DGRAM)
    res = subprocess.run([RACK, "--hook", "socket", "--listen", "127.0.0.1", "--port", str(udp),
                          "--state-dir", str(tmp_path), "--metrics", "off", "--duration", "0.5",
                          "-v"], capture_output=True, text=True, timeout=20,
                         env={**os.environ, "NETWATCH_METRICS": f"127.0.0.1:{port}"})
    assert res.returncode == 0, res.stderr
    assert "serving HTTP" not in res.stderr


def test_metrics_port_in_use_fails(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        res = subprocess.run([RACK, "--hook", "socket", "--listen", "127.0.0.1", "--port",
                              str(free_port(socket.SOCK_DGRAM)), "--state-dir", str(tmp_path),
                              "--metrics", f"127.0.0.1:{port}", "--duration", "5"],
                             capture_output=True, text=True, timeout=20)
    assert res.returncode == 1 and "cannot serve HTTP" in res.stderr, res.stderr


# ------------------------------------------------- kernel hook, in a namespace

def test_xdp_collector_serves_inside_its_namespace():
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, BPF)")
    with VethPair() as lab:
        col = Collector(lab, "xdp", servers="0-1", extra=("--metrics", "127.0.0.1:8000")).start()
        try:
            curl = lab.prefix(lab.ns_c) + ["curl", "-s", "-m", "5", "-w", "\n%{http_code}"]
            out = run(*curl, "http://127.0.0.1:8000/healthz").stdout
            assert out.rsplit("\n", 1) == ["ok\n", "200"], out
            run(*lab.prefix(lab.ns_a), AGENT, "--controller", lab.COLLECTOR_ADDR, "--rack", "0",
                "--server", "0", "--servers", "2", "--rate", "200", "--count", "100",
                timeout=60)

            def received():
                body = run(*curl, "http://127.0.0.1:8000/metrics").stdout
                fams = parse_exposition(body.rsplit("\n", 1)[0])
                got = {l["server_id"]: v for n, l, v in
                       fams["netwatch_packets_received_total"]["samples"]}
                return fams if got == {"0": 100, "1": 100} else None

            fams = wait_for(received, 15, "100 samples per server in /metrics")
            info = fams["netwatch_collector_info"]["samples"][0][1]
            assert info == {"rack_id": "0", "hook": "xdp", "iface": "c0"}
            doc = json.loads(run(*lab.prefix(lab.ns_c), "curl", "-s", "-m", "5",
                                 "http://127.0.0.1:8000/api/v1/rack").stdout)
            assert doc["hook"] == "xdp" and doc["iface"] == "c0"
            assert [s["class"] for s in doc["servers"]] == ["left", "left"]
        finally:
            assert col.stop() == 0, col.log()
            col.unpin()
