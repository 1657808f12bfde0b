"""Which racks a rack sends its inter-rack tones to (docs/fabric.md section 4).

The one home of the peer selection: netwatch-lab writes each rack's peers
file from it, deploy tooling can import it too. Rack ids are 0..n-1 here
(positions in the DC's rack list: map them to real ids around the call).

Full mesh when k >= n - 1. Otherwise the circulant limited mesh: rack i in
epoch e probes (i + o_j(e)) mod n for j = 1..k with

    o_j(e) = 1 + ((e * k + j - 1) mod (n - 1))

so every rack sends k streams and receives exactly k in every epoch, and
epochs 0..ceil((n - 1) / k) - 1 cover every ordered pair."""

DEFAULT_K = 16


def mesh_peers(n, i, k=DEFAULT_K, epoch=0):
    """The racks rack i of n probes in `epoch`, in offset order."""
    if not 0 <= i < n:
        raise ValueError(f"rack {i} is not one of 0..{n - 1}")
    if k < 1:
        raise ValueError(f"k {k}: want at least 1")
    if n <= 1:
        return []
    if k >= n - 1:
        return [(i + o) % n for o in range(1, n)]
    offs = []
    for j in range(1, k + 1):
        o = 1 + ((epoch * k + j - 1) % (n - 1))
        if o not in offs:  # k does not divide n - 1: the last epoch wraps
            offs.append(o)
    return [(i + o) % n for o in offs]


def epochs_to_cover(n, k=DEFAULT_K):
    """Epochs until every ordered pair has been probed once."""
    return 1 if n <= 1 or k >= n - 1 else -(-(n - 1) // k)


def peers_doc(self_id, ids_addrs, epoch=0):
    """A peers file (user/common/fabric_peers.h) for rack self_id, from
    [(rack_id, addr)] in the order mesh_peers gave."""
    return {"self": self_id, "epoch": epoch,
            "racks": [{"rack_id": r, "addr": a} for r, a in ids_addrs]}
