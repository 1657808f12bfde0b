"""netwatch-dc's fabric and fault scope (docs/fabric.md sections 5, 6) on
loopback: four simulated racks of eight servers report crafted paths_in rows
(a full mesh) and degraded servers and paths; the DC's matrix, score, scope
and metrics are checked against what was sent.

(a) a healthy full mesh: 12 pairs measured, the dense matrix, per-pair
    series, the DC score capped by the fabric score, no fault;
(b) one scenario per scope (server, rack/servers, rack/uplink, path, dc),
    each reported once with its subject and cause, and nothing else;
(c) above --fabric-pair-series-max only the worst pairs are exported;
(d) a rack whose controller stops (stale) is one fault rack/controller,
    never a path fault of the paths its peers lose;
(e) with --fabric-mesh, rows of pairs the schedule does not probe are
    dropped and counted.
"""

import json
import subprocess
import threading
import time

import pytest

from nwlab import wait_for
from test_dc import DC, PROMTOOL, Dc, Rack, server

RACKS = 4
SERVERS = 8
ONSET = time.time_ns()


def path_row(src, degraded=False, error=0.02, period=None):
    return {"src_rack": src, "class": "critical" if degraded else "healthy",
            "error": 0.4 if degraded else error, "loss_ratio": 0.3 if degraded else 0.0,
            "latency_ms": {"p50": 0.2, "p99": 0.9}, "period_s": period, "mesh_epoch": 0,
            "since_ns": ONSET if degraded else 0}


class Fabric:
    """Four racks reporting every 0.2 s from a thread; `bad_servers` and
    `bad_paths` say what each report shows degraded."""

    def __init__(self, dc):
        self.dc = dc
        self.racks = [Rack(dc, r, 0.95) for r in range(RACKS)]
        self.bad_servers = set()  # (rack, server)
        self.bad_paths = set()    # (src, dst)
        self.dead = set()         # racks that no longer report
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def servers(self, rack):
        out = []
        for i in range(SERVERS):
            s = server(i)
            if (rack, i) in self.bad_servers:
                s.update({"class": "critical", "error": 0.5, "loss_ratio": 0.3,
                          "since_ns": ONSET, "period_s": 2.0})
            out.append(s)
        return out

    def paths(self, rack):
        return [path_row(src, (src, rack) in self.bad_paths)
                for src in range(RACKS) if src != rack]

    def run(self):
        while not self.stop.is_set():
            for r in self.racks:
                if r.rack in self.dead:
                    continue
                r.send(servers=self.servers(r.rack), paths_in=self.paths(r.rack))
            time.sleep(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        for r in self.racks:
            r.close()


def faults(dc):
    return [(f["name"], f["cause"]) for f in dc.api()["fabric"]["faults"]]


def wait_faults(dc, want, what):
    """Waits for exactly the faults `want`, then checks they hold for two
    more scope intervals (no flapping, nothing else appears)."""
    wait_for(lambda: sorted(faults(dc)) == sorted(want), 15, what)
    time.sleep(2.2)
    assert sorted(faults(dc)) == sorted(want)


def wait_clear(dc):
    wait_for(lambda: not dc.api()["fabric"]["faults"], 20, "all faults ended")


def active(dc):
    return {tuple(sorted(dict(k[1]).items())) for k, v in dc.metrics().items()
            if k[0] == "netwatch_fault_active" and v == 1}


def promtool_ok(dc):
    status, body = dc.get("/metrics")
    assert status == 200
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_healthy_mesh_matrix_score_and_series():
    with Dc("--racks", str(RACKS), "--stale", "30") as dc, Fabric(dc):
        wait_for(lambda: dc.api()["fabric"]["mesh"]["pairs_probed"] == 12, 10, "12 pairs")
        doc = dc.api()
        fab = doc["fabric"]
        assert fab["mesh"] == {"mode": "full", "k": 3, "epoch": 0, "pairs_probed": 12,
                               "pairs_total": 12}
        assert fab["score"] == pytest.approx(0.98)
        # the racks' mean is 0.95: below the fabric's, so it is the DC score
        assert doc["health_score"] == pytest.approx(0.95)
        pairs = {(p["src_rack"], p["dst_rack"]) for p in fab["paths"]}
        assert pairs == {(a, b) for a in range(RACKS) for b in range(RACKS) if a != b}
        p = fab["paths"][0]
        assert p["latency_ms"] == {"p50": 0.2, "p99": 0.9} and p["stale"] is False
        assert fab["faults"] == []
        status, body = dc.get("/api/v1/dc?matrix=dense")
        assert status == 200
        dense = json.loads(body)["fabric"]
        assert dense["matrix_racks"] == [0, 1, 2, 3]
        assert [dense["classes"][i][i] for i in range(RACKS)] == [None] * RACKS
        assert dense["classes"][1][2] == 0
        assert dc.get("/api/v1/dc?matrix=sparse")[0] == 400
        assert dc.value("netwatch_path_class", src_rack="1", dst_rack="2") == 0
        assert dc.value("netwatch_path_latency_seconds", src_rack="1", dst_rack="2",
                        quantile="0.99") == pytest.approx(0.0009)
        assert dc.value("netwatch_fabric_pairs", state="probed") == 12
        assert dc.value("netwatch_rack_fabric_error", rack_id="2",
                        direction="out") == pytest.approx(0.02)
        assert dc.value("netwatch_fabric_score") == pytest.approx(0.98)
        promtool_ok(dc)


SCENARIOS = [
    # name, bad servers, bad paths, the faults expected (name, cause)
    ("one server", {(1, 3)}, set(), [("server:1/3", None)]),
    ("one rack's servers", {(1, s) for s in range(SERVERS)}, set(), [("rack:1", "servers")]),
    ("one rack uplink", set(),
     {(2, d) for d in range(RACKS) if d != 2} | {(s, 2) for s in range(RACKS) if s != 2},
     [("rack:2", "uplink")]),
    ("one rack pair", set(), {(1, 2), (2, 1)}, [("path:1-2", None)]),
    ("all racks", {(r, s) for r in range(RACKS) for s in range(SERVERS)}, set(), [("dc", None)]),
]


@pytest.mark.parametrize("name,servers,paths,want", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scope(name, servers, paths, want):
    with Dc("--racks", str(RACKS), "--stale", "30") as dc, Fabric(dc) as fab:
        wait_for(lambda: dc.api()["fabric"]["mesh"]["pairs_probed"] == 12, 10, "12 pairs")
        assert faults(dc) == []
        fab.bad_servers, fab.bad_paths = servers, paths
        wait_faults(dc, want, f"{name}: {want}")
        f = dc.api()["fabric"]["faults"][0]
        assert f["members_total"] == len(servers) + len(paths)
        assert f["since"] == ONSET
        scope = want[0][0].split(":")[0]
        labels = dict(next(iter(active(dc))))
        assert len(active(dc)) == 1 and labels["scope"] == scope
        assert labels["cause"] == (want[0][1] or "")
        hist = dc.value("netwatch_fault_scope_seconds_count", scope=scope)
        assert hist >= 1
        promtool_ok(dc)
        fab.bad_servers, fab.bad_paths = set(), set()
        wait_clear(dc)
        assert active(dc) == set()


def test_pair_series_capped():
    with Dc("--racks", str(RACKS), "--stale", "30", "--fabric-pair-series-max", "4") as dc, \
            Fabric(dc) as fab:
        fab.bad_paths = {(3, 0)}
        wait_for(lambda: dc.value("netwatch_path_worst_info", rank="0", src_rack="3",
                                  dst_rack="0") == 1, 10, "the worst pair ranked 0")
        m = dc.metrics()
        assert not [k for k in m if k[0] == "netwatch_path_class"]
        ranks = [k for k in m if k[0] == "netwatch_path_worst_spectral_error"]
        assert len(ranks) == 12
        assert dc.value("netwatch_path_worst_spectral_error", rank="0") == pytest.approx(0.4)


def test_dead_controller_is_one_rack_fault():
    with Dc("--racks", str(RACKS), "--stale", "2") as dc, Fabric(dc) as fab:
        wait_for(lambda: dc.api()["fabric"]["mesh"]["pairs_probed"] == 12, 10, "12 pairs")
        # rack 2's controller dies: it reports no more, and the others lose
        # its tones
        fab.bad_paths = {(2, d) for d in range(RACKS) if d != 2}
        fab.dead = {2}
        seen = set()

        def controller():
            now = faults(dc)
            seen.update(now)
            return now == [("rack:2", "controller")]
        wait_for(controller, 15, "rack:2 controller")
        time.sleep(2.2)
        assert faults(dc) == [("rack:2", "controller")]
        assert not [f for f in seen if f[0].startswith(("path", "dc"))], seen
        f = dc.api()["fabric"]["faults"][0]
        assert f["members_total"] == 4  # the controller and its three paths out
        assert "controller:2" in f["members"]
        labels = dict(next(iter(active(dc))))
        assert len(active(dc)) == 1 and labels["cause"] == "controller"
        promtool_ok(dc)


def test_mesh_drops_unscheduled_rows(tmp_path):
    mesh = tmp_path / "mesh.json"
    mesh.write_text(json.dumps({"self": 0, "k": 3, "epoch_s": 600, "racks": [
        {"rack_id": r, "addr": f"198.18.{r + 1}.1"} for r in range(RACKS)]}))
    with Dc("--racks", str(RACKS), "--stale", "30", "--fabric-mesh", str(mesh)) as dc:
        rack = Rack(dc, 0)
        try:
            # 1..3 are the mesh (full: k = 3); 9 and 700 are not members
            rows = [path_row(s) for s in (1, 2, 3, 9, 700)]
            rack.send(paths_in=rows)
            wait_for(lambda: dc.value("netwatch_dc_path_rows_rejected_total") == 2, 10,
                     "two rows dropped")
            pairs = {(p["src_rack"], p["dst_rack"]) for p in dc.api()["fabric"]["paths"]}
            assert pairs == {(1, 0), (2, 0), (3, 0)}
            assert dc.value("netwatch_dc_reports_accepted_total") == 1
        finally:
            rack.close()
    bad = tmp_path / "fixed.json"
    bad.write_text(json.dumps({"self": 0, "racks": [{"rack_id": 1, "addr": "x"}]}))
    p = subprocess.run([DC, "--fabric-mesh", str(bad)], capture_output=True, text=True)
    assert p.returncode == 2 and "no k" in p.stderr
