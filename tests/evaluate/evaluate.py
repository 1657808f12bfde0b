#!/usr/bin/python3
"""Detection, measured: the scenario runner behind `make evaluate`.

Brings up a lab of its own (own --name), waits until every server is healthy,
then for each scenario puts a fault on rack 0 (netwatch-chaos, or SIGKILL of
one agent and `netwatch-lab start-agent` a little later) and polls every
rack's own /api/v1/rack and the DC's /api/v1/dc every POLL_S (0.1 s). It
records, from the injection: time to down, to warning and to critical; from
the end of the fault (the clear, or the agent's restart): time until the
victim is up and healthy again for good; whether the outage was counted (the
server's "outages" in /api/v1/rack); false alarms (any sample of an untouched
server that is not healthy and up, and for the 5 % loss scenario the victim
leaving healthy at all: a flap); what the counting metrics showed; and
whether a disturbance period or a clock skew was reported. It writes
docs/EVALUATION.md from the numbers, with the issue's targets beside them,
and the raw results as JSON.

    sudo tests/evaluate/evaluate.py [--racks 4 --servers 8] [--out docs/EVALUATION.md]
    sudo tests/evaluate/evaluate.py --only blackout,kill2s     # a subset (-> build/)
    tests/evaluate/evaluate.py --list                          # the scenarios' keys
    tests/evaluate/evaluate.py --render results.json           # re-render only

Every wait is bounded. The lab is taken down whatever happens (finally +
SIGINT/SIGTERM handler); a fault is cleared and a killed agent restarted
before the next scenario, or the run says it could not.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.realpath(os.path.join(HERE, "..", ".."))
LAB = os.path.join(TOP, "deploy", "local", "netwatch-lab")
BUILD = os.environ.get("NETWATCH_BUILD") or os.path.join(TOP, "build")
# One poll reads every rack's JSON and the DC's, in parallel; the rack
# controllers re-derive what they show every 100 ms (NW_RACK_TICK_MS), so a
# 0.1 s poll sees each of their states.
POLL_S = 0.1
HTTP_TIMEOUT_S = 1.0
INTERVAL_S = 1.0
RECOVER_MAX_S = 30.0    # the long window (12.8 s) plus two intervals, and margin for a loaded box
# After the fault ends the victim is watched at least this long, and until it
# has been up and healthy for STABLE_S: a down declared just after a short
# fault, or a flap on the way back, still lands in this scenario.
AFTER_MIN_S = 3.0
STABLE_S = 1.0
# The collector's latency histogram bucket bounds (docs/collector.md); the
# rack JSON carries the counts only, the last bucket is +Inf.
LATENCY_BOUNDS_NS = [50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
                     25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
                     2500000000, 5000000000, 10000000000]
NOT_HEALTHY = ("warning", "critical", "down")
JITTER_ALERT_S = 0.010  # docs/alerts.md, NetWatchHighJitter
CRITICAL = ("critical", "down")

# The rack controllers' history for periods and skew. Shorter than their 60 s
# default so that the 45 s injections fill it (a skew fitted over a horizon that
# is half before the injection reads as half the skew) and so that a scenario's
# periods have left it before the next one starts.
HORIZON_S = 30
# Before a scenario: the victim's jitter settled and no period reported, so
# what appears during the injection belongs to it (bounded: horizon + 10 s).
QUIET_MAX_S = HORIZON_S + 10


def sc(key, name, fault, target="server", inject_s=25, expect=(), stay_healthy=False, **kw):
    """One scenario. fault: netwatch-chaos arguments, or {"kill": gap_s} for
    an agent killed and restarted gap_s later. expect: which of down /
    warning / critical the fault should reach (a miss reads "not reached",
    anything else not reached reads "—"). stay_healthy: the victim itself
    must not leave healthy (its non-healthy samples are false alarms).
    period_s: the fault is periodic with that period (a period reported
    within ±10 % is a detection, its first time t_period). toggle_s: the
    fault is applied and cleared in turn every toggle_s (a square wave)."""
    return {"key": key, "name": name, "fault": fault, "target": target, "inject_s": inject_s,
            "expect": list(expect), "stay_healthy": stay_healthy, **kw}


# target "server": rack 0 server 0; "rack": every server of rack 0. Periodic
# outage and skew need the analysis horizon: a few periods inside it, and a
# skew estimate needs the owd trend over a long span.
SCENARIOS = [
    sc("blackout", "blackout, one server", ["--loss", "100"], "server", 20,
       ("down", "warning", "critical")),
    sc("blackout-rack", "blackout, one rack", ["--loss", "100"], "rack", 20,
       ("down", "warning", "critical")),
    sc("blackout1s", "blackout 1 s", ["--loss", "100"], "server", 1, ("down",)),
    sc("kill2s", "agent killed, restarted 2 s later", {"kill": 2.0}, "server", 2, ("down",)),
    sc("loss5", "random loss 5%", ["--loss", "5"], "server", 25, stay_healthy=True),
    sc("loss20", "random loss 20%", ["--loss", "20"], "server", 25),
    sc("loss30", "random loss 30%", ["--loss", "30"], "server", 25, ("warning",)),
    sc("loss50", "random loss 50%", ["--loss", "50"], "server", 25, ("warning",)),
    sc("burst20", "bursty loss 20%, bursts of 5", ["--loss", "20", "--burst", "5"], "server", 25),
    # Issue 14: the lab's ~5 % loss in bursts of ~10 read as periods of 1.6-15 s.
    # Red noise, not a cycle: no period may be reported.
    sc("burst5x10", "bursty loss 5%, bursts of 10", ["--loss", "5", "--burst", "10"], "server",
       45),
    sc("delay200", "delay step 200 ms", ["--delay", "200ms"], "server", 25),
    sc("jitter25", "jitter 25 ms", ["--delay", "100ms", "--jitter", "25ms"], "server", 25,
       ("warning",)),
    sc("jitter100", "jitter 100 ms", ["--delay", "200ms", "--jitter", "100ms"], "server", 25,
       ("warning",)),
    sc("dup10", "duplication 10%", ["--duplicate", "10"], "server", 25),
    sc("skew200", "clock skew 200 ppm", ["--skew", "200"], "server", 45),
    sc("outage", "periodic outage 0.5 s every 5 s", ["--outage", "500ms/5s"], "server", 45,
       period_s=5.0),
    # Issue 14: a delay that toggles 0 <-> 30 ms every 1.5 s (period 3 s): the
    # runner applies and clears --delay 30ms in turn (netem or the agent's
    # control socket, whichever netwatch-chaos picks). Its period must be
    # reported within max(4 periods, 15 s) + one evaluation: 20 s.
    sc("delayflap", "delay 0 <-> 30 ms every 1.5 s", ["--delay", "30ms"], "server", 45,
       toggle_s=1.5, period_s=3.0),
]

# Issue 13's figures on the 4 x 8 lab: (what, [(scenario key, measure)], limit s).
# A measure is a result's key; "t_down" of a rack-wide fault is its last
# server's (each server must be down in time).
TARGETS = [
    ("blackout -> down", [("blackout", "t_down"), ("blackout-rack", "t_down_all"),
                          ("blackout1s", "t_down")], 1.0),
    ("killed agent -> down", [("kill2s", "t_down")], 1.0),
    ("back to healthy after samples return",
     [("blackout", "t_recovered"), ("blackout-rack", "t_recovered"),
      ("blackout1s", "t_recovered"), ("kill2s", "t_recovered")], 2.0),
    ("50 % loss -> warning", [("loss50", "t_warning")], 2.0),
    ("30 % loss -> warning", [("loss30", "t_warning")], 3.0),
    ("jitter 25 ms at 20 Hz -> warning", [("jitter25", "t_warning")], 3.0),
    # issue 14: max(4 periods, 15 s) + one evaluation (NW_ANALYSIS_PERIOD_EVERY)
    ("periodic delay 3 s -> its period reported", [("delayflap", "t_period")], 20.0),
    ("periodic outage 5 s -> its period reported", [("outage", "t_period")], 25.0),
]


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


def log(msg):
    print(f"evaluate: {msg}", file=sys.stderr, flush=True)


def get_json(url, timeout=HTTP_TIMEOUT_S):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None


def lab_cmd(name, *args, timeout=180):
    return subprocess.run([LAB, *args, "--name", name], capture_output=True, text=True,
                          env={**os.environ, "NETWATCH_BUILD": BUILD}, timeout=timeout)


def chaos(topology, *args):
    """Runs netwatch-chaos; returns (result, monotonic time it was launched).
    The fault takes effect while it runs, so timing from its launch never
    flatters a detection."""
    t = time.monotonic()
    try:
        r = subprocess.run([os.path.join(BUILD, "netwatch-chaos"), "--topology", topology,
                            *args], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(e.cmd, 124, "", "timed out after 30 s")
    return r, t


def hist_quantiles(delta, bounds_ns):
    """p50 and p99 (ms) as the upper bound of the bucket holding them; None when empty."""
    total = sum(delta)
    if total <= 0:
        return None, None
    out = []
    for q in (0.5, 0.99):
        need, acc = q * total, 0
        for i, c in enumerate(delta):
            acc += c
            if acc >= need:
                out.append(bounds_ns[i] / 1e6 if i < len(bounds_ns) else float("inf"))
                break
    return out[0], out[1]


def timed_get(url):
    doc = get_json(url)
    return doc, time.monotonic()


def state_of(s):
    """(class, up, measured) of one server's /api/v1/rack entry: its class is
    backed by a measurement once the long window is analysed or the short
    scale has a figure (spectral_error_short, multi-scale classes)."""
    if not s:
        return None
    measured = bool(s.get("analysed")) or s.get("spectral_error_short") is not None
    return (s.get("class"), s.get("up"), measured)


def is_good(st):
    """Healthy by the analysis, backed by a measurement (an up server the
    rack has not measured yet, or again after a silence, is `warming`)."""
    return st is not None and st[0] == "healthy" and st[1] is not False and \
        st[2] is not False


def is_down(st):
    return st is not None and (st[0] == "down" or st[1] is False)


def is_up(st):
    return st is not None and not is_down(st)


def is_alarm(st):
    """Left healthy: warning or worse, warming, or not up (a class the rack
    had no reason to give an untouched server)."""
    return st is not None and (st[0] != "healthy" or st[1] is False)


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [x.decode(errors="replace") for x in f.read().split(b"\0") if x]
    except OSError:
        return None


def proc_started_monotonic(pid):
    """When process pid started, on time.monotonic()'s clock (±1 clock tick):
    /proc's start time counts ticks since boot (CLOCK_BOOTTIME)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
    offset = time.clock_gettime(time.CLOCK_BOOTTIME) - time.monotonic()
    return ticks / os.sysconf("SC_CLK_TCK") - offset


class Lab:
    def __init__(self, info, racks, servers, pool):
        self.info = info
        self.name = info["lab"]
        self.topology = info["topology"]
        self.racks, self.servers = racks, servers
        self.dc_url = info["endpoints"]["dc"]["json"]
        self.rack_urls = [e["json"] for e in info["endpoints"]["racks"]]
        self.rack0_url = self.rack_urls[0]
        self.pool = pool

    def poll(self):
        """Every rack's /api/v1/rack and the DC's /api/v1/dc, fetched in
        parallel. "states": {(rack, server): (class, up)} of the racks that
        answered; "t": when rack 0 (the faults' rack) answered."""
        futs = [self.pool.submit(timed_get, u) for u in self.rack_urls + [self.dc_url]]
        got = [f.result() for f in futs]
        docs = [d for d, _ in got[:-1]]
        states, servers = {}, {}
        for r, d in enumerate(docs):
            for s in (d or {}).get("servers", []):
                states[(r, s.get("server_id"))] = state_of(s)
                servers[(r, s.get("server_id"))] = s
        return {"t": got[0][1], "docs": docs, "dc": got[-1][0], "states": states,
                "servers": servers, "missing": sum(d is None for d in docs)}

    def all_healthy(self):
        """Every server of every rack healthy, up and analysed."""
        p = self.poll()
        return len(p["servers"]) == self.racks * self.servers and all(
            is_good(state_of(s)) for s in p["servers"].values())

    def wait_healthy(self, timeout):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.all_healthy():
                return time.monotonic() - t0
            time.sleep(POLL_S)
        return None

    def agent_pid(self, r, s):
        """The running agent of rack r server s, from the lab's topology.json
        (start-agent keeps it current), checked against /proc: never signal a
        pid that is not that agent."""
        try:
            with open(self.topology) as f:
                topo = json.load(f)
            pid = topo["racks"][r]["servers"][s]["pid"]
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None
        argv = proc_cmdline(pid) if pid else None
        if not argv or os.path.basename(argv[0]) != "netwatch-agent":
            return None
        pairs = set(zip(argv, argv[1:]))
        return pid if ("--rack", str(r)) in pairs and ("--server", str(s)) in pairs else None

    def start_agent(self, r, s):
        return subprocess.Popen([LAB, "start-agent", "--name", self.name, "--rack", str(r),
                                 "--server", str(s), "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "NETWATCH_BUILD": BUILD})


def server_of(rack_doc, sid):
    for s in (rack_doc or {}).get("servers", []):
        if s.get("server_id") == sid:
            return s
    return None


def counters(s, base):
    """What the counting metrics show for one server, from its rack JSON entry
    (latency quantiles over the histogram's growth since the injection)."""
    if not s:
        return None
    hist, bounds = s.get("latency_hist"), LATENCY_BOUNDS_NS
    p50 = p99 = None
    if hist and bounds:
        b = base.get("latency_hist") if base else None
        delta = [h - (b[i] if b and i < len(b) else 0) for i, h in enumerate(hist)]
        p50, p99 = hist_quantiles(delta, bounds)
    a = s.get("analysis") or {}
    # Loss over the counters' growth since the injection: the rack's own
    # loss_ratio still carries the gap of an earlier scenario for a while.
    loss = s.get("loss_ratio")
    if base and s.get("lost") is not None and base.get("lost") is not None:
        dl = s["lost"] - base["lost"]
        dr = s["received"] - base["received"]
        loss = dl / (dl + dr) if dl + dr > 0 else None
        n = dl + dr
    else:
        n = None
    return {"loss_ratio": loss, "n": n, "jitter_ms": None if s.get("jitter_s") is None
            else s["jitter_s"] * 1e3, "p50_ms": p50, "p99_ms": p99,
            "owd_ms": None if a.get("owd_s") is None else a["owd_s"] * 1e3,
            "duplicates": s.get("duplicates"), "error": a.get("spectral_error")}


def counters_moved(c, base_c):
    """True when a counting metric crossed the project's own alert thresholds
    (docs/alerts.md: loss > 1 %, jitter > 10 ms, p99 > 50 ms) or duplicates grew."""
    if not c:
        return None
    # A loss ratio over fewer than 2 s of samples (40) is one packet's noise.
    if (c["loss_ratio"] or 0) > 0.01 and (c.get("n") or 0) >= 40:
        return "loss"
    if (c["jitter_ms"] or 0) > 10.0:
        return "jitter"
    if c["p99_ms"] is not None and c["p99_ms"] > 50.0:
        return "p99"
    if base_c and c["duplicates"] is not None and base_c.get("duplicates") is not None \
            and c["duplicates"] > base_c["duplicates"]:
        return "duplicates"
    return None


def vname(key):
    return f"r{key[0]}s{key[1]}"


# ------------------------------------------------------------------ timing

def ev_state(e):
    return (e["class"], e["up"], e.get("analysed"))


def timings(events, victims, t_end, t_first_after):
    """The scenario's times from its victims' state changes (a list of
    {"t", "v", "class", "up", "analysed"}, t from the injection, the first entry of each
    victim its state at the first poll). t_end: when the fault ended (clear
    or restart), t_first_after: the first poll after it. Recovery and up are
    counted from t_end to the change that started the victim's final good
    (or up) state, and to the first poll after t_end when it never left it."""
    by = {vname(v): [e for e in events if e["v"] == vname(v)] for v in victims}

    def first(pred):
        per = [next((e["t"] for e in ev if pred(ev_state(e))), None)
               for ev in by.values()]
        hit = [x for x in per if x is not None]
        return (min(hit) if hit else None), (max(per) if hit and len(hit) == len(per) else None)

    def final(pred):
        """Per victim: t_end -> the start of its last run of pred, if it ends in it."""
        out = []
        for ev in by.values():
            if not ev or not pred(ev_state(ev[-1])):
                return None
            k = len(ev) - 1
            while k > 0 and pred(ev_state(ev[k - 1])):
                k -= 1
            out.append(max(ev[k]["t"], t_first_after) - t_end)
        return max(out) if out else None

    t_down, t_down_all = first(is_down)
    t_warn, _ = first(lambda st: st[0] in NOT_HEALTHY or st[1] is False)
    t_crit, _ = first(lambda st: st[0] in CRITICAL or st[1] is False)
    flaps = sum(1 for ev in by.values() for a, b in zip(ev, ev[1:])
                if not is_alarm(ev_state(a)) and is_alarm(ev_state(b)))
    if t_end is None or t_first_after is None:
        return {"t_down": t_down, "t_down_all": t_down_all, "t_warning": t_warn,
                "t_critical": t_crit, "t_up": None, "t_recovered": None, "flaps": flaps}
    r = {"t_down": t_down, "t_down_all": t_down_all, "t_warning": t_warn, "t_critical": t_crit,
         "t_up": final(is_up), "t_recovered": final(is_good), "flaps": flaps}
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}


def outages_of(servers, victims):
    """{victim: (outages, outage_seconds)}; None for a victim whose entry
    lacks the field (a rack from before issue 13: not counted)."""
    out = {}
    for v in victims:
        s = servers.get(v) or {}
        out[vname(v)] = None if s.get("outages") is None else \
            (s["outages"], s.get("outage_seconds"))
    return out


def wait_quiet(lab, watch):
    """The victim's jitter estimate decays slowly after an earlier scenario,
    and its periods stay until they leave the horizon: start from a quiet
    victim (bounded by QUIET_MAX_S). Returns (its entry, seconds waited)."""
    t_quiet = time.monotonic()
    while True:
        base = server_of(get_json(lab.rack0_url), watch[1])
        ba = (base or {}).get("analysis") or {}
        quiet = base and (base.get("jitter_s") or 0) < 0.005 and not any(
            (ba.get(k) or {}).get("found") for k in ("delay_period", "loss_period"))
        if quiet or time.monotonic() - t_quiet > QUIET_MAX_S:
            return base, round(time.monotonic() - t_quiet, 1)
        time.sleep(POLL_S)


def inject(lab, spec, res, sel):
    """Puts the fault on. Returns the monotonic time it started, or None
    (res["error"] says why)."""
    if isinstance(spec["fault"], dict):
        pid = lab.agent_pid(0, 0)
        if pid is None:
            res["error"] = "no running agent for rack 0 server 0 in the lab's topology.json"
            return None
        t0 = time.monotonic()
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError as e:
            res["error"] = f"kill {pid}: {e}"
            return None
        res["chaos_out"] = f"SIGKILL pid {pid}"
        return t0
    r, t0 = chaos(lab.topology, *sel, *spec["fault"])
    res["chaos_out"] = (r.stdout + r.stderr).strip()
    res["chaos_s"] = round(time.monotonic() - t0, 3)
    if r.returncode != 0:
        res["error"] = f"netwatch-chaos rc {r.returncode}: {r.stderr.strip()}"
        clear(lab, spec, res, sel)  # a fault may be half applied (a rack's first servers)
        return None
    return t0


def clear(lab, spec, res, sel):
    r, t = chaos(lab.topology, *sel, "--clear")
    if r.returncode != 0:
        res["clear_error"] = r.stderr.strip()
    res["clear_s"] = round(time.monotonic() - t, 3)
    return t


def finish_restart(proc, res):
    """Waits (bounded) for `netwatch-lab start-agent`; returns the new
    agent's start on the monotonic clock, or None (res["error"] says why)."""
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        res["error"] = "netwatch-lab start-agent timed out after 30 s"
        return None
    if proc.returncode != 0:
        res["error"] = f"netwatch-lab start-agent rc {proc.returncode}: {err.strip()}"
        return None
    try:
        pid = json.loads(out)["pid"]
    except (ValueError, KeyError, TypeError):
        res["error"] = f"netwatch-lab start-agent: unexpected output {out.strip()!r}"
        return None
    res["restart_pid"] = pid
    return proc_started_monotonic(pid) or time.monotonic()


def run_scenario(lab, spec):
    kill = isinstance(spec["fault"], dict)
    victims = [(0, 0)] if spec["target"] == "server" else [(0, s) for s in range(lab.servers)]
    watch = (0, 0)  # the victim whose counters and periods are recorded
    res = {"key": spec["key"], "name": spec["name"], "target": spec["target"],
           "args": [] if kill else spec["fault"], "kill_gap_s": spec["fault"]["kill"] if kill
           else None, "inject_s": spec["inject_s"], "expect": spec["expect"],
           "stay_healthy": spec["stay_healthy"], "t_warning": None, "t_critical": None,
           "t_down": None, "t_down_all": None, "t_up": None, "t_recovered": None,
           "t_counters": None, "t_dc_notice": None, "false_alarms": 0, "false_classes": {},
           "false_jittery": 0,
           "false_alarm_servers": [], "victim_alarms": 0, "at_warning": None,
           "at_critical": None, "peak": None, "delay_period": None, "loss_period": None,
           "skew_ppm": None, "chaos_out": "", "events": [],
           "period_expected_s": spec.get("period_s"), "t_period": None,
           "toggles": 0}
    base, res["quiet_wait_s"] = wait_quiet(lab, watch)
    pa = (base or {}).get("analysis") or {}
    res["before"] = {k: (pa.get(k) or {}).get("period_s") if (pa.get(k) or {}).get("found")
                     else None for k in ("delay_period", "loss_period")}
    res["before"]["skew_ppm"] = pa.get("skew_ppm")
    base_c = counters(base, None)
    first = lab.poll()
    res["outages_before"] = outages_of(first["servers"], victims)
    base_srv = {v: first["servers"].get(v) or {} for v in victims}
    sel = ["--rack", "0"] + (["--server", "0"] if spec["target"] == "server" else [])

    t0 = inject(lab, spec, res, sel)
    if t0 is None:
        return res
    toggled = 0  # a toggling fault: half-periods done (odd: cleared)
    worst = {"loss_ratio": 0.0, "jitter_ms": 0.0, "p99_ms": 0.0}
    bad_others = set()
    last = {}
    analysed = polls = missed = 0
    max_gap = 0.0
    t_end = t_first_after = good_since = restart = None
    last_poll = None
    snap = first
    try:
        nxt = time.monotonic()
        while True:
            nxt += POLL_S
            pause = nxt - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            else:
                nxt = time.monotonic()  # behind (a loaded box): no burst of catch-up polls
            snap = lab.poll()
            polls += 1
            missed += snap["missing"]
            if last_poll is not None:
                max_gap = max(max_gap, snap["t"] - last_poll)
            last_poll = snap["t"]
            t = snap["t"] - t0
            st = snap["states"]
            for key, c in st.items():
                if key not in victims and is_alarm(c):
                    res["false_alarms"] += 1
                    bad_others.add(key)
                    what = c[0] if c[1] is not False else "not up"
                    res["false_classes"][what] = res["false_classes"].get(what, 0) + 1
                    # The server's own counters at that poll: jitter above the
                    # project's alert threshold means its samples really were
                    # disturbed (on this lab: the host, not the fault).
                    js = (snap["servers"].get(key) or {}).get("jitter_s")
                    if js is not None and js > JITTER_ALERT_S:
                        res["false_jittery"] += 1
            for v in victims:
                c = st.get(v)
                if c is None:
                    continue
                if c != last.get(v):
                    res["events"].append({"t": round(t, 3), "v": vname(v), "class": c[0],
                                          "up": c[1], "analysed": c[2]})
                    last[v] = c
                if spec["stay_healthy"] and is_alarm(c):
                    res["victim_alarms"] += 1
            if res["t_dc_notice"] is None:
                for rk in (snap["dc"] or {}).get("racks", []):
                    for s in rk.get("servers", []) if rk.get("rack_id") == 0 else []:
                        if s.get("id") == watch[1] and s.get("class") in NOT_HEALTHY:
                            res["t_dc_notice"] = round(t, 3)
            if t_end is None:
                s = snap["servers"].get(watch)
                c = counters(s, base)
                if c:
                    for k in worst:
                        if c[k] is not None and c[k] > worst[k]:
                            worst[k] = c[k]
                moved = counters_moved(c, base_c) if res["t_counters"] is None else None
                if moved:
                    res["t_counters"], res["counters_by"] = round(t, 3), moved
                wc = st.get(watch)
                if res["at_warning"] is None and wc and (wc[0] in NOT_HEALTHY or wc[1] is False):
                    res["at_warning"] = c
                if res["at_critical"] is None and wc and (wc[0] in CRITICAL or wc[1] is False):
                    res["at_critical"] = c
                a = (s or {}).get("analysis") or {}
                if a:
                    analysed += 1
                for key in ("delay_period", "loss_period"):
                    p = a.get(key) or {}
                    if p.get("found"):
                        # First time, latest value and how often: one sample of a
                        # period right after a step is not a periodic disturbance.
                        prev = res[key] or {"t": round(t, 2), "n": 0}
                        res[key] = {"t": prev["t"], "n": prev["n"] + 1,
                                    "period_s": p.get("period_s")}
                        want = spec.get("period_s")
                        if want and res["t_period"] is None and \
                                abs(p.get("period_s", 0) / want - 1) <= 0.1:
                            res["t_period"] = round(t, 2)
                if a.get("skew_ppm") is not None:
                    res["skew_ppm"] = {"t": round(t, 2), "ppm": a["skew_ppm"]}  # the latest
                # The fault's end: the clear, or the killed agent back.
                now = time.monotonic()
                if spec.get("toggle_s") and now - t0 < spec["inject_s"]:
                    half = int((now - t0) / spec["toggle_s"])
                    if half != toggled:
                        toggled = half
                        res["toggles"] += 1
                        if half % 2:
                            chaos(lab.topology, *sel, "--clear")
                        else:
                            chaos(lab.topology, *sel, *spec["fault"])
                if kill:
                    if "restart_launched" not in res and now - t0 >= spec["fault"]["kill"]:
                        restart = lab.start_agent(0, 0)
                        res["restart_launched"] = round(now - t0, 3)
                    elif restart is not None and restart.poll() is not None:
                        t_end = finish_restart(restart, res)
                        restart = None
                        if t_end is None:
                            break
                        res["kill_gap_measured_s"] = round(t_end - t0, 3)
                elif now - t0 >= spec["inject_s"]:
                    t_end = clear(lab, spec, res, sel)
                continue
            if t_first_after is None:
                t_first_after = snap["t"]
            if all(is_good(st.get(v)) for v in victims):
                good_since = snap["t"] if good_since is None else good_since
            else:
                good_since = None
            since = snap["t"] - t_end
            if since >= AFTER_MIN_S and good_since is not None and \
                    snap["t"] - good_since >= STABLE_S:
                break
            if since >= RECOVER_MAX_S:
                break
    finally:
        if kill:
            if restart is not None and t_end is None:
                finish_restart(restart, res)
            if lab.agent_pid(0, 0) is None:  # killed and never brought back
                r = lab_cmd(lab.name, "start-agent", "--rack", "0", "--server", "0", timeout=30)
                res.setdefault("error", f"agent restarted late: {r.stderr.strip()}")
            # The restarted agent is the lab's again: `status` whole (rc 0).
            res["lab_whole_after"] = lab_cmd(lab.name, "status", timeout=30).returncode == 0
            if not res["lab_whole_after"]:
                res.setdefault("error", "netwatch-lab status: not whole after the restart")
        elif t_end is None:
            clear(lab, spec, res, sel)
    res["peak"] = worst
    res["analysed_samples"] = analysed
    res["polls"], res["poll_failures"], res["max_poll_gap_s"] = polls, missed, round(max_gap, 3)
    res["false_alarm_servers"] = sorted(vname(k) for k in bad_others)
    res["t_end"] = None if t_end is None else round(t_end - t0, 3)
    res.update(timings(res["events"], victims, res["t_end"],
                       None if t_first_after is None else t_first_after - t0))
    res["outages_after"] = outages_of(snap["servers"], victims)
    b, a = res["outages_before"], res["outages_after"]
    res["outage_counted"] = None if any(b[k] is None or a[k] is None for k in b) else \
        all(a[k][0] > b[k][0] for k in b)
    res["outages_added"] = None if res["outage_counted"] is None else \
        sum(a[k][0] - b[k][0] for k in b)
    ws = vname(watch)
    if b.get(ws) and a.get(ws) and a[ws][1] is not None and b[ws][1] is not None:
        res["outage_seconds_added"] = round(a[ws][1] - b[ws][1], 3)
    res["restarts_added"] = {vname(v): (snap["servers"].get(v) or {}).get("restarts", 0) -
                             base_srv[v].get("restarts", 0) for v in victims
                             if base_srv[v].get("restarts") is not None}
    # The rack's JSON counters are a view refreshed once per interval: samples
    # in flight and counted after the clear (a duplicate, a late loss) must
    # land in this scenario, not in the next one's baseline. Two refreshes.
    t_doc = (get_json(lab.rack0_url) or {}).get("time_ns")
    t2 = time.monotonic()
    while t_doc is not None and time.monotonic() - t2 < 4 * INTERVAL_S + 2:
        now_doc = (get_json(lab.rack0_url) or {}).get("time_ns") or t_doc
        if now_doc - t_doc >= 2 * INTERVAL_S * 1e9:
            break
        time.sleep(POLL_S)
    return res


# ------------------------------------------------------------------ report

def fmt_t(v):
    """A measured time as recorded (poll resolution 0.1 s, shown to 10 ms)."""
    return "—" if v is None else f"{v:.2f} s"


def fmt_need(r, key, what):
    """A time the scenario should reach ("not reached" when it did not)."""
    v = r.get(key)
    if v is not None:
        return fmt_t(v)
    return "not reached" if what in r.get("expect", []) else "—"


def fmt_fault(r):
    who = "rack 0 server 0" if r["target"] == "server" else "all of rack 0"
    if r.get("kill_gap_s") is not None:
        gap = r.get("kill_gap_measured_s")
        return (f"SIGKILL of {who}'s agent, `netwatch-lab start-agent` {r['kill_gap_s']:g} s "
                f"later" + (f" (agent back {gap:.2f} s after the kill)" if gap else ""))
    return f"`{' '.join(r['args'])}` on {who}, {r['inject_s']} s"


def fmt_down(r):
    out = fmt_need(r, "t_down", "down")
    if r["target"] == "rack" and r.get("t_down") is not None:
        out = f"first {out}, all {fmt_t(r.get('t_down_all'))}" if r.get("t_down_all") \
            else f"first {out}, not all"
    if r.get("t_down") is not None:
        out += f"; up {fmt_t(r.get('t_up'))} after {fault_end_word(r)}"
    return out


def fault_end_word(r):
    return "the restart" if r.get("kill_gap_s") is not None else "the clear"


def fmt_outage(r):
    if r.get("outage_counted") is None:
        if "down" in r.get("expect", []) or r.get("t_down") is not None:
            return "no (no \"outages\" field)"
        return "—"
    if r["outage_counted"]:
        sec = r.get("outage_seconds_added")
        return f"yes (+{r['outages_added']}" + (f", {sec:.2f} s" if sec is not None else "") + ")"
    if r.get("outages_added"):
        return f"partly (+{r['outages_added']} for {len(r['outages_before'])} servers)"
    return "no" if "down" in r.get("expect", []) or r.get("t_down") is not None else "—"


def fmt_false(r):
    out = str(r["false_alarms"])
    if r["false_alarms"]:
        out += f" ({', '.join(r['false_alarm_servers'])}"
        classes = r.get("false_classes") or {}
        if classes:
            out += "; " + ", ".join(f"{k} {v}" for k, v in sorted(classes.items()))
        out += ")"
    if r.get("stay_healthy"):
        out += f"; victim left healthy: {r['victim_alarms']} samples, {times(r.get('flaps', 0))}"
    return out


def times(n):
    return f"{n} time{'' if n == 1 else 's'}"


def fmt_m(c):
    if not c:
        return "—"
    parts = []
    if c.get("loss_ratio") is not None:
        parts.append(f"loss {c['loss_ratio'] * 100:.0f}%")
    if c.get("p50_ms") is not None:
        parts.append(f"p50≤{c['p50_ms']:g} p99≤{c['p99_ms']:g} ms")
    if c.get("owd_ms") is not None:
        parts.append(f"owd {c['owd_ms']:.1f} ms")
    if c.get("jitter_ms") is not None:
        parts.append(f"jit {c['jitter_ms']:.1f} ms")
    return ", ".join(parts)


def fmt_periods(r):
    out = []
    for key, label in (("delay_period", "delay period"), ("loss_period", "loss period")):
        if r.get(key):
            p, n = r[key], max(r.get("analysed_samples") or 0, 1)
            pre = (r.get("before") or {}).get(key)
            was = f", {pre:.2f} s already before the injection" if pre else ""
            out.append(f"{label} {p['period_s']:.2f} s (first at {p['t']:.0f} s, "
                       f"{100 * p['n'] / n:.0f}% of samples{was})")
    if r.get("skew_ppm"):
        out.append(f"skew {r['skew_ppm']['ppm']:.0f} ppm (latest)")
    return "; ".join(out) or "none"


def target_rows(results):
    """[(target, limit, [(scenario, measured or None, met)], met)] for the
    issue's figures; a scenario that was not run is left out, a target with
    none run reads "not run"."""
    by = {r["key"]: r for r in results if not r.get("error")}
    rows = []
    for what, measures, limit in TARGETS:
        got = []
        for key, m in measures:
            if key in by:
                v = by[key].get(m)
                got.append((by[key]["name"], v, v is not None and v <= limit))
        rows.append((what, f"≤ {limit:g} s", got, bool(got) and all(x[2] for x in got)))
    k = by.get("kill2s")
    if k:
        ok = k.get("t_down") is not None and k.get("t_up") is not None and \
            bool(k.get("outage_counted"))
        rows.append(("2 s agent restart reported (down, then up, outage counted)",
                     "all three", [(k["name"], f"down {fmt_t(k.get('t_down'))}, up "
                                   f"{fmt_t(k.get('t_up'))} after the restart, outage "
                                   f"{fmt_outage(k)}", ok)], ok))
    fa = sum(r["false_alarms"] + r.get("victim_alarms", 0) for r in results)
    fj = sum(r.get("false_jittery", 0) for r in results)
    detail = f"{fa}" + (f" ({fj} of them with the server's own jitter counter above the "
                        f"10 ms alert threshold at that poll)" if fa else "")
    rows.append(("false alarms (untouched servers; the 5 % loss victim)", "0",
                 [("every scenario run", detail, fa == 0)], fa == 0 and bool(results)))
    return rows


def render_targets(results):
    out = ["## Targets (issue 13) and what was measured", "",
           "Each measured figure is as polled (0.1 s apart), not rounded to the target.", "",
           "| target | limit | scenario: measured | met |", "|---|---|---|---|"]
    for what, limit, got, met in target_rows(results):
        cells = "<br>".join(
            f"{name}: {v if isinstance(v, str) else fmt_t(v) if v is not None else 'not reached'}"
            for name, v, _ in got) or "not run"
        out.append(f"| {what} | {limit} | {cells} | {'yes' if met else 'no' if got else '—'} |")
    return out + [""]


def prose(results):
    """Plain statements computed from the table, scenario by scenario."""
    lines = []
    spectral_first, counters_first, silent = [], [], []
    for r in results:
        if r.get("error"):
            continue
        tw, tc = r["t_warning"], r["t_counters"]
        if (r.get("skew_ppm") or {}).get("ppm") is not None and \
                abs(r["skew_ppm"]["ppm"]) > 100 and r["name"].startswith("clock skew"):
            continue  # seen by the skew estimate (its own paragraph below)
        if tw is None and tc is None:
            silent.append(r["name"])
        elif tw is None:
            counters_first.append(f"{r['name']} (counters at {tc:.2f} s, class never left healthy)")
        elif tc is None:
            spectral_first.append(f"{r['name']} (warning at {tw:.2f} s, counters never crossed "
                                  "their alert thresholds)")
        elif tw + POLL_S < tc:  # more than one poll apart
            spectral_first.append(f"{r['name']} (warning {tw:.2f} s vs counters {tc:.2f} s)")
        elif tc + POLL_S < tw:
            counters_first.append(f"{r['name']} (counters {tc:.2f} s vs warning {tw:.2f} s)")
    if spectral_first:
        lines.append("**Where the spectral view helps.** The class (spectral error) left "
                     "healthy before, or without, the counting metrics crossing their alert "
                     "thresholds in: " + "; ".join(spectral_first) + ".")
    if counters_first:
        lines.append("**Where the counters see more.** The counting metrics crossed their "
                     "thresholds first (by more than one poll), or alone, in "
                     f"{len(counters_first)} of {len(results)} scenarios: "
                     + "; ".join(counters_first) + ".")
    else:
        lines.append("The counting metrics crossed their alert thresholds before the class "
                     "(by more than one poll) in none of the scenarios.")
    if silent:
        lines.append("**Seen by neither** within the injection time (class stayed healthy and "
                     "no counter crossed a threshold): " + "; ".join(silent) + ".")
    def new_period(r):
        b = r.get("before") or {}
        return any(r.get(k) and not b.get(k) for k in ("delay_period", "loss_period"))

    # The periodic faults (the outage every 5 s, the delay toggle of period
    # 3 s) name their period: a period there is a detection when it matches
    # (±10 %); a period anywhere else is a false one.
    def true_period(r):
        want = r.get("period_expected_s")
        return bool(want) and any(
            r.get(k) and abs(r[k]["period_s"] / want - 1) <= 0.1
            for k in ("delay_period", "loss_period"))

    per = [r for r in results if new_period(r)]
    hits = [r for r in per if true_period(r)]
    false_p = [r for r in per if not true_period(r)]
    if hits:
        lines.append("**Periodic faults are reported with their period**: " + "; ".join(
            f"{r['name']} ({fmt_periods(r)})" for r in hits) + ". The counters have no notion "
            "of a period: a periodic outage shows there only as an average loss ratio.")
    else:
        lines.append("The periodic outage's 5 s period was not reported within its injection "
                     "time.")
    if false_p:
        lines.append("**False periods** (reported for a fault that is not periodic): " + "; ".join(
            f"{r['name']} ({fmt_periods(r)})" for r in false_p) + ". Peaks are tested against "
            "a fitted red-noise (AR(1) + white) background (docs/periodicity.md); a false "
            "period here is a case that background does not describe.")
    else:
        lines.append("No period was reported for any fault that is not periodic.")
    carried = [r["name"] for r in results
               if any((r.get("before") or {}).get(k) for k in ("delay_period", "loss_period"))]
    if carried:
        lines.append(f"In {len(carried)} of {len(results)} scenarios a period was still "
                     f"reported when the injection started, after waiting up to "
                     f"{QUIET_MAX_S} s for a quiet victim: " + ", ".join(carried) + ". The "
                     "periodicity search looks back over its whole horizon, so an earlier "
                     "fault shows as a period until it leaves the horizon; read those rows "
                     "with their \"already before\" note.")
    else:
        lines.append(f"Every scenario started from a quiet victim (no period reported, jitter "
                     f"settled; the runner waits up to {QUIET_MAX_S} s for it), so each period "
                     "in the table appeared during that scenario.")
    sk = [r for r in results if r["name"].startswith("clock skew")]
    for r in sk:
        if r.get("skew_ppm"):
            ppm = r["skew_ppm"]["ppm"]
            lines.append(
                f"Clock skew: {ppm:.0f} ppm estimated for `--skew 200` (the agent's clock "
                "runs 200 ppm fast). The estimator's sign convention (docs/periodicity.md, "
                "`netwatch_server_clock_skew_ppm`) is the slope of rx − tx: a fast sender "
                f"reads negative, so the expected value is −200 ppm ({abs(ppm) / 2:.0f} % of "
                "it was found). The fit needs its horizon "
                f"({HORIZON_S} s) filled with the skewed clock; over a horizon that is partly "
                "before the injection it reads a proportionally smaller skew. The class stays "
                "healthy on purpose (a skew is not a network fault); the `NetWatchClockSkew` "
                "alert (|skew| > 100 ppm for 2 m) is how it is reported. No counting metric "
                "reports a skew (only a slowly drifting latency).")
        else:
            lines.append("Clock skew: no valid skew estimate was reported within "
                         f"{r['inject_s']} s of a 200 ppm injection.")
    fa = [r for r in results if r["false_alarms"]]
    if fa:
        lines.append("**False alarms** (samples, polled every 0.1 s, where an untouched "
                     "server was not healthy and up; in brackets the polls at which that "
                     "server's own RFC 3550 jitter counter was above the 10 ms alert "
                     "threshold, i.e. its samples really were disturbed, by the host): " +
                     "; ".join(
                         f"{r['name']}: {r['false_alarms']} samples on "
                         f"{', '.join(r['false_alarm_servers'])} "
                         f"({r.get('false_jittery', 0)} jittery)" for r in fa) + ".")
    else:
        lines.append("No untouched server left healthy (or up) at any 0.1 s poll of any "
                     "scenario, during the fault or the recovery after it (no false alarms).")
    for r in results:
        if r.get("stay_healthy") and not r.get("error"):
            lines.append(
                f"{r['name'].capitalize()}: the victim " + (
                    "stayed healthy at every poll (no flapping into warning)."
                    if not r.get("victim_alarms") else
                    f"left healthy {times(r.get('flaps', 0))} ({r['victim_alarms']} samples): "
                    "flapping, counted as false alarms above in the table."))
    k = next((r for r in results if r.get("kill_gap_s") is not None and not r.get("error")), None)
    if k:
        if k.get("t_down") is None:
            lines.append(f"The agent killed for {k['kill_gap_s']:g} s was never reported down "
                         f"(outage counted: {fmt_outage(k)}).")
        else:
            lines.append(f"The agent killed for {k['kill_gap_s']:g} s was reported down "
                         f"{k['t_down']:.2f} s after the kill and up {fmt_t(k.get('t_up'))} "
                         f"after it was started again (outage counted: {fmt_outage(k)}).")
    nr = [r["name"] for r in results if r["t_recovered"] is None and not r.get("error")]
    if nr:
        lines.append(f"Not back to healthy within {RECOVER_MAX_S:.0f} s of the fault's end: "
                     + "; ".join(nr) + ".")
    return lines



def render(doc):
    m = doc["meta"]
    results = doc["results"]
    out = ["# Detection, measured",
           "",
           "GENERATED by `tests/evaluate/evaluate.py` (`sudo make evaluate`); do not edit by hand.",
           "",
           f"- Command: `{m['command']}`",
           f"- Date: {m['date']}, commit `{m['commit']}`, kernel {m['kernel']}",
           f"- Lab: {m['racks']} racks × {m['servers']} servers (`netwatch-lab --name "
           f"{m['lab']}`, rack controllers `--interval 1 --horizon {HORIZON_S}`, their "
           f"defaults otherwise). {m['size_note']}",
           "- Faults on rack 0: `netwatch-chaos` (backend auto), or SIGKILL of one agent and "
           "`netwatch-lab start-agent` (the lab's own way of starting it) a little later. "
           f"Every rack's `/api/v1/rack` and the DC's `/api/v1/dc` polled every {POLL_S} s, "
           "in parallel" + (f" (largest gap between two polls: {m['max_poll_gap_s']:.2f} s)"
                            if m.get("max_poll_gap_s") is not None else "") + ".",
           f"- After each fault's end the victim is watched at least {AFTER_MIN_S:g} s and "
           f"until it has been healthy and up for {STABLE_S:g} s (at most "
           f"{RECOVER_MAX_S:.0f} s).",
           f"- Total runtime: {m['runtime_s'] / 60:.1f} min.",
           ""]
    if m.get("only"):
        out += [f"**A subset** (`--only {m['only']}`), not the whole evaluation.", ""]
    out += render_targets(results)
    out += ["## Summary", "",
            "Times from the injection (from the launch of `netwatch-chaos`, or the SIGKILL): "
            "*down*: first poll with the victim (the first and the last victim, for a rack) "
            "`down` or not up, and then *up*: from the fault's end (the clear, or the moment the "
            "restarted agent's process started) to the victim up for good; *warning* / "
            "*critical*: first poll with a victim `warning` or worse / `critical` or worse "
            "(down included); *healthy again*: from the fault's end to the start of the "
            "victims' final run of healthy, measured (long window analysed, or the short scale's "
            "figure) and up (an up server the rack has not measured again yet is shown "
            "`warming`, which is not healthy; a flap on the way back counts); *outage "
            "counted*: every victim's `outages` (in `/api/v1/rack`) grew, with the outage "
            "seconds added for rack 0 server 0; *false alarms*: polls where an untouched "
            "server (any rack) was not healthy and up, and for the 5 % loss the victim leaving "
            "healthy. \"not reached\": the fault should have got there and did not; \"—\": not "
            "expected and not seen.",
            "",
            "| scenario | fault | down | warning | critical | healthy again | outage counted | "
            "false alarms |",
            "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.get("error") and r.get("t_end") is None:
            out.append(f"| {r['name']} | {fmt_fault(r)} | not run: {r['error']} | | | | | |")
            continue
        out.append(f"| {r['name']} | {fmt_fault(r)} | {fmt_down(r)} | "
                   f"{fmt_need(r, 't_warning', 'warning')} | "
                   f"{fmt_need(r, 't_critical', 'critical')} | {fmt_t(r['t_recovered'])} | "
                   f"{fmt_outage(r)} | {fmt_false(r)} |")
    out += ["", "## Beside the counters", "",
            "*counters*: first poll where the counting metrics of rack 0 server 0 crossed the "
            "project's alert thresholds (loss > 1 % over at least 40 samples, jitter > 10 ms, "
            "histogram p99 > 50 ms) or duplicates grew, with which one in brackets, during the "
            "fault; *DC*: first poll where the DC's view showed rack 0 server 0 not healthy. "
            "Metrics are rack 0 server 0's at its first non-healthy poll (loss ratio and "
            "jitter as the rack reports them; p50/p99 as the upper bound of the histogram "
            "bucket, over the growth since the injection; owd from the analysis). *peak*: "
            "worst during the fault.",
            "",
            "| scenario | warning | counters | DC | metrics at warning | "
            "peak loss / jitter / p99 | period / skew reported |",
            "|---|---|---|---|---|---|---|"]
    for r in results:
        if r.get("error") and r.get("t_end") is None:
            continue
        pk = r["peak"] or {}
        peak = (f"{pk.get('loss_ratio', 0) * 100:.0f}% / {pk.get('jitter_ms', 0):.1f} ms / "
                f"{pk.get('p99_ms', 0):g} ms")
        out.append(
            f"| {r['name']} | {fmt_t(r['t_warning'])} | {fmt_t(r['t_counters'])}"
            f"{' (' + r['counters_by'] + ')' if r.get('counters_by') else ''} | "
            f"{fmt_t(r.get('t_dc_notice'))} | {fmt_m(r['at_warning'])} | {peak} | "
            f"{fmt_periods(r)} |")
    out += ["", "## What the numbers say", ""]
    for line in prose(results):
        out += [line, ""]
    errs = [r for r in results if r.get("error") or r.get("clear_error")
            or r.get("next_not_healthy")]
    if errs:
        out += ["## What went wrong in this run", ""]
        for r in errs:
            why = "; ".join(x for x in (r.get("error"), r.get("clear_error") and
                                        f"clear: {r['clear_error']}",
                                        r.get("next_not_healthy") and
                                        "the lab was not all healthy before the next scenario")
                            if x)
            out.append(f"- {r['name']}: {why}")
        out.append("")
    out += ["## Backends used", "",
            "What netwatch-chaos printed for each scenario (first line per scenario):", ""]
    for r in results:
        first = (r.get("chaos_out") or "").splitlines()
        shown = [x for x in first if "not used" not in x][:1] or first[:1]
        out.append(f"- {r['name']}: `{shown[0] if shown else ''}`")
    out.append("")
    return "\n".join(out)


def git_commit():
    r = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True)
    return r.stdout.strip() or "unknown"


def pick(only):
    """Scenarios by key or index, in the order given; SystemExit on a bad one."""
    keys = {s["key"]: s for s in SCENARIOS}
    chosen = []
    for x in only.split(","):
        x = x.strip()
        if x in keys:
            chosen.append(keys[x])
        elif x.isdigit() and int(x) < len(SCENARIOS):
            chosen.append(SCENARIOS[int(x)])
        else:
            raise SystemExit(f"evaluate: --only {x!r}: no such scenario (--list shows them)")
    return chosen


def fabric_main(a):
    """evaluate.py --fabric: its own lab and report, the seed's untouched."""
    import fabric_eval

    if os.geteuid() != 0:
        log("needs root (namespaces, BPF): run `sudo make evaluate`")
        return 2
    only = set(a.only.split(",")) if a.only else None
    doc = fabric_eval.run(lab_cmd, BUILD, a.racks, a.servers, only, log)
    doc.update(command="sudo tests/evaluate/evaluate.py --fabric --racks "
               f"{a.racks} --servers {a.servers}" + (f" --only {a.only}" if a.only else ""),
               date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               commit=git_commit())
    out_json = a.json_out or os.path.join(BUILD, "evaluation-fabric.json")
    out_md = a.out or os.path.join(BUILD, "EVALUATION-fabric.md")
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=1)
    with open(out_md, "w") as f:
        f.write(fabric_eval.render(doc))
    log(f"wrote {out_md} and {out_json}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--racks", type=int, default=4, help="default 4, the seed's")
    ap.add_argument("--servers", type=int, default=8, help="default 8, the seed's")
    ap.add_argument("--out", help="the report (default docs/EVALUATION.md; with --only "
                    "build/EVALUATION-subset.md, so a subset never replaces the report)")
    ap.add_argument("--json-out", help="raw results (default build/evaluation.json, "
                    "build/evaluation-subset.json with --only)")
    ap.add_argument("--render", metavar="JSON", help="only re-render a results file")
    ap.add_argument("--only", help="comma-separated scenario keys or indexes (see --list)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--fabric", action="store_true",
                    help="the fabric scenarios instead (docs/fabric.md section 7; "
                    "tests/evaluate/fabric_eval.py): writes build/EVALUATION-fabric.md")
    a = ap.parse_args()
    if a.fabric:
        return fabric_main(a)
    sub = "-subset" if a.only else ""
    out_md = a.out or (os.path.join(BUILD, "EVALUATION-subset.md") if a.only
                       else os.path.join(TOP, "docs", "EVALUATION.md"))
    out_json = a.json_out or os.path.join(BUILD, f"evaluation{sub}.json")

    if a.list:
        for i, s in enumerate(SCENARIOS):
            print(f"{i:2} {s['key']:<14} {s['name']}")
        return 0
    if a.render:
        with open(a.render) as f:
            doc = json.load(f)
        with open(out_md, "w") as f:
            f.write(render(doc))
        return 0
    chosen = pick(a.only) if a.only else SCENARIOS
    if os.geteuid() != 0:
        log("needs root (namespaces, BPF): run `sudo make evaluate`")
        return 2

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    name = "ev" + secrets.token_hex(3)
    started = time.monotonic()
    results = []
    log(f"lab {name}: {a.racks} racks x {a.servers} servers; "
        f"{len(chosen)} scenarios: {','.join(s['key'] for s in chosen)}")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=a.racks + 1)
    try:
        r = lab_cmd(name, "up", "--racks", str(a.racks), "--servers", str(a.servers),
                    "--horizon", str(HORIZON_S), "--json")
        if r.returncode != 0:
            log(f"lab up failed: {r.stderr.strip()}")
            return 1
        info = json.loads(r.stdout)
        lab = Lab(info, a.racks, a.servers, pool)
        if lab.wait_healthy(12.8 + 40) is None:  # the long window fills, and margin
            log("the lab never became healthy")
            return 1
        for spec in chosen:
            log(f"scenario {spec['key']}: {spec['name']}")
            res = run_scenario(lab, spec)
            log(f"  down {res['t_down']} (all {res['t_down_all']}) warn {res['t_warning']} "
                f"crit {res['t_critical']} | up {res['t_up']} healthy {res['t_recovered']} "
                f"after the end | counters {res['t_counters']} outage {fmt_outage(res)} "
                f"false {res['false_alarms']} victim {res['victim_alarms']} | "
                f"polls {res.get('polls')} max gap {res.get('max_poll_gap_s')} s "
                f"{res.get('error', '')}")
            results.append(res)
            # The next scenario starts from a healthy lab, or says it did not.
            if lab.wait_healthy(RECOVER_MAX_S) is None:
                log("  lab not all healthy before the next scenario")
                res["next_not_healthy"] = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pool.shutdown(wait=True)
        try:
            d = lab_cmd(name, "down")
            if d.returncode != 0:
                log(f"lab down: rc {d.returncode}: {d.stderr.strip()}")
        except subprocess.TimeoutExpired:
            log(f"lab down timed out: run `netwatch-lab down --name {name}`")
    size_note = ("The seed's datacenter: every fault is on rack 0, the other racks (and rack "
                 "0's untouched servers) count false alarms." if (a.racks, a.servers) == (4, 8)
                 else "The seed's size is 4 racks × 8 servers; this run used another size "
                 "(every fault is on rack 0, the other racks only count false alarms).")
    gaps = [r["max_poll_gap_s"] for r in results if r.get("max_poll_gap_s") is not None]
    doc = {"meta": {"command": "sudo make evaluate  # tests/evaluate/evaluate.py --racks "
                    f"{a.racks} --servers {a.servers}" + (f" --only {a.only}" if a.only else ""),
                    "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                        "%Y-%m-%d %H:%M UTC"),
                    "commit": git_commit(), "kernel": os.uname().release, "racks": a.racks,
                    "servers": a.servers, "lab": name, "size_note": size_note,
                    "only": a.only, "max_poll_gap_s": max(gaps) if gaps else None,
                    "runtime_s": time.monotonic() - started},
           "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(out_json)), exist_ok=True)
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=1)
    with open(out_md, "w") as f:
        f.write(render(doc))
    log(f"wrote {out_md} and {out_json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Interrupted as e:
        log(f"interrupted ({e}); the lab was taken down")
        sys.exit(130)
