"""The limited mesh's peer selection (deploy/local/fabric_mesh.py,
docs/fabric.md section 4): full mesh up to k, then k out and exactly k in
per epoch, every ordered pair covered within epochs_to_cover epochs."""

import os
import sys
from collections import Counter

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "deploy", "local"))
from fabric_mesh import epochs_to_cover, mesh_peers, peers_doc  # noqa: E402


def test_full_mesh_up_to_k():
    assert mesh_peers(4, 1, k=16) == [2, 3, 0]
    assert mesh_peers(1, 0) == []
    assert mesh_peers(17, 5, k=16) == [(5 + o) % 17 for o in range(1, 17)]
    assert epochs_to_cover(17, 16) == 1


@pytest.mark.parametrize("n,k", [(10, 3), (100, 16), (33, 16), (20, 19), (7, 2)])
def test_limited_mesh_balanced_and_covering(n, k):
    covered = set()
    for e in range(epochs_to_cover(n, k)):
        indeg = Counter()
        for i in range(n):
            peers = mesh_peers(n, i, k, e)
            assert i not in peers and len(set(peers)) == len(peers)
            assert len(peers) == min(k, n - 1) or e == epochs_to_cover(n, k) - 1
            indeg.update(peers)
            covered.update((i, d) for d in peers)
        # In-degree equals out-degree: no collector receives more than k.
        assert set(indeg.values()) <= {len(mesh_peers(n, 0, k, e))}
    assert covered == {(i, d) for i in range(n) for d in range(n) if i != d}


def test_rotation_moves_the_offsets():
    assert mesh_peers(10, 0, k=3, epoch=0) == [1, 2, 3]
    assert mesh_peers(10, 0, k=3, epoch=1) == [4, 5, 6]
    assert mesh_peers(10, 0, k=3, epoch=2) == [7, 8, 9]
    assert mesh_peers(10, 0, k=3, epoch=3) == [1, 2, 3]  # back to the start


def test_refusals_and_doc():
    with pytest.raises(ValueError):
        mesh_peers(4, 4)
    with pytest.raises(ValueError):
        mesh_peers(4, 0, k=0)
    assert peers_doc(2, [(0, "198.18.1.1")], epoch=3) == {
        "self": 2, "epoch": 3, "racks": [{"rack_id": 0, "addr": "198.18.1.1"}]}
