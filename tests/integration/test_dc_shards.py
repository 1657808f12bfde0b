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

import os

import pytest

import prom_run
from nwlab import wait_for
from prom_run import PROMETHEUS
from test_dc import Dc, Rack

RULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                     "prometheus", "rules", "netwatch-rules.yml")
SCORES = [1.0, 0.9, 0.8, 1.0, 0.7, 1.0, 0.95, 0.6, 0.5]  # racks 0..8; 9 never reports


class Prometheus(prom_run.Prometheus):
    def __init__(self, targets):
        super().__init__(targets, "netwatch-dc", rules=RULES, prefix="nwt-prom-shards-")

    def value(self, q):
        """The single sample of `q`, or None."""
        try:
            res = self.query(q)
        except OSError:
            return None
        return float(res[0]["value"][1]) if len(res) == 1 else None


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
