#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Scale run of the rack controller: how many simulated servers at 20 Hz one
controller core keeps up with, xdp hook vs socket hook, in the same run.

Two network namespaces joined by a veth (198.18.0.1/30 collector side,
198.18.0.2/30 agent side). Per step (servers N, hook H):
  collector: taskset -c 1 nsenter --net=NS_C build/netwatch-rack --rack 0 --iface c0
             --hook H --servers 0-(N-1) --max-servers 16384 --discover off
             --pin-dir <fresh> --state-dir <fresh> --metrics off --dump --interval 1
  agent:     taskset -c 0 nsenter --net=NS_A build/netwatch-agent --controller
             198.18.0.1 --rack 0 --server 0 --servers N --freq 1.0 --rate 20
             --duration D -q
The collector's CPU is the utime+stime delta of its /proc/<pid>/stat over the
agent's run (plus a 2 s drain). Its last dump (at SIGTERM) gives
stats.samples, stats.ring_full and the per-server lost; the agent's JSON
gives sent and dropped. A step "keeps up" when ring_full == 0, lost == 0,
dropped == 0 and the servers' received (summed) == sent (stats.samples also
counts each server's goodbyes, so it is a little above sent).

Needs root. Not a test: nothing is asserted. Environment:
  NW_SCALE_STEPS     servers per step, default "1000,2500,5000,10000"
  NW_SCALE_DURATION  seconds per step, default 20
  NW_SCALE_HOOKS     default "xdp,socket"
  NETWATCH_BUILD     directory of the binaries, default build/
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("NETWATCH_BUILD", os.path.join(ROOT, "build"))
RACK = os.path.join(BUILD, "netwatch-rack")
AGENT = os.path.join(BUILD, "netwatch-agent")
CLK_TCK = os.sysconf("SC_CLK_TCK")

STEPS = [int(x) for x in os.environ.get("NW_SCALE_STEPS", "1000,2500,5000,10000").split(",")]
DURATION = float(os.environ.get("NW_SCALE_DURATION", "20"))
HOOKS = os.environ.get("NW_SCALE_HOOKS", "xdp,socket").split(",")

TAG = f"{os.getpid() % 100000}{secrets.token_hex(2)}"
NS_C, NS_A = f"nwb-c-{TAG}", f"nwb-a-{TAG}"
PIN_BASE = f"/sys/fs/bpf/netwatch-bench-{TAG}"
STATE_BASE = f"/tmp/netwatch-bench-{TAG}"
created_ns = []
procs = []


def run(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    for ns in reversed(created_ns):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    created_ns.clear()
    shutil.rmtree(PIN_BASE, ignore_errors=True)
    shutil.rmtree(STATE_BASE, ignore_errors=True)


def on_signal(signum, _frame):
    cleanup()
    sys.exit(128 + signum)


def setup_lab():
    for ns in (NS_C, NS_A):
        run("ip", "netns", "add", ns)
        created_ns.append(ns)
    tmp_c, tmp_a = f"nbc{TAG}"[:15], f"nba{TAG}"[:15]
    run("ip", "link", "add", tmp_c, "type", "veth", "peer", "name", tmp_a)
    run("ip", "link", "set", tmp_c, "netns", NS_C, "name", "c0")
    run("ip", "link", "set", tmp_a, "netns", NS_A, "name", "a0")
    for ns, dev, addr in ((NS_C, "c0", "198.18.0.1"), (NS_A, "a0", "198.18.0.2")):
        run("ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
        run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "-n", ns, "link", "set", "lo", "up")
    # socket hook: room for a burst of 10k servers' samples
    for ns in (NS_C,):
        subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "sysctl", "-q",
                        "net.core.rmem_max=33554432", "net.core.rmem_default=33554432"],
                       capture_output=True)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def last_json_line(path):
    last = None
    with open(path) as f:
        for line in f:
            if line.startswith("{"):
                last = line
    return json.loads(last) if last else None


def step(n, hook):
    pin = f"{PIN_BASE}/{hook}-{n}"
    state = f"{STATE_BASE}/{hook}-{n}"
    os.makedirs(state, exist_ok=True)
    out = f"{STATE_BASE}/dump-{hook}-{n}.jsonl"
    err = f"{STATE_BASE}/rack-{hook}-{n}.log"
    cargs = ["taskset", "-c", "1", "nsenter", f"--net=/run/netns/{NS_C}", RACK, "--rack", "0",
             "--iface", "c0", "--hook", hook, "--servers", f"0-{n - 1}", "--max-servers", "16384",
             "--discover", "off", "--pin-dir", pin, "--state-dir", state, "--metrics", "off",
             "--dump", "--interval", "1"]
    with open(out, "w") as fo, open(err, "w") as fe:
        coll = subprocess.Popen(cargs, stdout=fo, stderr=fe)
    procs.append(coll)
    started = time.monotonic()
    # xdp: registering a server swaps its ring into the nw_rings map-in-map,
    # ~10 ms each (the kernel waits for an RCU grace period per update):
    # ~100 s for 10k servers.
    deadline = started + 300
    while time.monotonic() < deadline:
        if coll.poll() is not None:
            with open(err) as f:
                raise RuntimeError(f"collector exited: {f.read()[-2000:]}")
        if os.path.getsize(out) > 0:
            break
        time.sleep(0.2)
    else:
        coll.kill()
        coll.wait()
        procs.remove(coll)
        raise RuntimeError("no dump from the collector within 300 s")
    startup_s = time.monotonic() - started
    time.sleep(1.5)
    # the collector's pid is nsenter's child (nsenter execs? it forks by default)
    pid = coll.pid
    kids = run("pgrep", "-P", str(pid), check=False).stdout.split()
    if kids:
        pid = int(kids[0])
    t0, c0 = time.monotonic(), cpu_ticks(pid)
    aargs = ["taskset", "-c", "0", "nsenter", f"--net=/run/netns/{NS_A}", AGENT, "--controller",
             "198.18.0.1", "--rack", "0", "--server", "0", "--servers", str(n), "--freq", "1.0",
             "--rate", "20", "--duration", str(DURATION), "-q"]
    ag = subprocess.run(aargs, capture_output=True, text=True, timeout=DURATION + 120)
    time.sleep(2.0)  # let the last records drain
    t1, c1 = time.monotonic(), cpu_ticks(pid)
    rss = rss_kb(pid)
    coll.send_signal(signal.SIGTERM)
    coll.wait(timeout=60)
    procs.remove(coll)
    alines = [l for l in ag.stdout.splitlines() if l.startswith("{")]
    agent = json.loads(alines[-1]) if alines else {}
    dump = last_json_line(out) or {"stats": {}, "servers": []}
    st = dump["stats"]
    servers = dump["servers"]
    res = {
        "servers": n, "hook": dump.get("hook", hook), "duration_s": DURATION,
        "startup_s": round(startup_s, 1),
        "agent_sent": agent.get("sent"), "agent_dropped": agent.get("dropped"),
        "agent_send_failed": agent.get("send_failed"),
        "samples": st.get("samples"), "packets": st.get("packets"),
        "samples_per_s": sum(s.get("received", 0) for s in servers) / DURATION,
        "ring_full": st.get("ring_full"),
        "lost": sum(s.get("lost", 0) for s in servers),
        "received": sum(s.get("received", 0) for s in servers),
        "servers_listed": len(servers),
        "collector_cpu_pct": 100.0 * (c1 - c0) / CLK_TCK / (t1 - t0),
        "collector_rss_mb": rss / 1024.0,
        "dump_bytes_per_interval": os.path.getsize(out) // max(1, sum(1 for _ in open(out))),
    }
    res["kept_up"] = (res["ring_full"] == 0 and res["lost"] == 0 and res["agent_dropped"] == 0
                      and res["agent_send_failed"] == 0 and res["received"] == res["agent_sent"])
    subprocess.run([RACK, "--rack", "0", "--pin-dir", pin, "--state-dir", state, "--unpin"],
                   capture_output=True)
    shutil.rmtree(pin, ignore_errors=True)
    os.unlink(out)
    return res


def main():
    if os.geteuid() != 0:
        print("bench_scale: needs root; skipped")
        return 0
    for b in (RACK, AGENT):
        if not os.access(b, os.X_OK):
            print(f"bench_scale: {b} missing; run make first")
            return 1
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"bench_scale: {DURATION:.0f} s per step, collector on CPU 1, agent on CPU 0, "
          f"20 Hz per server, hooks {','.join(HOOKS)}")
    print(f"{'servers':>8} {'hook':>7} {'sent':>9} {'samples':>9} {'samples/s':>10} "
          f"{'cpu%':>6} {'ring_full':>9} {'lost':>6} {'dropped':>7} {'rss MB':>7} "
          f"{'start s':>7} kept_up")
    try:
        setup_lab()
        for n in STEPS:
            for hook in HOOKS:
                try:
                    r = step(n, hook)
                except Exception as e:  # report and go on with the next step
                    print(f"{n:>8} {hook:>7} failed: {e}", flush=True)
                    continue
                print(f"{r['servers']:>8} {r['hook']:>7} {r['agent_sent']!s:>9} "
                      f"{r['samples']!s:>9} {r['samples_per_s']:>10.0f} "
                      f"{r['collector_cpu_pct']:>6.1f} {r['ring_full']!s:>9} {r['lost']:>6} "
                      f"{r['agent_dropped']!s:>7} {r['collector_rss_mb']:>7.0f} "
                      f"{r['startup_s']:>7.1f} {r['kept_up']}",
                      flush=True)
                print("  " + json.dumps(r), flush=True)
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
