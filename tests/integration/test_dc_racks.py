"""The three tiers end to end: 4 rack controllers (socket hook on loopback,
each fed by one agent simulating its servers) reporting to one netwatch-dc.

Checks issue 4's first promise: the DC score is the formula over the racks'
reported scores; a killed rack goes stale within --stale + 1 s and lowers the
DC score; its restart recovers; a killed and restarted DC is found again by
every rack on its own, within the reporter's backoff cap.

Loopback only; every process, port and directory is this run's own."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from nwlab import AGENT, BUILD, RACK, free_port, wait_for

DC = os.path.join(BUILD, "netwatch-dc")
RACKS = 4
SERVERS_PER_RACK = 4
STALE_S = 2.0
INTERVAL_S = 0.25
BACKOFF_CAP_S = 30.0


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as r:
        return json.loads(r.read())


def try_json(port, path):
    try:
        return get_json(port, path)
    except (OSError, ValueError):
        return None


def stop(proc, sig=signal.SIGTERM, timeout=10):
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


class Tiers:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nwt-dc-racks-")
        self.dc_port = free_port()
        self.dc_http = free_port()
        self.dc = None
        self.racks = {}   # rack id -> Popen
        self.agents = {}  # rack id -> Popen
        self.udp = {r: free_port(socket.SOCK_DGRAM) for r in range(RACKS)}
        self.http = {r: free_port() for r in range(RACKS)}

    def log(self, name):
        return open(os.path.join(self.dir, name), "a")

    def start_dc(self):
        self.dc = subprocess.Popen(
            [DC, "--listen", f"127.0.0.1:{self.dc_port}", "--dc-id", "lab", "--racks", str(RACKS),
             "--stale", str(STALE_S), "--metrics", f"127.0.0.1:{self.dc_http}"],
            stdout=subprocess.DEVNULL, stderr=self.log("dc.log"))
        wait_for(lambda: self.dc.poll() is not None or try_json(self.dc_http, "/api/v1/dc"),
                 15, "the DC's API")
        assert self.dc.poll() is None, self.tail("dc.log")

    def start_rack(self, r):
        self.racks[r] = subprocess.Popen(
            [RACK, "--rack", str(r), "--hook", "socket", "--listen", "127.0.0.1",
             "--port", str(self.udp[r]), "--discover", "on",
             "--state-dir", os.path.join(self.dir, f"state{r}"),
             "--interval", str(INTERVAL_S), "--window", "64",
             "--metrics", f"127.0.0.1:{self.http[r]}", "--dc", f"127.0.0.1:{self.dc_port}"],
            stdout=subprocess.DEVNULL, stderr=self.log(f"rack{r}.log"))
        wait_for(lambda: self.racks[r].poll() is not None or try_json(self.http[r], "/api/v1/rack"),
                 15, f"rack {r}'s API")
        assert self.racks[r].poll() is None, self.tail(f"rack{r}.log")

    def start_agent(self, r, impair=None):
        args = [AGENT, "--controller", f"127.0.0.1:{self.udp[r]}", "--rack", str(r),
                "--server", "0", "--servers", str(SERVERS_PER_RACK), "--rate", "20"]
        if impair:
            args += ["--impair", impair]
        self.agents[r] = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                          stderr=self.log(f"agent{r}.log"))

    def tail(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def dc_doc(self):
        return try_json(self.dc_http, "/api/v1/dc")

    def dc_racks(self):
        doc = self.dc_doc() or {}
        return {x["rack_id"]: x for x in doc.get("racks", [])}

    def close(self):
        for p in list(self.agents.values()) + list(self.racks.values()) + [self.dc]:
            stop(p)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def tiers():
    if not os.path.exists(DC):
        pytest.fail(f"{DC} is not built")
    t = Tiers()
    try:
        t.start_dc()
        for r in range(RACKS):
            t.start_rack(r)
            # Rack 2 is impaired so the racks' scores differ and the formula is
            # checked on distinct numbers, not four equal ones.
            t.start_agent(r, impair="loss=40%,seed=7" if r == 2 else None)
        yield t
    finally:
        t.close()


def all_ok(t):
    racks = t.dc_racks()
    return len(racks) == RACKS and all(racks[r].get("state") == "ok" for r in range(RACKS))


def analysed_everywhere(t):
    """Every rack reports all its servers analysed (past warm-up)."""
    for r in range(RACKS):
        doc = try_json(t.http[r], "/api/v1/rack")
        if not doc or len(doc["servers"]) < SERVERS_PER_RACK:
            return False
        if not all(s.get("analysed") for s in doc["servers"]):
            return False
    return True


def formula(racks, expected):
    """docs/design.md: mean of the racks' reported scores over the expected (and any
    other reporting) racks; a stale or never-reporting rack counts 0."""
    ids = set(range(expected)) | set(racks)
    return sum(racks[r]["reported_score"] if r in racks and racks[r].get("state") == "ok" else 0.0
               for r in ids) / len(ids)


def test_dc_score_is_the_formula_and_survives_rack_and_dc_restarts(tiers):
    t = tiers
    wait_for(lambda: all_ok(t), 20, "all 4 racks reporting to the DC")
    # Warm-up: one analysis window (3.2 s at 20 Hz) plus intervals.
    wait_for(lambda: analysed_everywhere(t), 30, "every server analysed")
    wait_for(lambda: (t.dc_racks().get(2, {}).get("reported_score") or 1.0) < 0.9, 20,
             "the impaired rack's lower score at the DC")

    doc = t.dc_doc()
    racks = {x["rack_id"]: x for x in doc["racks"]}
    assert doc["health_score"] == pytest.approx(formula(racks, RACKS), abs=1e-9), doc
    # Each rack's score at the DC is what that rack computes itself (both move
    # every interval, so compare within what one interval can change).
    for r in range(RACKS):
        own = get_json(t.http[r], "/api/v1/rack")["health_score"]
        assert racks[r]["reported_score"] == pytest.approx(own, abs=0.1), (r, racks[r], own)
        assert racks[r]["score"] == racks[r]["reported_score"]
        assert len(racks[r]["servers"]) == SERVERS_PER_RACK
    healthy_racks = [racks[r]["reported_score"] for r in (0, 1, 3)]
    assert min(healthy_racks) > racks[2]["reported_score"], racks
    before = doc["health_score"]

    # A rack dies without a word: stale within --stale + 1 s, the DC score drops.
    t.racks[1].send_signal(signal.SIGKILL)
    t.racks[1].wait(timeout=5)
    killed = time.monotonic()
    wait_for(lambda: t.dc_racks().get(1, {}).get("state") == "stale", STALE_S + 1.0,
             "rack 1 stale within --stale + 1 s")
    stale_after = time.monotonic() - killed
    doc = t.dc_doc()
    racks = {x["rack_id"]: x for x in doc["racks"]}
    assert doc["health_score"] == pytest.approx(formula(racks, RACKS), abs=1e-9), doc
    assert racks[1]["score"] == 0.0, racks[1]
    assert doc["health_score"] < before - 0.15, (before, doc["health_score"])
    print(f"rack 1 stale {stale_after:.2f} s after kill -9 (--stale {STALE_S})")

    # Its restart reconnects and recovers; nobody touches the DC.
    t.start_rack(1)
    wait_for(lambda: t.dc_racks().get(1, {}).get("state") == "ok", 15, "rack 1 back")
    wait_for(lambda: t.dc_doc()["health_score"] > before - 0.15, 30, "the DC score recovered")

    # The DC dies and comes back on the same port: every rack finds it again by
    # itself, within its backoff cap.
    t.dc.send_signal(signal.SIGKILL)
    t.dc.wait(timeout=5)
    time.sleep(1.0)  # the racks must notice the loss and back off at least once
    t.start_dc()
    restarted = time.monotonic()
    wait_for(lambda: all_ok(t), BACKOFF_CAP_S + 5, "all racks reconnected to the new DC")
    print(f"all racks reporting {time.monotonic() - restarted:.2f} s after the DC restart")
    for r in range(RACKS):
        assert t.racks[r].poll() is None, t.tail(f"rack{r}.log")

    # Clean stops: SIGTERM ends every tier with status 0.
    assert stop(t.dc) == 0, t.tail("dc.log")
    for r in range(RACKS):
        assert stop(t.racks[r]) == 0, t.tail(f"rack{r}.log")
