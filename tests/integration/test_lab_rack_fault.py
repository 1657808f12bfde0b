"""A fault on a whole rack, end to end, on a small lab (2 racks x 4 servers),
injected the way an operator would: with netwatch-chaos on the lab's topology.

- `--rack 0 --loss 50` moves every server of rack 0, and only those, out of
  healthy; rack 0's score and the DC score fall, rack 1's does not; the lab's
  Prometheus has the rack scores (rack 0's below rack 1's) and an alert for
  rack 0 is firing (NetWatchRackDegraded's `for:` is 30 s, so within a bounded
  wait of a minute and a half), and no alert of that kind names rack 1;
- `--rack 0 --loss 100` (a blackout of the rack) makes rack 0's servers
  critical/down and NetWatchServerDown firing for rack 0 only (`for:` 10 s);
  with a DC that places fault scopes (docs/fabric.md section 6) the rack is
  ONE alert instead: NetWatchFaultRack for rack 0, its ServerDown held back;
- `--clear` returns to healthy within one analysis window plus two intervals
  (+ the DC report hop).

Every wait is bounded; the fixture's finalizer clears the fault and takes the
lab down whatever happens. Its own lab name, as test_lab.py."""

import os
import subprocess
import urllib.parse

import pytest

from nwlab import BUILD, get_json as try_json, lab_up, wait_for

RACKS, SERVERS = 2, 4
WINDOW_S = 256 / 20.0  # the rack's default analysis window at the agents' 20 Hz
INTERVAL_S = 1.0       # rack --interval: one view, one report
RECOVER_S = WINDOW_S + 2 * INTERVAL_S + 1.5
# Alerts a lossy rack can raise (docs/alerts.md), by the labels they carry.
FAULT_ALERTS = {"NetWatchPacketLoss", "NetWatchHighPacketLoss", "NetWatchServerCritical",
                "NetWatchRackDegraded", "NetWatchRackCritical", "NetWatchServerDown",
                "NetWatchFaultRack"}

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")


def chaos(lab, *args):
    r = subprocess.run([os.path.join(BUILD, "netwatch-chaos"), "--topology",
                        lab["info"]["topology"], *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f"netwatch-chaos {' '.join(args)}: rc {r.returncode}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def lab():
    if not os.access(os.path.join(BUILD, "netwatch-chaos"), os.X_OK):
        pytest.skip("netwatch-chaos is not built")
    with lab_up("t", "--racks", str(RACKS), "--servers", str(SERVERS),
                clears=[["--rack", "0"]]) as (name, info):
        yield {"name": name, "info": info}


def dc_doc(lab):
    return try_json(lab["info"]["endpoints"]["dc"]["json"])


def complete(doc):
    return (doc and doc["racks_reporting"] == RACKS
            and all(r["state"] == "ok" and len(r["servers"]) == SERVERS for r in doc["racks"]))


def healthy(rack):
    return all(s["class"] == "healthy" and s["error"] is not None for s in rack["servers"])


def all_healthy(lab):
    d = dc_doc(lab)
    return complete(d) and all(healthy(r) for r in d["racks"])


def prom(lab, path, **params):
    url = lab["info"]["endpoints"]["prometheus"] + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    doc = try_json(url)
    return doc["data"] if doc and doc.get("status") == "success" else None


def rack_scores(lab):
    data = prom(lab, "/api/v1/query", query="netwatch_rack_health_score")
    if not data:
        return None
    return {int(x["metric"]["rack_id"]): float(x["value"][1]) for x in data["result"]}


def fault_alerts(lab, names):
    """Alerts of these names, pending or firing, as {(rack_id, name): state}."""
    data = prom(lab, "/api/v1/alerts")
    if data is None:
        return None
    return {(a["labels"].get("rack_id"), a["labels"]["alertname"]): a["state"]
            for a in data["alerts"] if a["labels"]["alertname"] in names
            and a["state"] in ("pending", "firing")}


def places_faults(lab):
    """Whether the lab's DC places scoped faults: it then always exports
    netwatch_fault_scope_seconds (one histogram per scope, faults or not)."""
    data = wait_for(lambda: prom(lab, "/api/v1/query",
                                 query="count(netwatch_dc_health_score) + "
                                       "(count(netwatch_fault_scope_seconds_count) or vector(0))"),
                    30, "the DC's series in Prometheus", 1.0)
    return bool(data["result"]) and float(data["result"][0]["value"][1]) > 1


def rack1_untouched(d):
    """No false alarm on rack 1 at any sample, and its score stays high."""
    r1 = d["racks"][1]
    assert healthy(r1), r1
    assert r1["score"] > 0.95, r1


def alert_firing_for_rack0(lab, names, timeout):
    """Waits until one of `names` fires for rack 0 (none may name rack 1 on the
    way); returns {(rack_id, name): state} for rack 0 at that moment."""
    def seen():
        a = fault_alerts(lab, names)
        if a is None:
            return None
        assert not [k for k in a if k[0] == "1"], a  # nothing about the untouched rack
        mine = {k: v for k, v in a.items() if k[0] == "0"}
        return mine if "firing" in mine.values() else None
    return wait_for(seen, timeout, f"one of {sorted(names)} firing for rack 0", 1.0)


def test_loss_on_rack0_moves_only_rack0_and_clear_returns(lab):
    wait_for(lambda: all_healthy(lab), WINDOW_S + 30, "a healthy lab first", 0.5)
    chaos(lab, "--rack", "0", "--loss", "50")
    try:
        def faulted():
            d = dc_doc(lab)
            if not complete(d):
                return None
            rack1_untouched(d)
            out = all(s["class"] != "healthy" for s in d["racks"][0]["servers"])
            return d if out else None

        wait_for(faulted, WINDOW_S + 10, "every server of rack 0 out of healthy", 0.5)

        # The classes escalate from the short scale first; the rack score
        # (long window) and the kernel's loss counts follow: wait for them.
        def scored():
            d = faulted()
            if not d:
                return None
            r0, r1 = d["racks"][0], d["racks"][1]
            ok = (r0["score"] < 0.8 and r0["score"] < r1["score"] and
                  d["health_score"] < 1.0 and d["health_score"] < r1["score"] and
                  all(s["loss_ratio"] > 0.0 for s in r0["servers"]))
            return d if ok else None

        wait_for(scored, WINDOW_S + 10, "rack 0's score below 0.8 and its loss counted", 0.5)

        def scores_in_prom():
            s = rack_scores(lab)
            return s if s and len(s) == RACKS and s[0] < 0.8 and s[1] > 0.95 else None

        wait_for(scores_in_prom, 15, "Prometheus: rack 0's score below 0.8, rack 1's high", 1.0)
        # Pending at the first evaluation after the expression matches (scrape
        # 2 s + evaluation 2 s), firing after the rule's `for:` (30 s for
        # NetWatchRackDegraded, the shortest of these), with margin for the
        # 30 s rate windows the loss alerts need.
        got = alert_firing_for_rack0(lab, FAULT_ALERTS - {"NetWatchServerDown"}, 90)
        assert set(got.values()) <= {"pending", "firing"}
        # Still no false alarm on rack 1 after all that time.
        d = dc_doc(lab)
        assert complete(d)
        rack1_untouched(d)
    finally:
        chaos(lab, "--rack", "0", "--clear")
    wait_for(lambda: all_healthy(lab), RECOVER_S,
             "healthy again within one window plus two intervals (+ the DC report hop)", 0.25)


def test_blackout_of_rack0_is_critical_and_clear_returns(lab):
    wait_for(lambda: all_healthy(lab), WINDOW_S + 30, "a healthy lab first", 0.5)
    chaos(lab, "--rack", "0", "--loss", "100")
    try:
        def dark():
            d = dc_doc(lab)
            if not complete(d):
                return None
            rack1_untouched(d)
            return d if all(s["class"] in ("critical", "down")
                            for s in d["racks"][0]["servers"]) else None

        # Down after 3 missed intervals, then the report hop.
        d = wait_for(dark, 15, "every server of rack 0 critical or down", 0.5)
        assert d["racks"][0]["score"] < 0.5
        assert d["health_score"] < d["racks"][1]["score"]

        def down():
            x = dc_doc(lab)
            return x if complete(x) and all(s["class"] == "down" and not s["up"]
                                            for s in x["racks"][0]["servers"]) else None

        d = wait_for(down, 15, "every server of rack 0 down", 0.5)
        rack1_untouched(d)
        if places_faults(lab):
            # One alert for the rack (fault for: 0 s after the DC's hold);
            # its servers' ServerDown is held back by the rule's `unless`.
            got = alert_firing_for_rack0(lab, {"NetWatchServerDown", "NetWatchFaultRack"}, 40)
            assert got[("0", "NetWatchFaultRack")] == "firing", got
            # (pending for the few seconds before the DC's hold is over, at
            # most; its `for:` is 10 s, so it never pages)
            assert got.get(("0", "NetWatchServerDown")) != "firing", got
        else:
            # `for: 10s` after the first scrape that sees the down state.
            got = alert_firing_for_rack0(lab, {"NetWatchServerDown"}, 40)
            assert got[("0", "NetWatchServerDown")] == "firing", got
    finally:
        chaos(lab, "--rack", "0", "--clear")
    wait_for(lambda: all_healthy(lab), RECOVER_S,
             "healthy again within one window plus two intervals after the blackout", 0.25)
