"""Inter-rack tones on the socket hook (docs/fabric.md section 3), all on
127.0.0.1: rack 0's controller with `--hook socket --fabric-peers` (racks 1
and 2), reporting to a netwatch-dc, and two `netwatch-agent --fabric` on the
same host standing in for racks 1 and 2. Rack 2's agent drops 30 % of its
samples (`--impair`) and also sends to a rack 5 that is not there, whose
samples land on rack 0 too.

Checked: rack 0's `paths_in` has one row per source with samples, 1 -> 0
healthy with loss 0 and 2 -> 0 degraded with loss, and nothing else (no
path from 5: misdirected, counted); the same rows in /metrics and in the
DC's matrix (the report); paths never count as servers; once the agents
said goodbye, each path's received and lost equal what its agent sent and
dropped. No root, no namespace: ports from free_port, bounded waits."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from nwlab import AGENT, BUILD, RACK, free_port, get_json, stop_process, wait_for

DC = os.path.join(BUILD, "netwatch-dc")
LOSS = 0.30
WARM_S = 90  # window 64 at 10 Hz is 6.4 s; slack for a loaded 2-core machine


class Mesh:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nwt-sockfab-")
        self.udp = free_port(socket.SOCK_DGRAM)
        self.http = free_port()
        self.dc_port, self.dc_http = free_port(), free_port()
        self.procs = []
        self.agents = {}
        self.rack = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def peers(self, name, doc):
        with open(self.path(name), "w") as f:
            json.dump(doc, f)
        return self.path(name)

    def spawn(self, name, args, stdout=subprocess.DEVNULL):
        p = subprocess.Popen(args, stdout=stdout, stderr=open(self.path(name + ".log"), "w"),
                             text=True)
        self.procs.append(p)
        return p

    def tail(self, name):
        try:
            with open(self.path(name + ".log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def start(self):
        dc = self.spawn("dc", [DC, "--listen", f"127.0.0.1:{self.dc_port}", "--racks", "1",
                               "--metrics", f"127.0.0.1:{self.dc_http}"])
        wait_for(lambda: dc.poll() is not None or self.dc_doc(), 15, "the DC's API")
        assert dc.poll() is None, self.tail("dc")
        local = {"rack_id": 1, "addr": "127.0.0.1"}
        rack_peers = self.peers("rack0.json", {"self": 0, "racks": [
            local, {"rack_id": 2, "addr": "127.0.0.1"}]})
        rack = self.rack = self.spawn("rack", [
            RACK, "--rack", "0", "--hook", "socket", "--listen", "127.0.0.1",
            "--port", str(self.udp), "--discover", "off", "--fabric-peers", rack_peers,
            "--state-dir", self.path("state"), "--interval", "0.25", "--window", "64",
            "--metrics", f"127.0.0.1:{self.http}", "--dc", f"127.0.0.1:{self.dc_port}"])
        wait_for(lambda: rack.poll() is not None or self.rack_doc(), 15, "rack 0's API")
        assert rack.poll() is None, self.tail("rack")
        to_rack0 = {"rack_id": 0, "addr": "127.0.0.1"}
        for src, extra, impair in ((1, [], None),
                                   (2, [{"rack_id": 5, "addr": "127.0.0.1"}],
                                    f"loss={LOSS},seed=7")):
            args = [AGENT, "--fabric", "--fabric-port", str(self.udp), "--fabric-peers",
                    self.peers(f"agent{src}.json", {"self": src, "racks": [to_rack0, *extra]})]
            if impair:
                args += ["--impair", impair]
            self.agents[src] = self.spawn(f"agent{src}", args, stdout=subprocess.PIPE)
        return self

    def rack_doc(self):
        return get_json(f"http://127.0.0.1:{self.http}/api/v1/rack")

    def dc_doc(self):
        return get_json(f"http://127.0.0.1:{self.dc_http}/api/v1/dc")

    def rows(self):
        doc = self.rack_doc() or {}
        return {p["src_rack"]: p for p in doc.get("paths_in", [])}

    def metrics(self):
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=3) as r:
            return r.read().decode()

    def close(self):
        """Stops everything; the rack's exit status (None if never started)."""
        for p in self.procs:
            stop_process(p, 10)
            for s in (p.stdout, p.stderr):
                if s:
                    s.close()
        log = self.tail("rack")
        shutil.rmtree(self.dir, ignore_errors=True)
        return (self.rack.returncode if self.rack else None), log


@pytest.fixture(scope="module")
def mesh():
    for binary in (RACK, AGENT, DC):
        if not os.access(binary, os.X_OK):
            pytest.fail(f"{binary} is not built")
    m = Mesh()
    try:
        yield m.start()
    finally:
        rc, log = m.close()
    assert rc == 0, f"the rack did not exit cleanly: {log}"


def degraded(c):
    return c in ("warning", "critical", "down")


def settled(mesh):
    rows = mesh.rows()
    one, two = rows.get(1), rows.get(2)
    if not one or not two or one["class"] != "healthy" or one["received"] < 100:
        return None
    return rows if degraded(two["class"]) and two["loss_ratio"] > 0 else None


def metric(text, line_start):
    vals = [float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l.startswith(line_start)]
    assert len(vals) == 1, (line_start, vals)
    return vals[0]


def test_paths_in_rows_and_loss_on_the_impaired_path_only(mesh):
    rows = wait_for(lambda: settled(mesh), WARM_S, "1 -> 0 healthy and 2 -> 0 lossy",
                    interval=0.5)
    assert sorted(rows) == [1, 2], rows  # rack 5's samples were not meant for rack 0
    one, two = rows[1], rows[2]
    assert one["loss_ratio"] == 0 and one["lost"] == 0 and one["since_ns"] == 0, one
    assert one["error"] < 0.1 and one["latency_ms"]["p50"] is not None, one
    assert one["up"] and one["mesh_epoch"] == 0, one  # a fixed file is epoch 0
    assert two["lost"] > 0 and two["since_ns"] > 0 and two["error"] > one["error"], two
    # The paths are not servers: the rack lists none and scores none.
    doc = mesh.rack_doc()
    assert doc["servers"] == [] and sum(doc["servers_by_state"].values()) == 0, doc

    text = mesh.metrics()
    assert metric(text, 'netwatch_path_in_class{rack_id="0",src_rack="1"}') == 0
    assert metric(text, 'netwatch_path_in_class{rack_id="0",src_rack="2"}') >= 1
    assert metric(text, 'netwatch_path_in_loss_ratio{rack_id="0",src_rack="1"}') == 0
    assert metric(text, 'netwatch_path_in_loss_ratio{rack_id="0",src_rack="2"}') > 0
    assert metric(text, 'netwatch_collector_fabric_samples_total{rack_id="0"}') >= \
        one["received"] + two["received"]
    assert metric(text, 'netwatch_collector_fabric_misdirected_total{rack_id="0"}') > 0
    assert metric(text, 'netwatch_collector_unknown_sender_total{rack_id="0"}') == 0

    # The report carries the rows: the DC's matrix has both pairs, as measured.
    def dc_pairs():
        doc = mesh.dc_doc() or {}
        paths = {(p["src_rack"], p["dst_rack"]): p
                 for p in (doc.get("fabric") or {}).get("paths", [])}
        return paths if set(paths) == {(1, 0), (2, 0)} and \
            paths[(2, 0)]["loss_ratio"] > 0 else None
    paths = wait_for(dc_pairs, 20, "the DC's (1, 0) and (2, 0) pairs", interval=0.5)
    assert paths[(1, 0)]["loss_ratio"] == 0 and paths[(1, 0)]["class"] == "healthy", paths


def test_counts_equal_what_the_agents_did(mesh):
    reports = {}
    for src, agent in mesh.agents.items():
        agent.send_signal(signal.SIGTERM)
        out, _ = agent.communicate(timeout=20)
        assert agent.returncode == 0, mesh.tail(f"agent{src}")
        reports[src] = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
    # The agent reports a stream per destination rack as its "server".
    sent = {src: next(s for s in r["servers"] if s["server"] == 0)
            for src, r in reports.items()}
    assert sent[2]["dropped"] > 0 and sent[1]["dropped"] == 0, sent

    def exact():
        rows = mesh.rows()
        ok = all(src in rows and rows[src]["received"] == s["sent"] and
                 rows[src]["lost"] == s["dropped"] + s["send_failed"]
                 for src, s in sent.items())
        return rows if ok else None
    wait_for(exact, 15, f"paths_in counts equal to the agents' {sent}", interval=0.25)
