"""Kubernetes manifests (deploy/k8s): they render, every object passes the
Kubernetes OpenAPI schema (and prometheus-operator's CRD schemas), and the
security-relevant fields are what docs/kubernetes.md says they are.

Two sources of objects are checked the same way:
  raw       the YAML files under deploy/k8s as committed (always)
  rendered  `kubectl kustomize` of the base, both overlays and chaos/ (only
            where kubectl is on PATH; it is not in an enabled apt repo)
The schema validator is tests/deploy/validate-k8s.mjs with the npm packages
`make deps` installs from tests/deploy/package-lock.json (npm ci).
"""
import http.server
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import sys
import threading

import pytest
import yaml

from nwlab import free_port  # tests/integration, on the path by conftest.py

K8S = "deploy/k8s"
RENDER_DIRS = ["base", "overlays/example", "overlays/prometheus-operator", "chaos"]
NO_KUBECTL = "kubectl is not on PATH (it comes from no enabled apt repo): the kustomize render is not checked; the raw files are"
IMAGES = {"rack": "ghcr.io/netwatch/netwatch-rack", "agent": "ghcr.io/netwatch/netwatch-agent",
          "dc": "ghcr.io/netwatch/netwatch-dc"}
WORKLOADS = ("DaemonSet", "Deployment", "StatefulSet", "Job", "CronJob", "Pod")


# ------------------------------------------------------------------ loading

def k8s_files(repo):
    out = []
    for root, _, files in os.walk(os.path.join(repo, K8S)):
        out += [os.path.join(root, f) for f in files if f.endswith((".yaml", ".yml"))]
    return sorted(out)


def is_kustomization(path):
    return os.path.basename(path) in ("kustomization.yaml", "kustomization.yml")


def load_docs(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def resource_files(repo):
    """The object files: what some kustomization lists under resources (the
    patch files it applies are partial objects and are not among them)."""
    out = set()
    for f in k8s_files(repo):
        if is_kustomization(f):
            with open(f, encoding="utf-8") as fh:
                k = yaml.safe_load(fh)
            for ref in k.get("resources", []):
                p = os.path.normpath(os.path.join(os.path.dirname(f), ref))
                if os.path.isfile(p):
                    out.add(p)
    return sorted(out)


def raw_objects(repo, under=""):
    objs = []
    for f in resource_files(repo):
        if f.startswith(os.path.join(repo, K8S, under)):
            with open(f, encoding="utf-8") as fh:
                objs += load_docs(fh.read())
    return objs


def kustomize(repo, d):
    r = subprocess.run(["kubectl", "kustomize", os.path.join(repo, K8S, d)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"kubectl kustomize {d} failed:\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="session")
def rendered(repo):
    if not shutil.which("kubectl"):
        pytest.skip(NO_KUBECTL)
    return {d: load_docs(kustomize(repo, d)) for d in RENDER_DIRS}


@pytest.fixture(scope="session", params=["raw", "rendered"])
def objects(request, repo):
    """Base + components (+ chaos when `with chaos`): raw files or the render."""
    if request.param == "raw":
        return {"base": [o for o in raw_objects(repo) if not is_chaos(o)],
                "chaos": raw_objects(repo, "chaos")}
    r = request.getfixturevalue("rendered")
    return {"base": r["overlays/prometheus-operator"], "chaos": r["chaos"]}


def is_chaos(o):
    return (o.get("metadata", {}).get("labels") or {}).get("app.kubernetes.io/name") == "netwatch-chaos"


def by(objs, kind, name=None):
    out = [o for o in objs if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)]
    if name is not None:
        assert len(out) == 1, f"expected one {kind}/{name}, found {len(out)}"
        return out[0]
    return out


def pod_spec(o):
    spec = o["spec"]
    if o["kind"] == "Pod":
        return spec
    if o["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def workloads(objs):
    return [o for o in objs if o.get("kind") in WORKLOADS]


def containers(spec, init=True):
    return list(spec.get("containers", [])) + (list(spec.get("initContainers", [])) if init else [])


def component_of(o):
    return o["metadata"]["labels"]["app.kubernetes.io/name"]


# ------------------------------------------------------------------ validator

def node_validate(repo, text):
    node = shutil.which("node")
    mods = os.path.join(repo, "tests", "deploy", "node_modules", "kubernetes-models")
    assert node, "node is missing: `make deps` installs it (npm's dependency)"
    assert os.path.isdir(mods), "tests/deploy/node_modules is missing: run `make deps` (npm ci --prefix tests/deploy)"
    # Through a file, not stdin: Node 18 (Debian 12's) reads a piped stdin with
    # readFileSync(0), which fails with EAGAIN when the pipe is non-blocking.
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        r = subprocess.run([node, os.path.join(repo, "tests", "deploy", "validate-k8s.mjs"), f.name],
                           capture_output=True, text=True, timeout=120)
    results = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return r.returncode, results, r.stderr


BROKEN = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: broken}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: x
          ports: [{containerPort: "8000"}]
          securityContext: {privileged: "yes"}
---
apiVersion: v1
kind: Service
metadata: {name: ok}
spec: {ports: [{port: 80}]}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: broken-sm}
spec: {selector: {}, endpoints: [{port: 8000}]}
---
apiVersion: example.com/v1
kind: Unknown
metadata: {name: nobody-checks-me}
"""


def test_validator_rejects_broken_objects(repo):
    """The validator is known to work: it accepts a valid object and rejects
    wrong types (core and CRD schema) and a kind it has no schema for."""
    rc, results, err = node_validate(repo, BROKEN)
    assert rc == 1, err
    by_name = {r["name"]: r for r in results}
    assert by_name["ok"]["ok"]
    ds = by_name["broken"]
    assert not ds["ok"]
    joined = " ".join(ds["errors"])
    assert "/containerPort must be integer" in joined and "/privileged must be boolean" in joined, ds
    assert not by_name["broken-sm"]["ok"] and "port must be string" in by_name["broken-sm"]["errors"][0]
    assert not by_name["nobody-checks-me"]["ok"] and "no schema" in by_name["nobody-checks-me"]["errors"][0]


def test_raw_files_pass_the_schema(repo):
    """Every object of every resource file, straight from the tree."""
    text = ""
    for f in resource_files(repo):
        with open(f, encoding="utf-8") as fh:
            text += "\n---\n" + fh.read()
    rc, results, err = node_validate(repo, text)
    bad = [r for r in results if not r["ok"]]
    assert rc == 0 and not bad, f"{bad} {err}"
    kinds = {r["kind"] for r in results}
    assert {"DaemonSet", "Deployment", "Service", "ConfigMap", "ServiceMonitor", "PrometheusRule",
            "Namespace", "ClusterRole", "ClusterRoleBinding", "ServiceAccount"} <= kinds


@pytest.mark.parametrize("d", RENDER_DIRS)
def test_rendered_output_passes_the_schema(repo, d):
    if not shutil.which("kubectl"):
        pytest.skip(NO_KUBECTL)
    rc, results, err = node_validate(repo, kustomize(repo, d))
    bad = [r for r in results if not r["ok"]]
    assert rc == 0 and not bad, f"{d}: {bad} {err}"
    assert len(results) >= 3


def test_kustomizations_name_existing_files(repo):
    """Without kubectl too: every resources/components/files entry exists
    (kustomize would fail on a missing one)."""
    for f in k8s_files(repo):
        if not is_kustomization(f):
            continue
        with open(f, encoding="utf-8") as fh:
            k = yaml.safe_load(fh)
        base = os.path.dirname(f)
        refs = list(k.get("resources", [])) + list(k.get("components", []))
        for g in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
            refs += [x.split("=", 1)[-1] for x in g.get("files", [])]
        for ref in refs:
            assert os.path.exists(os.path.join(base, ref)), f"{f}: {ref} does not exist"


def test_no_orphan_yaml(repo):
    """Every YAML file is a kustomization, a resource or a patch some
    kustomization uses: nothing unchecked lies around."""
    used = set(resource_files(repo))
    for f in k8s_files(repo):
        if is_kustomization(f):
            used.add(f)
            with open(f, encoding="utf-8") as fh:
                k = yaml.safe_load(fh)
            used |= {os.path.normpath(os.path.join(os.path.dirname(f), p["path"]))
                     for p in k.get("patches", []) if "path" in p}
    assert sorted(set(k8s_files(repo)) - used) == []


# ------------------------------------------------------------------ security

def test_only_the_rack_controller_is_privileged(objects):
    seen = []
    for o in workloads(objects["base"] + objects["chaos"]):
        for c in containers(pod_spec(o)):
            sc = c.get("securityContext") or {}
            if sc.get("privileged"):
                seen.append((o["metadata"]["name"], c["name"]))
    assert [(n.replace("-chaos", ""), c) for n, c in seen] == [("netwatch-rack", "rack")], seen


def test_host_network_only_where_documented(objects):
    """Rack controller (collector on the NIC), agent (plain UDP on the wire)
    and chaos (faults on the node's interface); never the DC."""
    host = {}
    for o in workloads(objects["base"] + objects["chaos"]):
        host[component_of(o)] = bool(pod_spec(o).get("hostNetwork"))
        if pod_spec(o).get("hostNetwork"):
            assert pod_spec(o).get("dnsPolicy") == "ClusterFirstWithHostNet" or component_of(o) == "netwatch-chaos"
        assert not pod_spec(o).get("hostPID") and not pod_spec(o).get("hostIPC")
    assert host == {"netwatch-rack": True, "netwatch-agent": True, "netwatch-dc": False,
                    "netwatch-chaos": True}


@pytest.mark.parametrize("name", ["netwatch-agent", "netwatch-dc"])
def test_agent_and_dc_run_unprivileged(objects, name):
    o = [w for w in workloads(objects["base"]) if component_of(w) == name]
    assert len(o) == 1
    spec = pod_spec(o[0])
    psc = spec["securityContext"]
    assert psc["runAsNonRoot"] is True and psc["runAsUser"] != 0 and psc["runAsGroup"] != 0
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    for c in containers(spec):
        sc = c["securityContext"]
        assert sc.get("runAsUser", psc["runAsUser"]) != 0, c["name"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["capabilities"] == {"drop": ["ALL"]}, c["name"]
        assert not sc.get("privileged"), c["name"]
    assert not [v for v in spec.get("volumes", []) if "hostPath" in v], "no host paths for " + name


def test_rack_controller_mounts_bpffs_bidirectional(objects):
    """bpffs from the host with Bidirectional propagation, on the rack
    controller only: its pins must outlive the pod. Nothing else may
    propagate mounts to the host."""
    rack = [w for w in workloads(objects["base"]) if component_of(w) == "netwatch-rack"][0]
    spec = pod_spec(rack)
    vols = {v["name"]: v for v in spec["volumes"]}
    c = [x for x in spec["containers"] if x["name"] == "rack"][0]
    bpf = [m for m in c["volumeMounts"] if m["mountPath"] == "/sys/fs/bpf"]
    assert len(bpf) == 1 and bpf[0]["mountPropagation"] == "Bidirectional"
    assert vols[bpf[0]["name"]]["hostPath"]["path"] == "/sys/fs/bpf"
    assert c["securityContext"]["privileged"] is True  # Bidirectional requires it
    for o in workloads(objects["base"] + objects["chaos"]):
        for x in containers(pod_spec(o)):
            for m in x.get("volumeMounts", []):
                if m.get("mountPropagation") == "Bidirectional":
                    assert (component_of(o), x["name"]) == ("netwatch-rack", "rack")


def test_chaos_uses_capabilities_not_privilege(objects):
    o = [w for w in workloads(objects["chaos"]) if component_of(w) == "netwatch-chaos"]
    assert len(o) == 1 and o[0]["kind"] == "DaemonSet"
    c = [x for x in pod_spec(o[0])["containers"] if x["name"] == "chaos"][0]
    sc = c["securityContext"]
    assert not sc.get("privileged") and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sorted(sc["capabilities"]["add"]) == ["BPF", "NET_ADMIN", "PERFMON"]
    assert pod_spec(o[0])["nodeSelector"]["netwatch.io/rack"] == "0"
    (m,) = [m for m in c["volumeMounts"] if "bpf" in m["mountPath"]]
    assert m["mountPath"] == "/host/sys/fs/bpf" and m["mountPropagation"] == "HostToContainer"
    cfg = [x for x in by(objects["chaos"], "ConfigMap") if x["metadata"]["name"].startswith("netwatch")
           and "FAULTS" in x["data"]][0]["data"]
    assert cfg["NETWATCH_PIN_DIR"].startswith("/host/sys/fs/bpf/")
    # It clears what it applied when the pod is deleted.
    script = c["command"][-1]
    assert "trap" in script and "--clear" in script and "$FAULTS" in script


def test_rack_capabilities_component(repo, tmp_path):
    """components/rack-capabilities turns the privileged rack controller into
    one with BPF, PERFMON and NET_ADMIN only (Bidirectional needs privileged,
    so the host's bpffs comes in HostToContainer), and stays schema-valid."""
    if not shutil.which("kubectl"):
        pytest.skip(NO_KUBECTL)
    ov = tmp_path / "ov"
    ov.mkdir()
    rel = os.path.relpath(os.path.join(repo, K8S), ov)
    (ov / "kustomization.yaml").write_text(
        f"resources: [{rel}/base]\ncomponents: [{rel}/components/rack-capabilities]\n")
    text = subprocess.run(["kubectl", "kustomize", str(ov)], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    rc, results, err = node_validate(repo, text)
    assert rc == 0, [r for r in results if not r["ok"]]
    objs = load_docs(text)
    rack = by(objs, "DaemonSet", "netwatch-rack")
    spec = pod_spec(rack)
    for o in workloads(objs):
        assert not any((c.get("securityContext") or {}).get("privileged") for c in containers(pod_spec(o)))
    c = spec["containers"][0]
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"],
                                                    "add": ["BPF", "PERFMON", "NET_ADMIN", "SETPCAP"]}
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # Not under /sys/fs (AppArmor's default profile), and the pins go there.
    assert not [m for m in c["volumeMounts"] if m["mountPath"].startswith("/sys/")]
    (m,) = [m for m in c["volumeMounts"] if m["mountPath"] == "/host/sys/fs/bpf"]
    assert m["mountPropagation"] == "HostToContainer"
    assert {"name": "NETWATCH_PIN_DIR", "value": "/host/sys/fs/bpf/netwatch"} in c["env"]
    (v,) = [v for v in spec["volumes"] if v["name"] == m["name"]]
    assert v["hostPath"] == {"path": "/sys/fs/bpf", "type": "Directory"}
    # Everything else of the DaemonSet is untouched.
    base = by(load_docs(kustomize(repo, "base")), "DaemonSet", "netwatch-rack")
    assert pod_spec(base)["initContainers"] == spec["initContainers"]
    assert pod_spec(base)["containers"][0]["livenessProbe"] == c["livenessProbe"]


def chaos_script(repo, tmp_path, apply_rc):
    """The chaos container's shell script, its /run/netwatch moved to
    tmp_path, with a fake netwatch-chaos that logs its arguments."""
    ds = by(raw_objects(repo, "chaos"), "DaemonSet", "netwatch")
    c = [x for x in pod_spec(ds)["containers"] if x["name"] == "chaos"][0]
    assert c["command"][:2] == ["/bin/sh", "-c"]
    run = tmp_path / "run"
    run.mkdir()
    (run / "node.env").write_text("export NETWATCH_RACK=0\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls"
    fake = bindir / "netwatch-chaos"
    fake.write_text(f"#!/bin/sh\necho \"$*\" >> {log}\n"
                    f"case \"$*\" in *--clear*) exit 0;; *) exit {apply_rc};; esac\n")
    fake.chmod(0o755)
    script = c["command"][2].replace("/run/netwatch/", f"{run}/")
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "FAULTS": "--delay 200ms --loss 20"}
    return script, env, log


def wait_for(cond, timeout=10.0):
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_chaos_script_applies_then_clears_on_sigterm(repo, tmp_path):
    script, env, log = chaos_script(repo, tmp_path, apply_rc=0)
    p = subprocess.Popen(["/bin/sh", "-c", script], env=env)
    try:
        assert wait_for(lambda: log.exists() and log.read_text()), "the faults were never applied"
        topo = f"{tmp_path}/run/topology.json"
        assert log.read_text().splitlines() == [f"--rack 0 --topology {topo} --delay 200ms --loss 20"]
        assert p.poll() is None  # it stays up while the faults are wanted
        p.terminate()
        assert p.wait(timeout=10) == 0
        assert log.read_text().splitlines()[1:] == [f"--rack 0 --topology {topo} --clear"]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_chaos_script_clears_after_a_failed_apply(repo, tmp_path):
    script, env, log = chaos_script(repo, tmp_path, apply_rc=1)
    r = subprocess.run(["/bin/sh", "-c", script], env=env, timeout=10)
    assert r.returncode == 1  # the pod restarts and tries again, visibly
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and lines[1].endswith("--clear")


def test_probes_on_healthz_for_every_http_container(objects):
    """Every netwatch container that serves HTTP (port 8000) has liveness and
    readiness on /healthz there. The agent serves none: it exposes no port."""
    checked = set()
    for o in workloads(objects["base"]):
        for c in pod_spec(o)["containers"]:
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            if component_of(o) == "netwatch-agent":
                assert not ports and "livenessProbe" not in c
                continue
            assert 8000 in ports.values(), (o["metadata"]["name"], c["name"])
            for probe in ("livenessProbe", "readinessProbe"):
                g = c[probe]["httpGet"]
                assert g["path"] == "/healthz"
                assert ports.get(g["port"], g["port"]) == 8000
            checked.add(component_of(o))
    assert checked == {"netwatch-rack", "netwatch-dc"}


def test_every_container_has_requests_and_limits(objects):
    for o in workloads(objects["base"] + objects["chaos"]):
        for c in containers(pod_spec(o)):
            r = c["resources"]
            for k in ("cpu", "memory"):
                assert r["limits"][k] and r["requests"][k], (o["metadata"]["name"], c["name"], k)


def quantity(v):
    m = re.fullmatch(r"([0-9.]+)(m|Mi|Gi|Ki)?", str(v))
    assert m, v
    return float(m.group(1)) * {"m": 1e-3, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, None: 1}[m.group(2)]


def test_requests_do_not_exceed_limits(objects):
    for o in workloads(objects["base"] + objects["chaos"]):
        for c in containers(pod_spec(o)):
            r = c["resources"]
            for k in ("cpu", "memory"):
                assert quantity(r["requests"][k]) <= quantity(r["limits"][k]), (c["name"], k)


def test_update_strategies_and_grace(objects):
    ds = {component_of(o): o for o in by(objects["base"], "DaemonSet")}
    assert set(ds) == {"netwatch-rack", "netwatch-agent"}
    for o in ds.values():
        assert o["spec"]["updateStrategy"]["type"] == "RollingUpdate"
        assert pod_spec(o)["terminationGracePeriodSeconds"] >= 10
    # A surge pod would fight the old one for the host port and the XDP slot.
    assert ds["netwatch-rack"]["spec"]["updateStrategy"]["rollingUpdate"]["maxSurge"] == 0
    # Room for an interval, the final flush and report, and the detach.
    assert pod_spec(ds["netwatch-rack"])["terminationGracePeriodSeconds"] >= 15
    dc = [o for o in by(objects["base"], "Deployment") if component_of(o) == "netwatch-dc"][0]
    assert dc["spec"]["replicas"] == 1 and dc["spec"]["strategy"]["type"] == "Recreate"


def test_placement_by_node_labels(objects):
    ds = {component_of(o): pod_spec(o) for o in by(objects["base"], "DaemonSet")}
    assert ds["netwatch-rack"]["nodeSelector"]["netwatch.io/rack-controller"] == "true"
    expr = {e["key"]: e["operator"] for t in
            ds["netwatch-agent"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            for e in t["matchExpressions"]}
    assert expr["netwatch.io/rack"] == "Exists" and expr["netwatch.io/server"] == "Exists"
    assert expr["netwatch.io/rack-controller"] == "DoesNotExist"
    for name, spec in ds.items():
        assert spec["serviceAccountName"] == "netwatch-node"
        init = spec["initContainers"][0]
        env = {e["name"]: e for e in init["env"]}
        assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
        assert env["NETWATCH_ROLE"]["value"] == {"netwatch-rack": "rack", "netwatch-agent": "agent"}[name]
        main = spec["containers"][0]
        assert main["command"][:2] == ["/bin/sh", "-c"] and ". /run/netwatch/node.env" in main["command"][2]


def test_rbac_is_read_only_nodes(objects):
    roles = by(objects["base"], "ClusterRole") + by(objects["base"], "Role")
    assert len(roles) == 1
    assert roles[0]["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]
    dc = [o for o in workloads(objects["base"]) if component_of(o) == "netwatch-dc"][0]
    assert pod_spec(dc)["automountServiceAccountToken"] is False


def test_key_comes_from_a_secret_never_committed(repo, objects):
    """The key is a Secret (netwatch-key) mounted only into the init
    containers, owner-only or fsGroup-readable; the daemons read the private
    copy the init container makes. No Secret object and no key is committed."""
    assert not by(objects["base"] + objects["chaos"], "Secret")
    for o in workloads(objects["base"]):
        spec = pod_spec(o)
        keyvols = [v for v in spec["volumes"] if "secret" in v]
        assert len(keyvols) == 1, o["metadata"]["name"]
        sec = keyvols[0]["secret"]
        assert sec["secretName"] == "netwatch-key"
        mode = sec["defaultMode"]
        assert mode & 0o037 == 0 and mode & 0o400, oct(mode)  # never others, never group-write
        if spec.get("securityContext", {}).get("runAsNonRoot"):
            assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsGroup"]
        for c in spec["containers"]:
            assert all(m["name"] != keyvols[0]["name"] for m in c.get("volumeMounts", []))
        init = [c for c in spec["initContainers"]
                if any(m["name"] == keyvols[0]["name"] for m in c["volumeMounts"])]
        assert len(init) == 1
    cfg = {c["metadata"]["name"]: c["data"] for c in by(objects["base"], "ConfigMap")}
    for n in ("netwatch-rack-config", "netwatch-agent-config", "netwatch-dc-config"):
        assert cfg[n]["NETWATCH_KEY_FILE"] == "/run/netwatch/key"
    for f in k8s_files(repo) + [os.path.join(repo, "docs", "kubernetes.md")]:
        with open(f, encoding="utf-8") as fh:
            assert not re.search(r"\b[0-9a-fA-F]{64}\b", fh.read()), f"{f} holds something like a key"


def test_prometheus_annotations_match_the_metrics_port(objects):
    seen = set()
    for o in workloads(objects["base"]):
        ann = o["spec"]["template"]["metadata"].get("annotations") or {}
        if component_of(o) == "netwatch-agent":
            assert "prometheus.io/scrape" not in ann  # nothing to scrape
            continue
        assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/path"] == "/metrics"
        ports = [p["containerPort"] for c in pod_spec(o)["containers"] for p in c.get("ports", [])
                 if p.get("name") == "metrics"]
        assert ports == [int(ann["prometheus.io/port"])]
        seen.add(component_of(o))
    assert seen == {"netwatch-rack", "netwatch-dc"}


def test_configmap_options_exist(repo, objects):
    """Every NETWATCH_<NAME> the ConfigMaps set is an option of its daemon
    (--name in its --help): a misspelt variable would be silently ignored."""
    build = os.environ.get("NETWATCH_BUILD", os.path.join(repo, "build"))
    cfg = {c["metadata"]["name"]: c["data"] for c in by(objects["base"], "ConfigMap")}
    for comp in ("rack", "agent", "dc"):
        binary = os.path.join(build, f"netwatch-{comp}")
        if not os.access(binary, os.X_OK):
            pytest.skip(f"{binary} is not built (make all)")
        help_text = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10).stdout
        keys = list(cfg[f"netwatch-{comp}-config"])
        # and what the init container writes into node.env
        keys += {"rack": ["NETWATCH_RACK", "NETWATCH_IFACE"],
                 "agent": ["NETWATCH_RACK", "NETWATCH_SERVER", "NETWATCH_CONTROLLER"], "dc": []}[comp]
        for k in keys:
            assert k.startswith("NETWATCH_")
            opt = "--" + k[len("NETWATCH_"):].lower().replace("_", "-")
            assert re.search(re.escape(opt) + r"\b", help_text), f"netwatch-{comp} has no {opt} ({k})"


def test_namespace_and_services(rendered):
    objs = rendered["overlays/prometheus-operator"]
    for o in objs:
        if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert o["metadata"].get("namespace") == "netwatch", (o["kind"], o["metadata"]["name"])
    crb = by(objs, "ClusterRoleBinding")[0]
    assert crb["subjects"][0]["namespace"] == "netwatch"
    dc = by(objs, "Service", "netwatch-dc")
    assert {p["name"]: p["port"] for p in dc["spec"]["ports"]} == {"reports": 9990, "metrics": 8000}
    assert by(objs, "Service", "netwatch-rack")["spec"]["clusterIP"] == "None"
    # The rack controllers reach the DC by that Service's name.
    rack_cfg = by(objs, "ConfigMap", "netwatch-rack-config")["data"]
    assert rack_cfg["NETWATCH_DC"] == "netwatch-dc.netwatch.svc:9990"
    # Every ConfigMap a pod names is in the render (hash suffixes included).
    cms = {c["metadata"]["name"] for c in by(objs, "ConfigMap")}
    for o in workloads(objs):
        spec = pod_spec(o)
        names = [v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v]
        names += [e["configMapRef"]["name"] for c in containers(spec) for e in c.get("envFrom", [])]
        assert names and set(names) <= cms, (o["metadata"]["name"], names)


def test_servicemonitor_targets_the_metrics_ports(objects):
    objs = objects["base"]
    sm = by(objs, "ServiceMonitor", "netwatch")
    sel = sm["spec"]["selector"]["matchExpressions"][0]
    assert sel["key"] == "app.kubernetes.io/name" and sel["operator"] == "In"
    # The job label is the Service's name: the alert rules' job names.
    assert sorted(sel["values"]) == ["netwatch-dc", "netwatch-rack"]
    svcs = {s["metadata"]["name"]: s for s in by(objs, "Service")}
    for name in sel["values"]:
        assert svcs[name]["metadata"]["labels"]["app.kubernetes.io/name"] == name
        assert "metrics" in [p["name"] for p in svcs[name]["spec"]["ports"]]
    (ep,) = sm["spec"]["endpoints"]
    assert ep["port"] == "metrics" and ep["path"] == "/metrics"


@pytest.mark.parametrize("d", ["base", "overlays/example", "overlays/prometheus-operator"])
def test_rack_targets_carry_the_dc_id(rendered, d):
    """Rack series get dc_id as in the lab (a target label), equal to the
    DC's --dc-id in every overlay, including one that changes it."""
    objs = rendered[d]
    dc_id = by(objs, "ConfigMap", "netwatch-dc-config")["data"]["NETWATCH_DC_ID"]
    assert by(objs, "Service", "netwatch-rack")["metadata"]["labels"]["dc_id"] == dc_id
    assert by(objs, "DaemonSet", "netwatch-rack")["spec"]["template"]["metadata"]["labels"]["dc_id"] == dc_id
    assert "dc_id" not in by(objs, "Service", "netwatch-dc")["metadata"]["labels"]
    for sm in by(objs, "ServiceMonitor"):
        assert sm["spec"]["targetLabels"] == ["dc_id"]
    if d == "overlays/example":
        assert dc_id != "0"  # the overlay changes it: the copy must follow


def test_servicemonitor_is_optional(rendered):
    for d in ("base", "overlays/example"):
        assert not [o for o in rendered[d] if o["apiVersion"].startswith("monitoring.coreos.com/")], d
    assert by(rendered["overlays/prometheus-operator"], "ServiceMonitor")
    assert by(rendered["overlays/prometheus-operator"], "PrometheusRule")


def test_images_match_deploy_docker(repo, objects):
    """The images are deploy/docker/Dockerfile's targets, each container runs
    a binary its target holds, the non-root uid is the image's, and the base
    lets kustomize override every image."""
    with open(os.path.join(repo, K8S, "base", "kustomization.yaml"), encoding="utf-8") as f:
        overridable = {i["name"] for i in yaml.safe_load(f)["images"]}
    dockerfile = os.path.join(repo, "deploy", "docker", "Dockerfile")
    stages = {}
    if os.path.exists(dockerfile):
        stage = None
        with open(dockerfile, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
                if m:
                    stage = m.group(1)
                    stages[stage] = {"bins": set(), "user": None}
                elif stage and (m := re.match(r"COPY\s+--from=\S+\s+\S*/(netwatch-[a-z]+)\s", line)):
                    stages[stage]["bins"].add(m.group(1))
                elif stage and (m := re.match(r"USER\s+([0-9]+)", line)):
                    stages[stage]["user"] = int(m.group(1))
    for o in workloads(objects["base"] + objects["chaos"]):
        spec = pod_spec(o)
        for c in spec["containers"]:
            repo_name = c["image"].rsplit(":", 1)[0]
            target = [t for t, img in IMAGES.items() if img == repo_name]
            assert target, c["image"]
            assert repo_name in overridable
            binary = re.search(r"\b(netwatch-[a-z]+)\b", " ".join(c["command"])).group(1)
            if stages:
                assert binary in stages[target[0]]["bins"], (c["image"], binary)
                uid = (c.get("securityContext") or {}).get("runAsUser",
                                                          spec.get("securityContext", {}).get("runAsUser"))
                assert uid == stages[target[0]]["user"], (c["name"], uid)
    if not stages:
        pytest.skip("deploy/docker/Dockerfile is not there: images checked against kustomize only")


# ------------------------------------------------------------------ generated

def test_generated_files_are_current(repo):
    r = subprocess.run([sys.executable, os.path.join(repo, K8S, "generate.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_dashboards_are_sidecar_configmaps(repo, objects):
    src = os.path.join(repo, "dashboards")
    files = sorted(f for f in os.listdir(src) if f.endswith(".json")) if os.path.isdir(src) else []
    cms = [c for c in by(objects["base"], "ConfigMap") if (c["metadata"].get("labels") or {}).get("grafana_dashboard")]
    assert len(cms) == len(files)
    by_file = {}
    for c in cms:
        assert c["metadata"]["labels"]["grafana_dashboard"] == "1"
        (k, v), = c["data"].items()
        by_file[k] = v
    for f in files:
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            assert by_file[f] == fh.read(), f
    ds = by(objects["base"], "ConfigMap", "netwatch-grafana-datasource")
    assert ds["metadata"]["labels"]["grafana_datasource"] == "1"
    prov = yaml.safe_load(ds["data"]["netwatch-datasource.yaml"])
    assert prov["datasources"][0]["uid"] == "netwatch-prometheus"
    assert prov["datasources"][0]["type"] == "prometheus"


def test_prometheus_rules_are_the_labs(repo, objects):
    src = os.path.join(repo, "deploy", "prometheus", "rules")
    rules = {o["metadata"]["name"]: o["spec"]["groups"] for o in by(objects["base"], "PrometheusRule")}
    files = sorted(f for f in os.listdir(src) if f.endswith((".yml", ".yaml")))
    assert sorted(rules) == sorted(os.path.splitext(f)[0] for f in files)
    for f in files:
        with open(os.path.join(src, f), encoding="utf-8") as fh:
            assert rules[os.path.splitext(f)[0]] == yaml.safe_load(fh)["groups"], f


def test_generator_without_dashboards(repo, tmp_path):
    """dashboards/ may not exist yet: the generator writes a resource file
    without objects, and kustomize (when present) still renders the overlay."""
    root = tmp_path / "repo"
    shutil.copytree(os.path.join(repo, K8S), root / K8S)
    shutil.copytree(os.path.join(repo, "deploy", "prometheus", "rules"), root / "deploy" / "prometheus" / "rules")
    gen = str(root / K8S / "generate.py")
    r = subprocess.run([sys.executable, gen], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = (root / K8S / "components" / "grafana-dashboards" / "dashboards.yaml").read_text()
    assert load_docs(out) == []
    assert subprocess.run([sys.executable, gen, "--check"], capture_output=True, timeout=60).returncode == 0
    (root / "dashboards").mkdir()
    (root / "dashboards" / "x.json").write_text('{"uid": "netwatch-x", "title": "x"}\n')
    r = subprocess.run([sys.executable, gen, "--check"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "dashboards.yaml" in r.stderr
    (root / "dashboards" / "x.json").write_text('{"uid": "x"}\n')
    r = subprocess.run([sys.executable, gen], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "netwatch-<slug>" in r.stderr
    (root / "dashboards" / "x.json").unlink()
    if shutil.which("kubectl"):
        objs = load_docs(subprocess.run(["kubectl", "kustomize", str(root / K8S / "overlays" / "example")],
                                        capture_output=True, text=True, check=True, timeout=120).stdout)
        assert by(objs, "ConfigMap", "netwatch-grafana-datasource")
        assert not [c for c in by(objs, "ConfigMap") if "grafana_dashboard" in (c["metadata"].get("labels") or {})]


# ------------------------------------------------------------------ node-identity.py

class FakeAPI:
    """A loopback stand-in for the API server's node endpoints."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.requests = []
        api = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                api.requests.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != "Bearer t0ken":
                    return self.reply(401, {})
                path, _, query = self.path.partition("?")
                if path.startswith("/api/v1/nodes/"):
                    n = [x for x in api.nodes if x["metadata"]["name"] == path.rsplit("/", 1)[1]]
                    return self.reply(200 if n else 404, n[0] if n else {})
                if path == "/api/v1/nodes":
                    import urllib.parse
                    sel = urllib.parse.parse_qs(query).get("labelSelector", [""])[0]
                    want = dict(kv.split("=", 1) for kv in sel.split(",") if kv)
                    items = [x for x in api.nodes
                             if all(x["metadata"].get("labels", {}).get(k) == v for k, v in want.items())]
                    return self.reply(200, {"kind": "NodeList", "items": items})
                return self.reply(404, {})

            def reply(self, code, doc):
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def node(name, labels, ip="10.0.0.1"):
    return {"metadata": {"name": name, "labels": labels},
            "status": {"addresses": [{"type": "Hostname", "address": name},
                                     {"type": "InternalIP", "address": ip}]}}


NODES = [
    node("ctl-0", {"netwatch.io/rack": "0", "netwatch.io/rack-controller": "true",
                   "netwatch.io/iface": "bond0"}, "10.0.0.10"),
    node("srv-0-3", {"netwatch.io/rack": "0", "netwatch.io/server": "3"}, "10.0.0.13"),
    node("srv-1-0", {"netwatch.io/rack": "1", "netwatch.io/server": "0"}, "10.0.1.10"),
    node("ctl-2a", {"netwatch.io/rack": "2", "netwatch.io/rack-controller": "true"}, "10.0.2.1"),
    node("ctl-2b", {"netwatch.io/rack": "2", "netwatch.io/rack-controller": "true"}, "10.0.2.2"),
    node("srv-2-1", {"netwatch.io/rack": "2", "netwatch.io/server": "1"}),
    node("evil", {"netwatch.io/rack": "0; touch /tmp/pwned", "netwatch.io/server": "1"}),
    node("evil-if", {"netwatch.io/rack": "0", "netwatch.io/server": "2", "netwatch.io/iface": "$(id)"}),
]


@pytest.fixture
def fake_api(tmp_path):
    api = FakeAPI(NODES)
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("t0ken\n")
    yield api, sa
    api.close()


def run_init(repo, tmp_path, sa, api, role, node_name, key=None, extra=None):
    out = tmp_path / f"out-{role}-{node_name}"
    out.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NETWATCH_ROLE": role, "NODE_NAME": node_name,
           "NETWATCH_OUT_DIR": str(out), "NETWATCH_K8S_API": api.url, "NETWATCH_K8S_SA_DIR": str(sa)}
    if key is not None:
        env["NETWATCH_KEY_SOURCE"] = str(key)
    env.update(extra or {})
    script = os.path.join(repo, K8S, "components", "node-identity", "node-identity.py")
    r = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=30)
    return r, out


def sourced(out):
    """What the main container's `. node.env` exports, through a real sh."""
    r = subprocess.run(["/bin/sh", "-c", f". {out}/node.env && env"], capture_output=True,
                       text=True, timeout=10, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    return {k: v for k, v in (line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
            if k.startswith("NETWATCH_")}


def test_init_agent_finds_its_rack_controller(repo, tmp_path, fake_api):
    api, sa = fake_api
    key = tmp_path / "secret-key"
    key.write_text("ab" * 32 + "\n")
    r, out = run_init(repo, tmp_path, sa, api, "agent", "srv-0-3", key=key)
    assert r.returncode == 0, r.stderr
    assert sourced(out) == {"NETWATCH_RACK": "0", "NETWATCH_SERVER": "3", "NETWATCH_CONTROLLER": "10.0.0.10"}
    st = os.stat(out / "key", follow_symlinks=False)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o400
    assert (out / "key").read_text().strip() == "ab" * 32
    assert all(auth == "Bearer t0ken" for _, auth in api.requests)


def test_init_rack_and_chaos_identity(repo, tmp_path, fake_api):
    api, sa = fake_api
    r, out = run_init(repo, tmp_path, sa, api, "rack", "ctl-0")
    assert r.returncode == 0, r.stderr
    assert sourced(out) == {"NETWATCH_RACK": "0", "NETWATCH_IFACE": "bond0"}
    r, out = run_init(repo, tmp_path, sa, api, "rack", "ctl-2a", extra={"NETWATCH_DEFAULT_IFACE": "ens5"})
    assert r.returncode == 0 and sourced(out)["NETWATCH_IFACE"] == "ens5"
    r, out = run_init(repo, tmp_path, sa, api, "chaos", "srv-0-3")
    assert r.returncode == 0, r.stderr
    topo = json.loads((out / "topology.json").read_text())
    assert topo["racks"] == [{"rack_id": 0, "netns": None, "servers": [
        {"server_id": 3, "netns": None, "iface": "eth0", "control": None}]}]
    assert not (out / "key").exists()


def test_init_chaos_topology_is_accepted_by_netwatch_chaos(repo, tmp_path, fake_api):
    """The topology the chaos pods write is one netwatch-chaos reads: --list
    on it names the server (the interface need not exist for --list)."""
    binary = os.path.join(os.environ.get("NETWATCH_BUILD", os.path.join(repo, "build")), "netwatch-chaos")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} is not built (make all)")
    api, sa = fake_api
    r, out = run_init(repo, tmp_path, sa, api, "chaos", "srv-0-3")
    assert r.returncode == 0, r.stderr
    state = tmp_path / "chaos-state"
    r = subprocess.run([binary, "--rack", "0", "--list", "--topology", str(out / "topology.json"),
                        "--state-dir", str(state), "--pin-dir", str(tmp_path / "no-pins")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 2, r.stderr  # 2 = the topology (or usage) was refused
    assert "server 3" in r.stdout + r.stderr


@pytest.mark.parametrize("role,node_name,why", [
    ("agent", "srv-1-0", "no node is labelled"),             # rack 1 has no controller
    ("agent", "srv-2-1", "a rack has one controller"),       # rack 2 has two
    ("agent", "ctl-0", "has no label netwatch.io/server"),
    ("agent", "nosuch", "answered 404"),
    ("rack", "evil", "is not an integer"),                   # shell in a label never reaches sh
    ("chaos", "evil-if", "is not an interface name"),
    ("dance", "ctl-0", "expected rack, agent, chaos or dc"),
])
def test_init_refuses_with_a_clear_error(repo, tmp_path, fake_api, role, node_name, why):
    api, sa = fake_api
    r, out = run_init(repo, tmp_path, sa, api, role, node_name)
    assert r.returncode == 1
    assert why in r.stderr and r.stderr.startswith("netwatch-init: ")
    assert not (out / "node.env").exists()
    assert "Traceback" not in r.stderr


def test_init_key_errors(repo, tmp_path, fake_api):
    api, sa = fake_api
    r, out = run_init(repo, tmp_path, sa, api, "dc", "", key=tmp_path / "missing")
    assert r.returncode == 1 and "kubectl -n netwatch create secret" in r.stderr
    bad = tmp_path / "bad"
    bad.write_text("not a key\n")
    r, out = run_init(repo, tmp_path, sa, api, "dc", "", key=bad)
    assert r.returncode == 1 and "64 hex digits" in r.stderr and not (out / "key").exists()
    assert api.requests == []  # the DC role never asks the API server
    (sa / "token").write_text("wrong\n")
    r, _ = run_init(repo, tmp_path, sa, api, "rack", "ctl-0")
    assert r.returncode == 1 and "answered 401" in r.stderr


def test_init_key_copy_is_accepted_by_the_daemon(repo, tmp_path, fake_api):
    """The private copy passes the daemons' own key-file checks (regular file,
    not a symlink, no group/other bits): netwatch-dc starts with it."""
    binary = os.path.join(os.environ.get("NETWATCH_BUILD", os.path.join(repo, "build")), "netwatch-dc")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} is not built (make all)")
    api, sa = fake_api
    key = tmp_path / "k"
    key.write_text("0123456789abcdef" * 4)
    os.chmod(key, 0o440)  # as the Secret volume shows it with fsGroup
    r, out = run_init(repo, tmp_path, sa, api, "dc", "", key=key)
    assert r.returncode == 0, r.stderr
    listen = f"127.0.0.1:{free_port()}"  # the DC refuses port 0
    r = subprocess.run([binary, "--listen", listen, "--metrics", "off", "--duration", "1",
                        "--key-file", str(out / "key")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([binary, "--listen", listen, "--metrics", "off", "--duration", "1",
                        "--key-file", str(key)], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "group or others" in r.stderr  # why the copy exists
