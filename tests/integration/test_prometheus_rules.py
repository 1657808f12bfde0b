"""deploy/prometheus/: the scrape config, recording rules and alerts.

(a) promtool accepts the config and the rules, and the unit tests in
    deploy/prometheus/tests/ pass;
(b) the unit tests cover the rules: every alert has a case where it fires and
    one where it stays silent, every recording rule is evaluated, and no test
    names an alert that does not exist (a misspelt alertname would make a
    "stays silent" case pass without testing anything);
(c) the rules only use what the controllers export: every metric name and
    every state/reason value they select on is in docs/metrics.md, so a rename
    there breaks this test instead of silently muting an alert; and every
    alert has for:, a severity, a summary naming its rack and server, and an
    entry in docs/alerts.md;
(d) Debian's prometheus runs with the config as the lab does (file_sd target
    files next to it), scrapes a rack and a DC target, loads every rule and
    fires an alert from them. The targets are small HTTP servers on loopback
    serving fixed exposition text, so this needs neither root nor the build.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from nwlab import free_port, wait_for
from prom_run import Exposition, stop_server

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PROM_DIR = os.path.join(TOP, "deploy", "prometheus")
CONFIG = os.path.join(PROM_DIR, "prometheus.yml")
RULE_FILES = sorted(glob.glob(os.path.join(PROM_DIR, "rules", "*.yml")))
TEST_FILES = sorted(glob.glob(os.path.join(PROM_DIR, "tests", "*.yml")))
METRICS_DOC = os.path.join(TOP, "docs", "metrics.md")
ALERTS_DOC = os.path.join(TOP, "docs", "alerts.md")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"

# Series Prometheus makes itself; everything else must be documented.
BUILTIN_SERIES = {"up"}
SEVERITIES = {"critical", "warning", "info"}
# Labels whose values the rules select on; each value must be documented.
ENUM_LABELS = ("state", "reason", "series", "result", "scope")


def promtool(*args):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=TOP)


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def rules():
    """Every rule of every rules file, as (file, group, rule dict)."""
    out = []
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                out.append((os.path.basename(path), group["name"], rule))
    return out


def alerts():
    return {r["alert"]: r for _, _, r in rules() if "alert" in r}


def records():
    return {r["record"]: r for _, _, r in rules() if "record" in r}


def unit_tests():
    """(file, test group) for every test group of every unit-test file."""
    return [(path, t) for path in TEST_FILES for t in load_yaml(path).get("tests", [])]


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def identifiers(expr):
    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", strip_strings(expr)))


def documented_rows():
    """{family: (set of labels, the table row's text)} from both tables of
    docs/metrics.md (the rack's names are backticked, the DC's are not)."""
    rows = {}
    with open(METRICS_DOC) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 3:
                continue
            name = cells[0].strip("`")
            if re.fullmatch(r"netwatch_[a-z0-9_]+", name):
                rows[name] = ({l.strip() for l in cells[2].split(",") if l.strip()}, line)
    return rows


def documented_families():
    """{family: set of labels}."""
    return {name: labels for name, (labels, _) in documented_rows().items()}


def family_of(name, fams):
    """The documented family a series name belongs to (histogram parts
    included), or None."""
    if name in fams:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in fams:
            return name[: -len(suffix)]
    return None


# ------------------------------------------------------------ (a) promtool

def test_rule_and_test_files_exist():
    assert os.path.exists(CONFIG)
    assert RULE_FILES, "no rules files in deploy/prometheus/rules/"
    assert TEST_FILES, "no unit tests in deploy/prometheus/tests/"


def test_promtool_check_config():
    p = promtool("check", "config", CONFIG)
    assert p.returncode == 0, p.stdout + p.stderr
    # check config also checks the rule files it lists: all of them.
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in p.stdout + p.stderr, p.stdout


def test_promtool_check_rules():
    p = promtool("check", "rules", *RULE_FILES)
    assert p.returncode == 0, p.stdout + p.stderr


def test_promtool_unit_tests_pass():
    p = promtool("test", "rules", *TEST_FILES)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("SUCCESS") == len(TEST_FILES), p.stdout


def test_config_is_what_the_lab_and_the_rules_expect():
    cfg = load_yaml(CONFIG)
    assert cfg["global"]["scrape_interval"] == "2s"  # the seed's
    # Every rules file is loaded, by a path relative to the config.
    listed = {os.path.normpath(os.path.join(PROM_DIR, p)) for p in cfg["rule_files"]}
    assert listed == set(RULE_FILES)
    # The alerts select on these job names; the lab writes these files.
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    for job, pattern in (("netwatch-rack", "targets/rack*.json"),
                         ("netwatch-dc", "targets/dc*.json")):
        assert job in jobs
        files = [f for sd in jobs[job].get("file_sd_configs", []) for f in sd["files"]]
        assert files == [pattern], (job, files)


# ------------------------------------------------- (b) the tests cover all

def test_every_alert_has_a_firing_and_a_silent_case():
    defined = alerts()
    firing, silent = set(), set()
    for path, group in unit_tests():
        for case in group.get("alert_rule_test", []):
            name = case["alertname"]
            assert name in defined, f"{os.path.basename(path)} tests unknown alert {name}"
            (firing if case.get("exp_alerts") else silent).add(name)
    assert not set(defined) - firing, f"alerts never shown firing: {sorted(set(defined) - firing)}"
    assert not set(defined) - silent, f"alerts never shown silent: {sorted(set(defined) - silent)}"


def test_every_recording_rule_is_evaluated_in_a_test():
    exprs = [c["expr"] for _, g in unit_tests() for c in g.get("promql_expr_test", [])]
    used = set().union(*(identifiers(e) for e in exprs)) if exprs else set()
    missing = sorted(set(records()) - used)
    assert not missing, f"recording rules without a promql_expr_test: {missing}"


def test_unit_tests_load_the_real_rule_files():
    for path in TEST_FILES:
        files = {os.path.normpath(os.path.join(os.path.dirname(path), f))
                 for f in load_yaml(path)["rule_files"]}
        assert files <= set(RULE_FILES) and files, (path, files)


def test_unit_test_inputs_are_documented_series():
    """A test fed with a series the controllers do not export proves nothing."""
    fams = documented_families()
    for path, group in unit_tests():
        for s in group.get("input_series", []):
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s["series"]).group(0)
            assert name in BUILTIN_SERIES or family_of(name, fams), \
                f"{os.path.basename(path)}: input series {name} is not in docs/metrics.md"


# ------------------------------------------ (c) rules match the contract

def test_every_metric_the_rules_use_is_in_metrics_md():
    fams = documented_families()
    assert "netwatch_server_spectral_error" in fams and "netwatch_dc_health_score" in fams
    recorded = set(records())
    for file, group, rule in rules():
        for name in identifiers(rule["expr"]):
            if ":" in name:
                assert name in recorded, f"{file}/{group}: {name} is not a recording rule"
            elif name.startswith("netwatch_"):
                assert family_of(name, fams), \
                    f"{file}/{group}: {name} is not in docs/metrics.md"


def test_state_and_reason_values_the_rules_select_are_documented():
    """A value selected on a family must be listed in that family's own row
    (the DC's reason `auth` does not vouch for the collector's `auth_failed`);
    on a recording rule, in the row of a family the rule reads."""
    rows = documented_rows()
    recorded = records()

    def source_rows(name):
        if name in rows:
            return [rows[name][1]]
        if family_of(name, rows):
            return [rows[family_of(name, rows)][1]]
        if name in recorded:
            return [r for n in identifiers(recorded[name]["expr"]) if n != name
                    for r in source_rows(n)]
        return []

    checked = 0
    for file, group, rule in rules():
        for name, matchers in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", rule["expr"]):
            for label, value in re.findall(r'(\w+)\s*(?:=~|!~|!=|=)\s*"([^"]*)"', matchers):
                if label not in ENUM_LABELS:
                    continue
                texts = source_rows(name)
                assert texts, f"{file}/{group}: {name} has no row in docs/metrics.md"
                for v in value.split("|"):
                    assert any(f"`{v}`" in t for t in texts), \
                        f"{file}/{group}: {name}{{{label}=\"{v}\"}} is not in docs/metrics.md"
                    checked += 1
    assert checked >= 5  # the parser found the selectors at all


def alert_level(rule, fams):
    """'server', 'rack', 'dc' or None: the most specific identity the alert's
    series carry, from the families (or recording-rule levels) it reads."""
    levels = set()
    for name in identifiers(rule["expr"]):
        if ":" in name:
            level = name.split(":")[0]
            levels.add("server" if level == "rack_server" else
                       "rack" if level.startswith("rack") else "dc")
        elif family_of(name, fams):
            labels = fams[family_of(name, fams)]
            levels.add("server" if "server_id" in labels else
                       "rack" if "rack_id" in labels else
                       "dc" if "dc_id" in labels else None)
    for level in ("server", "rack", "dc"):
        if level in levels:
            return level
    return None


# A scoped fault alert names its subject: the labels its scope uses
# (docs/fabric.md section 6).
FAULT_SUBJECT = {"server": ("rack_id", "server_id"), "rack": ("rack_id",),
                 "path": ("src_rack", "dst_rack"), "dc": ("dc_id",)}


def subject_labels(rule, fams):
    """The labels an alert's summary must name. Only what is left of the
    first `unless` gives the alert its series (the right side removes
    some), so the fault series the server and rack alerts subtract do not
    count; a fault alert's subject is its scope's."""
    expr = rule["expr"].split("unless")[0]
    m = re.search(r'netwatch_fault_active\{scope="(\w+)"\}', expr)
    if m:
        return FAULT_SUBJECT[m.group(1)]
    needs = {"server": ("rack_id", "server_id"), "rack": ("rack_id",), "dc": ("dc_id",), None: ()}
    return needs[alert_level(dict(rule, expr=expr), fams)]


def test_every_alert_has_for_severity_and_a_summary_naming_rack_and_server():
    fams = documented_families()
    for name, rule in alerts().items():
        assert rule.get("for"), f"{name} has no for:"
        assert rule.get("labels", {}).get("severity") in SEVERITIES, name
        ann = rule.get("annotations", {})
        for key in ("summary", "description", "runbook"):
            assert ann.get(key), f"{name} has no {key}"
        for label in subject_labels(rule, fams):
            assert "$labels.%s" % label in ann["summary"], f"{name}'s summary does not name {label}"
        assert ann["runbook"] == f"docs/alerts.md#{name.lower()}", name


def test_every_alert_is_explained_in_alerts_md():
    with open(ALERTS_DOC) as f:
        headings = set(re.findall(r"^#+\s+(\S+)\s*$", f.read(), re.M))
    missing = sorted(set(alerts()) - headings)
    assert not missing, f"docs/alerts.md has no section for {missing}"


# ------------------------------------------------ (d) a real Prometheus

RACK_EXPOSITION = """\
# TYPE netwatch_server_health_state gauge
netwatch_server_health_state{rack_id="0",server_id="0",state="healthy"} 1
netwatch_server_health_state{rack_id="0",server_id="0",state="down"} 0
netwatch_server_health_state{rack_id="0",server_id="1",state="healthy"} 0
netwatch_server_health_state{rack_id="0",server_id="1",state="down"} 1
# TYPE netwatch_rack_servers gauge
netwatch_rack_servers{rack_id="0",state="healthy"} 1
netwatch_rack_servers{rack_id="0",state="down"} 1
# TYPE netwatch_rack_health_score gauge
netwatch_rack_health_score{rack_id="0"} 0.5
# TYPE netwatch_collector_attached gauge
netwatch_collector_attached{rack_id="0"} 1
"""
DC_EXPOSITION = """\
# TYPE netwatch_dc_health_score gauge
netwatch_dc_health_score{dc_id="lab"} 0.5
# TYPE netwatch_dc_rack_stale gauge
netwatch_dc_rack_stale{dc_id="lab",rack_id="0"} 0
"""


class LabPrometheus:
    """Debian's prometheus on a copy of deploy/prometheus (config and rules,
    the layout kept so its relative paths resolve), with target files
    written as the lab writes them."""

    def __init__(self, rack_addr, dc_addr):
        self.dir = tempfile.mkdtemp(prefix="nwt-promrules-")
        conf = os.path.join(self.dir, "prometheus")
        shutil.copytree(PROM_DIR, conf, ignore=shutil.ignore_patterns("tests", "*.json"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        targets = {
            "racks.json": [{"targets": [rack_addr], "labels": {"dc_id": "lab"}}],
            "dc.json": [{"targets": [dc_addr]}],
            "prometheus.json": [{"targets": [f"127.0.0.1:{self.port}"]}],
        }
        os.makedirs(os.path.join(conf, "targets"), exist_ok=True)
        for name, content in targets.items():
            with open(os.path.join(conf, "targets", name), "w") as f:
                json.dump(content, f)
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={conf}/prometheus.yml",
             f"--storage.tsdb.path={self.dir}/data", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=self.log)

    def api(self, path):
        if self.proc.poll() is not None:
            with open(self.log_path) as f:
                raise AssertionError("prometheus exited:\n" + f.read()[-3000:])
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as r:
                doc = json.loads(r.read())
        except (OSError, ValueError):
            return None
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, q):
        data = self.api("/api/v1/query?query=" + urllib.parse.quote(q))
        return data["result"] if data else None

    def stop(self):
        stop_server(self.proc, self.log, self.dir)


@pytest.fixture(scope="module")
def lab_prometheus():
    if not os.path.exists(PROMETHEUS):
        pytest.fail("prometheus is not installed (make deps installs it)")
    rack, dc = Exposition(RACK_EXPOSITION), Exposition(DC_EXPOSITION)
    prom = None
    try:
        prom = LabPrometheus(rack.addr, dc.addr)
        yield prom
    finally:
        if prom:
            prom.stop()
        rack.close()
        dc.close()


def test_prometheus_scrapes_the_lab_targets_from_file_sd(lab_prometheus):
    def all_up():
        data = lab_prometheus.api("/api/v1/targets")
        if not data:
            return None
        health = {t["labels"]["job"]: t["health"] for t in data["activeTargets"]}
        return health if health == {"netwatch-rack": "up", "netwatch-dc": "up",
                                    "prometheus": "up"} else None

    wait_for(all_up, 60, "the three file_sd targets to be up", interval=0.5)
    rack_up = lab_prometheus.query('up{job="netwatch-rack"}')
    assert rack_up[0]["metric"]["dc_id"] == "lab"  # the target label the lab may set


def test_prometheus_loads_every_rule_and_evaluates_them(lab_prometheus):
    def groups_evaluated():
        data = lab_prometheus.api("/api/v1/rules")
        if not data:
            return None
        got = [r for g in data["groups"] for r in g["rules"]]
        if not got or any(r.get("lastEvaluation", "").startswith("0001") for r in got):
            return None
        return got

    got = wait_for(groups_evaluated, 60, "every rule group to be evaluated once", interval=0.5)
    names = {r["name"] for r in got}
    assert names == set(alerts()) | set(records())
    bad = [(r["name"], r.get("lastError")) for r in got if r["health"] != "ok"]
    assert not bad, bad
    # A recording rule over the rack target, carrying its dc_id target label.
    down = wait_for(lambda: lab_prometheus.query('rack_state:netwatch_rack_servers:sum{state="down"}'),
                    30, "the servers-by-state recording rule", interval=0.5)
    assert down[0]["metric"] == {"__name__": "rack_state:netwatch_rack_servers:sum",
                                 "dc_id": "lab", "rack_id": "0", "state": "down"}
    assert down[0]["value"][1] == "1"


def test_prometheus_fires_server_down_for_the_down_server_only(lab_prometheus):
    def firing():
        data = lab_prometheus.api("/api/v1/alerts")
        if not data:
            return None
        got = [a for a in data["alerts"]
               if a["labels"]["alertname"] == "NetWatchServerDown" and a["state"] == "firing"]
        return got or None

    # for: 10s after the first evaluation that sees the series.
    got = wait_for(firing, 60, "NetWatchServerDown to fire", interval=0.5)
    assert [(a["labels"]["rack_id"], a["labels"]["server_id"]) for a in got] == [("0", "1")]
    assert got[0]["labels"]["severity"] == "critical"
    assert got[0]["annotations"]["summary"] == "Rack 0 server 1 is down"
