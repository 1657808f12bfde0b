#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The DC controller end to end on loopback: CPU per report with the
sockets, epoll and state included, how many racks one core holds, memory,
and what /api/v1/dc and /metrics cost at that size.

Per step (racks R, servers per report S, keyed or not):
  DC:    taskset -c 1 build/netwatch-dc --racks R --stale 5 --metrics 127.0.0.1:P
         (--key-file K when keyed)
  racks: this process on CPU 0, one TCP connection per rack, one report per
         second per rack (seq and time_ns new each time, servers fixed),
         spread evenly over the second.
After WARM s, the DC's utime+stime over MEASURE s gives CPU % and µs per
report (CPU / reports accepted in the window); reports/s per core =
1e6 / µs. Then: VmRSS (at the window's start, rss0, and its end: flat over
time), racks read `ok` (of R), overloaded, and the time and
size of GET /api/v1/dc (default: summary + first page) and GET /metrics.
A step whose generator falls behind says so (sent/s below R).

Not a test: nothing is asserted. Environment:
  NW_DC_STEPS    "racks:servers[:keyed],..." default
                 "1000:40,1000:40:keyed,4000:40,10000:40,10000:40:keyed,100:1000,100:1000:keyed"
  NW_DC_WARM     seconds before measuring, default 4
  NW_DC_MEASURE  seconds measured, default 10
  NW_DC_MAC      the MAC kind keyed racks write: xchacha (default, what racks
                 send), blake2b or hmac (racks not yet upgraded)
  NETWATCH_BUILD directory of the binaries, default build/
"""
import json
import os
import resource
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("NETWATCH_BUILD", os.path.join(ROOT, "build"))
DC = os.path.join(BUILD, "netwatch-dc")
CLK_TCK = os.sysconf("SC_CLK_TCK")
STEPS = os.environ.get(
    "NW_DC_STEPS",
    "1000:40,1000:40:keyed,4000:40,10000:40,10000:40:keyed,100:1000,100:1000:keyed").split(",")
WARM = float(os.environ.get("NW_DC_WARM", "4"))
MEASURE = float(os.environ.get("NW_DC_MEASURE", "10"))

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from report_frame import FLAG_OF, WRITTEN, mac_of, report_keys  # noqa: E402
from nwlab import free_port  # noqa: E402

# the MAC kind keyed racks write: what racks send, or an older one to compare
MAC_KIND = os.environ.get("NW_DC_MAC", WRITTEN)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def get(port, path):
    t0 = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        body = r.read()
    return body, time.monotonic() - t0


def metric(body, name):
    """The first sample whose line starts with `name` (labels included if given)."""
    for line in body.decode().splitlines():
        if line.startswith(name if "{" in name else name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


class Rack:
    """One rack's connection and a payload template: only seq and time_ns
    change between reports, so the generator stays cheap."""

    def __init__(self, port, rack, nservers, key, boot_ns):
        servers = [{"id": 1000 + i, "class": "healthy", "error": round(0.0131 + 1e-5 * i, 9),
                    "snr_db": round(18.93 + 0.01 * i, 9), "loss_ratio": 0.0,
                    "jitter_s": round(0.000123 + 1e-7 * i, 9), "up": True}
                   for i in range(nservers)]
        head = json.dumps({"v": 1, "rack_id": rack, "boot_ns": boot_ns}, separators=(",", ":"))
        tail = json.dumps({"interval_s": 1.0, "rack_score": 0.975, "servers": servers},
                          separators=(",", ":"))
        self.head = head[:-1].encode() + b',"seq":'
        self.mid = b',"time_ns":'
        self.tail = b"," + tail[1:].encode()
        self.key = key
        self.seq = 0
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.pending = b""

    def send(self):
        self.seq += 1
        payload = (self.head + str(self.seq).encode() + self.mid + str(time.time_ns()).encode()
                   + self.tail)
        flags = FLAG_OF[MAC_KIND] if self.key else 0  # report_mac.h
        hdr = b"NWR" + bytes([1, flags, 0, 0, 0]) + struct.pack(">I", len(payload))
        body = hdr + payload
        if self.key:
            body += mac_of(MAC_KIND, self.key, body)
        data = self.pending + body
        try:
            n = self.sock.send(data)
        except BlockingIOError:
            n = 0
        self.pending = data[n:]
        return not self.pending


def step(nracks, nservers, keyed):
    port, http = free_port(), free_port()
    tmp = tempfile.mkdtemp(prefix="nwb-dc-")
    args = ["taskset", "-c", "1", DC, "--listen", f"127.0.0.1:{port}", "--metrics",
            f"127.0.0.1:{http}", "--racks", str(nracks), "--stale", "5",
            "--max-conns", str(nracks + 64)]
    key = None
    if keyed:
        master = secrets.token_bytes(32)
        path = os.path.join(tmp, "key")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, master.hex().encode() + b"\n")
        os.close(fd)
        args += ["--key-file", path]
        key = report_keys(master)
    dc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    racks = []
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                get(http, "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or dc.poll() is not None:
                    raise RuntimeError("DC did not start")
                time.sleep(0.05)
        pid = dc.pid  # taskset execs the DC
        boot = time.time_ns() - 10**9
        racks = [Rack(port, r, nservers, key, boot) for r in range(nracks)]
        t_start = time.monotonic()
        sent = behind = 0
        c0 = t0 = acc0 = None
        tick = 0
        while True:
            # one report per rack per second, in 50 slices of 20 ms
            now = time.monotonic() - t_start
            if now >= WARM + MEASURE:
                break
            if c0 is None and now >= WARM:
                body, _ = get(http, "/metrics")
                acc0 = metric(body, "netwatch_dc_reports_accepted_total")
                c0, t0 = cpu_ticks(pid), time.monotonic()
                rss0 = rss_mb(pid)
            lo = (tick % 50) * nracks // 50
            hi = (tick % 50 + 1) * nracks // 50
            for r in racks[lo:hi]:
                ok = r.send()
                sent += 1 if c0 is not None else 0
                behind += 0 if ok else 1
            tick += 1
            wait = t_start + tick * 0.02 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        c1, t1 = cpu_ticks(pid), time.monotonic()
        body, t_metrics = get(http, "/metrics")
        acc1 = metric(body, "netwatch_dc_reports_accepted_total")
        ok = metric(body, 'netwatch_dc_racks{dc_id="0",state="ok"}')
        overloaded = metric(body, "netwatch_dc_overloaded")
        api, t_api = get(http, "/api/v1/dc")
        accepted = (acc1 or 0) - (acc0 or 0)
        cpu_s = (c1 - c0) / CLK_TCK
        return {
            "racks": nracks, "servers": nservers, "keyed": keyed,
            "sent_per_s": sent / (t1 - t0), "accepted_per_s": accepted / (t1 - t0),
            "dc_cpu_pct": 100.0 * cpu_s / (t1 - t0),
            "us_per_report": 1e6 * cpu_s / accepted if accepted else None,
            "reports_per_s_per_core": accepted / cpu_s if cpu_s else None,
            "racks_ok": ok, "overloaded": overloaded, "sends_pending": behind,
            "rss0_mb": rss0, "rss_mb": rss_mb(pid), "api_bytes": len(api), "api_ms": 1000 * t_api,
            "metrics_bytes": len(body), "metrics_ms": 1000 * t_metrics,
        }
    finally:
        for r in racks:
            r.sock.close()
        dc.terminate()
        try:
            dc.wait(10)
        except subprocess.TimeoutExpired:
            dc.kill()
            dc.wait()
        subprocess.run(["rm", "-rf", tmp])


def fmt(x, spec):
    return format(x, spec) if x is not None else format("-", spec.split(".")[0])


def main():
    if not os.access(DC, os.X_OK):
        print(f"bench_dc: {DC} missing; run make first")
        return 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 32768 if hard == resource.RLIM_INFINITY else min(hard, 32768)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    os.sched_setaffinity(0, {0})
    print(f"bench_dc: DC on CPU 1, racks on CPU 0, 1 report/s per rack, "
          f"{WARM:.0f} s warm-up, {MEASURE:.0f} s measured")
    print(f"{'racks':>6} {'servers':>7} {'keyed':>5} {'sent/s':>7} {'acc/s':>7} {'cpu%':>6} "
          f"{'us/rep':>7} {'rep/s/core':>10} {'ok':>6} {'ovl':>3} {'rss0 MB':>7} {'rss MB':>7} "
          f"{'api KB':>7} {'api ms':>7} {'metr KB':>8} {'metr ms':>7}")
    for spec in STEPS:
        parts = spec.split(":")
        nracks, nservers, keyed = int(parts[0]), int(parts[1]), len(parts) > 2
        try:
            r = step(nracks, nservers, keyed)
        except Exception as e:  # report and go on with the next step
            print(f"{nracks:>6} {nservers:>7} {'yes' if keyed else 'no':>5} failed: {e}",
                  flush=True)
            continue
        print(f"{r['racks']:>6} {r['servers']:>7} {'yes' if keyed else 'no':>5} "
              f"{r['sent_per_s']:>7.0f} {r['accepted_per_s']:>7.0f} {r['dc_cpu_pct']:>6.1f} "
              f"{fmt(r['us_per_report'], '>7.1f')} {fmt(r['reports_per_s_per_core'], '>10.0f')} "
              f"{fmt(r['racks_ok'], '>6.0f')} {fmt(r['overloaded'], '>3.0f')} "
              f"{r['rss0_mb']:>7.1f} {r['rss_mb']:>7.1f} "
              f"{r['api_bytes'] / 1024:>7.0f} {r['api_ms']:>7.1f} "
              f"{r['metrics_bytes'] / 1024:>8.0f} {r['metrics_ms']:>7.1f}", flush=True)
        print("  " + json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
