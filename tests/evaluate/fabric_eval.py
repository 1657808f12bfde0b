"""The fabric evaluation (docs/fabric.md section 7), run by
`evaluate.py --fabric`: a lab with inter-rack tones (`netwatch-lab up
--fabric`), its probing overhead, and the five scoped-fault scenarios.

Overhead: fabric packets/s per rack from the collectors' own counter
(netwatch_collector_fabric_samples_total, over OVERHEAD_S), and each rack
controller's CPU (utime + stime of its process, /proc/<pid>/stat) over the
same time with the fabric senders running and then stopped (SIGSTOP: the
same lab, the same servers, only the inter-rack tones gone). The in-kernel
collector runs in softirq context and is not in that figure.

Scenarios: inject with netwatch-chaos, poll every rack's /api/v1/rack and
the DC's /api/v1/dc; report the first class change of a victim (server or
path row), the first fault the DC reports in `fabric.faults` (section 6's
contract: scope and subject) and the time to the expected one (bounded
SCOPE_WAIT_S), faults of any other scope or subject (wrong scopes) and
untouched servers or paths leaving healthy (false alarms); then clear and
wait for a healthy lab. A DC without `fabric.faults` is said so in the
report: the rack side is still measured. Timings on a loaded machine are
indicative only; the coordinator's quiet run is the figure."""

import concurrent.futures
import json
import os
import signal
import subprocess
import time
import urllib.request

POLL_S = 0.2
OVERHEAD_S = 10.0
WARM_S = 150.0      # the long window at 10 Hz (25.6 s), the servers', and margin
SCOPE_WAIT_S = 30.0  # section 7: bounded wait for the correct scope
QUIET_S = 120.0
WATCH_AFTER_S = 5.0
NOT_HEALTHY = ("warning", "critical", "down")


def _scenarios(racks, servers):
    """(key, name, chaos apply args list, clear args list, expected fault,
    victims(kind, a, b) predicate) for the lab's size; rack 1 and 2 exist
    from 3 racks on, server 3 from 4 servers on (else the last)."""
    s = min(3, servers - 1)
    allr = [["apply", "--rack", str(r), "--loss", "30"] for r in range(racks)]
    return [
        ("server", f"one server (rack 1 server {s})",
         [["apply", "--rack", "1", "--server", str(s), "--loss", "30"]],
         [["clear", "--rack", "1", "--server", str(s)]],
         {"scope": "server", "rack_id": 1, "server_id": s},
         lambda k, a, b: k == "server" and (a, b) == (1, s)),
        ("rack", "one rack's servers (rack 1)",
         [["apply", "--rack", "1", "--loss", "30"]], [["clear", "--rack", "1"]],
         {"scope": "rack", "rack_id": 1, "cause": "servers"},
         lambda k, a, b: k == "server" and a == 1),
        ("uplink", "one rack uplink (rack 2)",
         [["apply", "--rack", "2", "--uplink", "--loss", "30"]],
         [["clear", "--rack", "2", "--uplink"]],
         {"scope": "rack", "rack_id": 2, "cause": "uplink"},
         lambda k, a, b: k == "path" and 2 in (a, b)),
        ("path", "one rack pair (1, 2)",
         [["apply", "--path", "1,2", "--loss", "30"]], [["clear", "--path", "1,2"]],
         {"scope": "path", "racks": [1, 2]},
         lambda k, a, b: k == "path" and {a, b} == {1, 2}),
        ("dc", "all racks", allr, [["clear", "--rack", str(r)] for r in range(racks)],
         {"scope": "dc"},
         lambda k, a, b: k == "server"),
    ]


def _get(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.load(r)
    except (OSError, ValueError):
        return None


def _metric(url, name):
    try:
        with urllib.request.urlopen(url, timeout=2.0) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + "{") or line.startswith(name + " "):
                    return float(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def _cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _matches(fault, want):
    if fault.get("scope") != want["scope"]:
        return False
    subj = fault.get("subject") or {}
    if "rack_id" in want and subj.get("rack_id") != want["rack_id"]:
        return False
    if "server_id" in want and subj.get("server_id") != want["server_id"]:
        return False
    if "racks" in want and sorted([subj.get("src_rack"), subj.get("dst_rack")]) != want["racks"]:
        return False
    return "cause" not in want or fault.get("cause") == want["cause"]


class FabricLab:
    def __init__(self, info, racks, servers, pool):
        self.info = info
        self.topology = info["topology"]
        self.racks, self.servers = racks, servers
        self.rack_urls = [e["json"] for e in info["endpoints"]["racks"]]
        self.metric_urls = [e["metrics"] for e in info["endpoints"]["racks"]]
        self.dc_url = info["endpoints"]["dc"]["json"]
        self.pool = pool
        with open(os.path.join(info["run_dir"], "state.json")) as f:
            procs = json.load(f)["processes"]
        self.rack_pids = {p["rack"]: p["pid"] for p in procs if p.get("role") == "rack"}
        self.fabric_pids = {p["rack"]: p["pid"] for p in procs if p.get("role") == "fabric"}

    def poll(self):
        """{("server", rack, id) | ("path", src, dst): class}, the DC doc."""
        docs = list(self.pool.map(_get, self.rack_urls + [self.dc_url]))
        states = {}
        for dst, d in enumerate(docs[:-1]):
            for s in (d or {}).get("servers", []):
                states[("server", dst, s["server_id"])] = s["class"]
            for p in (d or {}).get("paths_in", []):
                states[("path", p["src_rack"], dst)] = p["class"]
        return states, docs[-1]

    def healthy(self):
        """Every server and path healthy, and the DC holds no fault (a
        fault ends some intervals after its members recover: a scenario
        that began before would see the last one's as a wrong scope)."""
        st, dc = self.poll()
        want = self.racks * self.servers + self.racks * (self.racks - 1)
        fabric = (dc or {}).get("fabric") or {}
        return (len(st) == want and all(c == "healthy" for c in st.values())
                and not fabric.get("faults") and not fabric.get("faults_pending"))

    def wait_healthy(self, timeout):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.healthy():
                return time.monotonic() - t0
            time.sleep(1.0)
        return None

    def chaos(self, args):
        # The verb first (docs/chaos.md), then its options.
        return subprocess.run([os.path.join(self.build, "netwatch-chaos"), *args, "--topology",
                               self.topology], capture_output=True, text=True, timeout=30)

    def overhead(self):
        """pps per rack from the counters; rack controller CPU with and
        without the fabric senders (SIGSTOP/SIGCONT of this lab's own)."""
        def window():
            c0 = [_metric(u, "netwatch_collector_fabric_samples_total")
                  for u in self.metric_urls]
            u0 = {r: _cpu_s(p) for r, p in self.rack_pids.items()}
            t0 = time.monotonic()
            time.sleep(OVERHEAD_S)
            dt = time.monotonic() - t0
            c1 = [_metric(u, "netwatch_collector_fabric_samples_total")
                  for u in self.metric_urls]
            u1 = {r: _cpu_s(p) for r, p in self.rack_pids.items()}
            pps = [None if a is None or b is None else (b - a) / dt for a, b in zip(c0, c1)]
            cpu = {r: None if u0[r] is None or u1[r] is None else 100.0 * (u1[r] - u0[r]) / dt
                   for r in u0}
            return pps, cpu

        pps, cpu_on = window()
        for pid in self.fabric_pids.values():
            os.kill(pid, signal.SIGSTOP)
        try:
            pps_off, cpu_off = window()
        finally:
            for pid in self.fabric_pids.values():
                os.kill(pid, signal.SIGCONT)
        return {"fabric_pps_per_rack": pps, "fabric_pps_stopped": pps_off,
                "rack_cpu_pct_with_fabric": cpu_on, "rack_cpu_pct_without_fabric": cpu_off,
                "window_s": OVERHEAD_S,
                "expected_pps_per_rack": 10.0 * min(16, self.racks - 1)}


def run_scenario(lab, key, name, applies, clears, want, victim):
    res = {"key": key, "name": name, "expected": want, "first_fault": None,
           "t_first_fault": None, "t_correct": None, "t_first_change": None,
           "wrong_scopes": [], "false_alarms": [], "dc_has_faults": None}
    t0 = time.monotonic()
    for a in applies:
        r = lab.chaos(a)
        if r.returncode != 0:
            res["error"] = f"chaos {' '.join(a)}: {r.stderr.strip()}"
    try:
        while time.monotonic() - t0 < SCOPE_WAIT_S:
            states, dc = lab.poll()
            t = time.monotonic() - t0
            for k, c in states.items():
                if c in NOT_HEALTHY:
                    if victim(*k):
                        res["t_first_change"] = res["t_first_change"] or round(t, 2)
                    elif list(k) not in res["false_alarms"]:
                        res["false_alarms"].append(list(k))
            faults = ((dc or {}).get("fabric") or {}).get("faults")
            res["dc_has_faults"] = faults is not None
            for f in faults or []:
                brief = {x: f.get(x) for x in ("scope", "subject", "cause")}
                if res["first_fault"] is None:
                    res["first_fault"], res["t_first_fault"] = brief, round(t, 2)
                if _matches(f, want):
                    res["t_correct"] = res["t_correct"] or round(t, 2)
                elif brief not in res["wrong_scopes"]:
                    res["wrong_scopes"].append(brief)
            # watched a while after the right scope: a later other scope is wrong too
            if res["t_correct"] is not None and t > res["t_correct"] + WATCH_AFTER_S:
                break
            time.sleep(POLL_S)
    finally:
        for a in clears:
            lab.chaos(a)
    res["t_quiet"] = lab.wait_healthy(QUIET_S)
    return res


def render(doc):
    o = doc["overhead"]
    lines = ["# Fabric evaluation (docs/fabric.md section 7)", "",
             f"`{doc['command']}` — {doc['date']}, commit {doc['commit']}, "
             f"{doc['racks']} racks × {doc['servers']} servers (full mesh up to k = 16).", "",
             "## Inter-rack probing overhead", "",
             f"Over {o['window_s']:.0f} s, from `netwatch_collector_fabric_samples_total` and "
             "`/proc/<pid>/stat` of each `netwatch-rack` (userspace only; XDP runs in softirq):",
             "", "| rack | fabric samples/s received | expected | rack CPU % with fabric "
             "| without (senders stopped) |", "|---:|---:|---:|---:|---:|"]
    for r, pps in enumerate(o["fabric_pps_per_rack"]):
        on = o["rack_cpu_pct_with_fabric"].get(str(r), o["rack_cpu_pct_with_fabric"].get(r))
        off = o["rack_cpu_pct_without_fabric"].get(str(r),
                                                   o["rack_cpu_pct_without_fabric"].get(r))
        lines.append(f"| {r} | {pps if pps is None else round(pps, 2)} | "
                     f"{o['expected_pps_per_rack']:.0f} | "
                     f"{on if on is None else round(on, 2)} | "
                     f"{off if off is None else round(off, 2)} |")
    lines += ["", "## Scenarios", "",
              "| scenario | expected | first class change (s) | first fault (s) | "
              "correct scope (s) | wrong scopes | false alarms |",
              "|---|---|---:|---|---:|---|---|"]
    for r in doc["results"]:
        first = "DC reports no `fabric.faults`" if r["dc_has_faults"] is False else \
            f"{json.dumps(r['first_fault'])} at {r['t_first_fault']}"
        lines.append(f"| {r['name']} | `{json.dumps(r['expected'])}` | {r['t_first_change']} | "
                     f"{first} | {r['t_correct']} | {len(r['wrong_scopes'])} | "
                     f"{len(r['false_alarms'])} {r['false_alarms'][:4] or ''} |")
    return "\n".join(lines) + "\n"


def run(lab_cmd, build, racks, servers, only, log):
    """Brings a --fabric lab up, measures, takes it down; the results doc."""
    name = "fe" + os.urandom(3).hex()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=racks + 1)
    doc = {"racks": racks, "servers": servers, "results": []}
    try:
        r = lab_cmd(name, "up", "--racks", str(racks), "--servers", str(servers), "--fabric",
                    "--json")
        if r.returncode != 0:
            raise RuntimeError(f"lab up failed: {r.stderr.strip()}")
        lab = FabricLab(json.loads(r.stdout), racks, servers, pool)
        lab.build = build
        warm = lab.wait_healthy(WARM_S)
        log(f"fabric lab {name}: healthy after {warm} s")
        doc["overhead"] = lab.overhead()
        log(f"  overhead {doc['overhead']}")
        lab.wait_healthy(QUIET_S)
        for sc in _scenarios(racks, servers):
            if only and sc[0] not in only:
                continue
            log(f"fabric scenario {sc[0]}: {sc[1]}")
            res = run_scenario(lab, *sc)
            log(f"  {res}")
            doc["results"].append(res)
    finally:
        pool.shutdown(wait=True)
        lab_cmd(name, "down")
    return doc
