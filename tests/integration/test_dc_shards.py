"""Two DC shards combined by a real Prometheus give the score one DC gives
over the same racks (issue 20, docs/dc.md "Shards"). Loopback only.

Racks 0..9 of one datacenter: shard A (--dc-id fra1 --first-rack 0 --racks 4)
and shard B (--dc-id fra1 --first-rack 4 --racks 6) each own a part; a single
DC (--dc-id one --racks 10) hears every rack too. Rack 9 never reports and
rack 8 stops: both count 0 everywhere. Prometheus scrapes the three with the
project's recording rules (deploy/prometheus/rules/netwatch-rules.yml);
dc:netwatch_dc_health_score:shards{dc_id="fra1"} must equal
netwatch_dc_health_score{dc_id="one"} and the formula.
"""

import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request

import pytest

from nwlab import wait_for
from test_dc import Dc, Rack, free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                     "prometheus", "rules", "netwatch-rules.yml")
SCORES = [1.0, 0.9, 0.8, 1.0, 0.7, 1.0, 0.95, 0.6, 0.5]  # racks 0..8; 9 never reports


class Prometheus:
    def __init__(self, targets):
        self.dir = tempfile.mkdtemp(prefix="nwt-prom-shards-")
        self.port = free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        shutil.copy(RULES, os.path.join(self.dir, "rules.yml"))
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - rules.yml\n"
                    "scrape_configs:\n  - job_name: netwatch-dc\n"
                    "    static_configs:\n      - targets: ["
                    + ", ".join(f"'{t}'" for t in targets) + "]\n")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=self.log)

    def value(self, q):
        """The single sample of `q`, or None."""
        if self.proc.poll() is not None:
            raise AssertionError("prometheus exited")
        url = f"http://127.0.0.1:{self.port}/api/v1/query?query={urllib.parse.quote(q)}"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                doc = json.loads(r.read())
        except OSError:
            return None
        res = doc["data"]["result"] if doc.get("status") == "success" else []
        return float(res[0]["value"][1]) if len(res) == 1 else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_two_shards_give_the_score_of_one_dc():
    if not os.path.exists(PROMETHEUS):
        pytest.skip("prometheus is not installed")
    with Dc("--dc-id", "fra1", "--first-rack", "0", "--racks", "4") as a, \
            Dc("--dc-id", "fra1", "--first-rack", "4", "--racks", "6") as b, \
            Dc("--dc-id", "one", "--racks", "10") as one:
        racks = []
        for rack, score in enumerate(SCORES):
            racks.append(Rack(a if rack < 4 else b, rack, score))
            racks.append(Rack(one, rack, score))
        for r in racks:
            r.send()  # rack 8's only report: stale, not never, from 5 s on
        prom = Prometheus([f"127.0.0.1:{d.http_port}" for d in (a, b, one)])
        try:
            # racks 0..7 keep reporting; rack 8 goes silent (stale after 5 s)
            keep = [r for r in racks if r.rack != 8]
            want = sum(SCORES[:8]) / 10

            def settled():
                for r in keep:
                    r.send()
                shards = prom.value('dc:netwatch_dc_health_score:shards{dc_id="fra1"}')
                single = prom.value('netwatch_dc_health_score{dc_id="one"}')
                return (shards is not None and single is not None
                        and abs(single - want) < 1e-9 and abs(shards - want) < 1e-9)

            wait_for(settled, 40, f"shards and the single DC both at {want} in Prometheus", 0.5)
            assert prom.value('dc:netwatch_dc_racks_known:sum{dc_id="fra1"}') == 10
            assert prom.value('dc_state:netwatch_dc_racks:sum{dc_id="fra1",state="stale"}') == 1
            assert prom.value('dc_state:netwatch_dc_racks:sum{dc_id="fra1",state="never"}') == 1
            assert prom.value('dc:netwatch_dc_overloaded:max{dc_id="fra1"}') == 0
        finally:
            prom.stop()
            for r in racks:
                r.close()
