"""Inter-rack tones end to end (docs/fabric.md sections 1-3), on a small lab
of its own (3 racks x 1 server, `netwatch-lab up --fabric`): every rack's
/api/v1/rack lists a healthy `paths_in` row per other rack; a fault on the
path between racks 1 and 2 degrades only the rows of that pair; a fault on
rack 0's uplink degrades rack 0's paths in and out while every server,
whose tone never crosses the uplink, stays healthy. Paths never count in a
rack's health_score.

Every wait is bounded; the fixture clears what it applied and takes the lab
down whatever happens. Timings are not asserted (make evaluate has them)."""

import json
import os
import secrets
import time
import urllib.request

import pytest

from nwlab import CHAOS, chaos_cmd, get_json, lab_cmd, wait_for

RACKS, SERVERS = 3, 1
WARM_S = 150   # the long window at 10 Hz is 25.6 s; slack for a loaded machine
FAULT_S = 60   # the short scale sees 30 % loss within seconds
WATCH_S = 5    # how long the untouched rows are watched once the fault shows

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")


@pytest.fixture(scope="module")
def lab():
    if not os.access(CHAOS, os.X_OK):
        pytest.skip("netwatch-chaos is not built")
    name = "g" + secrets.token_hex(3)
    r = lab_cmd(name, "up", "--racks", str(RACKS), "--servers", str(SERVERS), "--fabric",
                "--json")
    try:
        assert r.returncode == 0, f"up failed: {r.stderr}"
        info = json.loads(r.stdout)
        lab = {"name": name, "topology": info["topology"],
               "racks": [e["json"] for e in info["endpoints"]["racks"]],
               "metrics": [e["metrics"] for e in info["endpoints"]["racks"]]}
        wait_for(lambda: all_healthy(lab), WARM_S, "every path and server healthy", interval=1)
        yield lab
    finally:
        if r.returncode == 0:
            topo = json.loads(r.stdout)["topology"]
            for args in (["--path", "1,2"], ["--rack", "0", "--uplink"]):
                chaos_cmd(topo, "clear", *args, ok=False)
        lab_cmd(name, "down")


def snapshot(lab):
    """{("path", src, dst): class, ("server", rack, id): class}, or None."""
    out = {}
    for dst, url in enumerate(lab["racks"]):
        doc = get_json(url)
        if not doc:
            return None
        for p in doc.get("paths_in", []):
            out[("path", p["src_rack"], dst)] = p["class"]
        for s in doc["servers"]:
            out[("server", dst, s["server_id"])] = s["class"]
    return out


def all_healthy(lab):
    snap = snapshot(lab)
    return snap and len(snap) == RACKS * (RACKS - 1) + RACKS * SERVERS and \
        all(c == "healthy" for c in snap.values())


def degraded(c):
    return c in ("warning", "critical", "down")


def fault_shows_only_on(lab, hit):
    """Waits until every entity of `hit` is degraded, then watches WATCH_S
    more: nothing outside `hit` may leave healthy meanwhile."""
    snap = wait_for(lambda: (lambda s: s if s and all(degraded(s[k]) for k in hit) else None)(
        snapshot(lab)), FAULT_S, f"{sorted(hit)} degraded", interval=0.5)
    deadline = time.monotonic() + WATCH_S
    while True:
        wrong = {k: c for k, c in snap.items() if k not in hit and c != "healthy"}
        assert not wrong, f"untouched rows not healthy: {wrong}"
        if time.monotonic() > deadline:
            return
        time.sleep(0.5)
        snap = snapshot(lab) or snap


def test_paths_in_rows(lab):
    for dst, url in enumerate(lab["racks"]):
        doc = get_json(url)
        rows = doc["paths_in"]
        assert [p["src_rack"] for p in rows] == [r for r in range(RACKS) if r != dst]
        for p in rows:
            assert p["class"] == "healthy" and p["since_ns"] == 0
            # A full mesh still numbers its epochs by the wall clock (600 s).
            assert p["mesh_epoch"] in {(int(time.time()) // 600 - d) % 65536 for d in (0, 1)}
            assert 0 <= p["error"] < 0.1 and p["loss_ratio"] == 0
            assert p["latency_ms"]["p50"] is not None and p["periods"] == []
        # The servers are the servers: the rack score and list ignore paths.
        assert [s["server_id"] for s in doc["servers"]] == list(range(SERVERS))
        assert sum(doc["servers_by_state"].values()) == SERVERS
        with urllib.request.urlopen(lab["metrics"][dst], timeout=2) as m:
            text = m.read().decode()
        for src in (r for r in range(RACKS) if r != dst):
            assert f'netwatch_path_in_class{{rack_id="{dst}",src_rack="{src}"}} 0' in text
        fabric = [l for l in text.splitlines()
                  if l.startswith("netwatch_collector_fabric_samples_total{")]
        assert fabric and float(fabric[0].split()[-1]) > 0


def test_path_fault_degrades_only_that_pair(lab):
    chaos_cmd(lab["topology"], "apply", "--path", "1,2", "--loss", "30")
    try:
        fault_shows_only_on(lab, {("path", 1, 2), ("path", 2, 1)})
        def row():
            doc = get_json(lab["racks"][2]) or {"paths_in": []}
            return next((p for p in doc["paths_in"] if p["src_rack"] == 1), None)

        assert row()["since_ns"] > 0
        # A sequence counts lost once it leaves the 64-sample window: 6.4 s at 10 Hz.
        wait_for(lambda: (row() or {}).get("loss_ratio", 0) > 0, 30, "the 1 -> 2 row's loss",
                 interval=0.5)
    finally:
        chaos_cmd(lab["topology"], "clear", "--path", "1,2")
    wait_for(lambda: all_healthy(lab), WARM_S, "every row healthy after clear", interval=1)


def test_uplink_fault_degrades_the_racks_paths_not_its_servers(lab):
    chaos_cmd(lab["topology"], "apply", "--rack", "0", "--uplink", "--loss", "30")
    try:
        fault_shows_only_on(lab, {("path", 0, 1), ("path", 0, 2), ("path", 1, 0),
                                  ("path", 2, 0)})
    finally:
        chaos_cmd(lab["topology"], "clear", "--rack", "0", "--uplink")
    wait_for(lambda: all_healthy(lab), WARM_S, "every row healthy after clear", interval=1)
