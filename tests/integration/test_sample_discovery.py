"""Discovery under a flood (issue 15, item 5): made-up server ids at 2000
datagrams a second must not register phantoms into the rack's servers, its
scores, metrics or dump; a genuine new server that starts during the flood
must still earn its place; and once the flood stops, every phantom is
evicted. Both the XDP hook (kernel-side discovery) and the socket hook
(userspace discovery, rate-limited like the kernel)."""

import os
import struct
import subprocess
import sys

import pytest

from nwlab import Collector, VethPair, start_agent, wait_for

GENUINE = 7  # seed plan: rack 0, server 7 -> 1.35 Hz at 20 Hz

# Sends valid, correctly checksummed samples from random unknown server ids
# (never 0 nor GENUINE) for `secs` seconds at `pps`, from the agent namespace.
FLOOD = r"""
import random, socket, struct, sys, time
dst, secs, pps, avoid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), {0, int(sys.argv[4])}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rng = random.Random(15)
end = time.monotonic() + secs
sent = 0
while time.monotonic() < end:
    t0 = time.monotonic()
    for _ in range(pps // 100):
        sid = rng.randrange(1, 1 << 32)
        if sid in avoid:
            continue
        tx = time.clock_gettime_ns(time.CLOCK_TAI)
        pkt = struct.pack(">IBBHIIIIQQ", 0x4E57544E, 1, 0, 0, sid, 1000000, 20000000,
                          0, rng.randrange(0, 1 << 20), tx)
        s.sendto(pkt, (dst, 9999))
        sent += 1
    time.sleep(max(0.0, 0.01 - (time.monotonic() - t0)))
print(sent)
"""


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, BPF)")


@pytest.fixture
def lab():
    require_root()
    with VethPair() as pair:
        yield pair


def stats(col):
    dump = col.latest()
    return dump["stats"] if dump else {}


@pytest.mark.parametrize("hook", ["xdp", "socket"])
def test_flood_of_unknown_ids_registers_no_phantom(lab, hook):
    col = Collector(lab, hook, servers="0", extra=("--discover", "on")).start()
    flood = genuine = None
    try:
        flood = subprocess.Popen(lab.prefix(lab.ns_a) + [
            sys.executable, "-c", FLOOD, lab.COLLECTOR_ADDR, "12", "2000", str(GENUINE)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Phantoms churn through probation while the flood runs.
        wait_for(lambda: stats(col).get("discovery_evicted", 0) > 0, 15,
                 "phantoms evicted from probation during the flood")
        genuine = start_agent(lab, "--controller", lab.COLLECTOR_ADDR, "--rack", "0",
                              "--server", str(GENUINE), "--rate", "20", "--duration", "30",
                              "--quiet")
        # The genuine sender earns its place in spite of the flood: shown
        # after keeping its tone up for 5 s, with its samples counted.
        servers = wait_for(lambda: (lambda s: s if GENUINE in s else None)(col.servers()), 20,
                           "the genuine new server promoted during the flood")
        assert servers[GENUINE]["received"] >= 50, servers[GENUINE]
        st = stats(col)
        assert st["discovery_promoted"] >= 1, st
        if hook == "socket":
            assert st["discovery_suppressed"] > 0, st  # rate-limited, as the kernel is
        # No phantom was ever shown; probation never held more than its quota.
        assert set(col.servers()) <= {0, GENUINE}, sorted(col.servers())
        assert st["discovery_probation"] <= 1024 // 8, st
        out, _ = flood.communicate(timeout=30)
        assert int(out.strip() or 0) > 15000, "the flood did not run"
        flood = None
        # Once it stops, every phantom leaves probation within its idle time.
        wait_for(lambda: stats(col).get("discovery_probation") == 0, 25,
                 "every phantom evicted after the flood")
        assert set(col.servers()) == {0, GENUINE}, sorted(col.servers())
    finally:
        for p in (flood, genuine):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        rc = col.stop()
        col.unpin()
    assert rc == 0, col.log()
