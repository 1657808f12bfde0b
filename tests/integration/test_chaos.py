"""netwatch-chaos end to end: an agent in one namespace, the collector (XDP)
in the other, faults applied by netwatch-chaos to the agent side's egress
through a hand-written topology file. This kernel has no sch_netem, so
`auto` puts loss, duplication and corruption on the BPF backend and delay on
the agent's control socket; the collector must count what was asked for.

Rates are checked against 5-sigma binomial bounds (bpf_get_prandom_u32
cannot be seeded), widened by the chain's correlation for bursty loss."""

import json
import math
import os
import re
import shutil
import subprocess
import threading

import pytest

from nwlab import AGENT, BUILD, RACK, Collector, VethPair, run, run_agent, start_agent, wait_for

CHAOS = os.path.join(BUILD, "netwatch-chaos")
SAMPLES = 4000
RATE = "1000"


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, BPF)")


def kernel_has_netem():
    """sch_netem built in, loaded, or loadable. `make deps` installs modprobe
    (kmod); without it, a module that is not loaded counts as absent."""
    if os.path.exists("/sys/module/sch_netem"):
        return True
    modprobe = shutil.which("modprobe") or next(
        (p for p in ("/usr/sbin/modprobe", "/sbin/modprobe") if os.access(p, os.X_OK)), None)
    return modprobe is not None and subprocess.run(
        [modprobe, "-n", "sch_netem"], capture_output=True).returncode == 0


class ChaosLab:
    """A VethPair plus a topology naming its agent side as rack 0 server 0,
    and a bpffs directory of its own for the chaos maps."""

    def __init__(self, pair, tmp_path, control=None):
        self.pair = pair
        self.topology = str(tmp_path / "topology.json")
        self.pin_dir = f"/sys/fs/bpf/netwatch-chaos-test-{pair.tag}"
        self.state_dir = str(tmp_path / "state")
        self.control = control
        self.write()

    def write(self, control=None):
        doc = {"version": 1, "lab": "test",
               "racks": [{"rack_id": 0, "netns": self.pair.ns_c, "uplink": "c0",
                          "servers": [{"server_id": 0, "netns": self.pair.ns_a, "iface": "a0",
                                       "control": control or self.control}]}]}
        with open(self.topology, "w") as f:
            json.dump(doc, f)

    def chaos(self, *args, check_rc=0):
        res = subprocess.run([CHAOS, "--topology", self.topology, "--pin-dir", self.pin_dir,
                              "--state-dir", self.state_dir, *args],
                             capture_output=True, text=True, timeout=60)
        if check_rc is not None:
            assert res.returncode == check_rc, f"rc {res.returncode}\n{res.stdout}\n{res.stderr}"
        return res

    def bpf_counts(self):
        out = self.chaos("--list").stdout
        m = re.search(r"packets (\d+) dropped (\d+) duplicated (\d+) corrupted (\d+)", out)
        assert m, out
        return dict(zip(("packets", "dropped", "duplicated", "corrupted"),
                        (int(x) for x in m.groups())))

    def egress_filters(self):
        return run("tc", "-n", self.pair.ns_a, "filter", "show", "dev", "a0", "egress").stdout

    def qdiscs(self):
        return run("tc", "-n", self.pair.ns_a, "qdisc", "show", "dev", "a0").stdout

    def cleanup(self):
        subprocess.run([CHAOS, "--topology", self.topology, "--pin-dir", self.pin_dir,
                        "--state-dir", self.state_dir, "--clear"], capture_output=True)
        shutil.rmtree(self.pin_dir, ignore_errors=True)


@pytest.fixture
def lab(tmp_path):
    require_root()
    with VethPair() as pair:
        cl = ChaosLab(pair, tmp_path)
        try:
            yield cl
        finally:
            cl.cleanup()


def send_and_count(lab):
    """Runs the agent for SAMPLES samples under the current fault, then waits
    until the collector has seen every frame that left the agent's interface."""
    col = Collector(lab.pair, "xdp", servers="0").start()
    try:
        report = run_agent(lab.pair, "--controller", lab.pair.COLLECTOR_ADDR, "--rack", "0",
                           "--server", "0", "--rate", RATE, "--count", str(SAMPLES))
        assert report["sent"] == SAMPLES and report["dropped"] == 0, report
        bpf = lab.bpf_counts()
        left = bpf["packets"] - bpf["dropped"] + bpf["duplicated"]
        dump = wait_for(lambda: (lambda d: d if d and d["stats"]["packets"] >= left else None)(
            col.latest()), 15, f"the collector to see the {left} frames that left a0")
        return dump, dump["servers"][0], bpf
    finally:
        col.stop()
        col.unpin()


def assert_rate(what, hits, n, p, inflate=1.0):
    sd = math.sqrt(p * (1 - p) / n * inflate)
    got = hits / n
    print(f"{what}: {got:.4f} for {p:.4f} requested over {n} samples (5 sigma {5 * sd:.4f})")
    assert abs(got - p) <= 5 * sd, f"{what}: {got:.4f} vs {p} (5 sigma = {5 * sd:.4f})"


def test_loss_within_bounds(lab):
    res = lab.chaos("--rack", "0", "--loss", "20")
    assert "bpf: loss 20%" in res.stdout and "sch_netem" in res.stdout, res.stdout
    dump, s, bpf = send_and_count(lab)
    missing = SAMPLES - s["received"]
    assert_rate("loss seen by the collector", missing, SAMPLES, 0.20)
    assert s["duplicates"] == 0 and sum(dump["stats"]["malformed"].values()) == 0
    # Whatever the program dropped beyond samples (goodbyes, IPv6 neighbour
    # discovery) is a handful; the samples it dropped are what the collector misses.
    assert bpf["dropped"] - 10 <= missing <= bpf["dropped"], (missing, bpf)


def missing_runs(seqs, total):
    """Mean length of runs of consecutive missing sequence numbers."""
    have = set(seqs)
    runs, missing, prev = 0, 0, False
    for q in range(total):
        m = q not in have
        missing += m
        runs += m and not prev
        prev = m
    return missing / runs if runs else 0.0


def test_bursty_loss_comes_in_runs(lab, tmp_path):
    lab.chaos("--rack", "0", "--loss", "20", "--burst", "5")
    log = tmp_path / "records.log"
    col = Collector(lab.pair, "xdp", servers="0", log_path=str(log)).start()
    try:
        report = run_agent(lab.pair, "--controller", lab.pair.COLLECTOR_ADDR, "--rack", "0",
                           "--server", "0", "--rate", RATE, "--count", str(SAMPLES))
        assert report["sent"] == SAMPLES
        bpf = lab.bpf_counts()
        left = bpf["packets"] - bpf["dropped"] + bpf["duplicated"]
        wait_for(lambda: (col.latest() or {"stats": {"packets": 0}})["stats"]["packets"] >= left,
                 15, "every frame that left a0")
        # The record log is flushed every interval: wait until it holds them all.
        received = wait_for(lambda: (lambda s: s.get("received", 0) or None)(col.servers()[0]),
                            5, "received")

        def seqs():
            with open(log) as f:
                got = [int(l.split()[1]) for l in f if l.split()[0] == "0"]
            return got if len(got) >= received else None
        got = wait_for(seqs, 10, "the record log")
    finally:
        col.stop()
        col.unpin()
    missing = SAMPLES - len(set(got))
    rho = 1 - 0.05 - 0.2
    assert_rate("bursty loss seen by the collector", missing, SAMPLES, 0.20, (1 + rho) / (1 - rho))
    run_len = missing_runs(got, SAMPLES)
    print(f"mean run of missing samples {run_len:.2f} (asked 5; independent loss: 1.25)")
    # ~160 bursts of mean 5 (sd 4.5): 5 sigma of the mean is ~1.8 below 5.
    assert run_len > 2.5, run_len


def run_lengths(seqs, total):
    have, runs, cur = set(seqs), [], 0
    for q in range(total):
        if q in have:
            if cur:
                runs.append(cur)
            cur = 0
        else:
            cur += 1
    if cur:
        runs.append(cur)
    return runs


def test_periodic_outage(lab, tmp_path):
    res = lab.chaos("--rack", "0", "--outage", "100ms/1s")
    assert "bpf: outage 100ms every 1000ms" in res.stdout, res.stdout
    log = tmp_path / "records.log"
    col = Collector(lab.pair, "xdp", servers="0", log_path=str(log)).start()
    try:
        run_agent(lab.pair, "--controller", lab.pair.COLLECTOR_ADDR, "--rack", "0",
                  "--server", "0", "--rate", RATE, "--count", str(SAMPLES))
        bpf = lab.bpf_counts()
        left = bpf["packets"] - bpf["dropped"] + bpf["duplicated"]
        wait_for(lambda: (col.latest() or {"stats": {"packets": 0}})["stats"]["packets"] >= left,
                 15, "every frame that left a0")
        received = wait_for(lambda: col.servers()[0].get("received") or None, 5, "received")

        def seqs():
            with open(log) as f:
                got = [int(l.split()[1]) for l in f if l.split()[0] == "0"]
            return got if len(got) >= received else None
        got = wait_for(seqs, 10, "the record log")
    finally:
        col.stop()
        col.unpin()
    runs = run_lengths(got, SAMPLES)
    print(f"outage runs of missing samples at 1 kHz: {runs}")
    # 4 s at 1 kHz under 100 ms of every second: 3 or 4 whole dark spells of
    # ~100 samples (the ends may cut one), nothing missing in between.
    assert all(r <= 102 for r in runs), runs
    assert sum(1 for r in runs if r >= 95) >= 3, runs
    assert 300 <= SAMPLES - len(set(got)) <= 500, runs


def test_duplication_counted_as_duplicates(lab):
    res = lab.chaos("--rack", "0", "--duplicate", "10")
    assert "bpf: duplicate 10%" in res.stdout, res.stdout
    dump, s, bpf = send_and_count(lab)
    assert s["received"] == SAMPLES and s["lost"] == 0, s
    assert_rate("duplicates counted by the collector", s["duplicates"], SAMPLES, 0.10)
    assert bpf["duplicated"] - 10 <= s["duplicates"] <= bpf["duplicated"], (s, bpf)


def test_corruption_counted_as_malformed(lab):
    res = lab.chaos("--rack", "0", "--corrupt", "5")
    assert "bpf: corrupt 5%" in res.stdout, res.stdout
    dump, s, bpf = send_and_count(lab)
    mal = dump["stats"]["malformed"]
    # Every corrupted sample reaches the collector as malformed (bad magic),
    # exactly; and only through the magic, so no other reason moves.
    assert mal["magic"] == bpf["corrupted"], (mal, bpf)
    assert sum(mal.values()) == mal["magic"], mal
    assert_rate("samples counted malformed", mal["magic"], SAMPLES, 0.05)
    # The agent's three goodbyes cross the same program, so up to three of
    # the corrupted datagrams may be goodbyes rather than samples.
    assert SAMPLES <= s["received"] + mal["magic"] <= SAMPLES + 3, (s, mal)


def test_clear_removes_only_its_own(lab):
    # Someone else's clsact with a filter on it: a collector on a0's ingress.
    other_pins = lab.pair.pin_dir + "-other"
    other = subprocess.Popen(lab.pair.prefix(lab.pair.ns_a) + [
        RACK, "--rack", "1", "--hook", "tc", "--iface", "a0", "--servers", "0", "--pin-dir",
        other_pins, "--state-dir", lab.pair.state_dir, "--metrics", "off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: "clsact" in lab.qdiscs() or other.poll() is not None, 10, "clsact")
        assert other.poll() is None, other.stderr.read()
        ingress_before = run("tc", "-n", lab.pair.ns_a, "filter", "show", "dev", "a0",
                             "ingress").stdout
        lab.chaos("--rack", "0", "--loss", "5")
        assert "handle 0x4e5c" in lab.egress_filters()
        assert os.path.exists(os.path.join(lab.pin_dir, f"{lab.pair.ns_a}-a0", "chaos_params"))
        res = lab.chaos("--rack", "0", "--clear")
        assert "cleared: bpf" in res.stdout, res.stdout
        assert lab.egress_filters().strip() == ""
        assert "clsact" in lab.qdiscs()  # not ours: it stays
        assert run("tc", "-n", lab.pair.ns_a, "filter", "show", "dev", "a0",
                   "ingress").stdout == ingress_before
        assert not os.path.exists(os.path.join(lab.pin_dir, f"{lab.pair.ns_a}-a0"))
    finally:
        other.terminate()
        other.wait(timeout=10)
        subprocess.run([RACK, "--rack", "1", "--pin-dir", other_pins, "--state-dir",
                        lab.pair.state_dir, "--unpin"], capture_output=True)
        shutil.rmtree(other_pins, ignore_errors=True)

    # With nobody else on it, the clsact the tool made goes with its filter.
    lab.chaos("--rack", "0", "--duplicate", "1")
    assert "clsact" in lab.qdiscs()
    lab.chaos("--rack", "0", "--clear")
    assert "clsact" not in lab.qdiscs()
    res = lab.chaos("--rack", "0", "--clear")
    assert "nothing was applied" in res.stdout


def test_list_shows_what_is_applied_where(lab):
    out = lab.chaos("--list").stdout
    assert f"rack 0 server 0 ({lab.pair.ns_a}/a0)" in out and "bpf: none" in out, out
    lab.chaos("--rack", "0", "--server", "0", "--loss", "20", "--burst", "4", "--corrupt", "1")
    out = lab.chaos("--list").stdout
    assert "netem: none" in out, out
    assert re.search(r"bpf: loss 20% \(bursts of 4\) corrupt 1% \(filter attached, prog id \d+",
                     out), out
    # A new apply replaces: the loss goes, the duplicate comes.
    lab.chaos("--rack", "0", "--duplicate", "3")
    out = lab.chaos("--list").stdout
    assert "bpf: duplicate 3% (filter attached" in out and "loss" not in out, out


@pytest.mark.skipif(kernel_has_netem(), reason="this kernel has sch_netem")
def test_netem_delay_fails_naming_sch_netem(lab):
    res = lab.chaos("--rack", "0", "--delay", "200ms", "--backend", "netem", check_rc=None)
    assert res.returncode == 1, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "sch_netem" in lines[0] and "backend netem" in lines[0], lines[0]
    assert "delay 200ms" in lines[0]
    assert "clsact" not in lab.qdiscs() and lab.egress_filters().strip() == ""


def test_unapplicable_fault_is_an_error(lab):
    # No control socket in the topology: nothing here can delay on this kernel.
    res = lab.chaos("--rack", "0", "--delay", "200ms", "--loss", "5", check_rc=None)
    if kernel_has_netem():
        pytest.skip("netem applies it here")
    assert res.returncode == 1, res
    assert "no backend can apply delay 200ms" in res.stderr, res.stderr
    assert "sch_netem" in res.stderr and "control socket" in res.stderr
    # All or nothing for the target: the loss was not applied either.
    assert lab.egress_filters().strip() == ""
    res = lab.chaos("--rack", "0", "--jitter", "5ms", "--backend", "bpf", check_rc=None)
    assert res.returncode == 1 and "backend bpf cannot apply jitter 5ms" in res.stderr


FAKE_AGENT = r"""
import os, socket, sys
path, answer = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(4096)
    print(data.decode(), flush=True)
    if addr:
        s.sendto(answer.encode(), addr)
"""


class FakeAgent:
    """A unix datagram server in the agent's namespace standing in for the
    agent's --control socket: records each request, answers `answer`."""

    def __init__(self, pair, path, answer='{"ok": true}'):
        self.path = path
        self.proc = subprocess.Popen(pair.prefix(pair.ns_a) + [
            "/usr/bin/python3", "-c", FAKE_AGENT, path, answer],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._pump, daemon=True).start()
        wait_for(lambda: self.got("ready") or self.proc.poll() is not None, 10, "fake agent")
        assert self.proc.poll() is None, self.proc.stderr.read()

    def _pump(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.strip())

    def got(self, what):
        with self.lock:
            return what in self.lines

    def requests(self):
        with self.lock:
            return [json.loads(l) for l in self.lines if l.startswith("{")]

    def wait_requests(self, n):
        """The first n requests: the agent prints each before it answers, but
        the line reaches us through a pipe and a thread, maybe after the
        answer has reached netwatch-chaos (bounded wait)."""
        return wait_for(lambda: len(self.requests()) >= n and self.requests(), 5,
                        f"{n} requests at the fake agent", 0.02)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        if os.path.exists(self.path):
            os.unlink(self.path)


def test_auto_sends_delay_to_the_agent(lab):
    path = f"/tmp/nwt-chaos-{lab.pair.tag}.sock"
    lab.write(control=path)
    agent = FakeAgent(lab.pair, path)
    try:
        res = lab.chaos("--rack", "0", "--delay", "200ms", "--jitter", "25ms", "--loss", "10")
        assert f"agent {path}: delay 200ms jitter 25ms" in res.stdout, res.stdout
        assert "bpf: loss 10%" in res.stdout, res.stdout
        assert agent.wait_requests(1) == [{"impair": "delay=200,jitter=25"}]
        assert "handle 0x4e5c" in lab.egress_filters()
        out = lab.chaos("--list").stdout
        assert f"agent: delay=200,jitter=25 (asked by netwatch-chaos; control {path})" in out, out
        res = lab.chaos("--rack", "0", "--clear")
        assert "cleared: bpf agent" in res.stdout, res.stdout
        assert agent.wait_requests(2)[-1] == {"impair": ""}
        assert "agent: nothing asked by netwatch-chaos" in lab.chaos("--list").stdout
        # An agent the tool did not impair is left alone by --clear (an
        # empty SPEC would also wipe what it was started with).
        n = len(agent.requests())
        res = lab.chaos("--rack", "0", "--clear")
        assert "nothing was applied" in res.stdout and len(agent.requests()) == n
    finally:
        agent.stop()
    # Clock skew only the agent can do; without a control socket it is an error.
    agent = FakeAgent(lab.pair, path)
    try:
        res = lab.chaos("--rack", "0", "--skew", "200")
        assert f"agent {path}: skew 200ppm" in res.stdout, res.stdout
        assert agent.wait_requests(1) == [{"impair": "delay=0,jitter=0,skew=200"}]
    finally:
        agent.stop()
    lab.write(control=None)
    res = lab.chaos("--rack", "0", "--skew", "200", "--loss", "5", check_rc=1)
    assert "no backend can apply skew 200ppm" in res.stderr, res.stderr
    assert lab.egress_filters().strip() == ""  # all or nothing
    lab.write(control=path)
    # An agent that refuses is an error that quotes it.
    agent = FakeAgent(lab.pair, path, answer='{"ok": false, "error": "delay out of range"}')
    try:
        res = lab.chaos("--rack", "0", "--delay", "200ms", check_rc=1)
        assert "backend agent cannot apply delay 200ms" in res.stderr, res.stderr
        assert "delay out of range" in res.stderr
    finally:
        agent.stop()
    # An agent that went away after being impaired: nothing of it to clear, not an error.
    agent = FakeAgent(lab.pair, path)
    try:
        lab.chaos("--rack", "0", "--delay", "20ms")
    finally:
        agent.stop()
    res = lab.chaos("--rack", "0", "--clear")
    assert "nothing was applied" in res.stdout
    assert "nothing asked" in lab.chaos("--list").stdout


def agent_has_control():
    return "--control" in subprocess.run([AGENT, "--help"], capture_output=True,
                                         text=True).stdout


def test_delay_through_the_real_agent(lab):
    if kernel_has_netem():
        pytest.skip("auto would use netem here")
    if not agent_has_control():
        pytest.skip("this netwatch-agent has no --control")
    path = f"/tmp/nwt-chaos-{lab.pair.tag}.sock"
    lab.write(control=path)
    col = Collector(lab.pair, "xdp", servers="0").start()
    agent = start_agent(lab.pair, "--controller", lab.pair.COLLECTOR_ADDR, "--rack", "0",
                        "--server", "0", "--rate", "50", "--control", path)
    try:
        wait_for(lambda: col.servers().get(0, {}).get("received", 0) >= 10, 15, "samples")
        res = lab.chaos("--rack", "0", "--delay", "200ms")
        assert f"agent {path}: delay 200ms" in res.stdout, res.stdout

        def delayed():
            hist = col.servers()[0]["latency_hist"]
            return sum(hist[11:]) >= 10  # (100 ms, 250 ms] and above
        wait_for(delayed, 15, "samples delayed by 200 ms")
        hist = col.servers()[0]["latency_hist"]
        assert sum(hist[12:]) == 0, hist  # nothing beyond 250 ms: no jitter asked
        lab.chaos("--rack", "0", "--clear")
    finally:
        agent.terminate()
        agent.wait(timeout=10)
        if os.path.exists(path):
            os.unlink(path)
        col.stop()
        col.unpin()


def test_shared_interface(lab):
    """Two servers behind one interface (one agent simulating both): faults
    are per interface, so asking for one warns about the other, and asking
    for both applies once."""
    with open(lab.topology) as f:
        doc = json.load(f)
    servers = doc["racks"][0]["servers"]
    servers.append(dict(servers[0], server_id=1))
    with open(lab.topology, "w") as f:
        json.dump(doc, f)
    res = lab.chaos("--rack", "0", "--server", "0", "--loss", "5")
    assert "rack 0 server 1" in res.stderr and "impaired too" in res.stderr, res.stderr
    res = lab.chaos("--rack", "0", "--loss", "5")
    assert res.stderr == "" and res.stdout.count("bpf: loss 5%") == 1, res
    assert "server 1" in res.stdout and "applied there" in res.stdout, res.stdout


def test_rack_applied_together(lab):
    """A rack's servers are loaded first and attached together
    (docs/chaos.md): each gets its own filter and maps, each is said once,
    after all are on; a second apply replaces each filter in place."""
    with open(lab.topology) as f:
        doc = json.load(f)
    doc["racks"][0]["servers"].append({"server_id": 1, "netns": lab.pair.ns_c, "iface": "c0"})
    with open(lab.topology, "w") as f:
        json.dump(doc, f)
    res = lab.chaos("--rack", "0", "--loss", "100")
    lines = [x for x in res.stdout.splitlines() if ": bpf: loss 100%" in x]
    assert [x.split(" (")[0] for x in lines] == ["rack 0 server 0", "rack 0 server 1"], res
    ids = re.findall(r"filter attached, prog id (\d+)", lab.chaos("--list").stdout)
    assert len(ids) == 2 and ids[0] != ids[1], ids
    lab.chaos("--rack", "0", "--duplicate", "3")
    out = lab.chaos("--list").stdout
    again = re.findall(r"bpf: duplicate 3% \(filter attached, prog id (\d+)", out)
    assert len(again) == 2 and not set(again) & set(ids), out


@pytest.mark.parametrize("args,needle,rc", [
    (["--rack", "0", "--loss", "120"], "--loss", 2),
    (["--rack", "7", "--loss", "5"], "no rack 7", 2),
    (["--rack", "0", "--server", "9", "--loss", "5"], "no server 9", 2),
    (["--rack", "0", "--loss", "5", "--burst", "2", "--clear"], "--clear", 2),
    (["--rack", "0"], "nothing to do", 2),
])
def test_bad_input_is_one_line_exit_2(lab, args, needle, rc):
    res = lab.chaos(*args, check_rc=None)
    assert res.returncode == rc, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], res.stderr


def test_missing_topology(tmp_path):
    res = subprocess.run([CHAOS, "--topology", str(tmp_path / "none.json"), "--list"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "none.json" in res.stderr and "--topology" in res.stderr
    env = dict(os.environ, NETWATCH_TOPOLOGY=str(tmp_path / "env.json"))
    res = subprocess.run([CHAOS, "--list"], capture_output=True, text=True, env=env)
    assert res.returncode == 2 and "env.json" in res.stderr
