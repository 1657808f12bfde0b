"""deploy/local/netwatch-lab end to end, on a small lab (2 racks x 4 servers):
it comes up with every rack and server healthy in the DC's own JSON, reachable
from the host; Prometheus in the lab scrapes the DC and both racks; a second
`up` is refused; a fault put on one server through its agent's control socket
moves only that server and only rack 0's and the DC's scores, and clearing it
returns to healthy within one analysis window plus two intervals; a blackout
of one server makes it `down` and fires the project's NetWatchServerDown alert
for that server only; after `down` nothing the lab made remains (a fault left
applied by netwatch-chaos included). Last, demo.sh (what `sudo make demo`
runs) with DEMO_SECONDS prints the endpoints and the live grid and cleans up. The fixture's finalizer runs `down` whatever
happens, so a failing test leaves nothing behind either.

The lab runs under its own name (198.19.0.0/16, its own run dir and pin dir),
so it never touches a demo lab ("nwlab") running on the same machine."""

import json
import os
import re
import secrets
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from nwlab import BUILD, wait_for

LAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "local",
                   "netwatch-lab")
RACKS, SERVERS = 2, 4
WINDOW_S = 256 / 20.0  # the rack's default analysis window at the agents' 20 Hz
INTERVAL_S = 1.0       # rack --interval: one view, one report

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")


def lab_cmd(name, *args, check=False):
    r = subprocess.run([LAB, *args, "--name", name], capture_output=True, text=True,
                       env={**os.environ, "NETWATCH_BUILD": BUILD}, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"netwatch-lab {' '.join(args)}: rc {r.returncode}\n{r.stderr}")
    return r


def get_json(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def try_json(url):
    try:
        return get_json(url)
    except (OSError, ValueError):
        return None


def proc_start(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture(scope="module")
def lab():
    name = "t" + secrets.token_hex(3)
    r = lab_cmd(name, "up", "--racks", str(RACKS), "--servers", str(SERVERS), "--json")
    try:
        assert r.returncode == 0, f"up failed: {r.stderr}"
        info = json.loads(r.stdout)
        with open(os.path.join(info["run_dir"], "state.json")) as f:
            state = json.load(f)
        yield {"name": name, "info": info, "state": state}
    finally:
        lab_cmd(name, "down")


def dc_doc(lab):
    return try_json(lab["info"]["endpoints"]["dc"]["json"])


def all_healthy(doc, skip=()):
    """Every expected rack reporting and every server analysed and healthy
    (servers in skip, as (rack, server), are not looked at)."""
    if not doc or doc["racks_reporting"] != RACKS:
        return False
    for rack in doc["racks"]:
        if rack["state"] != "ok" or len(rack["servers"]) != SERVERS:
            return False
        for s in rack["servers"]:
            if (rack["rack_id"], s["id"]) in skip:
                continue
            if s["class"] != "healthy" or s["error"] is None:
                return False
    return True


def test_up_json_and_topology(lab):
    info = lab["info"]
    assert info["racks"] == RACKS and info["servers"] == SERVERS
    assert len(info["endpoints"]["racks"]) == RACKS
    with open(info["topology"]) as f:
        topo = json.load(f)
    assert topo["version"] == 1 and topo["lab"] == lab["name"]
    assert topo["dc"]["netns"] == f"{lab['name']}-dc" and topo["dc"]["report_port"] == 9990
    assert topo["prometheus"]["url"] == info["endpoints"]["prometheus"]
    assert [r["rack_id"] for r in topo["racks"]] == list(range(RACKS))
    for r in topo["racks"]:
        assert r["uplink"] == "up0" and r["netns"] == f"{lab['name']}-r{r['rack_id']}"
        assert [s["server_id"] for s in r["servers"]] == list(range(SERVERS))
        for s in r["servers"]:
            assert s["iface"] == "eth0"
            assert os.path.exists(s["control"]), s["control"]
            assert proc_start(s["pid"]) is not None
            # The agent really runs in the namespace the topology names.
            pids = subprocess.run(["ip", "netns", "pids", s["netns"]], capture_output=True,
                                  text=True).stdout.split()
            assert str(s["pid"]) in pids


def test_every_rack_and_server_healthy_in_the_dc(lab):
    # One analysis window to warm up, a few intervals for the reports.
    doc = wait_for(lambda: (lambda d: d if all_healthy(d) else None)(dc_doc(lab)),
                   WINDOW_S + 20, "every server analysed and healthy in /api/v1/dc", 0.5)
    assert doc["racks_expected"] == RACKS
    assert doc["health_score"] > 0.95
    # Each rack's own JSON and metrics answer from the host, too.
    for ep in lab["info"]["endpoints"]["racks"]:
        rack = get_json(ep["json"])
        assert len(rack["servers"]) == SERVERS
        with urllib.request.urlopen(ep["metrics"], timeout=2) as r:
            assert b"netwatch_rack_health_score" in r.read()


def prom_query(lab, q):
    url = lab["info"]["endpoints"]["prometheus"] + "/api/v1/query?" + \
        urllib.parse.urlencode({"query": q})
    doc = try_json(url)
    return doc["data"]["result"] if doc and doc.get("status") == "success" else []


def test_prometheus_has_the_series(lab):
    wait_for(lambda: len(prom_query(lab, "netwatch_dc_health_score")) == 1, 30,
             "netwatch_dc_health_score in the lab's Prometheus", 0.5)
    racks = wait_for(
        lambda: (lambda res: res if {x["metric"].get("rack_id") for x in res} ==
                 {str(r) for r in range(RACKS)} else None)(
            prom_query(lab, "netwatch_rack_health_score")),
        30, "netwatch_rack_health_score for both racks", 0.5)
    assert all(x["metric"]["job"] == "netwatch-rack" for x in racks)
    up = prom_query(lab, "up")
    assert len(up) == RACKS + 2 and all(x["value"][1] == "1" for x in up), up


def test_second_up_is_refused_clearly(lab):
    r = lab_cmd(lab["name"], "up", "--racks", "1", "--servers", "1")
    assert r.returncode == 2
    assert "already running" in r.stderr and "down" in r.stderr
    # ... and it took nothing down.
    assert lab_cmd(lab["name"], "status").returncode == 0


def control(path, spec):
    me = f"/tmp/nwlab-test-{os.getpid()}-{secrets.token_hex(2)}.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.bind(me)
        s.settimeout(3)
        s.sendto(json.dumps({"impair": spec}).encode(), path)
        return json.loads(s.recv(512))
    finally:
        s.close()
        os.unlink(me)


def test_fault_on_one_server_moves_only_it_and_clear_returns(lab):
    wait_for(lambda: all_healthy(dc_doc(lab)), WINDOW_S + 20, "a healthy lab first", 0.5)
    with open(lab["info"]["topology"]) as f:
        topo = json.load(f)
    ctl = topo["racks"][0]["servers"][0]["control"]
    victim = {(0, 0)}

    assert control(ctl, "loss=50%") == {"ok": True}
    try:
        def faulted():
            d = dc_doc(lab)
            if not d:
                return None
            # No false alarm on any untouched server, at any moment.
            assert all_healthy(d, skip=victim), d
            r0 = d["racks"][0]
            s0 = r0["servers"][0]
            return d if s0["class"] != "healthy" else None

        wait_for(faulted, WINDOW_S + 10, "rack 0 server 0 out of healthy", 0.5)

        # The class escalates from the short scale within seconds; the score
        # (long window) and the kernel's loss count (a sequence is lost once
        # it leaves the 64-sample window) follow later: wait for them too.
        def scored():
            d = faulted()
            if not d:
                return None
            r0, r1 = d["racks"][0], d["racks"][1]
            ok = (r0["score"] < r1["score"] and r1["score"] > 0.95 and
                  d["health_score"] < 1.0 and d["health_score"] < r1["score"] and
                  r0["servers"][0]["loss_ratio"] > 0.0)
            return d if ok else None

        wait_for(scored, WINDOW_S + 10, "rack 0's score and server 0's loss ratio moved", 0.5)
    finally:
        assert control(ctl, "") == {"ok": True}
    wait_for(lambda: all_healthy(dc_doc(lab)), WINDOW_S + 2 * INTERVAL_S + 1.5,
             "healthy again within one window plus two intervals (+ the DC report hop)", 0.25)


def test_bad_control_request_is_answered_not_applied(lab):
    ctl = os.path.join(lab["info"]["run_dir"], "agent-r1s3.sock")
    ans = control(ctl, "loss=2")
    assert ans["ok"] is False and "probability" in ans["error"]


def alerts(lab):
    doc = try_json(lab["info"]["endpoints"]["prometheus"] + "/api/v1/alerts")
    return doc["data"]["alerts"] if doc and doc.get("status") == "success" else None


def test_blackout_of_one_server_fires_its_down_alert_only(lab):
    """The project's alert rules run in the lab's Prometheus: a server whose
    samples stop is `down` in the DC's JSON and NetWatchServerDown fires for
    it (and for no other server) once its `for:` has passed."""
    ctl = os.path.join(lab["info"]["run_dir"], "agent-r0s1.sock")
    assert control(ctl, "loss=100%") == {"ok": True}
    try:
        def down_in_dc():
            d = dc_doc(lab)
            return d and d["racks"][0]["servers"][1]["class"] == "down"

        wait_for(down_in_dc, 15, "rack 0 server 1 down in /api/v1/dc", 0.5)

        def firing():
            a = alerts(lab)
            if a is None:
                return None
            down = [x for x in a if x["labels"]["alertname"] == "NetWatchServerDown"]
            others = [x for x in down if (x["labels"]["rack_id"], x["labels"]["server_id"])
                      != ("0", "1")]
            assert not others, others
            return [x for x in down if x["state"] == "firing"]

        # 10 s for:, plus scrape (2 s) and evaluation (2 s) granularity.
        fired = wait_for(firing, 30, "NetWatchServerDown firing for rack 0 server 1", 1.0)
        assert "Rack 0 server 1 is down" in fired[0]["annotations"]["summary"]
    finally:
        assert control(ctl, "") == {"ok": True}
    wait_for(lambda: all_healthy(dc_doc(lab)), WINDOW_S + 2 * INTERVAL_S + 1.5,
             "healthy again after the blackout", 0.25)


def chaos_bin():
    path = os.path.join(BUILD, "netwatch-chaos")
    return path if os.access(path, os.X_OK) else None


def test_down_removes_everything(lab):
    name, state = lab["name"], lab["state"]
    pids = [(p["pid"], p["start"]) for p in state["processes"]]
    assert pids
    # Leave a fault applied, as an interrupted experiment would: its tc
    # program and pinned maps (netwatch-chaos' bpf backend) must go too.
    chaos_pin = None
    if chaos_bin():
        r = subprocess.run([chaos_bin(), "--topology", lab["info"]["topology"], "--rack", "1",
                            "--server", "2", "--loss", "20", "--backend", "bpf"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        chaos_pin = f"/sys/fs/bpf/netwatch-chaos/{name}-r1s2-eth0"
        assert os.path.exists(chaos_pin)
    r = lab_cmd(name, "down", "--json", check=True)
    assert json.loads(r.stdout)["left"] == []

    nss = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [l for l in nss.splitlines() if l.startswith(name + "-")]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"{name}-h" not in links
    # Only this lab's own block: other named labs (another test, an
    # evaluation) may route theirs from the same 198.19.0.0/16 meanwhile.
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    own = f'{state["net"]}.{state["base"]}.0/'
    assert not [r for r in routes.splitlines() if r.startswith(own) or f" dev {name}-h" in r], routes
    assert not os.path.exists(state["pin_dir"])
    assert not os.path.exists(state["run_dir"])
    if chaos_pin:
        assert not os.path.exists(chaos_pin)
    for pid, start in pids:
        assert proc_start(pid) != start, f"pid {pid} still runs"
    # A second down is harmless and says there is nothing to do.
    r = lab_cmd(name, "down", check=True)
    assert "not running" in r.stdout
    assert lab_cmd(name, "status").returncode == 3


def test_demo_shows_live_health_and_cleans_up():
    """`sudo make demo`'s script with DEMO_SECONDS: it prints the endpoints and
    the live grid, then takes its lab down, under a name of its own (so on a
    /20 of 198.19.0.0/16 that no other running lab routes)."""
    name = "d" + secrets.token_hex(3)
    demo = os.path.join(os.path.dirname(LAB), "demo.sh")
    env = {**os.environ, "NETWATCH_BUILD": BUILD, "NETWATCH_LAB_NAME": name,
           "DEMO_SECONDS": "6", "DEMO_RACKS": "2", "DEMO_SERVERS": "2"}
    try:
        r = subprocess.run(["bash", demo], capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        out = r.stdout
        assert re.search(r"http://198\.19\.\d+\.2:8000/api/v1/dc", out), out
        # the web UI's address comes before the terminal grid
        web = re.search(r"open http://198\.19\.\d+\.2:8000/ in a browser", out)
        assert web and web.start() < out.index("NetWatch lab  dc " + name), out
        assert re.search(r"http://198\.19\.\d+\.3:9090", out), out
        # The grid, refreshed: one frame a second, each with both racks and servers.
        frames = out.count("NetWatch lab  dc " + name)
        assert frames >= 3, out
        assert "rack 1" in out and "server 1" in out and "healthy" in out
        assert f"lab '{name}' removed" in out
    finally:
        lab_cmd(name, "down")
    nss = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not [l for l in nss.splitlines() if l.startswith(name + "-")]
    assert not os.path.exists(f"/run/netwatch-lab-{name}")
    assert not os.path.exists(f"/sys/fs/bpf/{name}")
