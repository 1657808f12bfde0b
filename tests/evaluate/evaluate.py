#!/usr/bin/python3
"""Detection, measured: the scenario runner behind `make evaluate`.

Brings up a lab of its own (own --name), waits until every server is healthy,
then for each scenario injects a fault on rack 0 with netwatch-chaos, polls
the controllers' own JSON (the rack's /api/v1/rack and the DC's /api/v1/dc)
every POLL_S and records: time to warning and to critical from the injection,
time back to healthy after --clear, false alarms (any non-healthy sample on a
server the fault did not touch), what the counting metrics showed at those
moments, and whether a disturbance period or a clock skew was reported.
It writes docs/EVALUATION.md from the numbers, and the raw results as JSON.

    sudo tests/evaluate/evaluate.py [--racks 4 --servers 8] [--out docs/EVALUATION.md]
    tests/evaluate/evaluate.py --render results.json      # re-render only

The lab is taken down whatever happens (finally + SIGINT/SIGTERM handler).
"""

import argparse
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
POLL_S = 0.25
WINDOW_S = 256 / 20.0   # the rack's default analysis window at the agents' 20 Hz
INTERVAL_S = 1.0
RECOVER_MAX_S = 30.0    # one window plus two intervals is ~15 s; margin for a loaded box
# The collector's latency histogram bucket bounds (docs/collector.md); the
# rack JSON carries the counts only, the last bucket is +Inf.
LATENCY_BOUNDS_NS = [50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
                     25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
                     2500000000, 5000000000, 10000000000]
NOT_HEALTHY = ("warning", "critical", "down")
CRITICAL = ("critical", "down")

# The rack controllers' history for periods and skew. Shorter than their 60 s
# default so that the 45 s injections fill it (a skew fitted over a horizon that
# is half before the injection reads as half the skew) and so that a scenario's
# periods have left it before the next one starts.
HORIZON_S = 30
# Before a scenario: the victim's jitter settled and no period reported, so
# what appears during the injection belongs to it (bounded: horizon + 10 s).
QUIET_MAX_S = HORIZON_S + 10

# name, what is done, chaos arguments, target ("server": rack 0 server 0,
# "rack": every server of rack 0), inject seconds. Periodic outage and skew
# need the analysis horizon: a few periods inside a full window, and a skew
# estimate needs the owd trend over a long span.
SCENARIOS = [
    ("blackout, one server", ["--loss", "100"], "server", 20),
    ("blackout, one rack", ["--loss", "100"], "rack", 20),
    ("random loss 5%", ["--loss", "5"], "server", 25),
    ("random loss 20%", ["--loss", "20"], "server", 25),
    ("random loss 50%", ["--loss", "50"], "server", 25),
    ("bursty loss 20%, bursts of 5", ["--loss", "20", "--burst", "5"], "server", 25),
    ("delay step 200 ms", ["--delay", "200ms"], "server", 25),
    ("jitter 25 ms", ["--delay", "100ms", "--jitter", "25ms"], "server", 25),
    ("jitter 100 ms", ["--delay", "200ms", "--jitter", "100ms"], "server", 25),
    ("duplication 10%", ["--duplicate", "10"], "server", 25),
    ("clock skew 200 ppm", ["--skew", "200"], "server", 45),
    ("periodic outage 0.5 s every 5 s", ["--outage", "500ms/5s"], "server", 45),
]


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


def log(msg):
    print(f"evaluate: {msg}", file=sys.stderr, flush=True)


def get_json(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None


def lab_cmd(name, *args):
    return subprocess.run([LAB, *args, "--name", name], capture_output=True, text=True,
                          env={**os.environ, "NETWATCH_BUILD": BUILD}, timeout=180)


def chaos(topology, *args):
    r = subprocess.run([os.path.join(BUILD, "netwatch-chaos"), "--topology", topology, *args],
                       capture_output=True, text=True, timeout=30)
    return r


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


class Lab:
    def __init__(self, info, racks, servers):
        self.info = info
        self.racks, self.servers = racks, servers
        self.dc_url = info["endpoints"]["dc"]["json"]
        self.rack0_url = info["endpoints"]["racks"][0]["json"]

    def classes(self, dc):
        """{(rack, server): class} or None when the DC does not see every rack."""
        if not dc or dc.get("racks_reporting") != self.racks:
            return None
        out = {}
        for rack in dc["racks"]:
            for s in rack["servers"]:
                out[(rack["rack_id"], s["id"])] = s["class"] if s["error"] is not None or \
                    s["class"] == "down" else None
        return out if len(out) == self.racks * self.servers else None

    def all_healthy(self, dc=None):
        c = self.classes(dc if dc is not None else get_json(self.dc_url))
        return bool(c) and all(v == "healthy" for v in c.values())

    def wait_healthy(self, timeout):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.all_healthy():
                return time.monotonic() - t0
            time.sleep(POLL_S)
        return None


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


def run_scenario(lab, topology, name, args, target, inject_s):
    victims = {(0, 0)} if target == "server" else {(0, s) for s in range(lab.servers)}
    watch = 0  # the victim whose figures are recorded (rack 0 server 0)
    res = {"name": name, "args": args, "target": target, "inject_s": inject_s,
           "t_warning": None, "t_critical": None, "t_recovered": None, "t_counters": None,
           "false_alarms": 0, "false_alarm_servers": [], "at_warning": None,
           "at_critical": None, "peak": None, "delay_period": None, "hole_period": None,
           "skew_ppm": None, "chaos_out": ""}
    # The victim's jitter estimate decays slowly after an earlier scenario, and
    # its periods stay until they leave the horizon: start from a quiet victim
    # (bounded), and note what is still reported if it never gets quiet.
    t_quiet = time.monotonic()
    while True:
        pre = get_json(lab.rack0_url)
        base = server_of(pre, watch)
        ba = (base or {}).get("analysis") or {}
        quiet = base and (base.get("jitter_s") or 0) < 0.005 and not any(
            (ba.get(k) or {}).get("found") for k in ("delay_period", "hole_period"))
        if quiet or time.monotonic() - t_quiet > QUIET_MAX_S:
            break
        time.sleep(POLL_S)
    res["quiet_wait_s"] = round(time.monotonic() - t_quiet, 1)
    pa = (base or {}).get("analysis") or {}
    res["before"] = {k: (pa.get(k) or {}).get("period_s") if (pa.get(k) or {}).get("found")
                     else None for k in ("delay_period", "hole_period")}
    res["before"]["skew_ppm"] = pa.get("skew_ppm")
    base_c = counters(base, None)
    sel = ["--rack", "0"] + (["--server", "0"] if target == "server" else [])
    r = chaos(topology, *sel, *args)
    res["chaos_out"] = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        res["error"] = f"netwatch-chaos rc {r.returncode}: {r.stderr.strip()}"
        return res
    t0 = time.monotonic()
    worst = {"loss_ratio": 0.0, "jitter_ms": 0.0, "p99_ms": 0.0}
    bad_others = set()
    analysed = 0
    try:
        while time.monotonic() - t0 < inject_s:
            time.sleep(POLL_S)
            t = time.monotonic() - t0
            dc = get_json(lab.dc_url)
            rk = get_json(lab.rack0_url)
            cls = lab.classes(dc) or {}
            for key, c in cls.items():
                if key not in victims and c in NOT_HEALTHY:
                    res["false_alarms"] += 1
                    bad_others.add(key)
            vc = [cls.get(v) for v in victims]
            s = server_of(rk, watch)
            c = counters(s, base)
            if c:
                for k in worst:
                    if c[k] is not None and c[k] > worst[k]:
                        worst[k] = c[k]
            moved = counters_moved(c, base_c) if res["t_counters"] is None else None
            if moved:
                res["t_counters"], res["counters_by"] = round(t, 2), moved
            if res["t_warning"] is None and any(x in NOT_HEALTHY for x in vc):
                res["t_warning"], res["at_warning"] = round(t, 2), c
            if res["t_critical"] is None and any(x in CRITICAL for x in vc):
                res["t_critical"], res["at_critical"] = round(t, 2), c
            a = (s or {}).get("analysis") or {}
            if a:
                analysed += 1
            for key in ("delay_period", "hole_period"):
                p = a.get(key) or {}
                if p.get("found"):
                    # First time, latest value and how often: one sample of a
                    # period right after a step is not a periodic disturbance.
                    prev = res[key] or {"t": round(t, 2), "n": 0}
                    res[key] = {"t": prev["t"], "n": prev["n"] + 1,
                                "period_s": p.get("period_s")}
            if a.get("skew_ppm") is not None:
                res["skew_ppm"] = {"t": round(t, 2), "ppm": a["skew_ppm"]}  # the latest
    finally:
        r = chaos(topology, *sel, "--clear")
        if r.returncode != 0:
            res["clear_error"] = r.stderr.strip()
    res["peak"] = worst
    res["analysed_samples"] = analysed
    t1 = time.monotonic()
    while time.monotonic() - t1 < RECOVER_MAX_S:
        time.sleep(POLL_S)
        cls = lab.classes(get_json(lab.dc_url)) or {}
        if cls and all(cls.get(v) == "healthy" for v in victims):
            res["t_recovered"] = round(time.monotonic() - t1, 2)
            break
    res["false_alarm_servers"] = sorted(f"r{a}s{b}" for a, b in bad_others)
    # The rack's JSON is a view refreshed once per interval: samples in flight
    # and counted after the clear (a duplicate, a late loss) must land in this
    # scenario, not in the next one's baseline. Two refreshes after the clear.
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
    return "—" if v is None else f"{v:.1f} s"


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
    for key, label in (("delay_period", "delay period"), ("hole_period", "hole period")):
        if r.get(key):
            p, n = r[key], max(r.get("analysed_samples") or 0, 1)
            pre = (r.get("before") or {}).get(key)
            was = f", {pre:.2f} s already before the injection" if pre else ""
            out.append(f"{label} {p['period_s']:.2f} s (first at {p['t']:.0f} s, "
                       f"{100 * p['n'] / n:.0f}% of samples{was})")
    if r.get("skew_ppm"):
        out.append(f"skew {r['skew_ppm']['ppm']:.0f} ppm (latest)")
    return "; ".join(out) or "none"


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
            counters_first.append(f"{r['name']} (counters at {tc:.1f} s, class never left healthy)")
        elif tc is None:
            spectral_first.append(f"{r['name']} (warning at {tw:.1f} s, counters never crossed "
                                  "their alert thresholds)")
        elif tw + 0.5 < tc:
            spectral_first.append(f"{r['name']} (warning {tw:.1f} s vs counters {tc:.1f} s)")
        elif tc + 0.5 < tw:
            counters_first.append(f"{r['name']} (counters {tc:.1f} s vs warning {tw:.1f} s)")
    if spectral_first:
        lines.append("**Where the spectral view helps.** The class (spectral error) left "
                     "healthy before, or without, the counting metrics crossing their alert "
                     "thresholds in: " + "; ".join(spectral_first) + ".")
    if counters_first:
        lines.append("**Where the counters see more.** The counting metrics crossed their "
                     "thresholds first, or alone, in: " + "; ".join(counters_first) + ".")
    if silent:
        lines.append("**Seen by neither** within the injection time (class stayed healthy and "
                     "no counter crossed a threshold): " + "; ".join(silent) + ".")
    def new_period(r):
        b = r.get("before") or {}
        return any(r.get(k) and not b.get(k) for k in ("delay_period", "hole_period"))

    # The only periodic fault is the outage every 5 s: a period there is a
    # detection when it matches (±10 %); a period anywhere else is a false one.
    def true_period(r):
        return r["name"].startswith("periodic outage") and any(
            r.get(k) and abs(r[k]["period_s"] - 5.0) <= 0.5 for k in ("delay_period", "hole_period"))

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
            f"{r['name']} ({fmt_periods(r)})" for r in false_p) + ". Bursty (Gilbert) loss is "
            "red noise: its slow wandering puts power at the longest period searched (a "
            "quarter of the horizon) in every quarter of it, which the periodogram's "
            "white-noise false-alarm test and the per-quarter check (docs/periodicity.md) do not "
            "tell from a cycle; watch for a period equal to horizon/4.")
    else:
        lines.append("No period was reported for any fault that is not periodic.")
    carried = [r["name"] for r in results
               if any((r.get("before") or {}).get(k) for k in ("delay_period", "hole_period"))]
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
        lines.append("False alarms (non-healthy samples on untouched servers): " + "; ".join(
            f"{r['name']}: {r['false_alarms']} samples on {', '.join(r['false_alarm_servers'])}"
            for r in fa) + ".")
    else:
        lines.append("No untouched server left the healthy class in any scenario (no false alarms).")
    nr = [r["name"] for r in results if r["t_recovered"] is None and not r.get("error")]
    if nr:
        lines.append(f"Not back to healthy within {RECOVER_MAX_S:.0f} s of the clear: "
                     + "; ".join(nr) + ".")
    return lines


def render(doc):
    m = doc["meta"]
    out = ["# Detection, measured",
           "",
           "GENERATED by `tests/evaluate/evaluate.py` (`sudo make evaluate`); do not edit by hand.",
           "",
           f"- Command: `{m['command']}`",
           f"- Date: {m['date']}, commit `{m['commit']}`, kernel {m['kernel']}",
           f"- Lab: {m['racks']} racks × {m['servers']} servers (`netwatch-lab --name "
           f"{m['lab']}`). {m['size_note']}",
           f"- Faults injected on rack 0 with `netwatch-chaos` (backend auto); the controllers' "
           f"own JSON (`/api/v1/rack` of rack 0, `/api/v1/dc`) polled every {POLL_S} s.",
           f"- Analysis window {WINDOW_S:.1f} s (256 samples at 20 Hz), interval "
           f"{INTERVAL_S:.0f} s. Recovery waited at most {RECOVER_MAX_S:.0f} s.",
           f"- Total runtime: {m['runtime_s'] / 60:.1f} min.",
           "",
           "Columns: *warn* / *crit*: first sample with the victim (any victim, for a rack) in "
           "`warning`/`critical`/`down`, resp. `critical`/`down`, from the injection; *counters*: "
           "first sample where the counting metrics of rack 0 server 0 crossed the project's alert "
           "thresholds (loss > 1 % over at least 40 samples, jitter > 10 ms, histogram p99 > 50 ms) "
           "or duplicates grew, with which one in brackets; "
           "*recover*: from `--clear` to the victim(s) healthy again; *false*: non-healthy samples "
           "on untouched servers during the injection. Metrics are rack 0 server 0's "
           "at the warning moment (loss ratio and jitter as the rack reports them; p50/p99 as "
           "the upper bound of the histogram bucket, over the growth since the injection; owd "
           "from the analysis). *peak*: worst during the injection.",
           "",
           "| scenario | target | inject | warn | crit | counters | recover | false | "
           "metrics at warning | peak loss / jitter / p99 | period / skew reported |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["results"]:
        if r.get("error"):
            out.append(f"| {r['name']} | {r['target']} | `{' '.join(r['args'])}` | "
                       f"not run: {r['error']} | | | | | | | |")
            continue
        pk = r["peak"] or {}
        peak = (f"{pk.get('loss_ratio', 0) * 100:.0f}% / {pk.get('jitter_ms', 0):.1f} ms / "
                f"{pk.get('p99_ms', 0):g} ms")
        out.append(
            f"| {r['name']} | {'rack 0 server 0' if r['target'] == 'server' else 'all of rack 0'}"
            f" | `{' '.join(r['args'])}` {r['inject_s']} s | {fmt_t(r['t_warning'])} | "
            f"{fmt_t(r['t_critical'])} | {fmt_t(r['t_counters'])}"
            f"{' (' + r['counters_by'] + ')' if r.get('counters_by') else ''} | "
            f"{fmt_t(r['t_recovered'])} | "
            f"{r['false_alarms']} | {fmt_m(r['at_warning'])} | {peak} | {fmt_periods(r)} |")
    out += ["", "## What the numbers say", ""]
    for line in prose(doc["results"]):
        out += [line, ""]
    out += ["## Backends used", "",
            "What netwatch-chaos printed for each scenario (first line per scenario):", ""]
    for r in doc["results"]:
        first = (r.get("chaos_out") or "").splitlines()
        shown = [x for x in first if "not used" not in x][:1] or first[:1]
        out.append(f"- {r['name']}: `{shown[0] if shown else ''}`")
    out.append("")
    return "\n".join(out)


def git_commit():
    r = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True)
    return r.stdout.strip() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--racks", type=int, default=4, help="default 4, the seed's")
    ap.add_argument("--servers", type=int, default=8, help="default 8, the seed's")
    ap.add_argument("--out", default=os.path.join(TOP, "docs", "EVALUATION.md"))
    ap.add_argument("--json-out", default=os.path.join(BUILD, "evaluation.json"))
    ap.add_argument("--render", metavar="JSON", help="only re-render a results file")
    ap.add_argument("--only", help="comma-separated scenario indexes (debugging)")
    a = ap.parse_args()

    if a.render:
        with open(a.render) as f:
            doc = json.load(f)
        with open(a.out, "w") as f:
            f.write(render(doc))
        return 0
    if os.geteuid() != 0:
        log("needs root (namespaces, BPF): run `sudo make evaluate`")
        return 2

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    name = "ev" + secrets.token_hex(3)
    started = time.monotonic()
    results = []
    log(f"lab {name}: {a.racks} racks x {a.servers} servers")
    r = lab_cmd(name, "up", "--racks", str(a.racks), "--servers", str(a.servers),
                "--horizon", str(HORIZON_S), "--json")
    try:
        if r.returncode != 0:
            log(f"lab up failed: {r.stderr.strip()}")
            return 1
        info = json.loads(r.stdout)
        lab = Lab(info, a.racks, a.servers)
        if lab.wait_healthy(WINDOW_S + 40) is None:
            log("the lab never became healthy")
            return 1
        chosen = SCENARIOS
        if a.only:
            idx = [int(x) for x in a.only.split(",")]
            chosen = [SCENARIOS[i] for i in idx]
        for sname, args, target, inject_s in chosen:
            log(f"scenario: {sname}")
            res = run_scenario(lab, info["topology"], sname, args, target, inject_s)
            log(f"  warn {res['t_warning']} crit {res['t_critical']} counters {res['t_counters']}"
                f" recovered {res['t_recovered']} false {res['false_alarms']}"
                f" {fmt_periods(res)} {res.get('error', '')}")
            results.append(res)
            # The next scenario starts from a healthy lab, or says it did not.
            if lab.wait_healthy(RECOVER_MAX_S) is None:
                log("  lab not all healthy before the next scenario")
                res["next_not_healthy"] = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        d = lab_cmd(name, "down")
        if d.returncode != 0:
            log(f"lab down: rc {d.returncode}: {d.stderr.strip()}")
    size_note = ("The seed's datacenter: every fault is on rack 0, the other racks (and rack "
                 "0's untouched servers) count false alarms." if (a.racks, a.servers) == (4, 8)
                 else "The seed's size is 4 racks × 8 servers; this run used another size "
                 "(every fault is on rack 0, the other racks only count false alarms).")
    doc = {"meta": {"command": "sudo make evaluate  # tests/evaluate/evaluate.py --racks "
                    f"{a.racks} --servers {a.servers}",
                    "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                        "%Y-%m-%d %H:%M UTC"),
                    "commit": git_commit(), "kernel": os.uname().release, "racks": a.racks,
                    "servers": a.servers, "lab": name, "size_note": size_note,
                    "runtime_s": time.monotonic() - started},
           "results": results}
    os.makedirs(os.path.dirname(os.path.abspath(a.json_out)), exist_ok=True)
    with open(a.json_out, "w") as f:
        json.dump(doc, f, indent=1)
    with open(a.out, "w") as f:
        f.write(render(doc))
    log(f"wrote {a.out} and {a.json_out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Interrupted as e:
        log(f"interrupted ({e}); the lab was taken down")
        sys.exit(130)
