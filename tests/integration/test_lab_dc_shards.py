"""The namespace lab with its DC as two shards (issue 20, docs/dc.md
"Shards"): `netwatch-lab up --racks 3 --dc-shards 2` runs shard 0 (rack 0)
and shard 1 (racks 1, 2), both `--dc-id <lab>`, each rack reporting to its
shard, and netwatch-report-tee gives the same reports to one DC over all
three racks (`--dc-id <lab>-one`). The lab's real Prometheus scrapes the
three with the shipped recording rules.

- Healthy: dc:netwatch_dc_health_score:shards{dc_id=<lab>} (the shards
  combined by Prometheus) equals netwatch_dc_health_score{dc_id=<lab>-one}
  within TOL, the rack scores' movement between two scrapes (the DCs hold
  the same reports, scraped up to 2 s apart); three racks known, all ok.
- A blackout of rack 0 (netwatch-chaos --rack 0 --loss 100) moves both down
  by the same amount: each falls by more than a fifth, they stay within TOL
  of each other, and the shard owning rack 0 shows it low, the other shard
  its racks high.
- Cleared, both return together.

Every wait is bounded; the fixture clears the fault and takes the lab down
whatever happens."""

import os

import pytest

from nwlab import BUILD, lab_up, wait_for
from test_lab_rack_fault import WINDOW_S, chaos, prom

RACKS, SERVERS, SHARDS = 3, 2, 2
TOL = 0.01

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")


@pytest.fixture(scope="module")
def lab():
    if not os.access(os.path.join(BUILD, "netwatch-chaos"), os.X_OK):
        pytest.skip("netwatch-chaos is not built")
    with lab_up("s", "--racks", str(RACKS), "--servers", str(SERVERS),
                "--dc-shards", str(SHARDS), clears=[["--rack", "0"]]) as (name, info):
        yield {"name": name, "info": info}


def one(lab, q):
    """The single sample of PromQL q, or None."""
    data = prom(lab, "/api/v1/query", query=q)
    if not data or len(data["result"]) != 1:
        return None
    return float(data["result"][0]["value"][1])


def scores(lab):
    """(shards combined, single DC) from Prometheus, or None until both
    shards' and the single DC's scrapes count every rack (one shard alone
    would give its own racks' mean)."""
    name = lab["name"]
    if one(lab, f'dc:netwatch_dc_racks_known:sum{{dc_id="{name}"}}') != RACKS or \
            one(lab, f'netwatch_dc_racks_known{{dc_id="{name}-one"}}') != RACKS:
        return None
    shards = one(lab, f'dc:netwatch_dc_health_score:shards{{dc_id="{name}"}}')
    single = one(lab, f'netwatch_dc_health_score{{dc_id="{name}-one"}}')
    return None if shards is None or single is None else (shards, single)


def rack_scores_by_shard(lab):
    """{rack_id: score} as the shards count them (dc_id=<lab>), or None."""
    data = prom(lab, "/api/v1/query",
                query=f'netwatch_dc_rack_health_score{{dc_id="{lab["name"]}"}}')
    if not data:
        return None
    return {int(x["metric"]["rack_id"]): (x["metric"]["instance"], float(x["value"][1]))
            for x in data["result"]}


def both_healthy_and_equal(lab):
    s = scores(lab)
    return s if s and min(s) > 0.9 and abs(s[0] - s[1]) < TOL else None


def test_lab_shards_give_the_score_of_one_dc_and_a_fault_moves_both(lab):
    name = lab["name"]
    ep = lab["info"]["endpoints"]
    assert [(s["first_rack"], s["racks"]) for s in ep["dc_shards"]] == [(0, 1), (1, 2)]

    base = wait_for(lambda: both_healthy_and_equal(lab), WINDOW_S + 40,
                    "shards combined and the single DC both healthy and equal", 1.0)
    assert one(lab, f'dc:netwatch_dc_racks_known:sum{{dc_id="{name}"}}') == RACKS
    assert one(lab, f'dc_state:netwatch_dc_racks:sum{{dc_id="{name}",state="ok"}}') == RACKS
    assert one(lab, f'netwatch_dc_racks_known{{dc_id="{name}-one"}}') == RACKS
    # Two shard targets carry the lab's dc_id, each with its own racks.
    owners = wait_for(lambda: (lambda r: r if r and len(r) == RACKS else None)(
        rack_scores_by_shard(lab)), 10, "every rack's score from its shard")
    assert owners[0][0] != owners[1][0] == owners[2][0], owners

    chaos(lab, "--rack", "0", "--loss", "100")
    try:
        def fallen_together():
            s = scores(lab)
            if not s or max(s) > min(base) - 0.2 or abs(s[0] - s[1]) >= TOL:
                return None
            r = rack_scores_by_shard(lab)
            ok = r and len(r) == RACKS and r[0][1] < 0.5 and r[1][1] > 0.9 and r[2][1] > 0.9
            return s if ok else None

        down = wait_for(fallen_together, WINDOW_S + 40,
                        "a blackout of rack 0 moving both scores down by the same amount", 1.0)
        assert abs((base[0] - down[0]) - (base[1] - down[1])) < 2 * TOL, (base, down)
    finally:
        chaos(lab, "--rack", "0", "--clear")
    wait_for(lambda: both_healthy_and_equal(lab), WINDOW_S + 40,
             "both healthy and equal again after --clear", 1.0)
