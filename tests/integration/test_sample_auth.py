"""Sample authentication end to end: a rack controller with --key-file takes
only samples tagged under its key. Agents with the key are counted as
received; agents without a key or with another key are counted under
malformed{auth_failed}, datagram for datagram, and their servers are never
registered (discovery is on) nor credited with a sample. The xdp hook sees
agents across a veth; the socket hook is fed on the collector namespace's
loopback. A rack without a key accepts tagged samples."""

import json
import os
import secrets

import pytest

from nwlab import AGENT, Collector, VethPair, run, wait_for

RATE = "200"
COUNT = 100


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, BPF)")


@pytest.fixture
def lab():
    require_root()
    with VethPair() as pair:
        yield pair


def key_file(tmp_path, name):
    path = tmp_path / name
    path.write_text(secrets.token_hex(32) + "\n")
    os.chmod(path, 0o600)
    return str(path)


def agent(lab, hook, server, *extra):
    """Runs one agent to completion; returns its JSON report. The socket hook
    is fed from inside the collector namespace, over its loopback."""
    if hook == "socket":
        prefix, dst = lab.prefix(lab.ns_c), "127.0.0.1"
    else:
        prefix, dst = lab.prefix(lab.ns_a), lab.COLLECTOR_ADDR
    res = run(*prefix, AGENT, "--controller", dst, "--rack", "0", "--server", str(server),
              "--rate", RATE, "--count", str(COUNT), "--quiet", *extra, timeout=60)
    lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
    assert lines, f"agent printed no report: {res.stderr}"
    return json.loads(lines[-1])


def on_wire(report):
    """Datagrams the agent put on the wire: samples, copies and goodbyes."""
    return report["sent"] + report["duplicated"] + report["goodbyes"]


def auth_failed(col):
    dump = col.latest()
    return dump["stats"]["malformed"]["auth_failed"] if dump else None


@pytest.mark.parametrize("hook", ["xdp", "socket"])
def test_keyed_rack_takes_only_tagged_samples(lab, hook, tmp_path):
    key, other = key_file(tmp_path, "key"), key_file(tmp_path, "other")
    col = Collector(lab, hook, servers="0-1",
                    extra=("--key-file", key, "--discover", "on")).start()
    try:
        assert "sample authentication on" in col.log()
        good = agent(lab, hook, 0, "--key-file", key)
        assert good["sent"] == COUNT and good["goodbyes"] >= 1, good
        servers = wait_for(lambda: (lambda s: s if 0 in s and s[0]["received"] == COUNT
                                    and s[0]["closed"] else None)(col.servers()),
                           15, "the keyed agent's samples and goodbye")
        assert servers[0]["lost"] == 0 and servers[0]["duplicates"] == 0
        assert auth_failed(col) == 0

        # Untagged, to a registered server; wrong key and untagged, from
        # servers nobody registered: discovery must not see them either.
        bad = [agent(lab, hook, 1),
               agent(lab, hook, 5, "--key-file", other),
               agent(lab, hook, 6)]
        want = sum(on_wire(r) for r in bad)
        assert want >= 3 * COUNT
        wait_for(lambda: auth_failed(col) == want, 15,
                 f"{want} datagrams counted as auth_failed")
        dump = col.latest()
        servers = col.servers(dump)
        assert set(servers) == {0, 1}, f"unauthenticated senders registered: {sorted(servers)}"
        assert servers[1]["received"] == 0 and servers[1]["goodbyes"] == 0
        assert servers[0]["received"] == COUNT
        stats = dump["stats"]
        assert stats["samples"] == COUNT + good["goodbyes"], stats
        assert stats["unknown_server"] == 0 and stats["discovery_sent"] == 0, stats
        assert all(v == 0 for k, v in stats["malformed"].items() if k != "auth_failed"), stats
    finally:
        rc = col.stop()
        col.unpin()
    assert rc == 0, col.log()


def test_rack_without_key_accepts_tagged_samples(lab, tmp_path):
    key = key_file(tmp_path, "key")
    col = Collector(lab, "xdp", servers="0").start()
    try:
        assert "sample authentication off" in col.log()
        report = agent(lab, "xdp", 0, "--key-file", key)
        servers = wait_for(lambda: (lambda s: s if 0 in s and s[0]["received"] == COUNT
                                    and s[0]["closed"] else None)(col.servers()),
                           15, "the keyed agent's samples at a rack without a key")
        assert servers[0]["received"] == report["sent"]
        assert auth_failed(col) == 0
    finally:
        rc = col.stop()
        col.unpin()
    assert rc == 0, col.log()
