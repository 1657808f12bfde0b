"""NetWatch's Grafana dashboards (dashboards/*.json), checked as files and
against a running lab's Prometheus.

Without a lab (any user):
- dashboards/generate.py --check: the committed JSON is what the generator
  writes;
- every file is valid JSON, a Grafana 10/11 dashboard with uid
  "netwatch-<file name>", unique uids and titles; every panel has a unique id,
  a gridPos inside the 24 columns that overlaps no other panel, targets with
  unique refIds and an expression; every datasource is the provisioned
  Prometheus (uid netwatch-prometheus);
- the provisioning files say what the other deployments rely on (datasource
  name/uid/url/default, a file provider reading /var/lib/grafana/dashboards
  into the folder NetWatch);
- every query is valid PromQL to Prometheus' parser (promtool check rules
  on the queries as recording rules);
- every metric a query or template variable names (a PromQL tokenizer:
  identifiers outside strings, label matchers, grouping lists and ranges that
  are not followed by "(" and are no keyword) is a family of docs/metrics.md
  (rack and DC sections; a histogram by its _bucket/_sum/_count series), a
  recording rule of deploy/prometheus/rules, ALERTS or `up`;
- every family of docs/metrics.md appears in some panel query;
- the dashboards type-check against Grafana's own model (@grafana/schema's
  TypeScript types of the dashboard and of each panel plugin's options)
  when @grafana/schema and typescript are installed (skipped otherwise).

With a lab of its own (root; 2 racks x 4 servers, a unique --name):
- every template variable resolves to values in the lab's Prometheus
  (label_values through /api/v1/label/<l>/values?match[]=...);
- every panel query, with the variables set to a real value (and once more
  to "All" where a variable has it) and $__rate_interval/$__interval/$__range
  set as Grafana sets them for the default 30 min view at the 2 s scrape, is
  accepted by Prometheus (status success) and returns data. Series that only
  exist after a fault are made to exist honestly: netwatch-chaos puts a
  periodic outage (500 ms every 5 s) on rack 0 server 0, which makes the
  analysis find a loss period (netwatch_server_disturbance_period_seconds)
  and NetWatchPacketLoss pending (ALERTS); a separate test checks those
  panels show that fault (not a startup alert or a false period elsewhere).
  Nothing is left out (ALLOWED_EMPTY is empty);
- the collector dashboard's malformed panel counts a malformed datagram the
  test sends to rack 0's collector from inside the lab, under its reason.

The fabric dashboard is not in the lab tests: the lab sends no inter-rack
tones yet (docs/fabric.md). Its queries are checked against a real
Prometheus scraping tests/deploy/data/fabric*.prom, the DC's fabric families
(docs/metrics.md) as exposition text of two DCs: "lab", 3 racks with rack
2's uplink at 30 % loss, pair 0 -> 2 unprobed, a rack and a server fault;
"big", above the per-pair series cap (only the worst pairs). Every panel
query is accepted and returns data, the matrix has the probed pairs and no
other, the faults table has the two faults.

Every wait is bounded; the lab is taken down in the fixture's finalizer,
also on failure."""

import glob
import json
import os
import re
import secrets
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

import nwlab  # tests/integration, on the path by conftest.py
import prom_run

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARDS = os.path.join(REPO, "dashboards")
GENERATOR = os.path.join(DASHBOARDS, "generate.py")
METRICS_DOC = os.path.join(REPO, "docs", "metrics.md")
RULES = os.path.join(REPO, "deploy", "prometheus", "rules")
LAB = os.path.join(REPO, "deploy", "local", "netwatch-lab")
BUILD = os.environ.get("NETWATCH_BUILD") or os.path.join(REPO, "build")
CHAOS = os.path.join(BUILD, "netwatch-chaos")

DS_UID = "netwatch-prometheus"
RACKS, SERVERS = 2, 4
COLLECTOR_PORT = 9999

# What Grafana substitutes for its built-in variables on the dashboards'
# default view (now-30m) with the datasource's timeInterval of 2 s (the
# scrape interval): $__interval is the 2 s floor, $__rate_interval
# max($__interval + scrape, 4 x scrape) = 8 s.
GRAFANA_GLOBALS = {"__rate_interval": "8s", "__interval": "2s", "__interval_ms": "2000",
                   "__range": "30m", "__range_s": "1800", "__range_ms": "1800000"}

# Panel queries allowed to return no data while the lab runs, with the
# reason. Empty: every series a panel needs exists in the lab, the
# fault-only ones through the outage the fixture injects.
ALLOWED_EMPTY = {}

# Dashboards whose series the lab cannot make yet, with the reason; each is
# checked against fixed exposition text instead (test_fabric_* below).
NOT_IN_LAB = {"fabric": "the lab sends no inter-rack tones yet (docs/fabric.md)"}
# Two DCs as fixed exposition text: "lab" under the per-pair series cap
# (pair, rack and fault families), "big" above it (only the worst pairs).
FABRIC_EXPOSITIONS = [os.path.join(REPO, "tests", "deploy", "data", f)
                      for f in ("fabric.prom", "fabric-capped.prom")]

# Time for every panel to have data: the analysis needs one window (256
# samples at 20 Hz, 12.8 s) before the spectral families exist, and the
# loss-period search a few outage cycles more (docs/EVALUATION.md: the 5 s
# outage's period is reported ~11 s after it starts).
DATA_TIMEOUT_S = 120

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "atan2", "inf", "nan", "start", "end",
    # aggregation operators (they take "by (...)" before their parenthesis)
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values", "group", "limitk", "limit_ratio",
}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
PROMETHEUS_OWN = {"up", "ALERTS"}

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<dur>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*(?![A-Za-z0-9_:]))
  | (?P<num>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
  | (?P<id>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>==|!=|=~|!~|>=|<=|[{}(),=<>+\-*/%^@])
""", re.X)


def tokens(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot tokenize {expr[pos:pos + 20]!r} in {expr!r}")
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
        pos = m.end()
    return out


def metric_names(expr):
    """The metric names a PromQL expression selects: identifiers that are no
    keyword, not followed by "(" (a function), not inside {...} (label
    names) and not in a by/without/on/ignoring/group_* list. Strings and
    [ranges] are single tokens, so their contents never count."""
    toks = tokens(expr)
    names, brace, i = set(), 0, 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if text == "{":
            brace += 1
        elif text == "}":
            brace -= 1
        elif kind == "id" and not brace:
            if text in LABEL_LIST_KEYWORDS and nxt == "(":
                # skip the label list up to its ")"
                j = i + 2
                while j < len(toks) and toks[j][1] != ")":
                    j += 1
                i = j
            elif text not in PROMQL_KEYWORDS and nxt != "(":
                names.add(text)
        i += 1
    assert brace == 0, f"unbalanced braces in {expr!r}"
    return names


# ------------------------------------------------------------------ contract

def documented_families():
    """{family: type} for every row of docs/metrics.md's family tables, the
    rack's (first cell in backticks) and the DC's (deliberately not)."""
    fam = {}
    with open(METRICS_DOC) as f:
        for line in f:
            m = re.match(r"^\|\s*`?(netwatch_[a-z0-9_]+)`?\s*\|\s*(gauge|counter|histogram|summary)"
                         r"\s*\|", line)
            if m:
                fam[m.group(1)] = m.group(2)
    return fam


def series_names(family, kind):
    if kind == "histogram":
        return {family + s for s in ("_bucket", "_sum", "_count")}
    if kind == "summary":
        return {family, family + "_sum", family + "_count"}
    return {family}


def recording_rules():
    names = set()
    for path in sorted(glob.glob(os.path.join(RULES, "*.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f)
        for g in doc.get("groups", []):
            names.update(r["record"] for r in g.get("rules", []) if "record" in r)
    return names


def exported_names():
    names = set(PROMETHEUS_OWN) | recording_rules()
    for fam, kind in documented_families().items():
        names |= series_names(fam, kind)
    return names


def load_dashboards():
    """({slug: dashboard}, {file: JSON error}): a broken file fails
    test_every_file_is_json instead of the whole module's collection."""
    out, broken = {}, {}
    for path in sorted(glob.glob(os.path.join(DASHBOARDS, "*.json"))):
        with open(path, encoding="utf-8") as f:
            try:
                out[os.path.basename(path)[:-5]] = json.load(f)
            except ValueError as e:
                broken[path] = str(e)
    return out, broken


def all_panels(dash):
    """Panels including those nested in collapsed rows."""
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])


def panel_targets(dash):
    """(panel title, refId, expr) of every query of a dashboard."""
    for p in all_panels(dash):
        for t in p.get("targets", []):
            yield p["title"], t["refId"], t["expr"]


def variable_query(v):
    q = v.get("query")
    return q.get("query") if isinstance(q, dict) else q


VAR_REF = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]|\$(\w+)")


def substitute(expr, values):
    """Grafana's variable interpolation for the forms the dashboards may use;
    an unknown variable fails (it would reach Prometheus as text)."""
    def one(m):
        name = m.group(1) or m.group(3) or m.group(4)
        if name in values:
            return values[name]
        if name in GRAFANA_GLOBALS:
            return GRAFANA_GLOBALS[name]
        raise AssertionError(f"unknown variable ${name} in {expr!r}")
    return VAR_REF.sub(one, expr)


def dummy_values(dash):
    return {v["name"]: "0" for v in dash["templating"]["list"]}


LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<match>.*),\s*)?(?P<label>\w+)\s*\)\s*$", re.S)
QUERY_RESULT = re.compile(r"^\s*query_result\((?P<expr>.*)\)\s*$", re.S)


def variable_exprs(dash):
    """(variable name, PromQL selector or expression inside its query)."""
    for v in dash["templating"]["list"]:
        if v.get("type") != "query":
            continue
        q = variable_query(v)
        m = LABEL_VALUES.match(q) or QUERY_RESULT.match(q)
        assert m, f"{dash['uid']}: variable {v['name']}: unsupported query {q!r}"
        expr = m.groupdict().get("match") or m.groupdict().get("expr")
        if expr:
            yield v["name"], expr


# ------------------------------------------------------------- static tests

DASHES, BROKEN = load_dashboards()


def test_tokenizer_finds_metrics_and_nothing_else():
    e = ('histogram_quantile(0.99, sum by (server_id, le) (rate(netwatch_latency_ms_bucket'
         '{dc_id=~"a|b",rack_id="0"}[30s]))) / ignoring(state) group_left(x) '
         'rack:foo:bar offset 5m > bool 1e-3 and on(rack_id) up{job="netwatch_x"} '
         'or max without (state) (ALERTS) * count_values("s", y_total[1m:10s])')
    assert metric_names(e) == {"netwatch_latency_ms_bucket", "rack:foo:bar", "up", "ALERTS",
                               "y_total"}
    assert metric_names("sum(rate(a[5m])) by (x) / b") == {"a", "b"}
    with pytest.raises(ValueError):
        tokens("a # b")


def test_every_file_is_json():
    assert not BROKEN, BROKEN
    assert all(isinstance(d, dict) for d in DASHES.values())


def test_generator_output_is_current():
    r = subprocess.run(["/usr/bin/python3", GENERATOR, "--check"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_five_dashboards_with_their_uids():
    assert set(DASHES) == {"dc-overview", "rack", "server", "collector", "fabric"}
    uids = [d["uid"] for d in DASHES.values()]
    titles = [d["title"] for d in DASHES.values()]
    assert len(set(uids)) == len(uids) and len(set(titles)) == len(titles)
    for slug, d in DASHES.items():
        assert d["uid"] == f"netwatch-{slug}"
        assert len(d["uid"]) <= 40  # Grafana's uid limit
        assert d["id"] is None  # provisioned: Grafana assigns the id
        assert 36 <= d["schemaVersion"] <= 41
        assert "netwatch" in d["tags"]


def is_prometheus(ds):
    return ds == {"type": "prometheus", "uid": DS_UID}


@pytest.mark.parametrize("slug", sorted(DASHES))
def test_panels_have_ids_layout_targets_and_the_datasource(slug):
    d = DASHES[slug]
    ids, cells = set(), {}
    panels = list(all_panels(d))
    assert panels
    for p in panels:
        assert isinstance(p.get("id"), int) and p["id"] not in ids, p.get("title")
        ids.add(p["id"])
        assert p.get("type") and p.get("title"), p
        g = p["gridPos"]
        assert all(isinstance(g[k], int) for k in ("h", "w", "x", "y")), p["title"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["y"] >= 0
        assert g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]
        if p["type"] == "row":
            assert not p.get("targets")
            continue
        assert is_prometheus(p.get("datasource")), p["title"]
        targets = p.get("targets")
        assert targets, f"{p['title']}: no targets"
        refs = [t["refId"] for t in targets]
        assert len(set(refs)) == len(refs) and all(refs), p["title"]
        for t in targets:
            assert is_prometheus(t.get("datasource")), p["title"]
            assert t.get("expr", "").strip(), p["title"]
    for v in d["templating"]["list"]:
        if v["type"] == "query":
            assert is_prometheus(v["datasource"]), v["name"]
    names = [v["name"] for v in d["templating"]["list"]]
    assert len(set(names)) == len(names)


def test_variables_are_defined_before_use():
    """Every $name a query uses is a template variable of the dashboard (or
    a Grafana global), and a variable's own query uses only earlier ones, so
    Grafana can resolve them in order."""
    for slug, d in DASHES.items():
        defined = []
        for v in d["templating"]["list"]:
            q = variable_query(v) or ""
            substitute(q, {n: "0" for n in defined})
            defined.append(v["name"])
        for title, ref, expr in panel_targets(d):
            substitute(expr, {n: "0" for n in defined})


def test_provisioning_files():
    with open(os.path.join(DASHBOARDS, "provisioning", "datasources", "prometheus.yml")) as f:
        ds = yaml.safe_load(f)
    assert ds["apiVersion"] == 1
    [p] = ds["datasources"]
    assert (p["name"], p["uid"], p["type"], p["url"]) == \
        ("Prometheus", DS_UID, "prometheus", "http://prometheus:9090")
    assert p["isDefault"] is True and p["access"] == "proxy"
    # The lab's scrape interval: $__rate_interval relies on it.
    assert p["jsonData"]["timeInterval"] == "2s"
    with open(os.path.join(DASHBOARDS, "provisioning", "dashboards", "netwatch.yml")) as f:
        prov = yaml.safe_load(f)
    assert prov["apiVersion"] == 1
    [p] = prov["providers"]
    assert p["type"] == "file" and p["folder"] == "NetWatch"
    assert p["options"]["path"] == "/var/lib/grafana/dashboards"


def test_every_query_parses(tmp_path):
    """Without a lab too: every panel and variable expression (variables set
    to a value) is valid PromQL to Prometheus' own parser, which promtool
    runs on recording rules."""
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    if not os.access(promtool, os.X_OK):
        pytest.skip("promtool is not installed (Debian's prometheus package: make deps)")
    rules, where = [], []
    for slug, d in DASHES.items():
        exprs = [(f"{slug}: panel {t!r} {r}", e) for t, r, e in panel_targets(d)]
        exprs += [(f"{slug}: variable {n}", e) for n, e in variable_exprs(d)]
        for w, e in exprs:
            rules.append({"record": f"dashboard_query_{len(rules)}",
                          "expr": substitute(e, dummy_values(d))})
            where.append(w)
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    r = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True,
                       timeout=60)
    out = r.stdout + r.stderr
    # promtool names a failing rule by its place in the group, from 1.
    named = re.sub(r"rule (\d+)",
                   lambda m: f"rule {m.group(1)} ({where[int(m.group(1)) - 1]})", out)
    assert r.returncode == 0, named
    assert f"{len(rules)} rules found" in out, out


def test_no_query_names_a_metric_the_project_does_not_export():
    exported = exported_names()
    unknown = []
    for slug, d in DASHES.items():
        exprs = [(f"panel {t!r} {r}", e) for t, r, e in panel_targets(d)]
        exprs += [(f"variable {n}", e) for n, e in variable_exprs(d)]
        for where, e in exprs:
            for name in metric_names(substitute(e, dummy_values(d))):
                if name not in exported:
                    unknown.append(f"{slug}: {where}: {name}")
    assert not unknown, "\n".join(unknown)


def test_every_documented_family_appears_in_a_panel():
    used = set()
    for d in DASHES.values():
        for _, _, e in panel_targets(d):
            used |= metric_names(substitute(e, dummy_values(d)))
    families = documented_families()
    # The contract's two tables: the rack's and the DC's.
    assert "netwatch_server_spectral_error" in families and "netwatch_dc_health_score" in families
    missing = [f for f, kind in families.items() if not series_names(f, kind) & used]
    assert not missing, f"families no panel shows: {missing}"


# Grafana's own model, as the TypeScript types of @grafana/schema (what the
# dashboard schema and the panel plugins' option schemas generate). Needs
# @grafana/schema and typescript in tests/deploy/node_modules (or in
# $NETWATCH_DEPLOY_NODE_MODULES); skipped when they are not installed.
NODE_MODULES = os.environ.get("NETWATCH_DEPLOY_NODE_MODULES") or os.path.join(
    REPO, "tests", "deploy", "node_modules")
PANEL_SCHEMAS = {"timeseries": "timeseries/panelcfg/x/TimeSeriesPanelCfg",
                 "stat": "stat/panelcfg/x/StatPanelCfg",
                 "bargauge": "bargauge/panelcfg/x/BarGaugePanelCfg",
                 "state-timeline": "statetimeline/panelcfg/x/StateTimelinePanelCfg",
                 "heatmap": "heatmap/panelcfg/x/HeatmapPanelCfg",
                 "table": "table/panelcfg/x/TablePanelCfg"}
TS_ENUM = re.compile(r"export declare enum (\w+) \{(.*?)\}", re.S)


def ts_union(m):
    """A declared enum as the union of its values: the JSON holds the values
    ("line"), which TypeScript does not accept for a string enum type."""
    vals = re.findall(r"=\s*(\"[^\"]*\"|'[^']*'|-?\d+)", m.group(2))
    if not vals:
        vals = [str(i) for i, _ in enumerate(x for x in m.group(2).split(",") if x.strip())]
    return f"export type {m.group(1)} = {' | '.join(vals)};"


def test_dashboards_type_check_against_grafana_schema(tmp_path):
    esm = os.path.join(NODE_MODULES, "@grafana", "schema", "dist", "esm")
    tsc = os.path.join(NODE_MODULES, "typescript", "bin", "tsc")
    if not (os.path.isdir(esm) and os.path.exists(tsc)):
        pytest.skip(f"@grafana/schema and typescript are not installed in {NODE_MODULES}")
    sources = {"common": "common/common.gen", "dashboard": "raw/dashboard/x/dashboard_types.gen"}
    sources.update({k: f"raw/composable/{v}_types.gen" for k, v in PANEL_SCHEMAS.items()})
    mods = {}
    for name, rel in sources.items():
        with open(os.path.join(esm, rel + ".d.ts")) as f:
            text = TS_ENUM.sub(ts_union, f.read())
        mod = re.sub(r"\W", "_", name)
        mods[name] = mod
        (tmp_path / f"{mod}.d.ts").write_text(text.replace("from '@grafana/schema'",
                                                           "from './schema'"))
    (tmp_path / "schema.d.ts").write_text(
        "export * from './common';\nexport * from './dashboard';\n")
    # Grafana fills in options a file leaves out, so every field is optional
    # here, but an unknown name or a wrong value type or enum value fails.
    lines = ["import type { Dashboard } from './dashboard';",
             "type DP<T> = T extends (infer U)[] ? DP<U>[] "
             ": T extends object ? { [K in keyof T]?: DP<T[K]> } : T;"]
    lines += [f"import type * as {mods[k]} from './{mods[k]}';" for k in PANEL_SCHEMAS]
    for slug, d in DASHES.items():
        d = json.loads(json.dumps(d))
        for v in d["templating"]["list"]:
            # The query editor's display copy of the query: Grafana writes it
            # itself, the schema does not list it.
            v.pop("definition", None)
        name = re.sub(r"\W", "_", slug)
        lines.append(f"export const d_{name}: Dashboard = {json.dumps(d)};")
        for p in all_panels(d):
            if p["type"] == "row":
                continue
            assert p["type"] in PANEL_SCHEMAS, f"{slug}: {p['title']}: no schema for {p['type']}"
            mod = mods[p["type"]]
            lines.append(f"export const o_{name}_{p['id']}: DP<{mod}.Options> = "
                         f"{json.dumps(p['options'])};")
            custom = p["fieldConfig"]["defaults"].get("custom")
            if custom is not None:
                lines.append(f"export const c_{name}_{p['id']}: DP<{mod}.FieldConfig> = "
                             f"{json.dumps(custom)};")
    (tmp_path / "check.ts").write_text("\n".join(lines) + "\n")
    r = subprocess.run(["node", tsc, "--noEmit", "--strict", "--skipLibCheck", "--target",
                        "es2020", "--module", "es2020", "--moduleResolution", "node",
                        str(tmp_path / "check.ts")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


# ------------------------------------------------------------------ the lab

def wait_for(cond, timeout, what, interval=0.5):
    return nwlab.wait_for(cond, timeout, what, interval)


def lab_cmd(name, *args):
    return subprocess.run([LAB, *args, "--name", name], capture_output=True, text=True,
                          env={**os.environ, "NETWATCH_BUILD": BUILD}, timeout=180)


def chaos(topology, *args):
    return subprocess.run([CHAOS, "--topology", topology, *args], capture_output=True,
                          text=True, timeout=30)


@pytest.fixture(scope="module")
def lab():
    if os.geteuid() != 0:
        pytest.skip("needs root (the lab's namespaces and BPF)")
    if not os.access(CHAOS, os.X_OK):
        pytest.skip(f"{CHAOS} is not built (NETWATCH_BUILD)")
    name = "d" + secrets.token_hex(3)
    r = lab_cmd(name, "up", "--racks", str(RACKS), "--servers", str(SERVERS), "--json")
    info = None
    try:
        assert r.returncode == 0, f"netwatch-lab up: rc {r.returncode}\n{r.stderr}"
        info = json.loads(r.stdout)
        c = chaos(info["topology"], "--rack", "0", "--server", "0", "--outage", "500ms/5s")
        assert c.returncode == 0, f"netwatch-chaos: rc {c.returncode}\n{c.stderr}"
        yield {"name": name, "info": info, "prom": info["endpoints"]["prometheus"]}
    finally:
        if info:
            chaos(info["topology"], "--rack", "0", "--clear")
        d = lab_cmd(name, "down")
    # Not in the finally: a failed down must not hide the failure before it.
    assert d.returncode == 0, f"netwatch-lab down: {d.stderr}"


def prom_get(prom, path, params):
    """The decoded answer, or None when Prometheus cannot be reached; a
    refused query (HTTP 400/422) comes back as its error document."""
    url = f"{prom}{path}?{urllib.parse.urlencode(params, doseq=True)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": f"HTTP {e.code}"}
    except (OSError, ValueError):
        return None


def variable_values(prom, v, values):
    """What Grafana would offer for a query variable, given the values of
    the variables before it."""
    q = substitute(variable_query(v), values)
    m = LABEL_VALUES.match(q)
    if m:
        params = {"match[]": [m.group("match")]} if m.group("match") else {}
        doc = prom_get(prom, f"/api/v1/label/{m.group('label')}/values", params)
        assert doc is None or doc["status"] == "success", f"{v['name']}: {q}: {doc}"
        return sorted(doc["data"], key=sort_key) if doc else []
    m = QUERY_RESULT.match(q)
    assert m, f"{v['name']}: unsupported query {q!r}"
    doc = prom_get(prom, "/api/v1/query", {"query": m.group("expr")})
    assert doc is None or doc["status"] == "success", f"{v['name']}: {q}: {doc}"
    return [json.dumps(x["metric"]) for x in doc["data"]["result"]] if doc else []


def sort_key(value):
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def resolve_variables(prom, dash, use_all):
    """{name: value} for the dashboard's variables, in order, each the first
    value Prometheus offers (or the All value, when use_all and the variable
    has one); a variable without values fails after a bounded wait."""
    values = {}
    for v in dash["templating"]["list"]:
        if v["type"] != "query":
            continue
        found = wait_for(lambda: variable_values(prom, v, values), 60,
                         f"{dash['uid']}: values of ${v['name']} ({variable_query(v)})")
        if use_all and v.get("includeAll") and "allValue" in v:
            values[v["name"]] = v["allValue"]
        else:
            values[v["name"]] = re.escape(found[0]) if v.get("multi") else found[0]
    return values


def test_every_template_variable_resolves(lab):
    for slug, d in DASHES.items():
        values = resolve_variables(lab["prom"], d, use_all=False)
        assert set(values) == {v["name"] for v in d["templating"]["list"]}
    # The lab's own names: the DC id is the lab name, racks 0..1, servers 0..3.
    # (Bounded waits: Prometheus may not have scraped every target yet.)
    dc_var, rack_var, server_var = DASHES["server"]["templating"]["list"]
    for var, vals, want in ((dc_var, {}, [lab["name"]]),
                            (rack_var, {"dc": lab["name"]}, [str(r) for r in range(RACKS)]),
                            (server_var, {"dc": lab["name"], "rack": "1"},
                             [str(s) for s in range(SERVERS)])):
        wait_for(lambda: variable_values(lab["prom"], var, vals) == want, 30,
                 f"${var['name']} offering {want}")


@pytest.mark.parametrize("use_all", [False, True], ids=["first-value", "all"])
def test_every_panel_query_is_accepted_and_returns_data(lab, use_all):
    pending = {}
    for slug, d in DASHES.items():
        if slug in NOT_IN_LAB:
            continue
        values = resolve_variables(lab["prom"], d, use_all)
        for title, ref, expr in panel_targets(d):
            key = (slug, title, ref)
            if key not in ALLOWED_EMPTY:
                pending[key] = substitute(expr, values)
    assert len(pending) > 80
    assert_queries_return_data(lab["prom"], pending, DATA_TIMEOUT_S, 2.0)


def assert_queries_return_data(prom, pending, timeout, interval):
    """Asks Prometheus every query of {key: PromQL} until each has returned
    data (bounded by timeout); fails naming the refused and the empty ones."""
    refused = {}

    def all_have_data():
        for key, q in list(pending.items()):
            doc = prom_get(prom, "/api/v1/query", {"query": q})
            if doc is None:
                continue  # not reachable this once: ask again
            if doc["status"] != "success":
                refused[key] = (q, doc.get("error"))
                del pending[key]
            elif doc["data"]["result"]:
                del pending[key]
        return not pending or refused

    try:
        wait_for(all_have_data, timeout, "every panel query to return data", interval)
    except AssertionError:
        pass
    assert not refused, "queries Prometheus refused:\n" + "\n".join(
        f"{k}: {q}\n  {err}" for k, (q, err) in refused.items())
    assert not pending, "queries without data:\n" + "\n".join(
        f"{k}: {q}" for k, q in pending.items())


def panel_query(slug, title, values, ref="A"):
    [p] = [p for p in all_panels(DASHES[slug]) if p["title"] == title]
    [t] = [t for t in p["targets"] if t["refId"] == ref]
    return substitute(t["expr"], values)


def test_fault_only_panels_show_the_injected_fault(lab):
    """The panels whose series exist only after a fault have data because of
    the fixture's outage, not by luck (a startup alert such as
    NetWatchNoRackTargets pending before the first scrape, or a false period
    on another server, would also satisfy a bare "returns data"): the
    alerts table lists NetWatchPacketLoss for rack 0 server 0, and rack 0
    server 0's disturbance panel shows a loss period of the outage's 5 s."""
    values = {"dc": lab["name"], "rack": "0", "server": "0"}
    alerts_q = panel_query("dc-overview", "Active alerts", values)
    period_q = panel_query("server", "Disturbance period", values)

    def result(q):
        doc = prom_get(lab["prom"], "/api/v1/query", {"query": q})
        return doc["data"]["result"] if doc and doc["status"] == "success" else []

    def loss_alert():
        return [a for a in result(alerts_q) if a["metric"]["alertname"] == "NetWatchPacketLoss"
                and (a["metric"].get("rack_id"), a["metric"].get("server_id")) == ("0", "0")]

    def loss_period():
        return [float(x["value"][1]) for x in result(period_q) if x["metric"]["series"] == "loss"]

    wait_for(loss_alert, DATA_TIMEOUT_S,
             "NetWatchPacketLoss for rack 0 server 0 in the alerts panel")
    [period] = wait_for(loss_period, DATA_TIMEOUT_S, "a loss period in rack 0 server 0's panel")
    # The estimate is the strongest peak of a least-squares periodogram over
    # a short horizon: a few percent off the 5 s is normal, another
    # disturbance's period is not (±20 %).
    assert 4.0 <= period <= 6.0, period


def test_malformed_panel_counts_a_malformed_datagram(lab):
    """The collector dashboard's "Malformed in the time range" query moves
    by what really reaches rack 0's collector: 5 datagrams of 8 bytes to
    the NetWatch port are `truncated` (a sample is 40 bytes or more)."""
    q = panel_query("collector", "Malformed in the time range", {"dc": lab["name"], "rack": "0"})

    def truncated():
        doc = prom_get(lab["prom"], "/api/v1/query", {"query": q})
        if not doc or doc["status"] != "success":
            return None
        return {x["metric"]["reason"]: float(x["value"][1]) for x in doc["data"]["result"]}

    before = wait_for(truncated, 30, f"{q} answering")
    assert before.get("truncated") == 0.0, before
    rack0 = lab["info"]["endpoints"]["racks"][0]["metrics"].split("/")[2].split(":")[0]
    send = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            f"[s.sendto(b'NWTNjunk', ('{rack0}', {COLLECTOR_PORT})) for _ in range(5)]")
    subprocess.run(["ip", "netns", "exec", f"{lab['name']}-r0s3", "/usr/bin/python3", "-c", send],
                   check=True, timeout=10)
    after = wait_for(lambda: (lambda v: v if v and v.get("truncated", 0) > 0 else None)(
        truncated()), 30, "the truncated datagrams in the malformed panel")
    # increase() extrapolates to the window's edges, so "about 5", never 0.
    assert 1 <= after["truncated"] <= 10, after
    assert all(v == 0 for r, v in after.items() if r != "truncated"), after


# --------------------------------------- the fabric dashboard, fixed series

def fabric_rows():
    """{family: type} of docs/metrics.md's fabric families: the DC's for
    paths, the fabric and faults (and the rows it rejects), and the racks'
    paths in and FABRIC sample counters."""
    return {f: k for f, k in documented_families().items()
            if f.startswith(("netwatch_path_", "netwatch_fabric_", "netwatch_fault_",
                             "netwatch_collector_fabric_"))
            or f in ("netwatch_rack_fabric_error", "netwatch_dc_path_rows_rejected_total")}


def test_fabric_exposition_holds_every_fabric_family():
    """The fixed series are the contract's: every fabric family of
    metrics.md with its type, nothing else but the DC score."""
    typed = {}
    for path in FABRIC_EXPOSITIONS:
        with open(path) as f:
            typed.update(re.findall(r"^# TYPE (\S+) (\S+)$", f.read(), re.M))
    assert fabric_rows(), "docs/metrics.md has no fabric families"
    assert typed == {**fabric_rows(), "netwatch_dc_health_score": "gauge"}
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    for path in FABRIC_EXPOSITIONS:  # valid exposition text, as the DC's must be
        with open(path) as f:
            r = subprocess.run([promtool, "check", "metrics"], stdin=f, capture_output=True,
                               text=True, timeout=60)
        assert r.returncode == 0, (path, r.stdout + r.stderr)


@pytest.fixture(scope="module")
def fabric_prom():
    """A real Prometheus scraping the fabric expositions as job netwatch-dc."""
    if not os.path.exists(prom_run.PROMETHEUS):
        pytest.fail("prometheus is not installed (make deps installs it)")
    targets = []
    for path in FABRIC_EXPOSITIONS:
        with open(path) as f:
            targets.append(prom_run.Exposition(f.read()))
    prom = prom_run.Prometheus([t.addr for t in targets], "netwatch-dc", prefix="nwt-fabric-")
    try:
        yield prom.base
    finally:
        prom.stop()
        for t in targets:
            t.close()


def test_fabric_panel_queries_return_data(fabric_prom):
    d = DASHES["fabric"]
    values = resolve_variables(fabric_prom, d, use_all=True)
    pending = {(t, r): substitute(e, values) for t, r, e in panel_targets(d)}
    assert_queries_return_data(fabric_prom, pending, 60, 1.0)


def test_fabric_matrix_and_faults_show_the_exposition(fabric_prom):
    """The matrix holds exactly the probed pairs (0 -> 2 is absent: an
    unmeasured cell, not a healthy one) with their values, and the faults
    table the two faults with their subject labels."""
    values = {"dc": "lab"}

    def result(q):
        doc = prom_get(fabric_prom, "/api/v1/query", {"query": q})
        return doc["data"]["result"] if doc and doc["status"] == "success" else []

    err_q = panel_query("fabric", "Path spectral error (src rack × dst rack)", values)
    cells = wait_for(lambda: {(x["metric"]["src_rack"], x["metric"]["dst_rack"]):
                              float(x["value"][1]) for x in result(err_q)}, 60,
                     "the pair matrix")
    assert cells == {("0", "1"): 0.03, ("1", "0"): 0.03, ("1", "2"): 0.62,
                     ("2", "0"): 0.62, ("2", "1"): 0.62}
    faults = result(panel_query("fabric", "Active scoped faults", values))
    got = sorted((f["metric"]["scope"], f["metric"].get("rack_id"), f["metric"].get("server_id"),
                  f["metric"].get("cause")) for f in faults)
    assert got == [("rack", "2", None, "uplink"), ("server", "1", "3", None)]
    worst_q = panel_query("fabric", "Worst pairs (above the per-pair series cap)", {"dc": "big"})
    worst = wait_for(lambda: result(worst_q), 60, "the worst pairs of the capped DC")
    assert sorted((w["metric"]["rank"], w["metric"]["src_rack"], w["metric"]["dst_rack"],
                   float(w["value"][1])) for w in worst) == [
        ("0", "17", "212", 0.55), ("1", "212", "17", 0.31), ("2", "5", "6", 0.04)]
