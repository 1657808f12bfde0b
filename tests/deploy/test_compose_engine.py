"""The compose stack for real, on two engines, each through the command
docs/containers.md gives for it (compose_engine.ENGINES):
- Debian 12's own docker.io 20.10 and docker-compose 1.29 (what `make deps`
  installs): docker-compose.docker20.yml, `up -d --build`;
- Debian 13's docker.io 26.1 and Compose v2 (`make deps-compose-test`
  unpacks them apart from the system's): the least-privilege
  docker-compose.yml (BPF, PERFMON), `docker compose up -d --build`, Compose
  v2's own build (BuildKit).

Each engine is this test's own (compose_engine.py: own socket, data-root,
exec-root; no iptables, NAT or forwarding; addresses in a /21 of
198.18.0.0/15 each).
Nothing is pulled from a registry: the Dockerfile builds on a Debian base
made with debootstrap (DEBIAN_BUILD / DEBIAN_RUNTIME), and Prometheus is
deploy/docker/Dockerfile.prometheus, Debian's package. Grafana's image cannot
be had here, so Grafana is not started (its provisioning is checked by
test_compose.py and test_dashboards.py).

Asserted: every service healthy; every rack on hook xdp, every server up with
0 lost and the DC seeing every rack (their /metrics, through the published
ports); Prometheus's targets up; the documented chaos step moves the victim's
loss and nobody else's; `down -v` plus the documented pin cleanup leave no
container, network, volume or pin. Each phase's time is printed.
"""
import contextlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import pytest
import yaml

import compose_engine as eng

RACKS = 4
SERVERS = 8
PROJECT = "nwcomposetest"
PIN_NAME = "nwcompose-test"  # NETWATCH_PIN_NAME: never a real stack's netwatch-compose
HOST_PINS = f"/sys/fs/bpf/{PIN_NAME}"
PROM_IMAGE = "netwatch-prometheus:debian"
VICTIM = (0, 3)                       # docs/containers.md's chaos step: agent-r0s3
LOSS = "20%"
SERVICES = {"dc", "prometheus"} | {f"rack{r}" for r in range(RACKS)} | \
    {f"agent-r{r}s{s}" for r in range(RACKS) for s in range(SERVERS)}
COMPOSE_NETS = ipaddress.ip_network("198.19.240.0/20")


def say(config, line):
    """A line on the terminal even while pytest captures output."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if tr and capman:
        with capman.global_and_fixture_disabled():
            tr.write_line(f"[compose-engine] {line}")


def wait_for(what, fn, timeout, interval=1.0):
    """fn() until truthy; its last value is in the error."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = fn()
        if last and last is not True and isinstance(last, tuple) and last[0]:
            return last
        if last is True:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last}")


def http(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metrics(port):
    """[(family, {labels}, value)] from a controller's published /metrics."""
    out = []
    for ln in http(f"http://127.0.0.1:{port}/metrics").splitlines():
        m = SAMPLE.match(ln)
        if m and not ln.startswith("#"):
            out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def values(samples, family, **want):
    return [(lb, v) for f, lb, v in samples if f == family and
            all(lb.get(k) == str(x) for k, x in want.items())]


def rack_port(r):
    return 8001 + r


class Stack:
    def __init__(self, repo, engine, config, t0):
        self.repo, self.e, self.config = repo, engine, config
        self.files = [os.path.join(repo, "deploy", "compose", engine.f.compose_file)]
        self.env = {}
        self.times = {}
        self.chaos_others = {}
        self.t0 = t0

    def mark(self, phase):
        self.times[phase] = time.monotonic() - self.t0
        say(self.config, f"[{self.e.f.name}] {phase}: {self.times[phase]:.0f} s since start")

    def say_output(self, what, out):
        """The lines a user would see, in the test's log (docs/containers.md
        quotes them)."""
        self.e.log.write(f"--- {what}:\n{out}\n")
        self.e.log.flush()

    def compose(self, *args, **kw):
        return self.e.compose(self.files, PROJECT, *args, env=self.env, **kw)

    def build_override(self):
        """`build: {network: host}` for every service that builds, and make's
        -j2 (the Dockerfile's MAKEFLAGS arg: both cores for the build stage's
        `make all` and `make unit-test`, the bulk of a cold build)."""
        with open(self.files[0]) as f:
            doc = yaml.safe_load(f)
        path = os.path.join(self.e.run_dir, "build-network-host.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"services": {n: {"build": {"network": "host",
                                                       "args": {"MAKEFLAGS": MAKEFLAGS}}}
                                         for n, svc in doc["services"].items()
                                         if "build" in svc}}, f)
        return path

    def containers(self):
        """{service: (state, health)} of the project's containers; run
        containers (the chaos step's) under their own name."""
        ids = self.e.ids("container", "--filter", f"label=com.docker.compose.project={PROJECT}")
        if not ids:
            return {}
        fmt = ('{{index .Config.Labels "com.docker.compose.service"}}|{{.Name}}|'
               '{{index .Config.Labels "com.docker.compose.oneoff"}}|{{.State.Status}}|'
               '{{if .State.Health}}{{.State.Health.Status}}{{end}}')
        out = {}
        for ln in self.e.docker("inspect", "--format", fmt, *ids).stdout.splitlines():
            svc, name, oneoff, state, health = ln.split("|")
            out[name.lstrip("/") if oneoff == "True" else svc] = (state, health)
        return out

    def name_of(self, cid):
        return self.e.docker("inspect", "--format", "{{.Name}}", cid,
                             check=False).stdout.strip().lstrip("/") or cid[:12]

    def unhealthy_logs(self, st):
        bad = [n for n, (s, h) in st.items() if h != "healthy"]
        text = []
        for n in bad[:4]:
            r = self.compose("logs", "--no-color", "--tail", "15", n, check=False, timeout=60)
            text.append(f"--- {n} {st[n]}\n{r.stdout[-1500:]}")
        return "\n".join(text)

    def cleanup(self):
        """What a failed run leaves: the project, every container, network
        and volume of this daemon, and the test's pins."""
        self.compose("--profile", "monitoring", "down", "-v", "--remove-orphans", "-t", "5",
                     check=False, timeout=300)
        self.e.wipe()
        remove_pins()


def remove_pins():
    """The documented cleanup (`rm -rf /sys/fs/bpf/<pin dir>`), for this
    test's pin dir only: the racks' maps and XDP links go with their pins."""
    if os.path.lexists(HOST_PINS):
        subprocess.run(["rm", "-rf", "--one-file-system", HOST_PINS], check=True, timeout=60)


def test_data_roots_leave_a_file_system_overlay2_cannot_use(tmp_path):
    """CI's fresh machine has its root, and so the cache, on overlayfs, where
    dockerd can only use vfs. DataRoots puts the data-roots on an ext4 loop
    file there, one overlay2 works on, and unmounts it on the way out; on a
    file system overlay2 can use it leaves them where they are. The overlayfs
    here is made on a tmpfs of its own (an overlayfs's upper cannot be on
    overlayfs, as CI's /tmp is)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (mounts)")
    t, merged = tmp_path / "t", tmp_path / "merged"
    t.mkdir()
    merged.mkdir()
    eng.run(["mount", "-t", "tmpfs", "-o", "size=256m", "nwcompose-test", str(t)])
    log = open(tmp_path / "log", "w")
    try:
        for d in ("lower", "upper", "work"):
            (t / d).mkdir()
        eng.run(["mount", "-t", "overlay", "nwcompose-test", "-o",
                 f"lowerdir={t}/lower,upperdir={t}/upper,workdir={t}/work", str(merged)])
        try:
            with eng.DataRoots(log, str(t)) as roots:
                assert not roots.loop and roots.dir == str(t)
            for _ in range(2):  # made, then found again
                with eng.DataRoots(log, str(merged), size=1 << 30) as roots:
                    assert roots.loop and "overlayfs" in roots.why, roots.why
                    assert os.path.ismount(roots.dir)
                    assert eng.overlay2_unsupported(roots.dir) is None
                    (merged / eng.LOOP_MNT / "kept").touch(exist_ok=True)
                assert not os.path.ismount(merged / eng.LOOP_MNT)
            assert eng.run(["losetup", "-j", str(merged / eng.LOOP_FILE)]).stdout == ""
            # What a killed run leaves (mounted) is unmounted and reused.
            eng.run(["mount", "-o", "loop", str(merged / eng.LOOP_FILE),
                     str(merged / eng.LOOP_MNT)])
            with eng.DataRoots(log, str(merged), size=1 << 30) as roots:
                assert (merged / eng.LOOP_MNT / "kept").exists()
            assert not os.path.ismount(merged / eng.LOOP_MNT)
        finally:
            if os.path.ismount(merged / eng.LOOP_MNT):
                eng.run(["umount", str(merged / eng.LOOP_MNT)], check=False)
            eng.run(["umount", str(merged)], check=False)
    finally:
        log.close()
        eng.run(["umount", str(t)], check=False)


BUILD_CACHE_TAG = "netwatch-build:cache"


@pytest.fixture(scope="module")
def builder(repo, pytestconfig):
    """The 20.10 engine, its debootstrap base and the Prometheus image: it
    builds every image, for its own run and for the 26 engine's."""
    if os.geteuid() != 0:
        pytest.skip("needs root (a Docker engine of its own): make test runs it as root")
    for f in eng.ENGINES.values():
        assert not f.missing(), \
            f"{f.missing()} missing: `make deps` installs docker.io, docker-compose and " \
            f"debootstrap, and (make deps-compose-test) unpacks Docker 26 under {eng.ENGINE26}"
    assert os.access(eng.DEBOOTSTRAP, os.X_OK), "debootstrap missing: `make deps` installs it"
    with eng.machine_lock(timeout=1800), host_bpffs(pytestconfig):
        os.makedirs(eng.CACHE, exist_ok=True)
        log = open(os.path.join(eng.CACHE, "last-run.log"), "w")
        t0 = time.monotonic()
        try:
            # Left after the engine stops: a loop file system is unmounted.
            with eng.DataRoots(log) as roots:
                say(pytestconfig, roots.describe())
                yield from start_builder(pytestconfig, repo, log, roots, t0)
        finally:
            log.close()


@contextlib.contextmanager
def host_bpffs(config):
    """docs/containers.md: the racks bind the host's /sys/fs/bpf, which must
    be bpffs; where nothing mounted it (no systemd), this test does what the
    doc tells a user, and unmounts it again when it is the one that did."""
    if os.path.ismount("/sys/fs/bpf"):
        yield
        return
    eng.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"])
    say(config, "mounted bpffs at /sys/fs/bpf (docs/containers.md)")
    try:
        yield
    finally:
        eng.run(["umount", "/sys/fs/bpf"], check=False)


def start_builder(pytestconfig, repo, log, roots, t0):
    engine = eng.Engine(log, eng.ENGINES["20.10"], roots.dir)
    say(pytestconfig, f"engine log: {engine.run_dir}/dockerd.log, commands: {log.name}")
    try:
        engine.start()
        engine.wipe()  # a killed earlier run's leftovers
        base = engine.ensure_base()
        say(pytestconfig, f"debootstrap base ready: {time.monotonic() - t0:.0f} s")
        engine.build(os.path.join(repo, "deploy", "docker", "Dockerfile.prometheus"),
                     os.path.join(repo, "deploy", "docker"), PROM_IMAGE,
                     args={"DEBIAN_RUNTIME": base})
        say(pytestconfig, f"prometheus image built: {time.monotonic() - t0:.0f} s")
        yield engine, base, t0
    finally:
        try:
            if engine.proc and engine.proc.poll() is None:
                engine.wipe()
        finally:
            engine.stop()
            say(pytestconfig, f"20.10 engine stopped: {time.monotonic() - t0:.0f} s")


MAKEFLAGS = "-j2"


def build_args(base):
    """What compose passes (the file's and build_override's args): the same
    args, the same layer cache."""
    return {"DEBIAN_BUILD": base, "DEBIAN_RUNTIME": base, "MAKEFLAGS": MAKEFLAGS}


def keep_build_cache(repo, builder_engine, base):
    """The build stage is an untagged image, which `image prune` would take
    with its whole layer cache: tagged (every step cached, a few seconds),
    only earlier runs' replaced layers go."""
    builder_engine.build(os.path.join(repo, "deploy", "docker", "Dockerfile"), repo,
                         BUILD_CACHE_TAG, target="build", args=build_args(base))
    builder_engine.docker("image", "prune", "-f", timeout=300)


@pytest.fixture(scope="module", params=list(eng.ENGINES))
def stack(request, repo, pytestconfig, builder):
    """The stack up on one engine, through the command docs/containers.md
    gives for it."""
    b_engine, base, t0 = builder
    flavour = eng.ENGINES[request.param]
    own = flavour is not b_engine.f
    engine = eng.Engine(b_engine.log, flavour, os.path.dirname(b_engine.data_root)) \
        if own else b_engine
    st = Stack(repo, engine, pytestconfig, t0)
    st.env = {**build_args(base), "NETWATCH_PIN_NAME": PIN_NAME,
              "NETWATCH_PROMETHEUS_IMAGE": PROM_IMAGE}
    try:
        if own:
            engine.start()
            st.cleanup()  # a killed earlier run's leftovers
            st.mark(f"{flavour.name} engine up")
        # One test-only file on top of the documented one, for the build
        # alone: the build's apt-get and npm use the host's network, as these
        # engines have no NAT of their own. It is on every later command too:
        # compose's config hash covers `build`, and a command without it
        # would recreate the DC and racks.
        st.files.append(st.build_override())
        if flavour.name == "20.10":
            # docs/containers.md, Debian 12: docker-compose 1.29's build, the
            # classic builder.
            st.compose("up", "-d", "--build", timeout=2400)
            keep_build_cache(repo, engine, base)
        else:
            # docs/containers.md, current engines: Compose v2's own build
            # (BuildKit, its layer cache in this engine's data-root), from
            # the same debootstrap base imported here. Only the Prometheus
            # stand-in, which no user builds, comes from the 20.10 engine.
            assert engine.ensure_base() == base
            engine.load_from(b_engine, [PROM_IMAGE])
            st.mark("base and prometheus image in the 26 engine")
            st.compose("up", "-d", "--build", timeout=2400)
            engine.docker("image", "prune", "-f", timeout=300)
        st.mark("up -d --build returned")
        # Then Prometheus alone (Grafana's image is not to be had here): a
        # second `up`, which must leave what runs alone.
        running = running_ids(st)
        st.compose("up", "-d", "prometheus", timeout=300)
        now = running_ids(st)
        st.replaced_by_second_up = sorted(st.name_of(i) for i in running
                                          if now.get(i) != running[i])

        def all_healthy():
            c = st.containers()
            ok = set(c) == SERVICES and all(h == "healthy" for _, h in c.values())
            return (ok, {n: v for n, v in c.items() if v[1] != "healthy"})
        try:
            wait_for("every service healthy", all_healthy, timeout=300, interval=2)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{st.unhealthy_logs(st.containers())}") from None
        st.mark("every service healthy")
        yield st
    finally:
        try:
            st.cleanup()
        finally:
            if own:
                engine.stop()
            st.mark(f"{flavour.name}: cleaned up")


def test_every_service_healthy(stack):
    c = stack.containers()
    assert set(c) == SERVICES
    assert all(v == ("running", "healthy") for v in c.values()), c


def test_a_second_up_leaves_what_runs(stack):
    """`up -d prometheus` after `up -d --build` recreates and restarts
    nothing. With a build per service, Compose v2 recreated racks here, and
    their servers' samples in between were lost (docs/containers.md)."""
    assert stack.replaced_by_second_up == []


def test_compose_addresses_in_the_benchmark_block(stack):
    """The networks the engine made are the file's, all in 198.19.240.0/20,
    and each rack controller holds its fixed address."""
    nets = stack.e.ids("network", "--filter", f"label=com.docker.compose.project={PROJECT}")
    assert len(nets) == RACKS + 1
    for n in nets:
        info = json.loads(stack.e.docker("network", "inspect", n).stdout)[0]
        for cfg in info["IPAM"]["Config"]:
            assert ipaddress.ip_network(cfg["Subnet"]).subnet_of(COMPOSE_NETS), cfg
    for r in range(RACKS):
        cid = stack.compose("ps", "-a", "-q", f"rack{r}").stdout.split()[0]
        info = json.loads(stack.e.docker("inspect", cid).stdout)[0]
        addrs = [v["IPAddress"] for v in info["NetworkSettings"]["Networks"].values()]
        assert addrs == [f"198.19.{241 + r}.2"], addrs


CAP_NUMBERS = {"SETPCAP": 8, "NET_ADMIN": 12, "SYS_ADMIN": 21, "PERFMON": 38, "BPF": 39}


def test_racks_get_the_capabilities_of_their_file(stack):
    """What the engine gave each rack controller is what its file asks for:
    BPF and PERFMON on current engines, SYS_ADMIN on 20.10; the process's
    bounding set holds nothing beyond them."""
    for r in range(RACKS):
        cid = stack.compose("ps", "-a", "-q", f"rack{r}").stdout.split()[0]
        info = json.loads(stack.e.docker("inspect", cid).stdout)[0]
        got = {c.removeprefix("CAP_") for c in info["HostConfig"]["CapAdd"]}
        assert got == stack.e.f.caps, (r, got)
        assert info["HostConfig"]["CapDrop"] in (["ALL"], ["CAP_ALL"]), info["HostConfig"]
        with open(f"/proc/{info['State']['Pid']}/status") as f:
            bnd = int(next(ln for ln in f if ln.startswith("CapBnd:")).split()[1], 16)
        # The daemon shrinks its bounding set once attached: what is left
        # is within what the file gave, and NET_ADMIN (XDP) is kept.
        given = sum(1 << CAP_NUMBERS[c] for c in stack.e.f.caps)
        assert bnd & ~given == 0 and bnd >> CAP_NUMBERS["NET_ADMIN"] & 1, (r, hex(bnd))


def test_every_rack_on_xdp_every_server_up(stack):
    """Hook, servers up, samples counted. Their loss is checked at the end
    against what each agent says it sent (test_nothing_sent_was_lost)."""
    for r in range(RACKS):
        def ready():
            m = metrics(rack_port(r))
            ups = values(m, "netwatch_server_up", rack_id=r)
            return (len(ups) == SERVERS and all(v == 1 for _, v in ups), m)
        m = wait_for(f"rack {r}: every server up", ready, timeout=60)[1]
        hooks = {lb["hook"] for lb, v in values(m, "netwatch_collector_info", rack_id=r) if v == 1}
        assert hooks == {"xdp"}, (r, hooks)
        for s in range(SERVERS):
            got = values(m, "netwatch_packets_received_total", rack_id=r, server_id=s)
            assert got and got[0][1] > 0, (r, s, got)


def test_the_dc_sees_every_rack(stack):
    def seen():
        m = metrics(8000)
        rep = values(m, "netwatch_dc_racks_reporting", dc_id="compose")
        ok = {lb["rack_id"] for lb, v in values(m, "netwatch_dc_rack_state", state="ok") if v == 1}
        return (rep and rep[0][1] == RACKS and ok == {str(r) for r in range(RACKS)}, rep, ok)
    wait_for("the DC seeing every rack", seen, timeout=60)


def test_prometheus_targets_up_and_rules_loaded(stack):
    def targets():
        t = json.loads(http("http://127.0.0.1:9090/api/v1/targets"))["data"]["activeTargets"]
        return (len(t) == RACKS + 2 and all(x["health"] == "up" for x in t),
                [(x["labels"].get("instance"), x["health"]) for x in t])
    wait_for("every Prometheus target up", targets, timeout=60, interval=2)
    groups = json.loads(http("http://127.0.0.1:9090/api/v1/rules"))["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert rules and all(r["health"] == "ok" for r in rules), \
        [(r["name"], r["health"], r.get("lastError")) for r in rules if r["health"] != "ok"]


def test_an_image_that_cannot_be_pulled(stack):
    """What a user without registry access sees with --profile monitoring:
    Grafana's image from a registry that answers nothing (127.0.0.1:1,
    connection refused: no traffic leaves the host). `up` fails naming the
    image, and what runs keeps running, healthy."""
    image = "127.0.0.1:1/grafana/grafana:11.3.1"
    before = running_ids(stack)
    res = stack.e.compose(stack.files, PROJECT, "--profile", "monitoring", "up", "-d",
                          env={**stack.env, "NETWATCH_GRAFANA_IMAGE": image}, check=False,
                          timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    # 1.29 names the image, v2 the service; both the registry's error.
    assert "grafana" in out and 'Get "http://127.0.0.1:1/v2/"' in out and \
        "connection refused" in out, out[-2000:]
    if stack.e.f.name == "20.10":
        assert f"Pulling grafana ({image})" in out, out[-2000:]
    stack.say_output(f"a pull that fails ({stack.e.f.name})", out)
    assert "grafana" not in stack.containers()
    # Nothing was recreated or stopped; health is judged by the checks'
    # own clock (on a loaded host one may time out once and recover).
    assert running_ids(stack) == before
    wait_for("every service healthy after the failed pull", lambda: (
        all(h == "healthy" for _, h in stack.containers().values()), stack.containers()),
        timeout=120, interval=2)


def running_ids(stack):
    """{container id: start time} of the project's running containers."""
    ids = stack.e.ids("container", "--filter", f"label=com.docker.compose.project={PROJECT}",
                      "--filter", "status=running")
    out = stack.e.docker("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", *ids).stdout
    return dict(ln.split() for ln in out.splitlines())


def lost_by_server():
    out = {}
    for r in range(RACKS):
        for lb, v in values(metrics(rack_port(r)), "netwatch_packets_lost_total"):
            out[(int(lb["rack_id"]), int(lb["server_id"]))] = v
    return out


def agent_report(stack, container):
    """The JSON an agent prints on its way out (sent, dropped, late_skipped:
    agent/stats.c), from a stopped container's log."""
    out = stack.e.docker("logs", container).stdout
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert lines, f"{container}: no report in its log:\n{out[-1000:]}"
    return json.loads(lines[-1])


def not_sent(report):
    """What the agent never put on the wire: dropped (impaired away, or ticks
    skipped while the host stalled it) and failed sends."""
    return report["dropped"] + report["send_failed"]


def test_chaos_step_moves_only_the_victims_loss(stack):
    """docs/containers.md, "Fault injection", with the 20.10 file: the agent
    replaced by one that drops 20 % on the wire. The victim's loss moves by
    what its agent dropped; nobody else's moves by more than what their own
    agents never sent (checked against their reports at the end)."""
    r, s = VICTIM
    svc, bad = f"agent-r{r}s{s}", f"r{r}s{s}-bad"
    stack.compose("stop", svc, timeout=120)
    try:
        before = lost_by_server()
        assert len(before) == RACKS * SERVERS, sorted(before)
        stack.compose("run", "-d", "--name", bad, svc, "--controller", f"rack{r}", "--rack",
                      str(r), "--server", str(s), "--impair", f"loss={LOSS}", timeout=120)
        # 20 Hz at 20 %: about 4 lost a second.
        wait_for("the victim's loss counted", lambda: (
            lost_by_server()[VICTIM] - before[VICTIM] >= 20, lost_by_server()[VICTIM]), timeout=60)
        stack.e.docker("stop", "-t", "10", bad)
        after = lost_by_server()
        rep = agent_report(stack, bad)
        moved = after[VICTIM] - before[VICTIM]
        # Impaired away on purpose: the agent counts each as dropped; what it
        # dropped last may still be inside the collector's reorder window.
        assert 20 <= moved <= not_sent(rep), (moved, rep)
        others = {k: after[k] - before[k] for k in after if k != VICTIM and after[k] != before[k]}
        stack.chaos_others = others
        say(stack.config, f"chaos: victim lost +{moved} (its agent dropped {rep['dropped']} of "
            f"{rep['generated']}); others' loss moved: {others or 'none'}")
    finally:
        stack.e.docker("rm", "-f", bad, check=False)
        stack.compose("start", svc, timeout=120)
    wait_for(f"{svc} healthy again", lambda: stack.containers().get(svc) == ("running", "healthy"),
             timeout=90, interval=2)


def test_nothing_sent_was_lost(stack):
    """Every server but the victim: the collector's lost count never exceeds
    what its agent itself did not send. On a quiet host that is 0; on an
    overloaded one an agent stalled past its tick tolerance skips ticks and
    says so (late_skipped), and the collector rightly counts those as lost:
    the wire lost nothing either way."""
    agents = {(r, s): f"agent-r{r}s{s}" for r in range(RACKS) for s in range(SERVERS)
              if (r, s) != VICTIM}
    stack.compose("stop", "-t", "10", *agents.values(), timeout=300)
    lost = lost_by_server()
    total_lost = total_skipped = 0
    for key, svc in agents.items():
        cid = stack.compose("ps", "-a", "-q", svc).stdout.split()[0]
        rep = agent_report(stack, cid)
        assert rep["generated"] > 0 and rep["sent"] > 0, (svc, rep)
        if lost[key] > not_sent(rep):
            # Both sides with times, and when the rack's container started:
            # a rack recreated under a running agent looks exactly like this.
            rack = stack.compose("logs", "--no-color", f"rack{key[0]}", check=False).stdout
            rid = stack.compose("ps", "-a", "-q", f"rack{key[0]}").stdout.split()[0]
            rack += stack.e.docker("inspect", "--format",
                                   "restarts={{.RestartCount}} oom={{.State.OOMKilled}} "
                                   "exit={{.State.ExitCode}} started={{.State.StartedAt}}",
                                   rid, check=False).stdout
            agent = stack.e.docker("logs", "-t", cid, check=False)
            raise AssertionError(f"{svc}: lost {lost[key]}, its agent did not send "
                                 f"{not_sent(rep)}: {rep}\n--- {svc}:\n"
                                 f"{(agent.stdout + agent.stderr)[-3000:]}\n"
                                 f"--- rack{key[0]}:\n{rack[-12000:]}")
        total_lost += lost[key]
        total_skipped += rep["late_skipped"]
    say(stack.config, f"31 agents: collector lost {total_lost}, agents skipped while stalled "
        f"{total_skipped}")


def test_down_and_cleanup_leave_nothing(stack):
    """The documented `--profile monitoring down -v` (Compose v2 leaves a
    profile's containers alone without it), then `rm -rf` of the pin dir:
    no container, network, volume, pin or bridge address left."""
    assert os.path.isdir(HOST_PINS)  # the racks pinned where they were told
    stack.compose("--profile", "monitoring", "down", "-v", timeout=300)
    remove_pins()
    stack.mark("down -v and pin cleanup done")
    assert stack.e.ids("container") == []
    assert stack.e.ids("network") == []
    assert stack.e.ids("volume") == []
    assert not os.path.lexists(HOST_PINS)
    addrs = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True,
                           check=True).stdout
    for link in json.loads(addrs):
        for a in link.get("addr_info", []):
            if a.get("family") == "inet":
                assert ipaddress.ip_address(a["local"]) not in COMPOSE_NETS or \
                    not link["ifname"].startswith("br-"), link["ifname"]
    assert shutil.which("ip")
