"""What a rack controller says when it cannot load its collector, as a
container user meets it: run as uid 0 with a compose-like bounding set that
lacks one capability, it names the missing one (not stale pins); with a
pinned map of another layout in its pin dir, it names that pin and --unpin.
Run the way test_compose.py runs the compose rights: setpriv, a network
namespace with eth0, the host's bpffs bound outside /sys."""
import os
import subprocess

import pytest

FULL = ["bpf", "perfmon", "net_admin", "setpcap"]


@pytest.fixture
def rig(repo, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, BPF): make test runs it as root")
    b = os.environ.get("NETWATCH_BUILD") or os.path.join(repo, "build")
    rack = os.path.join(b, "netwatch-rack")
    if not os.path.exists(rack):
        pytest.skip(f"{rack} not built (make test builds it first)")
    if not os.path.ismount("/sys/fs/bpf"):
        pytest.skip("no bpffs at /sys/fs/bpf")
    sfx = str(os.getpid() % 100000)
    ns, name = f"nwle-{sfx}", f"nwle-{sfx}"
    mnt = str(tmp_path / "bpffs")
    os.makedirs(mnt)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for c in (["link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"],
                  ["link", "set", "lo", "up"], ["link", "set", "eth0", "up"],
                  ["link", "set", "eth0p", "up"]):
            subprocess.run(["ip", "-n", ns, *c], check=True)

        def run(caps):
            bounding = "-all," + ",".join("+" + c for c in caps)
            cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   'mount --bind /sys/fs/bpf "$0" && exec "$@"', mnt,
                   "ip", "netns", "exec", ns, "setpriv", f"--bounding-set={bounding}",
                   "--inh-caps=-all", "--no-new-privs", rack, "--rack", "0", "--iface", "eth0",
                   "--hook", "xdp", "--servers", "0-1", "--pin-dir", f"{mnt}/{name}",
                   "--metrics", "127.0.0.1:8000", "--duration", "2"]
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        yield run, f"/sys/fs/bpf/{name}"
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", f"/sys/fs/bpf/{name}"])
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.mark.parametrize("drop,errno_text", [("perfmon", "Permission denied"),
                                             ("bpf", "Operation not permitted")])
def test_missing_capability_is_named(rig, drop, errno_text):
    run, _ = rig
    res = run([c for c in FULL if c != drop])
    assert res.returncode != 0
    err = [ln for ln in res.stderr.splitlines() if "level=error" in ln]
    assert len(err) == 1, res.stderr
    assert "cannot load BPF collector: missing capabilities" in err[0], err
    assert f"missing=CAP_{drop.upper()}" in err[0] and errno_text in err[0], err
    assert "--unpin" not in res.stderr  # no pins, so no stale-pins hint


def test_stale_pin_is_named_only_when_there(rig):
    run, host_dir = rig
    # A first run with every right pins the real maps: a second finds them
    # matching and loads (no hint); then one map of another layout.
    assert run(FULL).returncode == 0
    res = run(FULL)
    assert res.returncode == 0 and "level=error" not in res.stderr, res.stderr
    stale = f"{host_dir}/rack0/nw_stats"
    os.unlink(stale)
    subprocess.run(["bpftool", "map", "create", stale, "type", "hash", "key", "4", "value", "4",
                    "entries", "1", "name", "nw_stats"], check=True)
    res = run(FULL)
    assert res.returncode != 0
    err = [ln for ln in res.stderr.splitlines() if "level=error" in ln]
    assert len(err) == 1 and "pinned map does not match this build" in err[0], res.stderr
    assert "--unpin" in err[0] and err[0].rstrip().endswith("err=Invalid argument"), err
    assert "/rack0/nw_stats" in err[0] and "missing=" not in err[0], err
