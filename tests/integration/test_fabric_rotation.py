"""The limited mesh rotates by itself (docs/fabric.md section 4), on a lab
of its own: 4 racks x 1 server, `--fabric --fabric-k 1 --fabric-epoch 20`.
Every rack is probed by exactly one rack per epoch (the row whose
mesh_epoch is the current epoch), the prober changes at the boundary
without any peers file pushed, and paths_in follows: a path probed in
neither the current nor the previous epoch is gone from it.

The schedule itself is not re-implemented here (its home is
user/common/fabric_mesh.c, tested in tests/unit/common/test_fabric_mesh.c):
only its properties are checked. Every wait is bounded; the lab goes down
whatever happens."""

import os
import time

import pytest

from nwlab import get_json, lab_up, wait_for

RACKS, EPOCH_S = 4, 20
EPOCH_WAIT_S = 3 * EPOCH_S + 30  # a whole epoch, then the next boundary, then slack

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")


def epoch_now():
    return int(time.time()) // EPOCH_S


def rows(urls):
    """Per rack, {src_rack: mesh_epoch} of its paths_in, or None."""
    out = []
    for url in urls:
        doc = get_json(url)
        if not doc:
            return None
        out.append({p["src_rack"]: p["mesh_epoch"] for p in doc.get("paths_in", [])})
    return out


def probers_in(urls, e):
    """Per rack, the one rack probing it in epoch e, once every rack has
    heard from exactly one prober with that mesh_epoch; else None. Rows are
    only of this epoch or the last."""
    snap = rows(urls)
    if not snap or epoch_now() != e:
        return None
    out = []
    for dst, got in enumerate(snap):
        srcs = [s for s, me in got.items() if me == e % 65536]
        if len(srcs) != 1:
            return None
        assert srcs[0] != dst
        out.append(srcs[0])
    return out


def settled(urls, e):
    """Every rack's rows belong to epoch e or e - 1 only: older paths forgotten."""
    snap = rows(urls)
    return snap and all(set(got.values()) <= {e % 65536, (e - 1) % 65536} for got in snap) \
        and snap


def test_probers_rotate_at_the_boundary():
    with lab_up("q", "--racks", str(RACKS), "--servers", "1", "--fabric", "--fabric-k", "1",
                "--fabric-epoch", str(EPOCH_S)) as (_name, info):
        urls = [e["json"] for e in info["endpoints"]["racks"]]
        # An epoch seen whole: its probers, one per rack, k = 1 in each.
        e = epoch_now() + 1
        first = wait_for(lambda: probers_in(urls, e) if epoch_now() == e else None,
                         EPOCH_WAIT_S, f"one prober per rack in epoch {e}", interval=0.5)
        # k in = k out: the probers are a permutation of the racks.
        assert sorted(first) == list(range(RACKS))
        second = wait_for(lambda: probers_in(urls, e + 1), EPOCH_WAIT_S,
                          f"one prober per rack in epoch {e + 1}", interval=0.5)
        assert sorted(second) == list(range(RACKS))
        # The boundary moved every rack's prober (n = 4, k = 1: the offset changes).
        assert all(a != b for a, b in zip(first, second)), (first, second)
        # Two boundaries after e, e's paths are probed by nobody: gone from paths_in.
        snap = wait_for(lambda: settled(urls, e + 2) if epoch_now() == e + 2 else None,
                        EPOCH_WAIT_S, f"paths_in of epochs {e + 1}..{e + 2} only",
                        interval=0.5)
        for dst, got in enumerate(snap):
            assert first[dst] not in got or got[first[dst]] != e % 65536, (dst, got)
