"""Forged samples against a live stream (issue 15, items 1-4), end to end: a
genuine agent sends server 1's tone while forged datagrams (no key) claim to
be server 1 with the worst values of the wire: seq 2^63 and tx 2^64 - 1, a
goodbye at seq 2^63, transit times near +-2^63, tx 0, seq 2^64 - 1. The
genuine stream must go on being counted, `lost` must not move by more than
the genuine loss, the goodbye must not close it, the forgeries must be counted
by reason, and the agent's own goodbye must still close it with exact counts.
The socket hook runs the very accounting in userspace: with the sanitized
build (NETWATCH_BUILD=build/san) UBSan aborts on any overflow."""

import os
import subprocess
import sys

import pytest

from nwlab import Collector, VethPair, start_agent, wait_for

# Forged samples of rack 0, server 1, from the agent namespace.
FORGE = r"""
import socket, struct, sys, time
dst = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
now = time.clock_gettime_ns(time.CLOCK_TAI)
M = (1 << 64) - 1
def pkt(seq, tx, flags=0):
    return struct.pack(">IBBHIIIIQQ", 0x4E57544E, 1, flags, 0, 1, 1350000, 20000000, 0,
                       seq & M, tx & M)
forged = [pkt(1 << 63, M), pkt(1 << 63, now), pkt(1 << 63, now, 1),
          pkt((1 << 24) - 1, now, 1), pkt(5, now + (1 << 62)), pkt(6, now - (1 << 62)),
          pkt(7, 0), pkt(M, now), pkt(0, now + 3600 * 10**9)]
for p in forged:
    s.sendto(p, (dst, 9999))
    time.sleep(0.02)
print(len(forged))
"""


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, BPF)")


@pytest.fixture
def lab():
    require_root()
    with VethPair() as pair:
        yield pair


@pytest.mark.parametrize("hook", ["xdp", "socket"])
def test_forged_samples_move_nothing(lab, hook):
    col = Collector(lab, hook, servers="1").start()
    agent = None
    try:
        agent = start_agent(lab, "--controller", lab.COLLECTOR_ADDR, "--rack", "0",
                            "--server", "1", "--rate", "20", "--count", "120", "--quiet")
        before = wait_for(lambda: (lambda s: s if s.get(1, {}).get("received", 0) >= 20
                                   else None)(col.servers()), 15, "the genuine stream")[1]
        res = subprocess.run(lab.prefix(lab.ns_a) + [
            sys.executable, "-c", FORGE, lab.COLLECTOR_ADDR], capture_output=True, text=True,
            timeout=30)
        assert res.returncode == 0, res.stderr
        sent = int(res.stdout)

        # Every forgery is counted as an anomaly (or, the in-window one, as
        # nothing worse than a reordered sample); none moved the stream.
        def all_counted():
            d = col.latest()
            return d if sum(d["stats"]["anomalies"].values()) >= sent - 1 else None
        dump = wait_for(all_counted, 10, "the forged samples counted as anomalies")
        s = col.servers(dump)[1]
        assert s["restarts"] == 0 and s["goodbyes"] == 0 and not s["closed"], s
        assert s["lost"] <= before["lost"] + 2, (before, s)
        assert s["received"] >= before["received"], (before, s)
        assert s["jitter_ns"] < 1e9, s  # no jitter of days
        anomalies = dump["stats"]["anomalies"]
        # The agent sends wire v2, the forgeries are v1: those within a day of
        # our clock are another lifetime's (`lifetime`, `goodbye`, or
        # `seq_jump` / `restart` when newer), the rest not a clock at all.
        assert anomalies["clock"] >= 4, anomalies
        assert anomalies["goodbye"] >= 2, anomalies
        assert anomalies["resync"] == 0, anomalies

        # The genuine goodbye still closes the stream, counts exact.
        out, _ = agent.communicate(timeout=60)
        agent = None
        final = wait_for(lambda: (lambda s: s if s.get(1, {}).get("closed") else None)(
            col.servers()), 15, "the agent's goodbye")[1]
        assert final["received"] == 120 and final["lost"] == 0, final
        assert final["goodbyes"] == 1 and final["restarts"] == 0 and final["late"] == 0, final
        assert final["max_seq"] == 119, final
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait(timeout=10)
        rc = col.stop()
        col.unpin()
    assert rc == 0, col.log()
