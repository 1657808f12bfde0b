"""deploy/compose/docker-compose.yml through Debian's docker-compose 1.29
(`config` parses, validates and resolves it without an engine), then the
security-relevant fields of the resolved file: who gets capabilities, who runs
as root, mounts, health checks, restart policies, limits, networks; and that
the committed file is what deploy/compose/generate.py writes."""
import fnmatch
import importlib.util
import ipaddress
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from nwlab import stop_process  # tests/integration, on the path by conftest.py

import compose_engine as eng

RACKS = 4
SERVERS = 8
RACK_CAPS = {"BPF", "PERFMON", "NET_ADMIN"}
# SETPCAP only lets the daemon shrink its own bounding set after attaching
# (docs/containers.md); anything beyond these is a regression.
RACK_CAPS_ALLOWED = RACK_CAPS | {"SETPCAP"}
NONROOT = ("agent", "dc")


def compose_dir(repo):
    return os.path.join(repo, "deploy", "compose")


def resolved(repo, *files, env=None):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose not found: `make deps` installs Debian's docker-compose"
    cmd = [exe]
    for f in files:
        cmd += ["-f", os.path.join(compose_dir(repo), f)]
    # No engine is asked anything by `config`; a clean environment keeps a
    # user's COMPOSE_*/DOCKER_* settings out of the result.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/"),
           **(env or {})}
    res = subprocess.run(cmd + ["config"], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, f"docker-compose config failed:\n{res.stderr}"
    return yaml.safe_load(res.stdout)


@pytest.fixture(scope="module")
def cfg(repo):
    return resolved(repo, "docker-compose.yml")


@pytest.fixture(scope="module")
def services(cfg):
    return cfg["services"]


def role(name):
    if name == "dc":
        return "dc"
    if re.fullmatch(r"rack\d+", name):
        return "rack"
    if re.fullmatch(r"agent-r\d+s\d+", name):
        return "agent"
    return name


def norm(service):
    """A service with its network entries' None/{} (the same: no options)
    made equal, as a merge of two files writes {} where one file wrote None."""
    s = dict(service)
    if isinstance(s.get("networks"), dict):
        s["networks"] = {k: v or {} for k, v in s["networks"].items()}
    if "cap_add" in s:  # a merge sorts capabilities
        s["cap_add"] = sorted(s["cap_add"])
    if "volumes" in s:  # and may reorder mounts
        s["volumes"] = sorted(s["volumes"], key=lambda v: v["target"])
    return s


def uid(user):
    return int(str(user).split(":")[0])


def test_the_seeds_services(services):
    """The seed's list: 1 DC controller, 4 rack controllers, 32 servers,
    Prometheus, Grafana. It calls that "37 containers"; the list is 39 (37
    NetWatch ones plus the two upstream images), and the list is what is
    built (docs/containers.md)."""
    want = {"dc", "prometheus", "grafana"} | {f"rack{r}" for r in range(RACKS)} | \
        {f"agent-r{r}s{s}" for r in range(RACKS) for s in range(SERVERS)}
    assert set(services) == want
    assert sum(1 for n in services if role(n) in ("dc", "rack", "agent")) == 37
    assert len(services) == 39


def test_rack_controllers_get_bpf_caps_not_privileged(services):
    for r in range(RACKS):
        s = services[f"rack{r}"]
        caps = set(s.get("cap_add", []))
        assert RACK_CAPS <= caps <= RACK_CAPS_ALLOWED, (r, caps)
        assert "SYS_ADMIN" not in caps
        assert not s.get("privileged", False)
        assert s.get("cap_drop") == ["ALL"]
        # The host's bpffs, writable (pins), at the container path the pin
        # dir is under; not under /sys, where docker-default AppArmor denies
        # writes (docs/containers.md).
        binds = [v for v in s.get("volumes", []) if v.get("type") == "bind"]
        bpffs = [v for v in binds if v["source"] == "/sys/fs/bpf"]
        assert len(bpffs) == 1 and not bpffs[0].get("read_only"), binds
        target = bpffs[0]["target"]
        assert not target.startswith("/sys/"), target
        pin_dir = s["command"][s["command"].index("--pin-dir") + 1]
        assert pin_dir.startswith(target.rstrip("/") + "/"), (pin_dir, target)
        # No memlock ulimit: kernels >= 5.11 charge BPF maps to the memory
        # cgroup, and the engine needs CAP_SYS_RESOURCE to set one.
        assert "memlock" not in (s.get("ulimits") or {}), s.get("ulimits")
        assert "no-new-privileges:true" in s.get("security_opt", [])
        for k in ("network_mode", "pid", "ipc", "devices", "userns_mode"):
            assert k not in s, (r, k)


def test_nobody_else_has_privileges(services):
    for name, s in services.items():
        if role(name) == "rack":
            continue
        assert not s.get("privileged", False), name
        assert not s.get("cap_add"), (name, s.get("cap_add"))
        assert s.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in s.get("security_opt", []), name
        for k in ("network_mode", "pid", "ipc", "devices", "userns_mode"):
            assert k not in s, (name, k)
        for v in s.get("volumes", []):
            src = str(v.get("source", ""))
            assert not src.startswith("/sys") and not src.startswith("/proc") and \
                "docker.sock" not in src, (name, v)


BUILDERS = {"dc": "dc", "rack": "rack0", "agent": "agent-r0s0"}


def test_one_service_builds_each_image(services):
    """Compose v2's file: the first service of each image builds it, the
    others name it and never pull it. With a `build:` on every service,
    Compose v2 built and labelled the image once per service, and the next
    `up` recreated racks whose container held another build's digest (engine
    test, docs/containers.md)."""
    for name, s in services.items():
        if role(name) not in BUILDERS:
            continue
        assert s["image"] == f"netwatch-{role(name)}:local", name
        if name == BUILDERS[role(name)]:
            assert s["build"]["target"] == role(name) and "pull_policy" not in s, name
        else:
            assert "build" not in s and s.get("pull_policy") == "never", name


def test_every_docker20_service_builds_its_image(repo):
    """docker-compose 1.29's file: each NetWatch service has `build:` for its
    own image. With one builder per image and the rest image-only, 1.29's
    `up --build` on a fresh engine pulled netwatch-rack:local for rack2
    before rack0 built it (engine test, docs/containers.md)."""
    for name, s in resolved(repo, "docker-compose.docker20.yml")["services"].items():
        if role(name) in BUILDERS:
            assert s["build"]["target"] == role(name) and "pull_policy" not in s, name
            assert s["image"] == f"netwatch-{role(name)}:local", name


def test_who_runs_as_root(services):
    for name, s in services.items():
        assert "user" in s, name
        if role(name) == "rack":
            assert uid(s["user"]) == 0
        else:
            assert uid(s["user"]) != 0, (name, s["user"])


def test_nonroot_images_default_to_the_same_user(repo, services):
    """The Dockerfile's USER of the agent and dc stages is non-root and the one
    compose names, so the image is safe without compose's `user:` too."""
    stage_user = {}
    stage = None
    with open(os.path.join(repo, "deploy", "docker", "Dockerfile")) as f:
        for line in f:
            m = re.match(r"\s*FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
            if m:
                stage = m.group(1)
            m = re.match(r"\s*USER\s+(\S+)", line, re.I)
            if m:
                stage_user[stage] = m.group(1)
    for name, s in services.items():
        if role(name) in NONROOT:
            assert s["image"] == f"netwatch-{role(name)}:local"
            assert uid(stage_user[role(name)]) != 0
            assert stage_user[role(name)] == s["user"], name


def test_health_restart_and_limits(services):
    for name, s in services.items():
        hc = s.get("healthcheck")
        assert hc and hc.get("test") and not hc.get("disable"), name
        test = " ".join(hc["test"])
        if role(name) in ("rack", "dc"):
            assert "http://127.0.0.1:8000/healthz" in test, (name, test)
            assert hc["test"][:2] == ["CMD", "curl"]
        elif role(name) == "agent":
            r, srv = re.fullmatch(r"agent-r(\d+)s(\d+)", name).groups()
            # The agent serves no HTTP: its own stream, as its collector sees
            # it, asked at the controller's fixed address (no DNS lookup).
            assert f"http://198.19.{241 + int(r)}.2:8000/metrics" in test, test
            assert list(s["networks"]) == [f"net-rack{r}"], s["networks"]
            assert f'netwatch_server_up{{rack_id="{r}",server_id="{srv}"}} 1' in test, test
        assert s.get("restart") in ("always", "unless-stopped", "on-failure"), name
        assert s.get("mem_limit"), name
        assert 0 < float(s.get("cpus", 0)) <= 2, name
        assert int(s.get("pids_limit", 0)) > 0, name


def test_networks_one_bridge_per_rack(cfg, services):
    nets = cfg["networks"]
    assert set(nets) == {"net-core"} | {f"net-rack{r}" for r in range(RACKS)}
    for r in range(RACKS):
        rack = services[f"rack{r}"]
        # The fixed address is in the subnet but outside the range the engine
        # hands out dynamically: the DC, which starts first, or an agent can
        # never take it ("Address already in use").
        ipam = nets[f"net-rack{r}"]["ipam"]["config"][0]
        fixed = ipaddress.ip_address(rack["networks"][f"net-rack{r}"]["ipv4_address"])
        subnet = ipaddress.ip_network(ipam["subnet"])
        dynamic = ipaddress.ip_network(ipam["ip_range"])
        assert fixed in subnet and dynamic.subnet_of(subnet) and fixed not in dynamic, ipam
        assert fixed != next(subnet.hosts())  # the gateway's
        # Its one network is eth0: what --iface names.
        assert list(rack["networks"]) == [f"net-rack{r}"]
        cmd = rack["command"]
        assert cmd[cmd.index("--iface") + 1] == "eth0"
        assert cmd[cmd.index("--rack") + 1] == str(r)
        assert cmd[cmd.index("--dc") + 1] == "dc:9990"
        assert cmd[cmd.index("--servers") + 1] == f"0-{SERVERS - 1}"
        subnet = nets[f"net-rack{r}"]["ipam"]["config"][0]["subnet"]
        addr = rack["networks"][f"net-rack{r}"]["ipv4_address"]
        assert addr.rsplit(".", 1)[0] == subnet.split("/")[0].rsplit(".", 1)[0]
        for srv in range(SERVERS):
            a = services[f"agent-r{r}s{srv}"]
            assert list(a["networks"]) == [f"net-rack{r}"]
            cmd = a["command"]
            assert cmd[cmd.index("--controller") + 1] == f"rack{r}"
            assert cmd[cmd.index("--rack") + 1] == str(r)
            assert cmd[cmd.index("--server") + 1] == str(srv)
            assert "--freq" not in cmd  # the seed plan is the agent's default
            assert a["depends_on"][f"rack{r}"]["condition"] == "service_healthy"
    every = {"net-core"} | {f"net-rack{r}" for r in range(RACKS)}
    assert set(services["dc"]["networks"]) == every
    assert set(services["prometheus"]["networks"]) == every
    assert set(services["grafana"]["networks"]) == {"net-core"}


def test_published_ports_loopback_and_distinct(services):
    seen = {}
    for name, s in services.items():
        for p in s.get("ports", []):
            # 1.29 resolves the short form to HOST_IP:PUBLISHED:TARGET/PROTO.
            m = re.fullmatch(r"([\d.]+):(\d+):(\d+)(/tcp)?", str(p))
            assert m, (name, p)
            assert m.group(1) == "127.0.0.1", (name, p)
            published = int(m.group(2))
            assert published not in seen, (name, seen)
            seen[published] = name
    assert seen[8000] == "dc" and seen[9090] == "prometheus" and seen[3000] == "grafana"
    assert {seen[8001 + r] for r in range(RACKS)} == {f"rack{r}" for r in range(RACKS)}


def test_monitoring_is_optional(repo, services):
    """Prometheus and Grafana start only with --profile monitoring (or when
    named), so NetWatch comes up where their images cannot be pulled; nothing
    of NetWatch depends on them."""
    for name, s in services.items():
        if name in ("prometheus", "grafana"):
            assert s.get("profiles") == ["monitoring"], name
        else:
            assert not s.get("profiles"), name
            deps = s.get("depends_on") or {}
            assert not {"prometheus", "grafana"} & set(deps), name
    # Their images can be named from the environment (a locally built one).
    env = {"NETWATCH_PROMETHEUS_IMAGE": "netwatch-prometheus:debian",
           "NETWATCH_GRAFANA_IMAGE": "local/grafana:1"}
    other = resolved(repo, "docker-compose.yml", env=env)["services"]
    assert other["prometheus"]["image"] == "netwatch-prometheus:debian"
    assert other["grafana"]["image"] == "local/grafana:1"


def test_prometheus_uses_the_project_config_and_compose_targets(repo, services):
    p = services["prometheus"]
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", p["image"])
    mounts = {v["target"]: v for v in p["volumes"]}
    assert mounts["/etc/prometheus"]["source"] == os.path.join(repo, "deploy", "prometheus")
    assert mounts["/etc/prometheus/targets"]["source"] == \
        os.path.join(compose_dir(repo), "prometheus-targets")
    assert mounts["/etc/prometheus"].get("read_only")
    assert "--config.file=/etc/prometheus/prometheus.yml" in p["command"]

    with open(os.path.join(repo, "deploy", "prometheus", "prometheus.yml")) as f:
        prom = yaml.safe_load(f)
    tdir = os.path.join(compose_dir(repo), "prometheus-targets")
    files = sorted(os.listdir(tdir))
    by_job = {}
    for job in prom["scrape_configs"]:
        for sd in job.get("file_sd_configs", []):
            for pattern in sd["files"]:
                for fn in files:
                    if fnmatch.fnmatch("targets/" + fn, pattern):
                        with open(os.path.join(tdir, fn)) as f:
                            for group in json.load(f):
                                by_job.setdefault(job["job_name"], []).extend(group["targets"])
    assert sorted(by_job["netwatch-rack"]) == [f"rack{r}:8000" for r in range(RACKS)]
    assert by_job["netwatch-dc"] == ["dc:8000"]
    assert by_job["prometheus"] == ["localhost:9090"]
    for fn in files:
        with open(os.path.join(tdir, fn)) as f:
            for group in json.load(f):
                assert set(group) <= {"targets", "labels"}, (fn, group)
                for t in group["targets"]:
                    assert re.fullmatch(r"[a-z0-9.-]+:\d+", t), (fn, t)
                for k, v in group.get("labels", {}).items():
                    # prometheus.yml: the controllers export these themselves.
                    assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", k) and isinstance(v, str)
                    assert k not in ("rack_id", "server_id", "state"), (fn, k)


def test_prometheus_accepts_the_config_as_mounted(repo, tmp_path):
    """The directory Prometheus sees in the container (deploy/prometheus with
    compose's targets over targets/), through Debian's promtool."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: `make deps` installs Debian's prometheus"
    d = tmp_path / "etc-prometheus"
    shutil.copytree(os.path.join(repo, "deploy", "prometheus"), d,
                    ignore=shutil.ignore_patterns("targets"))
    shutil.copytree(os.path.join(compose_dir(repo), "prometheus-targets"), d / "targets")
    res = subprocess.run([promtool, "check", "config", str(d / "prometheus.yml")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def test_grafana_provisioned_from_the_repository(repo, services):
    g = services["grafana"]
    assert re.fullmatch(r"grafana/grafana:\d+\.\d+\.\d+", g["image"])
    mounts = {v["target"]: v["source"] for v in g["volumes"] if v["type"] == "bind"}
    d = os.path.join(repo, "dashboards")
    assert mounts == {
        "/etc/grafana/provisioning/datasources": os.path.join(d, "provisioning", "datasources"),
        "/etc/grafana/provisioning/dashboards": os.path.join(d, "provisioning", "dashboards"),
        "/var/lib/grafana/dashboards": d,
    }


def test_docker20_file_only_swaps_the_racks_bpf_caps(repo, cfg, services):
    """docker-compose.docker20.yml is standalone (an override cannot remove
    BPF and PERFMON: compose merges cap_add, and Docker 20.10 refuses both
    names). It is docker-compose.yml with SYS_ADMIN in their place on the
    rack controllers and a `build:` on every NetWatch service (1.29 cannot
    use image-only ones: test_every_docker20_service_builds_its_image), and
    nothing else changed."""
    old = resolved(repo, "docker-compose.docker20.yml")
    assert set(old["services"]) == set(services)
    assert old["networks"] == cfg["networks"] and old.get("volumes") == cfg.get("volumes")
    def one_builder(name, s):
        """The docker20 service as docker-compose.yml has it."""
        if role(name) not in BUILDERS or name == BUILDERS[role(name)]:
            return s
        return {**{k: v for k, v in s.items() if k != "build"}, "pull_policy": "never"}
    for name, s in old["services"].items():
        s = one_builder(name, s)
        if role(name) == "rack":
            assert set(s["cap_add"]) == (set(services[name]["cap_add"]) - {"BPF", "PERFMON"}) | \
                {"SYS_ADMIN"}
            assert not s.get("privileged", False)
            s = {k: v for k, v in s.items() if k != "cap_add"}
            want = {k: v for k, v in services[name].items() if k != "cap_add"}
            assert norm(s) == norm(want), name
        else:
            assert norm(s) == norm(services[name]), name
    # No file in deploy/compose/ names a capability that 20.10 refuses for
    # the 20.10 command: the one documented is this file alone.
    assert "BPF" not in json.dumps(old["services"]["rack0"]["cap_add"])


def test_generated_files_are_current(repo):
    spec = importlib.util.spec_from_file_location(
        "nw_compose_generate", os.path.join(compose_dir(repo), "generate.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    outs = gen.outputs()
    assert "docker-compose.yml" in outs
    for rel, text in outs.items():
        with open(os.path.join(compose_dir(repo), rel)) as f:
            assert f.read() == text, \
                f"{rel} is stale: run /usr/bin/python3 deploy/compose/generate.py"
    tdir = os.path.join(compose_dir(repo), "prometheus-targets")
    assert sorted(os.listdir(tdir)) == \
        sorted(os.path.basename(r) for r in outs if r.startswith("prometheus-targets"))


# ------------------------------------------------------------------ the rights, for real
# No engine runs here, but the rights compose gives can be reproduced with the
# kernel's own tools: a rack controller as uid 0 whose bounding set is exactly
# the compose cap_add (setpriv, no_new_privs), alone in a network namespace
# with eth0, pinning into the host's bpffs bind-mounted outside /sys; an agent
# as the compose user with no capability. Not reproduced: the engine's
# seccomp and AppArmor profiles (docs/containers.md says which engines).

CAP_BITS = {"NET_ADMIN": 12, "SETPCAP": 8, "PERFMON": 38, "BPF": 39}


def run(*cmd, check=True):
    return subprocess.run(list(cmd), capture_output=True, text=True, check=check, timeout=30)


def wait_for(what, fn, timeout=20.0):
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns, *cmd]


def http_code(ns, url):
    r = subprocess.run(in_ns(ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                             "--max-time", "2", url), capture_output=True, text=True, timeout=10)
    return r.stdout.strip()


def cap_mask(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
    raise AssertionError(f"no {field} for {pid}")


def metric(ns, family, *labels):
    """The value of the first sample of `family` carrying every label given
    (`name="value"` strings), from the /metrics on 127.0.0.1:8000 in ns."""
    r = subprocess.run(in_ns(ns, "curl", "-fsS", "--max-time", "2", "http://127.0.0.1:8000/metrics"),
                       capture_output=True, text=True, timeout=10)
    for ln in r.stdout.splitlines():
        if ln.startswith(family + "{") and all(lb in ln for lb in labels):
            return float(ln.split()[-1])
    return None


def test_compose_v2_keeps_one_builder_per_image_with_keys(repo, tmp_path):
    """docker-compose.yml with the keys file, resolved by Compose v2 (the
    plugin make deps unpacks for the engine test): still one builder per
    image, every other NetWatch service pull_policy never."""
    plugin = eng.ENGINES["26"].plugin
    assert os.access(plugin, os.X_OK), f"{plugin} missing: `make deps` unpacks it"
    os.makedirs(tmp_path / "cli-plugins")
    os.symlink(plugin, tmp_path / "cli-plugins" / "docker-compose")
    d = compose_dir(repo)
    res = subprocess.run([eng.ENGINES["26"].docker, "compose", "-f",
                          os.path.join(d, "docker-compose.yml"), "-f",
                          os.path.join(d, "docker-compose.keys.yml"), "config"],
                         capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                              "DOCKER_CONFIG": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    svcs = yaml.safe_load(res.stdout)["services"]
    built = sorted(n for n, s in svcs.items() if "build" in s)
    assert built == sorted(BUILDERS.values()), built
    assert all(s.get("pull_policy") == "never" for n, s in svcs.items()
               if role(n) in BUILDERS and n not in built)


@pytest.fixture(scope="module")
def keyed(repo):
    return resolved(repo, "docker-compose.yml", "docker-compose.keys.yml")["services"]


def test_keys_override_adds_only_the_key(repo, services, keyed):
    assert set(keyed) == set(services)
    for name, s in keyed.items():
        if role(name) not in ("rack", "dc", "agent"):
            assert norm(s) == norm(services[name]), name
            continue
        path = s["environment"]["NETWATCH_KEY_FILE"]
        added = [v for v in s["volumes"] if v not in services[name].get("volumes", [])]
        assert len(added) == 1 and added[0]["target"] == path and added[0]["read_only"], added
        # Each reader owns its copy: root for the racks, the compose user otherwise.
        owner = "root" if role(name) == "rack" else str(uid(s["user"]))
        assert added[0]["source"] == os.path.join(compose_dir(repo), "keys", f"netwatch.key.{owner}")
        rest = dict(s)
        rest.pop("environment")
        rest["volumes"] = [v for v in s["volumes"] if v not in added]
        if not rest["volumes"]:
            rest.pop("volumes")
        # 1.29's merge drops pull_policy; Compose v2, whose file this is,
        # keeps it (test_compose_v2_keeps_one_builder_per_image_with_keys).
        want = {k: v for k, v in services[name].items() if k != "pull_policy"}
        assert norm(rest) == norm(want), name
    # Key files are never committed.
    for owner in ("root", "10001"):
        r = subprocess.run(["git", "-C", repo, "check-ignore", "-q",
                            f"deploy/compose/keys/netwatch.key.{owner}"])
        assert r.returncode == 0, f"keys/netwatch.key.{owner} is not gitignored"


@pytest.mark.parametrize("with_keys", [False, True], ids=["open", "keyed"])
def test_compose_rights_run_a_rack_an_agent_and_the_dc(repo, services, keyed, tmp_path,
                                                       with_keys):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, BPF): make test runs it as root")
    b = os.environ.get("NETWATCH_BUILD") or os.path.join(repo, "build")
    for x in ("netwatch-rack", "netwatch-agent", "netwatch-dc"):
        if not os.path.exists(os.path.join(b, x)):
            pytest.skip(f"{b}/{x} not built (make test builds it first)")
    for tool in ("setpriv", "curl", "ip", "unshare"):
        assert shutil.which(tool), f"{tool} missing: `make deps` installs it"
    if not os.path.ismount("/sys/fs/bpf"):
        pytest.skip("no bpffs at /sys/fs/bpf on this host (compose needs one too)")

    rack, agent, dc = services["rack0"], services["agent-r0s3"], services["dc"]
    caps = rack["cap_add"]
    sfx = f"{os.getpid() % 100000}"
    rns, ans = f"nwhc-r{sfx}", f"nwhc-a{sfx}"
    mnt = str(tmp_path / "host-bpffs")
    pin = f"{mnt}/nwhc-{sfx}"
    host_pin = f"/sys/fs/bpf/nwhc-{sfx}"  # the same directory, seen from the host
    rack_bin, agent_bin = os.path.join(b, "netwatch-rack"), os.path.join(b, "netwatch-agent")
    dc_bin = os.path.join(b, "netwatch-dc")

    # The compose commands, with what names compose's own world swapped out:
    # the pin dir under this test's mount, addresses for service names. The
    # DC shares the agent's namespace (in compose it is on the rack's bridge).
    cmd = list(rack["command"])
    cmd[cmd.index("--pin-dir") + 1] = pin
    cmd[cmd.index("--metrics") + 1] = "127.0.0.1:8000"
    cmd[cmd.index("--dc") + 1] = "198.19.250.2:9990"
    bounding = "-all," + ",".join("+" + c.lower() for c in caps)
    # The bind lives in a private mount namespace of the rack's own, as in a
    # container: it goes with the process, so a killed test never leaves the
    # host's bpffs mounted under a tmp dir that a later cleanup would rm -rf.
    rack_cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind /sys/fs/bpf "$0" && exec "$@"', mnt,
                *in_ns(rns, "setpriv", f"--bounding-set={bounding}", "--inh-caps=-all",
                       "--no-new-privs", rack_bin, *cmd)]
    acmd = list(agent["command"])
    acmd[acmd.index("--controller") + 1] = "198.19.250.1"
    user = str(agent["user"]).split(":")
    agent_cmd = in_ns(ans, "setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups",
                      "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", agent_bin, *acmd)
    check = agent["healthcheck"]["test"][1].replace("http://198.19.241.2:", "http://127.0.0.1:")
    duser = str(dc["user"]).split(":")
    dc_cmd = in_ns(ans, "setpriv", f"--reuid={duser[0]}", f"--regid={duser[1]}", "--clear-groups",
                   "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", dc_bin,
                   *dc["command"])
    dc_check = dc["healthcheck"]["test"][1:]
    assert dc_check[0] == "curl"

    env = dict(os.environ)
    keydir = None
    if with_keys:
        # docker-compose.keys.yml's two copies, owned as it says, in a
        # directory uid 10001 may traverse (pytest's tmp_path is root-only).
        import tempfile
        keydir = tempfile.mkdtemp(prefix="nwhc-keys-")
        os.chmod(keydir, 0o711)
        key = os.urandom(32).hex() + "\n"
        paths = {}
        for name in ("rack0", "agent-r0s3", "dc"):
            src = next(v["source"] for v in keyed[name]["volumes"]
                       if v["target"] == keyed[name]["environment"]["NETWATCH_KEY_FILE"])
            dst = os.path.join(keydir, os.path.basename(src))
            if dst not in paths.values():
                with open(dst, "w") as f:
                    f.write(key)
                os.chmod(dst, 0o600)
                o = 0 if dst.endswith(".root") else uid(keyed[name]["user"])
                os.chown(dst, o, o)
            paths[name] = dst
        # Why two copies: the rack (uid 0, no DAC_OVERRIDE) cannot read the
        # agents' one, owned by 10001.
        wrong_owner_rack = ["env", f"NETWATCH_KEY_FILE={paths['agent-r0s3']}"] + rack_cmd + \
            ["--duration", "5"]
        # One NETWATCH_KEY_FILE per process: passed through setpriv's env.
        rack_cmd = ["env", f"NETWATCH_KEY_FILE={paths['rack0']}"] + rack_cmd
        agent_cmd = ["env", f"NETWATCH_KEY_FILE={paths['agent-r0s3']}"] + agent_cmd
        dc_cmd = ["env", f"NETWATCH_KEY_FILE={paths['dc']}"] + dc_cmd

    procs = []
    log = open(tmp_path / "rack.log", "w+")

    def start_rack():
        p = subprocess.Popen(rack_cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
        procs.append(p)
        wait_for("rack /healthz 200", lambda: p.poll() is None and
                 http_code(rns, "http://127.0.0.1:8000/healthz") == "200")
        return p

    def stop(p):
        stop_process(p, 10)

    try:
        run("ip", "netns", "add", rns)
        run("ip", "netns", "add", ans)
        run("ip", "link", "add", f"nwhc{sfx}r", "type", "veth", "peer", "name", f"nwhc{sfx}a")
        run("ip", "link", "set", f"nwhc{sfx}r", "netns", rns)
        run("ip", "link", "set", f"nwhc{sfx}a", "netns", ans)
        run("ip", "-n", rns, "link", "set", f"nwhc{sfx}r", "name", "eth0")
        run("ip", "-n", ans, "link", "set", f"nwhc{sfx}a", "name", "eth0")
        run("ip", "-n", rns, "addr", "add", "198.19.250.1/30", "dev", "eth0")
        run("ip", "-n", ans, "addr", "add", "198.19.250.2/30", "dev", "eth0")
        for ns in (rns, ans):
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
        os.makedirs(mnt)

        if with_keys:
            bad = subprocess.run(wrong_owner_rack, capture_output=True, text=True, timeout=60)
            assert bad.returncode != 0 and "key file" in bad.stderr, (bad.returncode, bad.stderr)
        d = subprocess.Popen(dc_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        procs.append(d)
        wait_for("the dc's compose health check", lambda: d.poll() is None and subprocess.run(
            in_ns(ans, *dc_check), capture_output=True, timeout=10).returncode == 0)
        r1 = start_rack()
        want = (1 << CAP_BITS["BPF"]) | (1 << CAP_BITS["NET_ADMIN"])
        assert set(caps) <= set(CAP_BITS), caps
        # Attached with exactly the compose rights, then dropped to two.
        wait_for("capability drop", lambda: cap_mask(r1.pid, "CapEff") == want, 10)
        assert cap_mask(r1.pid, "CapBnd") == want

        a = subprocess.Popen(agent_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        procs.append(a)
        # The agent's compose health check, as written, against its rack.
        wait_for("agent health check", lambda: a.poll() is None and subprocess.run(
            in_ns(rns, "sh", "-c", check), timeout=10).returncode == 0)
        key = ("netwatch_packets_received_total", 'rack_id="0"', 'server_id="3"')
        # Up is decided on the 100 ms tick, the counters at the next refresh.
        wait_for("its samples counted", lambda: (metric(rns, *key) or 0) > 0, 10)
        before = metric(rns, *key)
        assert before and before > 0
        # and the rack reports to the DC (as uid 10001, no capability).
        wait_for("a report of rack 0 at the dc", lambda: (metric(
            ans, "netwatch_dc_rack_reports_accepted_total", 'rack_id="0"') or 0) > 0)

        # A restart with the same rights (no CAP_SYS_ADMIN) keeps the counters.
        stop(r1)
        assert r1.returncode == 0
        start_rack()
        wait_for("counting on after the restart",
                 lambda: (metric(rns, *key) or 0) > before)
        log.seek(0)
        text = log.read()
        assert 'level=error' not in text
        if with_keys:  # the tags were checked, not skipped
            assert metric(rns, "netwatch_collector_malformed_total", 'reason="auth_failed"') == 0
            assert metric(ans, "netwatch_dc_reports_rejected_total", 'reason="auth"') == 0
    finally:
        for p in reversed(procs):
            stop(p)
        if os.path.isdir(host_pin):
            subprocess.run([rack_bin, "--rack", "0", "--pin-dir", host_pin, "--unpin"],
                           capture_output=True, timeout=30)
            try:
                os.rmdir(host_pin)
            except OSError:
                pass
        for ns in (rns, ans):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        if keydir:
            shutil.rmtree(keydir, ignore_errors=True)
        log.close()
