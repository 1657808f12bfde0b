"""The sample path end to end: netwatch-agent in one namespace, the collector
in another, joined by a veth. For every hook the collector's exact counts must
equal what the agent says it did on the wire."""

import json
import os
import signal
import subprocess

import pytest

from nwlab import (AGENT, RACK, Collector, VethPair, run, run_agent, start_agent,
                   wait_for)

HOOKS = ["xdp", "xdpgeneric", "tc", "socket"]
SERVERS = 4
REC_GOODBYE = 0x4


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, BPF)")


@pytest.fixture
def lab():
    require_root()
    with VethPair() as pair:
        yield pair


def wait_closed(col, n, timeout=15):
    """Until every server's stream was closed by its goodbye."""
    def closed():
        servers = col.servers()
        if len(servers) >= n and all(s["goodbyes"] >= 1 and s["closed"] for s in servers.values()):
            return servers
        return None
    return wait_for(closed, timeout, "every server's goodbye")


def assert_exact(servers, report):
    for a in report["servers"]:
        s = servers[a["server"]]
        ctx = f"server {a['server']}: collector {s} agent {a}"
        assert s["received"] == a["sent"], ctx
        assert s["lost"] == a["dropped"] + a["send_failed"], ctx
        assert s["duplicates"] == a["duplicated"], ctx
        assert s["late"] == 0 and s["restarts"] == 0, ctx
        assert s["max_seq"] == a["last_seq"], ctx


def read_records(path):
    by_server = {}
    with open(path) as f:
        for line in f:
            server, seq, tx, rx, flags = (int(x) for x in line.split())
            by_server.setdefault(server, []).append((seq, tx, rx, flags))
    return by_server


@pytest.mark.parametrize("hook", HOOKS)
def test_counts_equal_what_the_agent_did(lab, hook, tmp_path):
    log = tmp_path / "records.log"
    col = Collector(lab, hook, log_path=str(log)).start()
    try:
        report = run_agent(lab, "--controller", lab.COLLECTOR_ADDR, "--rack", "0",
                           "--server", "0", "--servers", str(SERVERS), "--rate", "200",
                           "--count", "600", "--impair", "loss=10%,dup=2%,seed=11")
        assert report["dropped"] > 0 and report["duplicated"] > 0, report
        servers = wait_closed(col, SERVERS)
        assert_exact(servers, report)
    finally:
        rc = col.stop()
        col.unpin()
    assert rc == 0, col.log()
    assert not os.path.exists(os.path.join(lab.pin_dir, "rack0")), "--unpin left pins behind"
    final = col.servers()
    assert_exact(final, report)

    records = read_records(log)
    for a in report["servers"]:
        recs = [r for r in records.get(a["server"], []) if not r[3] & REC_GOODBYE]
        seqs = [r[0] for r in recs]
        assert len(seqs) == a["sent"], f"server {a['server']}: {len(seqs)} records"
        assert seqs == sorted(set(seqs)), f"server {a['server']}: records out of order"
        rx = [r[2] for r in recs]
        assert rx == sorted(rx), "receive stamps go backwards"


@pytest.mark.parametrize("hook", HOOKS)
def test_counters_survive_kill_9(lab, hook):
    col = Collector(lab, hook).start()
    agent = start_agent(lab, "--controller", lab.COLLECTOR_ADDR, "--rack", "0", "--server", "0",
                        "--servers", str(SERVERS), "--rate", "200", "--count", "1400",
                        "--impair", "loss=5%,dup=1%,seed=5")
    col2 = None
    try:
        before = wait_for(lambda: (lambda s: s if s and min(x["received"] for x in s.values()) > 150
                                   and len(s) == SERVERS else None)(col.servers()),
                          20, "traffic before the kill")
        col.kill9()
        col2 = Collector(lab, hook).start()
        after = col2.servers()
        for sid, s in before.items():
            assert after[sid]["received"] >= s["received"], f"server {sid} counters reset"
            assert after[sid]["lost"] >= s["lost"]
        out, err = agent.communicate(timeout=60)
        assert agent.returncode == 0, err
        report = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        servers = wait_closed(col2, SERVERS)
        if hook == "socket":
            # No kernel program counts while the socket daemon is down: what
            # was sent then is lost, but nothing resets and nothing is lost twice.
            for a in report["servers"]:
                s = servers[a["server"]]
                assert s["received"] + s["lost"] == a["generated"], (s, a)
                assert s["received"] <= a["sent"] and s["duplicates"] <= a["duplicated"]
        else:
            assert_exact(servers, report)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        if col2 is not None:
            col2.stop()
        elif col.proc is not None:
            col.stop()
        col.unpin()


def test_ipv6_samples_are_counted(lab):
    col = Collector(lab, "xdp", servers="2").start()
    try:
        report = run_agent(lab, "--controller", f"[{lab.COLLECTOR_ADDR6}]:9999", "--rack", "0",
                           "--server", "2", "--rate", "200", "--count", "300",
                           "--impair", "loss=10%,seed=3")
        servers = wait_closed(col, 1)
        assert_exact(servers, report)
    finally:
        col.stop()
        col.unpin()


def tc_ingress_filters(lab):
    res = run("ip", "netns", "exec", lab.ns_c, "tc", "filter", "show", "dev", "c0", "ingress",
              check=False)
    return res.stdout


def xdp_attached(lab):
    res = run("ip", "-n", lab.ns_c, "link", "show", "c0")
    return "xdp" in res.stdout


OTHER_TOOL_PROG = """
__attribute__((section("tc"), used)) int other_tool(void *skb) { return 0; }
char _license[] __attribute__((section("license"), used)) = "GPL";
"""


def add_other_tools_filter(lab, tmp_path):
    """Another tool's clsact qdisc and tc BPF filter (cls_bpf is the one
    classifier every BPF-capable kernel has)."""
    src, obj = tmp_path / "other.c", tmp_path / "other.o"
    src.write_text(OTHER_TOOL_PROG)
    run("clang", "-target", "bpf", "-O2", "-c", str(src), "-o", str(obj))
    run("ip", "netns", "exec", lab.ns_c, "tc", "qdisc", "add", "dev", "c0", "clsact")
    run("ip", "netns", "exec", lab.ns_c, "tc", "filter", "add", "dev", "c0", "ingress",
        "prio", "7", "bpf", "da", "obj", str(obj), "sec", "tc")
    assert "other" in tc_ingress_filters(lab)


@pytest.mark.parametrize("hook", ["xdp", "xdpgeneric", "tc"])
def test_clean_shutdown_detaches_only_its_own(lab, hook, tmp_path):
    add_other_tools_filter(lab, tmp_path)
    col = Collector(lab, hook).start()
    try:
        if hook == "tc":
            assert "nw_tc" in tc_ingress_filters(lab)
        else:
            assert xdp_attached(lab)
    finally:
        rc = col.stop()
        col.unpin()
    assert rc == 0, col.log()
    assert not xdp_attached(lab)
    filters = tc_ingress_filters(lab)
    assert "nw_tc" not in filters
    assert "other" in filters, "another tool's filter was removed"
    qdiscs = run("ip", "netns", "exec", lab.ns_c, "tc", "qdisc", "show", "dev", "c0").stdout
    assert "clsact" in qdiscs, "another tool's qdisc was removed"


def test_tc_removes_the_qdisc_it_created(lab):
    col = Collector(lab, "tc").start()
    try:
        assert "nw_tc" in tc_ingress_filters(lab)
    finally:
        assert col.stop() == 0, col.log()
        col.unpin()
    qdiscs = run("ip", "netns", "exec", lab.ns_c, "tc", "qdisc", "show", "dev", "c0").stdout
    assert "clsact" not in qdiscs


@pytest.mark.parametrize("args,needle", [
    (["--hook", "bogus", "--iface", "lo"], "hook"),
    (["--port", "70000", "--iface", "lo"], "port"),
    (["--servers", "3-x", "--iface", "lo"], "servers"),
    (["--ring-bytes", "5000", "--iface", "lo"], "ring"),
    (["--scope-hold", "0", "--iface", "lo"], "scope-hold must be an integer 1..60"),
    (["--scope-clear", "3601", "--iface", "lo"], "scope-clear must be an integer 1..3600"),
])
def test_rack_rejects_bad_flags(args, needle):
    res = subprocess.run([RACK, *args], capture_output=True, text=True, timeout=10)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], res.stderr


@pytest.mark.parametrize("args,needle", [
    (["--controller", "127.0.0.1", "--rate", "-1"], "rate"),
    (["--controller", "127.0.0.1", "--freq", "10"], "Nyquist"),
    (["--controller", "127.0.0.1", "--server", "20"], "server"),
    (["--controller", "127.0.0.1", "--impair", "loss=200%"], "loss"),
    (["--controller", "127.0.0.1", "--impair", "wobble=1"], "wobble"),
])
def test_agent_rejects_bad_flags(args, needle):
    res = subprocess.run([AGENT, *args, "--count", "1"], capture_output=True, text=True,
                         timeout=10)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], res.stderr


def test_agent_goodbye_on_sigterm(lab):
    col = Collector(lab, "xdp", servers="5").start()
    agent = start_agent(lab, "--controller", lab.COLLECTOR_ADDR, "--rack", "0", "--server", "5",
                        "--rate", "100")
    try:
        wait_for(lambda: col.servers().get(5, {}).get("received", 0) >= 50, 15, "samples")
        agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=10)
        assert agent.returncode == 0, err
        report = json.loads([l for l in out.splitlines() if l.startswith("{")][-1])
        servers = wait_closed(col, 1)
        assert_exact(servers, report)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        col.stop()
        col.unpin()


def proc_caps(pid):
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v, 16) for k, v in (l.split(":") for l in f if l.startswith("Cap"))}


CAP_NET_ADMIN, CAP_BPF = 12, 39


@pytest.mark.parametrize("hook,kept", [
    ("xdp", (1 << CAP_NET_ADMIN) | (1 << CAP_BPF)),
    ("tc", (1 << CAP_NET_ADMIN) | (1 << CAP_BPF)),
    ("socket", 0),
])
def test_capabilities_dropped_after_attach(lab, hook, kept):
    col = Collector(lab, hook).start()
    try:
        # nsenter execs the collector in place: the child pid is the daemon's.
        caps = proc_caps(col.proc.pid)
        assert caps["CapEff"] == kept and caps["CapPrm"] == kept, caps
        assert caps["CapBnd"] == kept and caps["CapInh"] == 0 and caps["CapAmb"] == 0, caps
    finally:
        assert col.stop() == 0, col.log()
        col.unpin()


def test_auto_falls_back_to_generic_xdp(lab):
    """A bridge has no native XDP: auto must settle on xdpgeneric and say so."""
    run("ip", "-n", lab.ns_c, "link", "add", "br0", "type", "bridge")
    run("ip", "-n", lab.ns_c, "link", "set", "br0", "up")
    col = Collector(lab, "auto")
    col.args[col.args.index("--iface") + 1] = "br0"
    col.start()
    try:
        assert col.latest()["hook"] == "xdpgeneric"
        assert "hook=xdpgeneric" in col.log()
    finally:
        assert col.stop() == 0, col.log()
        col.unpin()
    assert "xdp" not in run("ip", "-n", lab.ns_c, "link", "show", "br0").stdout
