"""Issue 15, "HTTP, privileges, files": what a hostile file, user or
client can do to the rack, the DC and the agent as processes. Each test
failed before its fix (docs/security.md says what each one guards).

Runs on the host's loopback (socket hook) or in namespaces made here;
needs root for the uid, namespace and bpffs cases."""

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import urllib.request

import pytest

from nwlab import AGENT, BUILD, RACK, free_port, run, wait_for
from slowloris import Slowloris

DC = os.path.join(BUILD, "netwatch-dc")
KEY_HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="nwt-hard-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- key file

def _fifo(tmp):
    path = os.path.join(tmp, "key.fifo")
    os.mkfifo(path, 0o600)
    return path


@pytest.mark.parametrize("prog", ["rack", "dc", "agent"])
def test_key_file_fifo_is_refused_not_waited_on(tmp, prog):
    """A FIFO as --key-file hung every program in open() forever."""
    fifo = _fifo(tmp)
    args = {
        "rack": [RACK, "--rack", "0", "--hook", "socket", "--listen", "127.0.0.1",
                 "--port", str(free_port(socket.SOCK_DGRAM)), "--servers", "1",
                 "--state-dir", os.path.join(tmp, "state"), "--metrics", "off",
                 "--key-file", fifo, "--duration", "5"],
        "dc": [DC, "--listen", f"127.0.0.1:{free_port()}", "--metrics", "off",
               "--key-file", fifo, "--duration", "5"],
        "agent": [AGENT, "--controller", f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
                  "--rack", "0", "--server", "1", "--count", "1", "--key-file", fifo],
    }[prog]
    res = subprocess.run(args, capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    assert "not a regular file" in res.stderr, res.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file away")
def test_key_file_of_another_owner_is_refused(tmp):
    key = os.path.join(tmp, "key")
    with open(key, "w") as f:
        f.write(KEY_HEX)
    os.chmod(key, 0o600)
    os.chown(key, 4242, 4242)
    res = subprocess.run([DC, "--listen", f"127.0.0.1:{free_port()}", "--metrics", "off",
                          "--key-file", key, "--duration", "5"],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    assert "owned by another user" in res.stderr, res.stderr


# -------------------------------------------------------------- record log

def test_record_log_is_private_whatever_the_umask(tmp):
    """--record-log was created 0666 under umask 000."""
    log = os.path.join(tmp, "records.log")
    old = os.umask(0)
    try:
        res = subprocess.run(
            [RACK, "--rack", "0", "--hook", "socket", "--listen", "127.0.0.1",
             "--port", str(free_port(socket.SOCK_DGRAM)), "--servers", "1",
             "--state-dir", os.path.join(tmp, "state"), "--metrics", "off",
             "--record-log", log, "--duration", "0.3"],
            capture_output=True, text=True, timeout=30)
    finally:
        os.umask(old)
    assert res.returncode == 0, res.stderr
    mode = stat.S_IMODE(os.stat(log).st_mode)
    assert mode & 0o037 == 0, oct(mode)  # 0600 or 0640, never more


# ---------------------------------------------------------- agent's errors

def test_agent_error_line_escapes_control_characters():
    """Raw control characters from a bad value reached the terminal."""
    bad = "1\n\x1b[31mFORGED level=error\r"
    res = subprocess.run([AGENT, "--controller", "127.0.0.1", "--rack", bad],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 2
    err = res.stderr
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", err), repr(err)
    assert "\\x0a\\x1b[31mFORGED" in err, repr(err)


# ------------------------------------------------------------ failed start

@pytest.mark.skipif(os.geteuid() != 0, reason="pins need root")
def test_failed_start_leaves_no_pinned_set():
    """A start that failed (here: no such interface) left every map pinned,
    the sample key among them."""
    pin_dir = f"/sys/fs/bpf/nwt-hard-{os.getpid()}"
    try:
        res = subprocess.run([RACK, "--rack", "5", "--hook", "xdp", "--iface", "nwtnosuch0",
                              "--pin-dir", pin_dir, "--servers", "1", "--metrics", "off"],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode != 0
        assert not os.path.exists(os.path.join(pin_dir, "rack5")), os.listdir(
            os.path.join(pin_dir, "rack5"))
    finally:
        subprocess.run([RACK, "--rack", "5", "--pin-dir", pin_dir, "--unpin"],
                       capture_output=True)
        shutil.rmtree(pin_dir, ignore_errors=True)


# ------------------------------------------------------------- slowloris

def test_dc_metrics_scraped_under_slowloris(tmp):
    """Issue 15 item 12 for the DC (the rack's case is in test_http.py):
    64 dribbling connections from 4 addresses held every /metrics slot."""
    port = free_port()
    dc = subprocess.Popen([DC, "--listen", f"127.0.0.1:{free_port()}", "--metrics",
                           f"127.0.0.1:{port}", "--duration", "60"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return dc.poll() is not None

    try:
        wait_for(healthy, 15, "the DC's /healthz")
        assert dc.poll() is None, dc.stderr.read()
        with Slowloris(port) as attack:
            wait_for(attack.accept_queue_empty, 10, "the DC to take the slow connections")
            for _ in range(3):
                with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
                    assert r.status == 200
                    body = r.read().decode()
                    assert "netwatch_dc_health_score" in body
        m = re.search(r'^netwatch_dc_http_connections_cut_total\{[^}]*reason="evicted"\} (\S+)$',
                      body, re.M)
        assert m and float(m.group(1)) >= 1, body[-2000:]
        assert dc.poll() is None
    finally:
        dc.terminate()
        dc.wait(timeout=10)
    err = dc.stderr.read()
    assert dc.returncode == 0, err
    assert "runtime error" not in err and "Sanitizer" not in err, err


# ------------------------------------------------------------------ unpin

def _tc(ns, *args):
    return run("tc", "-n", ns, *args).stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and tc need root")
def test_unpin_in_another_namespace_touches_only_netwatch_filter():
    """Issue 15 item 14: --unpin run in another namespace acted on the same
    ifindex there (destroying a stranger's filter and clsact) and left
    NetWatch's own filter attached where the controller ran."""
    from nwlab import Collector, VethPair

    with VethPair() as lab:
        col = Collector(lab, "tc").start()
        try:
            ifindex = int(run("ip", "-n", lab.ns_c, "-o", "link", "show", "c0").stdout
                          .split(":")[0])
            col.kill9()  # no detach: the filter stays behind
            assert "handle 0x4e57" in _tc(lab.ns_c, "filter", "show", "dev", "c0", "ingress")
            # A stranger in the agent's namespace, on the same ifindex, with
            # NetWatch's handle and priority, and one more filter of its own.
            run("ip", "-n", lab.ns_a, "link", "add", "nwtdum", "index", str(ifindex),
                "type", "veth", "peer", "name", "nwtdum2")
            run("tc", "-n", lab.ns_a, "qdisc", "add", "dev", "nwtdum", "clsact")
            # (classic BPF "return 0": cls_bpf is all this kernel has)
            run("tc", "-n", lab.ns_a, "filter", "add", "dev", "nwtdum", "ingress", "prio", "3",
                "handle", "0x4e57", "protocol", "all", "bpf", "bytecode", "1,6 0 0 0")
            run("tc", "-n", lab.ns_a, "filter", "add", "dev", "nwtdum", "ingress", "prio", "9",
                "protocol", "all", "bpf", "bytecode", "1,6 0 0 0")
            before = _tc(lab.ns_a, "filter", "show", "dev", "nwtdum", "ingress")

            res = subprocess.run(lab.prefix(lab.ns_a) + [
                RACK, "--rack", "0", "--pin-dir", lab.pin_dir, "--state-dir", lab.state_dir,
                "--unpin"], capture_output=True, text=True, timeout=30)
            assert res.returncode == 0, res.stderr

            assert "clsact" in _tc(lab.ns_a, "qdisc", "show", "dev", "nwtdum")
            assert _tc(lab.ns_a, "filter", "show", "dev", "nwtdum", "ingress") == before
            assert "handle" not in _tc(lab.ns_c, "filter", "show", "dev", "c0", "ingress"), \
                res.stderr
            assert not os.path.exists(os.path.join(lab.pin_dir, "rack0"))
        finally:
            if col.proc is not None:
                col.stop()
            col.unpin()


def test_restart_never_replaces_a_stranger_at_the_recorded_place():
    """Issue 15 item 14, at start: the rack replaced whatever filter sat at
    its recorded handle and priority on that ifindex, whoever's it was. A
    filter there that runs no program of this rack's (a stranger's, put in
    after a crash) must survive a restart; the rack refuses that hook."""
    from nwlab import Collector, VethPair

    with VethPair() as lab:
        col = Collector(lab, "tc").start()
        try:
            col.kill9()  # no detach: the filter and its record stay behind
            assert "handle 0x4e57" in _tc(lab.ns_c, "filter", "show", "dev", "c0", "ingress")
            # A stranger takes NetWatch's place (same handle and priority).
            run("tc", "-n", lab.ns_c, "filter", "replace", "dev", "c0", "ingress", "prio", "3",
                "handle", "0x4e57", "protocol", "all", "bpf", "bytecode", "1,6 0 0 0")
            before = _tc(lab.ns_c, "filter", "show", "dev", "c0", "ingress")
            assert "handle 0x4e57" in before

            res = subprocess.run(col.args, capture_output=True, text=True, timeout=30)
            assert res.returncode != 0, "the rack took a stranger's place: " + res.stderr
            assert _tc(lab.ns_c, "filter", "show", "dev", "c0", "ingress") == before, \
                res.stderr
        finally:
            if col.proc is not None:
                col.stop()
            run("tc", "-n", lab.ns_c, "qdisc", "del", "dev", "c0", "clsact", check=False)
            col.unpin()


# ------------------------------------------------------------- privileges

CAP_NET_ADMIN, CAP_BPF = 12, 39


def _status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and bpf need root")
@pytest.mark.parametrize("hook", ["xdp", "tc"])
def test_rack_runs_unprivileged_after_attach(hook):
    """Issue 15 item 13: the rack kept uid 0 after dropping to CAP_BPF +
    CAP_NET_ADMIN, so it still owned every root-owned file. Once attached
    it is `nobody` with those two capabilities, and still detaches cleanly
    at shutdown (the XDP link pin, the tc filter)."""
    from nwlab import Collector, VethPair

    with VethPair() as lab:
        col = Collector(lab, hook).start()
        try:
            st = wait_for(lambda: (lambda s: s if s["Uid"].split()[0] != "0" else None)(
                _status(col.proc.pid)), 10, "the uid switch")
            assert st["Uid"].split() == ["65534"] * 4, st["Uid"]
            assert st["Gid"].split() == ["65534"] * 4, st["Gid"]
            assert st["Groups"].split() == ["65534"], st["Groups"]
            want = (1 << CAP_BPF) | (1 << CAP_NET_ADMIN)
            assert int(st["CapEff"], 16) == want and int(st["CapPrm"], 16) == want
            assert int(st["CapBnd"], 16) == want and int(st["CapInh"], 16) == 0
            assert col.stop() == 0, col.log()
            link = run("ip", "-n", lab.ns_c, "-d", "link", "show", "c0").stdout
            assert "prog/xdp" not in link, link
            assert "handle" not in run("tc", "-n", lab.ns_c, "filter", "show", "dev", "c0",
                                       "ingress").stdout
            pins = os.listdir(os.path.join(lab.pin_dir, "rack0"))
            assert not [p for p in pins if p.startswith("link_xdp_")], pins
        finally:
            if col.proc is not None:
                col.stop()
            col.unpin()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop from")
def test_user_root_keeps_uid_but_drops_capabilities(tmp):
    port = free_port()
    rack = subprocess.Popen(
        [RACK, "--rack", "0", "--hook", "socket", "--listen", "127.0.0.1",
         "--port", str(free_port(socket.SOCK_DGRAM)), "--servers", "1",
         "--state-dir", os.path.join(tmp, "state"), "--metrics", f"127.0.0.1:{port}",
         "--user", "root", "--duration", "30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        st = wait_for(lambda: (lambda s: s if int(s["CapEff"], 16) == 0 else None)(
            _status(rack.pid)), 10, "the capability drop")
        assert st["Uid"].split()[0] == "0"
    finally:
        rack.terminate()
        rack.wait(timeout=10)


def test_unknown_user_is_a_usage_error(tmp):
    res = subprocess.run([RACK, "--rack", "0", "--hook", "socket", "--servers", "1",
                          "--user", "nwt-no-such-user", "--duration", "1"],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 2
    assert "--user" in res.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv")
def test_without_setuid_the_rack_warns_and_drops_capabilities(tmp):
    """Today's compose/k8s give no CAP_SETUID/SETGID: no half switch (a
    nobody gid under uid 0), one clear warning, capabilities still dropped."""
    rack = subprocess.Popen(
        ["setpriv", "--bounding-set=-setuid,-setgid", "--", RACK, "--rack", "0", "--hook",
         "socket", "--listen", "127.0.0.1", "--port", str(free_port(socket.SOCK_DGRAM)),
         "--servers", "1", "--state-dir", os.path.join(tmp, "state"), "--metrics", "off",
         "--duration", "30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        st = wait_for(lambda: (lambda s: s if int(s["CapEff"], 16) == 0 else None)(
            _status(rack.pid)), 10, "the capability drop")
        assert st["Uid"].split() == ["0"] * 4 and st["Gid"].split() == ["0"] * 4, st
    finally:
        rack.terminate()
        rack.wait(timeout=10)
    err = rack.stderr.read()
    assert rack.returncode == 0, err
    assert "cannot switch user without CAP_SETUID and CAP_SETGID" in err, err
