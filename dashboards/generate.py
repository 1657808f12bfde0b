#!/usr/bin/python3
"""Writes NetWatch's Grafana dashboards (dashboards/<slug>.json) from the
panel lists below.

    dashboards/generate.py           # rewrite the JSON files
    dashboards/generate.py --check   # exit 1 if a committed file differs

The JSON files are committed (Grafana's file provider and the Kubernetes
ConfigMap generator read them as they are); tests/deploy/test_dashboards.py
runs --check, so an edit here without regenerating, or a hand edit of the
JSON, fails the test. Written for Grafana 10/11 (schemaVersion 39).

Every query names only families of docs/metrics.md, the recording rules of
deploy/prometheus/rules/netwatch-rules.yml, ALERTS and `up`; the test checks
that against the lab's Prometheus. Selectors: DC series always carry dc_id;
rack series carry it only when the scrape target has it (the lab does), so
the `dc` variable defaults to All (".*", which also matches no label)."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "netwatch-prometheus"}
SCHEMA_VERSION = 39
WIDTH = 24

DC = 'dc_id=~"$dc"'
RACK = 'dc_id=~"$dc",rack_id="$rack"'
RACKS = 'dc_id=~"$dc",rack_id=~"$rack"'  # collector dashboard: multi-valued rack
SERVER = 'dc_id=~"$dc",rack_id="$rack",server_id="$server"'

# Seed thresholds (docs/analysis.md: error < 0.2 healthy, <= 0.5 warning) and
# the alert rules' score thresholds (0.8 degraded, 0.5 critical).
ERROR_STEPS = [("green", None), ("yellow", 0.2), ("red", 0.5000001)]
SCORE_STEPS = [("red", None), ("orange", 0.5), ("green", 0.8)]
LOSS_STEPS = [("green", None), ("yellow", 0.01), ("red", 0.10)]
ZERO_GOOD = [("green", None), ("red", 1e-9)]

CLASS_CODES = ["healthy", "warning", "critical", "down", "left", "warming"]
CLASS_COLORS = {"healthy": "green", "warning": "yellow", "critical": "red",
                "down": "dark-red", "left": "blue", "warming": "purple"}
# The DC's view of a rack (netwatch_dc_rack_state), best first.
RACK_STATES = [("ok", "green"), ("stale", "red"), ("never", "dark-red")]
# The reporter's connection, best first (docs/metrics.md's states).
CONN_STATES = [("connected", "green"), ("connecting", "yellow"), ("disconnected", "red"),
               ("disabled", "blue")]


# ------------------------------------------------------------ building blocks

def steps(pairs):
    return {"mode": "absolute",
            "steps": [{"color": c, "value": v} for c, v in pairs]}


def target(expr, legend="", instant=False, fmt="time_series"):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto",
         "range": not instant, "instant": instant, "refId": ""}
    if fmt != "time_series":
        t["format"] = fmt
    return t


def class_mapping():
    """Value mapping for the health class code of class_code_expr()."""
    return code_mapping([(name, CLASS_COLORS[name]) for name in CLASS_CODES])


def state_code_expr(metric, sel, states, by):
    """One series per `by` whose value is the index in `states` of its current
    state: an enum family has one 0/1 series per state, and a state timeline
    wants one series per row. `ignoring(state)` matches a row's states to each
    other; exactly one is 1, so the sum is the current state's index."""
    terms = [f'{metric}{{{sel},state="{s}"}} * {i}' for i, s in enumerate(states)]
    return (f"max by ({by}) (\n    " + "\n  + ignoring(state) ".join(terms) + "\n)")


def class_code_expr(sel):
    """A server's health class as 0 healthy .. 5 warming (class_mapping())."""
    return state_code_expr("netwatch_server_health_state", sel, CLASS_CODES,
                           "rack_id, server_id")


def code_mapping(pairs):
    return [{"type": "value", "options": {
        str(i): {"text": text, "color": color, "index": i}
        for i, (text, color) in enumerate(pairs)}}]


def panel(kind, title, targets, desc, unit=None, thresholds=None, mappings=None,
          minv=None, maxv=None, options=None, custom=None, links=None,
          transformations=None, overrides=None, color=None):
    defaults = {}
    if unit:
        defaults["unit"] = unit
    if minv is not None:
        defaults["min"] = minv
    if maxv is not None:
        defaults["max"] = maxv
    if thresholds:
        defaults["thresholds"] = steps(thresholds)
    defaults["color"] = color or ({"mode": "thresholds"} if thresholds and kind != "timeseries"
                                  else {"mode": "palette-classic"})
    if mappings:
        defaults["mappings"] = mappings
    if custom:
        defaults["custom"] = custom
    if links:
        defaults["links"] = links
    p = {"type": kind, "title": title, "description": desc, "datasource": DS,
         "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
         "options": options or {}, "targets": targets}
    if transformations:
        p["transformations"] = transformations
    return p


def reduce_opts(calc="lastNotNull"):
    return {"calcs": [calc], "fields": "", "values": False}


def timeseries(title, targets, desc, unit=None, minv=None, maxv=None, stack=False,
               thresholds=None, links=None, draw="line"):
    custom = {"drawStyle": draw, "lineWidth": 1, "fillOpacity": 10 if not stack else 60,
              "showPoints": "never", "spanNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    if thresholds:
        custom["thresholdsStyle"] = {"mode": "dashed"}
    return panel("timeseries", title, targets, desc, unit=unit, minv=minv, maxv=maxv,
                 thresholds=thresholds, custom=custom, links=links,
                 options={"legend": {"displayMode": "list", "placement": "bottom",
                                     "showLegend": True},
                          "tooltip": {"mode": "multi", "sort": "desc"}})


def stat(title, targets, desc, unit=None, thresholds=None, minv=None, maxv=None,
         mappings=None, graph=True, links=None):
    return panel("stat", title, targets, desc, unit=unit, minv=minv, maxv=maxv,
                 thresholds=thresholds or [("blue", None)], mappings=mappings, links=links,
                 options={"reduceOptions": reduce_opts(), "colorMode": "background",
                          "graphMode": "area" if graph else "none", "justifyMode": "auto",
                          "orientation": "auto", "textMode": "auto",
                          "wideLayout": True, "showPercentChange": False})


def bargauge(title, targets, desc, unit=None, thresholds=None, minv=None, maxv=None,
             links=None):
    return panel("bargauge", title, targets, desc, unit=unit, minv=minv, maxv=maxv,
                 thresholds=thresholds or [("blue", None)], links=links,
                 options={"reduceOptions": reduce_opts(), "orientation": "horizontal",
                          "displayMode": "gradient", "showUnfilled": True,
                          "valueMode": "color", "namePlacement": "auto", "sizing": "auto",
                          "minVizHeight": 16, "minVizWidth": 8, "maxVizHeight": 300})


def state_timeline(title, targets, desc, thresholds=None, mappings=None, unit=None,
                   minv=None, maxv=None, links=None):
    return panel("state-timeline", title, targets, desc, unit=unit, minv=minv, maxv=maxv,
                 thresholds=thresholds or [("green", None)], mappings=mappings, links=links,
                 custom={"fillOpacity": 80, "lineWidth": 0},
                 options={"showValue": "never", "mergeValues": True, "alignValue": "left",
                          "rowHeight": 0.9,
                          "legend": {"displayMode": "list", "placement": "bottom",
                                     "showLegend": True},
                          "tooltip": {"mode": "single", "sort": "none"}})


def heatmap(title, targets, desc, unit):
    """A Prometheus histogram as Grafana's heatmap: the targets give one
    series per `le` (format heatmap), already bucketed, so no calculation."""
    return panel("heatmap", title, targets, desc, custom={"hideFrom": {
        "legend": False, "tooltip": False, "viz": False}, "scaleDistribution": {"type": "linear"}},
                 options={"calculate": False, "cellGap": 1,
                          "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64,
                                    "exponent": 0.5, "fill": "dark-orange", "reverse": False,
                                    "scale": "exponential"},
                          "yAxis": {"axisPlacement": "left", "unit": unit, "reverse": False},
                          "rowsFrame": {"layout": "auto"},
                          "filterValues": {"le": 1e-9},
                          "tooltip": {"mode": "single", "yHistogram": True,
                                      "showColorScale": False},
                          "legend": {"show": True}, "showValue": "never",
                          "exemplars": {"color": "rgba(255,0,255,0.7)"}})


def table(title, targets, desc, hide=(), rename=None, unit=None, thresholds=None,
          mappings=None, merge=False, links=None, overrides=None, show=()):
    """Instant queries shown as rows; `merge` joins several queries on their
    labels (one column per query). job and instance are hidden unless in
    `show`: the rack and DC ids say more."""
    excluded = {"Time": True, "__name__": True, "job": True, "instance": True}
    excluded.update({h: True for h in hide})
    for k in show:
        excluded.pop(k, None)
    trans = []
    if merge:
        trans.append({"id": "merge", "options": {}})
    trans.append({"id": "organize", "options": {"excludeByName": excluded,
                                                "renameByName": rename or {},
                                                "indexByName": {}}})
    return panel("table", title, targets, desc, unit=unit, thresholds=thresholds,
                 mappings=mappings, transformations=trans, links=links, overrides=overrides,
                 custom={"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
                 options={"showHeader": True, "cellHeight": "sm"})


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


def link(title, uid, slug, params):
    return {"title": title, "url": f"/d/{uid}/{slug}?{params}&${{__url_time_range}}"}


def layout(items):
    """Assigns gridPos and ids: items are (panel, width, height) or a row;
    panels flow left to right and wrap at 24 columns."""
    out, x, y, line_h, next_id = [], 0, 0, 0, 1
    for it in items:
        if isinstance(it, dict):  # a row
            if x:
                y, x, line_h = y + line_h, 0, 0
            it = dict(it, id=next_id, gridPos={"h": 1, "w": WIDTH, "x": 0, "y": y})
            next_id += 1
            out.append(it)
            y += 1
            continue
        p, w, h = it
        if x + w > WIDTH:
            y, x, line_h = y + line_h, 0, 0
        p = dict(p, id=next_id, gridPos={"h": h, "w": w, "x": x, "y": y})
        for i, t in enumerate(p["targets"]):
            t["refId"] = chr(ord("A") + i)
        next_id += 1
        out.append(p)
        x += w
        line_h = max(line_h, h)
    return out


def query_var(name, label, query, include_all=False, multi=False, all_value=None,
              sort=3):
    """A label_values() variable (sort 3: numerically ascending, so rack 10
    comes after rack 9)."""
    assert query.startswith("label_values("), query
    v = {"name": name, "label": label, "type": "query", "datasource": DS,
         "definition": query,
         # As Grafana 10/11's variable editor saves it (qryType 1: label values).
         "query": {"qryType": 1, "query": query,
                   "refId": "PrometheusVariableQueryEditor-VariableQuery"},
         "refresh": 2, "sort": sort, "regex": "", "hide": 0, "skipUrlSync": False,
         "includeAll": include_all, "multi": multi, "options": []}
    # Without All, no `current`: Grafana selects the first value it finds.
    if include_all:
        v["current"] = {"selected": True, "text": ["All"] if multi else "All",
                        "value": ["$__all"] if multi else "$__all"}
    if all_value is not None:
        v["allValue"] = all_value
    return v


DC_VAR = query_var("dc", "DC", "label_values(netwatch_dc_health_score, dc_id)",
                   include_all=True, all_value=".*", sort=1)
RACK_VAR = query_var("rack", "Rack",
                     'label_values(netwatch_rack_health_score{dc_id=~"$dc"}, rack_id)')
SERVER_VAR = query_var("server", "Server",
                       'label_values(netwatch_server_up{dc_id=~"$dc",rack_id="$rack"}, server_id)')


def dashboard(slug, title, desc, variables, items):
    return {
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": desc,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"title": "NetWatch", "type": "dashboards", "tags": ["netwatch"],
                   "asDropdown": True, "includeVars": True, "keepTime": True,
                   "icon": "external link", "targetBlank": False, "tooltip": "",
                   "url": ""}],
        "liveNow": False,
        "panels": layout(items),
        "refresh": "10s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["netwatch"],
        "templating": {"list": variables},
        "time": {"from": "now-30m", "to": "now"},
        "timepicker": {"refresh_intervals": ["5s", "10s", "30s", "1m", "5m"]},
        "timezone": "",
        "title": title,
        "uid": f"netwatch-{slug}",
        "version": 1,
        "weekStart": "",
    }


# ---------------------------------------------------------------- dashboards

# Data links: series panels name a label of the clicked series, tables a
# column of the clicked row (after the table's renames).
def to_rack(value="${__field.labels.rack_id}"):
    return link(f"Rack {value}", "netwatch-rack", "netwatch-rack-drill-down",
                f"var-dc=$dc&var-rack={value}")


def to_server(value="${__field.labels.server_id}"):
    return link(f"Server {value}", "netwatch-server", "netwatch-server-detail",
                f"var-dc=$dc&var-rack=$rack&var-server={value}")


TO_RACK = to_rack()
TO_SERVER = to_server()


def dc_overview():
    items = [
        row("Datacenter"),
        (stat("DC health score", [target(f"netwatch_dc_health_score{{{DC}}}", "{{dc_id}}")],
              "Mean of the rack scores over expected racks and racks that have reported; "
              "a stale or never-reporting rack counts 0. Below 0.8 NetWatchDCDegraded, "
              "below 0.5 NetWatchDCUnhealthy.",
              unit="percentunit", minv=0, maxv=1, thresholds=SCORE_STEPS), 5, 6),
        (stat("Worst rack score", [target(f"dc:netwatch_dc_rack_health_score:min{{{DC}}}",
                                          "{{dc_id}}")],
              "The lowest rack score as the DC counts it (0 for a stale rack).",
              unit="percentunit", minv=0, maxv=1, thresholds=SCORE_STEPS), 4, 6),
        (stat("Racks reporting / known / expected", [
            target(f"netwatch_dc_racks_reporting{{{DC}}}", "reporting"),
            target(f"netwatch_dc_racks_known{{{DC}}}", "known"),
            target(f"netwatch_dc_racks_expected{{{DC}}}", "expected")],
            "Reporting: newest report younger than --stale. Known: racks in the DC score "
            "(its denominator). Expected: the DC's --racks.", unit="none", graph=False), 6, 6),
        (stat("Stale racks", [target(f"dc:netwatch_dc_racks_stale:sum{{{DC}}}", "{{dc_id}}")],
              "Racks with no report for --stale seconds, or expected and never reported. "
              "Each counts 0 in the DC score (NetWatchRackReportStale).",
              unit="none", thresholds=ZERO_GOOD, graph=False), 4, 6),
        (stat("Reporting ratio", [target(f"dc:netwatch_dc_racks_reporting:ratio{{{DC}}}",
                                         "{{dc_id}}")],
              "Racks reporting over racks known.", unit="percentunit", minv=0, maxv=1,
              thresholds=SCORE_STEPS, graph=False), 5, 6),
        (timeseries("DC score history", [
            target(f"netwatch_dc_health_score{{{DC}}}", "DC {{dc_id}}"),
            target(f"dc:netwatch_dc_rack_health_score:min{{{DC}}}", "worst rack ({{dc_id}})")],
            "The DC score over time with the worst rack beside it: when both fall together "
            "one rack is the cause.", unit="percentunit", minv=0, maxv=1,
            thresholds=SCORE_STEPS), 12, 8),
        (timeseries("Rack scores (rack controllers)", [
            target(f"netwatch_rack_health_score{{{DC}}}", "rack {{rack_id}}")],
            "Each rack controller's own score: mean over its servers of 1 − spectral error "
            "(a down server 0). Unlike the DC's view it does not drop to 0 when only the "
            "report path to the DC breaks.", unit="percentunit", minv=0, maxv=1,
            thresholds=SCORE_STEPS, links=[TO_RACK]), 12, 8),
        row("Racks"),
        (bargauge("Rack scores (as the DC counts them)", [
            target(f"netwatch_dc_rack_health_score{{{DC}}}", "rack {{rack_id}}")],
            "The rack's newest reported score while fresh, 0 when stale or never reported. "
            "Click a bar for the rack drill-down.", unit="percentunit", minv=0, maxv=1,
            thresholds=SCORE_STEPS, links=[TO_RACK]), 8, 9),
        (state_timeline("Rack report state", [
            target(f"max by (rack_id) (netwatch_dc_rack_stale{{{DC}}})", "rack {{rack_id}}")],
            "Green while the DC has a fresh report from the rack, red while the rack is stale "
            "(or never reported).",
            thresholds=ZERO_GOOD,
            mappings=[{"type": "value", "options": {
                "0": {"text": "fresh", "color": "green", "index": 0},
                "1": {"text": "stale", "color": "red", "index": 1}}}]), 8, 9),
        (table("Racks", [
            target(state_code_expr("netwatch_dc_rack_state", DC, [s for s, _ in RACK_STATES],
                                   "dc_id, rack_id"), instant=True, fmt="table"),
            target(f"max by (dc_id, rack_id) (netwatch_dc_rack_report_age_seconds{{{DC}}})",
                   instant=True, fmt="table"),
            target(f"max by (dc_id, rack_id) (netwatch_dc_rack_servers{{{DC}}})",
                   instant=True, fmt="table")],
            "Per rack: the DC's state for it (ok, stale, never reported), seconds since its "
            "newest report and the servers in that report.",
            merge=True,
            rename={"Value #A": "state", "Value #B": "report age", "Value #C": "servers",
                    "rack_id": "rack", "dc_id": "DC"},
            overrides=[{"matcher": {"id": "byName", "options": "report age"},
                        "properties": [{"id": "unit", "value": "s"}]},
                       {"matcher": {"id": "byName", "options": "state"},
                        "properties": [{"id": "mappings", "value": code_mapping(RACK_STATES)},
                                       {"id": "custom.cellOptions",
                                        "value": {"type": "color-text"}}]}]), 8, 9),
        row("Servers"),
        (bargauge("Servers per class", [
            target(f'sum by (state) (dc_state:netwatch_rack_servers:sum{{{DC}}})', "{{state}}",
                   instant=True)],
            "Registered servers of every rack by health class (healthy, warning, critical, "
            "down, left, warming), from the rack controllers.", unit="none"), 8, 8),
        (timeseries("Servers per class over time", [
            target(f'sum by (state) (dc_state:netwatch_rack_servers:sum{{{DC}}})', "{{state}}")],
            "The same counts over time, stacked.", unit="none", stack=True, minv=0), 8, 8),
        (table("Servers per class and rack", [
            target(f'rack_state:netwatch_rack_servers:sum{{{DC}}}', instant=True, fmt="table")],
            "One row per rack and class.",
            rename={"Value": "servers", "rack_id": "rack", "dc_id": "DC"},
            links=[to_rack("${__data.fields.rack}")]),
         8, 8),
        row("Traffic and alerts"),
        (timeseries("DC loss ratio (30 s)", [
            target(f"dc:netwatch_packets_loss:ratio_rate30s{{{DC}}}", "loss {{dc_id}}"),
            target(f"rack:netwatch_packets_loss:ratio_rate30s{{{DC}}}", "rack {{rack_id}}")],
            "Samples lost over the last 30 s, all racks and per rack.", unit="percentunit",
            minv=0, thresholds=LOSS_STEPS), 8, 8),
        (timeseries("DC latency p99 (30 s)", [
            target(f"dc:netwatch_latency_ms:p99_rate30s{{{DC}}}", "p99 {{dc_id}}"),
            target(f"rack:netwatch_latency_ms:p99_rate30s{{{DC}}}", "rack {{rack_id}}")],
            "One-way latency p99 from the seed's histogram (interpolated inside its "
            "buckets), all racks and per rack.", unit="ms", minv=0), 8, 8),
        (table("Scrape targets", [target('up{job=~"netwatch-rack|netwatch-dc"}', instant=True,
                                         fmt="table")],
               "Prometheus' view of each controller: 1 answers scrapes, 0 does not "
               "(NetWatchTargetDown). A dead rack controller takes its servers' series with it.",
               rename={"Value": "up"}, show=("job", "instance"),
               thresholds=[("red", None), ("green", 1)],
               overrides=[{"matcher": {"id": "byName", "options": "up"},
                           "properties": [{"id": "custom.cellOptions",
                                           "value": {"type": "color-background"}}]}]), 8, 8),
        (table("Active alerts", [
            target('ALERTS{alertname=~"NetWatch.*"}', instant=True, fmt="table")],
            "NetWatch alerts pending or firing now (deploy/prometheus/rules/"
            "netwatch-alerts.yml; runbooks in docs/alerts.md). Pending: the condition holds "
            "but not yet for its `for:`.",
            hide=("Value",), show=("job", "instance"),
            rename={"alertname": "alert", "alertstate": "state",
                                                "rack_id": "rack", "server_id": "server",
                                                "dc_id": "DC"}), 24, 8),
    ]
    return dashboard("dc-overview", "NetWatch / DC overview",
                     "The datacenter at a glance: DC and rack scores, servers per class, "
                     "stale racks and active alerts.", [DC_VAR], items)


def rack_drilldown():
    per = f"{{{RACK}}}"
    items = [
        row("Rack $rack"),
        (stat("Rack score", [target(f"netwatch_rack_health_score{per}", "rack {{rack_id}}")],
              "Mean over the rack's servers (not left, not warming) of 1 − spectral error; a "
              "down server counts 0. Below 0.8 NetWatchRackDegraded, below 0.5 NetWatchRackCritical.",
              unit="percentunit", minv=0, maxv=1, thresholds=SCORE_STEPS), 4, 6),
        (stat("Unhealthy servers", [target(f"rack:netwatch_servers_unhealthy:ratio{per}",
                                           "rack {{rack_id}}")],
              "Warning + critical + down over the servers that have not left.",
              unit="percentunit", minv=0, maxv=1, thresholds=LOSS_STEPS), 4, 6),
        (bargauge("Servers by class", [target(f"netwatch_rack_servers{per}", "{{state}}",
                                              instant=True)],
                  "Registered servers of the rack per health class.", unit="none"), 6, 6),
        (stat("Spectral error: worst / mean", [
            target(f"rack:netwatch_server_spectral_error:max{per}", "worst"),
            target(f"rack:netwatch_server_spectral_error:avg{per}", "mean")],
            "A high worst with a low mean: one server; both high: the whole rack.",
            unit="percentunit", minv=0, maxv=1, thresholds=ERROR_STEPS), 5, 6),
        (stat("Rack loss (30 s)", [
            target(f"rack:netwatch_packets_loss:ratio_rate30s{per}", "loss")],
            "Samples of all the rack's servers lost over the last 30 s.", unit="percentunit",
            minv=0, thresholds=LOSS_STEPS), 5, 6),
        row("Per server"),
        (state_timeline("Health class", [target(class_code_expr(RACK), "server {{server_id}}")],
                        "Each server's class over time: healthy, warning (spectral error "
                        "0.2-0.5), critical (> 0.5), down (silent for --down-after sample periods, 0.5 s at 20 Hz), "
                        "left (clean goodbye), warming (up, not measured yet: starting or just back). "
                        "Click a row for the server.",
                        mappings=class_mapping(), links=[TO_SERVER],
                        thresholds=[("green", None)]), 12, 8),
        (state_timeline("Spectral error", [
            target(f"netwatch_server_spectral_error{per}", "server {{server_id}}")],
            "noise / (signal + noise) of each server's tone in the latest analysis window, "
            "coloured by the seed's classes: green < 0.2, yellow to 0.5, red above.",
            unit="percentunit", minv=0, maxv=1, thresholds=ERROR_STEPS, links=[TO_SERVER]),
         12, 8),
        (timeseries("SNR", [target(f"netwatch_server_snr_db{per}", "server {{server_id}}")],
                    "10·log10(signal / noise) of each server's tone; a clean lab tone is "
                    "30 dB and more.", unit="dB", links=[TO_SERVER]), 8, 8),
        (timeseries("Loss ratio (30 s)", [
            target(f"rack_server:netwatch_packets_loss:ratio_rate30s{per}",
                   "server {{server_id}}")],
            "lost / (received + lost) over the last 30 s per server (NetWatchPacketLoss "
            "> 1 %, NetWatchHighPacketLoss > 10 %).", unit="percentunit", minv=0,
            thresholds=LOSS_STEPS, links=[TO_SERVER]), 8, 8),
        (timeseries("Loss ratio since start", [
            target(f"netwatch_server_loss_ratio{per}", "server {{server_id}}")],
            "lost / (received + lost) since the counters began: slow to move, shows the "
            "long-run quality.", unit="percentunit", minv=0, links=[TO_SERVER]), 8, 8),
        (timeseries("Jitter", [target(f"netwatch_server_jitter_seconds{per}",
                                      "server {{server_id}}"),
                               target(f"rack:netwatch_server_jitter_seconds:max{per}",
                                      "worst in rack")],
                    "RFC 3550 interarrival jitter (NetWatchHighJitter above 10 ms).", unit="s",
                    minv=0, links=[TO_SERVER]), 8, 8),
        (timeseries("Latency p50 / p99", [
            target("histogram_quantile(0.50, sum by (server_id, le) "
                   f"(rate(netwatch_latency_ms_bucket{per}[$__rate_interval])))",
                   "p50 server {{server_id}}"),
            target("histogram_quantile(0.99, sum by (server_id, le) "
                   f"(rate(netwatch_latency_ms_bucket{per}[$__rate_interval])))",
                   "p99 server {{server_id}}")],
            "One-way latency (receiver rx − sender tx) from the latency histogram; "
            "interpolated inside the buckets, so only as fine as the bucket around it.",
            unit="ms", minv=0, links=[TO_SERVER]), 8, 8),
        (heatmap("Latency distribution (rack)", [
            target(f"sum by (le) (increase(netwatch_latency_ms_bucket{per}"
                   "[$__rate_interval]))", "{{le}}", fmt="heatmap")],
            "Samples per latency bucket over time, all servers of the rack.", "ms"), 8, 8),
        (timeseries("Samples received / s", [
            target(f"rate(netwatch_packets_received_total{per}[$__rate_interval])",
                   "server {{server_id}}")],
            "Unique samples accepted per second (the agents' rate, 20/s in the seed).",
            unit="none", minv=0, links=[TO_SERVER]), 8, 8),
        (timeseries("Rack latency p99 (30 s)", [
            target(f"rack:netwatch_latency_ms:p99_rate30s{per}", "rack p99"),
            target(f"rack_server:netwatch_latency_ms:p99_rate30s{per}", "p99 server {{server_id}}"),
            target(f"rack_server:netwatch_latency_ms:p50_rate30s{per}",
                   "p50 server {{server_id}}")],
            "The recording rules' 30 s quantiles (what NetWatchHighLatency uses).", unit="ms",
            minv=0), 8, 8),
        (timeseries("Disturbance periods", [
            target(f"netwatch_server_disturbance_period_seconds{per}",
                   "server {{server_id}} {{series}}")],
            "Period of a periodic disturbance the analysis found in a server's delay series "
            "(rx - tx of the samples received, late ones included) or loss series (samples "
            "that never arrived); nothing while none is found.", unit="s", minv=0,
            draw="points",
            links=[TO_SERVER]), 8, 8),
        (table("Servers now", [
            # One label set (server_id) per query, so the merge makes one row
            # per server.
            target(f"max by (server_id) (netwatch_server_up{per})", instant=True, fmt="table"),
            target(f"max by (server_id) (netwatch_server_spectral_error{per})", instant=True,
                   fmt="table"),
            target(f"max by (server_id) (netwatch_server_snr_db{per})", instant=True,
                   fmt="table"),
            target(f"max by (server_id) (netwatch_server_tone_mismatch{per})", instant=True,
                   fmt="table"),
            target(f"max by (server_id) (netwatch_server_clock_skew_ppm{per})", instant=True,
                   fmt="table")],
            "The latest figure of each server; a server not analysed yet has only `up`.",
            merge=True,
            rename={"server_id": "server", "Value #A": "up", "Value #B": "spectral error",
                    "Value #C": "SNR dB", "Value #D": "tone mismatch", "Value #E": "skew ppm"},
            links=[to_server("${__data.fields.server}")]), 16, 8),
    ]
    return dashboard("rack", "NetWatch / Rack drill-down",
                     "One rack's servers side by side: class, spectral error, SNR, loss, "
                     "jitter and latency.", [DC_VAR, RACK_VAR], items)


def server_detail():
    per = f"{{{SERVER}}}"
    rate = "[$__rate_interval]"
    items = [
        row("Rack $rack, server $server"),
        (state_timeline("Health class", [target(class_code_expr(SERVER), "class")],
                        "healthy / warning / critical from the spectral error; down when no "
                        "sample arrived for --down-after sample periods (0.5 s at 20 Hz); left "
                        "after a clean goodbye.",
                        mappings=class_mapping()), 12, 4),
        (state_timeline("Up", [target(f"netwatch_server_up{per}", "up")],
                        "1 while samples arrive and the stream is open.",
                        thresholds=[("red", None), ("green", 1)],
                        mappings=[{"type": "value", "options": {
                            "0": {"text": "not up", "color": "red", "index": 0},
                            "1": {"text": "up", "color": "green", "index": 1}}}]), 12, 4),
        (stat("Spectral error", [target(f"netwatch_server_spectral_error{per}", "error")],
              "noise / (signal + noise) of the tone in the latest window: < 0.2 healthy, "
              "0.2-0.5 warning, > 0.5 critical.", unit="percentunit", minv=0, maxv=1,
              thresholds=ERROR_STEPS), 3, 5),
        (stat("SNR", [target(f"netwatch_server_snr_db{per}", "SNR")],
              "10·log10(signal / noise).", unit="dB",
              thresholds=[("red", None), ("yellow", 0), ("green", 6)]), 3, 5),
        (stat("Loss (30 s)", [target(f"rack_server:netwatch_packets_loss:ratio_rate30s{per}",
                                     "loss")],
              "Lost over 30 s.", unit="percentunit", thresholds=LOSS_STEPS), 3, 5),
        (stat("Jitter", [target(f"netwatch_server_jitter_seconds{per}", "jitter")],
              "RFC 3550 interarrival jitter.", unit="s",
              thresholds=[("green", None), ("red", 0.010)]), 3, 5),
        (stat("Tone mismatch", [target(f"netwatch_server_tone_mismatch{per}", "mismatch")],
              "1: the strongest tone is not the one this server should send (a miswired or "
              "misconfigured agent).", thresholds=ZERO_GOOD, graph=False,
              mappings=[{"type": "value", "options": {
                  "0": {"text": "ok", "index": 0}, "1": {"text": "MISMATCH", "index": 1}}}]),
         3, 5),
        (stat("Restarts", [target(f"netwatch_server_restarts_total{per}", "restarts")],
              "Times the server's agent restarted its sequence.", unit="none",
              thresholds=[("green", None), ("yellow", 1)]), 3, 5),
        (stat("Outages", [target(f"netwatch_server_outages_total{per}", "outages")],
              "Silences longer than --down-after sample periods since the controller began "
              "watching the server, the ongoing one included: a short blackout or agent "
              "restart stays visible after the server is back.", unit="none",
              thresholds=[("green", None), ("yellow", 1)]), 3, 5),
        (stat("Outage time", [target(f"netwatch_server_outage_seconds_total{per}", "silent")],
              "Seconds of those outages, from the last sample before each silence to the "
              "first after it (the ongoing one up to now).", unit="s",
              thresholds=[("green", None), ("yellow", 0.001)]), 3, 5),
        row("Spectrum"),
        (timeseries("Spectral error", [
            target(f"netwatch_server_spectral_error{per}", "error (long window)"),
            target(f"netwatch_server_spectral_error_short{per}", "short scale")],
                    "The seed's figure of merit over time: the long window (its precision) "
                    "and the short scale the class escalates from (docs/analysis.md).",
                    unit="percentunit", minv=0,
                    maxv=1, thresholds=ERROR_STEPS), 8, 8),
        (timeseries("SNR", [target(f"netwatch_server_snr_db{per}", "SNR")],
                    "Signal over noise of the tone.", unit="dB"), 8, 8),
        (timeseries("Tone: peak vs expected", [
            target(f"netwatch_server_peak_frequency_hertz{per}", "peak"),
            target(f"netwatch_server_expected_frequency_hertz{per}", "expected")],
            "The strongest spectral peak (sub-bin interpolated) and the tone this server "
            "should send.", unit="hertz"), 8, 8),
        (timeseries("Tone offset", [target(f"netwatch_server_tone_offset_hertz{per}",
                                           "peak − expected")],
                    "Peak − expected: a steady offset with a clean tone is clock skew.",
                    unit="hertz"), 8, 8),
        (timeseries("Clock skew", [target(f"netwatch_server_clock_skew_ppm{per}", "skew")],
                    "The sender's clock against the controller's (only while the estimate "
                    "is valid; NetWatchClockSkew beyond ±100 ppm).", unit="ppm"), 8, 8),
        (timeseries("Disturbance period", [
            target(f"netwatch_server_disturbance_period_seconds{per}", "{{series}} period")],
            "Period of a periodic disturbance found in the delay series (rx - tx of the "
            "samples received, late ones included) or the loss series (samples that never "
            "arrived); no line while none is found.", unit="s", minv=0, draw="points"), 8, 8),
        row("Path"),
        (timeseries("Latency quantiles", [
            target("histogram_quantile(0.50, sum by (le) "
                   f"(rate(netwatch_latency_ms_bucket{per}{rate})))", "p50"),
            target("histogram_quantile(0.90, sum by (le) "
                   f"(rate(netwatch_latency_ms_bucket{per}{rate})))", "p90"),
            target("histogram_quantile(0.99, sum by (le) "
                   f"(rate(netwatch_latency_ms_bucket{per}{rate})))", "p99"),
            target(f"rate(netwatch_latency_ms_sum{per}{rate}) / "
                   f"rate(netwatch_latency_ms_count{per}{rate})", "mean")],
            "One-way latency (receiver rx − sender tx, both clocks as they are) from the "
            "histogram; mean from _sum/_count.", unit="ms", minv=0), 8, 8),
        (heatmap("Latency distribution", [
            target(f"sum by (le) (increase(netwatch_latency_ms_bucket{per}{rate}))", "{{le}}",
                   fmt="heatmap")],
            "Samples per latency bucket over time.", "ms"), 8, 8),
        (timeseries("One-way delay (skew removed)", [
            target(f"netwatch_server_one_way_delay_seconds{per}", "one-way delay")],
            "The analysis' delay with the clock skew taken out.", unit="s"), 8, 8),
        (timeseries("Loss", [
            target(f"rack_server:netwatch_packets_loss:ratio_rate30s{per}", "30 s"),
            target(f"netwatch_server_loss_ratio{per}", "since start")],
            "Loss over 30 s and since the counters began.", unit="percentunit", minv=0,
            thresholds=LOSS_STEPS), 8, 8),
        (timeseries("Jitter", [target(f"netwatch_server_jitter_seconds{per}", "jitter")],
                    "RFC 3550 interarrival jitter.", unit="s", minv=0), 8, 8),
        (timeseries("Samples / s", [
            target(f"rate(netwatch_packets_received_total{per}{rate})", "received"),
            target(f"rate(netwatch_packets_lost_total{per}{rate})", "lost"),
            target(f"rate(netwatch_packets_duplicate_total{per}{rate})", "duplicate"),
            target(f"rate(netwatch_packets_reordered_total{per}{rate})", "reordered"),
            target(f"rate(netwatch_packets_late_total{per}{rate})", "late"),
            target(f"rate(netwatch_ring_full_total{per}{rate})", "ring full"),
            target(f"rate(netwatch_packets_anomalous_total{per}{rate})", "anomalous")],
            "Received: unique samples accepted; lost: left the reorder window unseen; "
            "duplicate: copies; reordered: accepted after a higher sequence; late: arrived "
            "after leaving the window; ring full: counted but not queued to the controller; "
            "anomalous: dropped because their sequence or time does not fit the stream.",
            unit="none", minv=0), 8, 8),
    ]
    return dashboard("server", "NetWatch / Server detail",
                     "Every figure NetWatch has for one server.",
                     [DC_VAR, RACK_VAR, SERVER_VAR], items)


def collector_internals():
    per = f"{{{RACKS}}}"
    dcs = f"{{{DC}}}"
    rate = "[$__rate_interval]"
    rack_var = query_var("rack", "Rack",
                         'label_values(netwatch_collector_attached{dc_id=~"$dc"}, rack_id)',
                         include_all=True, multi=True, all_value=".*")
    items = [
        row("Rack collectors"),
        (table("Collectors", [
            # attached, with the hook and interface of netwatch_collector_info
            # joined on: one row per rack.
            target(f"max by (dc_id, rack_id, hook, iface) (netwatch_collector_attached{per}"
                   " * on (dc_id, rack_id) group_left (hook, iface) "
                   f"max by (dc_id, rack_id, hook, iface) (netwatch_collector_info{per}))",
                   instant=True, fmt="table")],
            "Hook (xdp, xdpgeneric, tc, socket) and interface of each rack's collector, and "
            "whether it is attached (the /healthz condition).",
            rename={"rack_id": "rack", "dc_id": "DC", "Value": "attached"},
            mappings=code_mapping([("no", "red"), ("yes", "green")])), 12, 6),
        (table("Builds", [
            target(f'label_replace(netwatch_build_info{dcs}, "component", "rack controller", '
                   f'"", "") or label_replace(netwatch_dc_build_info{dcs}, "component", '
                   '"DC controller", "", "")', instant=True, fmt="table")],
            "The running builds (git describe) of the rack controllers and the DC controller.",
            hide=("Value",), show=("instance",), rename={"dc_id": "DC"}), 12, 6),
        (state_timeline("Attached", [target(f"netwatch_collector_attached{per}",
                                            "rack {{rack_id}}")],
                        "NetWatchCollectorNotAttached when 0: the rack is blind.",
                        thresholds=[("red", None), ("green", 1)],
                        mappings=[{"type": "value", "options": {
                            "0": {"text": "detached", "color": "red", "index": 0},
                            "1": {"text": "attached", "color": "green", "index": 1}}}]), 12, 6),
        (timeseries("Hook: frames and samples / s", [
            target(f"rate(netwatch_collector_packets_total{per}{rate})", "frames rack {{rack_id}}"),
            target(f"rate(netwatch_collector_samples_total{per}{rate})",
                   "samples rack {{rack_id}}")],
            "Frames the hook looked at (socket hook: datagrams) and valid samples of "
            "registered servers.", unit="none", minv=0), 12, 6),
        row("Drops and refusals"),
        (timeseries("Malformed by reason", [
            target(f"sum by (rack_id, reason) "
                   f"(rate(netwatch_collector_malformed_total{per}{rate}))",
                   "rack {{rack_id}} {{reason}}")],
            "Refused datagrams to the NetWatch port per reason (truncated, length, magic, "
            "version, flags, field, auth_failed, checksum).", unit="none", minv=0), 8, 8),
        (bargauge("Malformed in the time range", [
            target(f"sum by (reason) (increase(netwatch_collector_malformed_total{per}"
                   "[$__range]))", "{{reason}}", instant=True)],
            "Refused datagrams per reason over the dashboard's time range.", unit="none",
            thresholds=ZERO_GOOD), 8, 8),
        (timeseries("Authentication failures", [
            target("rack_reason:netwatch_collector_malformed:rate1m"
                   f'{{{RACKS},reason="auth_failed"}}',
                   "rack {{rack_id}}")],
            "Samples whose keyed tag does not verify (1 m rate; NetWatchCollectorAuthFailed): "
            "an agent with the wrong key, or forged samples.", unit="none", minv=0,
            thresholds=ZERO_GOOD), 8, 8),
        (timeseries("Ring full (drops to userspace)", [
            target(f"rack:netwatch_collector_ring_full:rate1m{per}", "rack {{rack_id}} (1 m)"),
            target(f"rate(netwatch_collector_ring_full_total{per}{rate})", "rack {{rack_id}}")],
            "Samples counted but not queued because a server's ring was full: the controller "
            "drains too slowly (NetWatchCollectorRingFull).", unit="none", minv=0), 8, 8),
        (timeseries("Ring full, top servers", [
            target(f"topk(5, rate(netwatch_ring_full_total{per}{rate}))",
                   "rack {{rack_id}} server {{server_id}}")],
            "The servers whose rings overflow most.", unit="none", minv=0), 8, 8),
        (timeseries("Unknown and wrong-rack senders", [
            target(f"rate(netwatch_collector_unknown_sender_total{per}{rate})",
                   "unknown rack {{rack_id}}"),
            target(f"rate(netwatch_collector_wrong_rack_total{per}{rate})",
                   "wrong rack {{rack_id}}"),
            target(f"sum by (rack_id, result) "
                   f"(rate(netwatch_collector_discovery_total{per}{rate}))",
                   "discovery {{result}} rack {{rack_id}}"),
            target(f"netwatch_collector_probation_servers{per}", "on probation rack {{rack_id}}")],
            "Valid samples from a server with no slot, or addressed to another rack; "
            "discovery of unknown senders (sent, suppressed, rejected, promoted, evicted) and "
            "the discovered servers still on probation (not shown until they keep a tone up "
            "for 5 s).", unit="none", minv=0), 8, 8),
        (timeseries("Anomalous samples by reason", [
            target(f"sum by (rack_id, reason) "
                   f"(rate(netwatch_collector_anomalies_total{per}{rate}))",
                   "rack {{rack_id}} {{reason}}")],
            "Samples of known servers whose sequence or time does not fit their stream "
            "(seq_jump, time_jump, clock, restart, goodbye, lifetime: dropped; resync: "
            "accepted, a new stream). Forged, replayed or duplicated senders "
            "(docs/security.md).", unit="none", minv=0), 8, 8),
        row("Report path to the DC"),
        (state_timeline("Rack → DC connection", [
            target(state_code_expr("netwatch_rack_dc_connection_state", RACKS,
                                   [s for s, _ in CONN_STATES], "rack_id"), "rack {{rack_id}}")],
            "The reporter's connection to the DC: connected, connecting, disconnected "
            "(waiting for its backoff), disabled (no --dc); NetWatchRackDCDisconnected when "
            "not connected for 30 s.", mappings=code_mapping(CONN_STATES),
            thresholds=[("green", None)]), 8, 8),
        (timeseries("Reports sent / failed per s", [
            target(f"rate(netwatch_rack_reports_sent_total{per}{rate})", "sent rack {{rack_id}}"),
            target(f"sum by (rack_id, reason) "
                   f"(rate(netwatch_rack_reports_failed_total{per}{rate}))",
                   "failed {{reason}} rack {{rack_id}}"),
            target(f"rate(netwatch_rack_dc_protocol_errors_total{per}{rate})",
                   "DC sent bytes, closed: rack {{rack_id}}")],
            "One report per interval while connected; failures by reason (not_connected, "
            "replaced: the DC reads slower than the rack reports, send_error, encode); "
            "connections closed because the DC sent bytes (it never should: an impostor).",
            unit="none", minv=0), 8, 8),
        (stat("DC connections made", [
            target(f"increase(netwatch_rack_dc_connects_total{per}[$__range])",
                   "rack {{rack_id}}")],
            "Connections to the DC each rack established in the time range: more than one "
            "means reconnects.", unit="none", thresholds=[("green", None), ("yellow", 2)]), 8, 8),
        row("DC controller: report ingest"),
        (timeseries("Reports accepted / s", [
            target(f"rate(netwatch_dc_reports_accepted_total{dcs}{rate})", "all racks"),
            target(f"rate(netwatch_dc_rack_reports_accepted_total{dcs}{rate})",
                   "rack {{rack_id}}")],
            "Reports the DC accepted, in all and per rack.", unit="none", minv=0), 8, 8),
        (timeseries("Reports rejected by reason", [
            target(f"dc_reason:netwatch_dc_reports_rejected:rate1m{dcs}", "{{reason}} (1 m)"),
            target(f"sum by (reason) (increase(netwatch_dc_reports_rejected_total{dcs}"
                   "[$__range]))", "{{reason}} in range")],
            "Refused reports or frames (bad_frame, too_large, truncated, json, "
            "duplicate_key, type, range, too_many_servers, auth, replay, rack_claimed); "
            "NetWatchDCReportsRejected.", unit="none", minv=0), 8, 8),
        (timeseries("Report age", [
            target(f"netwatch_dc_rack_report_age_seconds{dcs}", "rack {{rack_id}}")],
            "Seconds since each rack's newest accepted report; a rack is stale past the "
            "DC's --stale.", unit="s", minv=0), 8, 8),
        (timeseries("Rack connections", [
            target(f"netwatch_dc_connections_open{dcs}", "open"),
            target(f"rate(netwatch_dc_connections_accepted_total{dcs}{rate})", "accepted / s"),
            target(f"sum by (reason) (rate(netwatch_dc_connections_rejected_total{dcs}{rate}))",
                   "closed by DC: {{reason}} / s")],
            "Open rack connections, accepted ones and those the DC closed itself (limit, "
            "idle, slow, memory, errors).", unit="none", minv=0), 8, 8),
        (timeseries("Buffered bytes", [target(f"netwatch_dc_buffered_bytes{dcs}", "buffered")],
                    "Frame buffer bytes charged to the DC's --max-buffer.", unit="bytes",
                    minv=0), 8, 8),
        (stat("Report authentication", [target(f"netwatch_dc_auth_required{dcs}", "{{dc_id}}")],
              "Whether the DC requires an HMAC on every report (--key-file).", graph=False,
              thresholds=[("orange", None), ("green", 1)],
              mappings=[{"type": "value", "options": {
                  "0": {"text": "not required", "index": 0},
                  "1": {"text": "required", "index": 1}}}]), 8, 8),
        (timeseries("HTTP connections cut (slowloris guard)", [
            target(f"sum by (rack_id, reason) "
                   f"(rate(netwatch_rack_http_connections_cut_total{per}{rate}))",
                   "rack {{rack_id}} {{reason}}"),
            target(f"sum by (reason) (rate(netwatch_dc_http_connections_cut_total{dcs}{rate}))",
                   "DC {{reason}}")],
            "/metrics and API connections the HTTP servers cut: evicted (the oldest "
            "unfinished request, to make room when all slots were taken) or expired (no whole "
            "request within 10 s). Non-zero means slow or hostile HTTP clients "
            "(docs/security.md).", unit="none", minv=0), 8, 8),
        (timeseries("DC load", [
            target(f"netwatch_dc_lag_seconds{dcs}", "lag (s)"),
            target(f"netwatch_dc_overloaded{dcs}", "overloaded"),
            target(f"rate(netwatch_dc_reports_shed_total{dcs}{rate})", "shed / s"),
            target(f"netwatch_dc_racks_behind{dcs}", "racks behind"),
            target(f"increase(netwatch_dc_racks_forgotten_total{dcs}[$__range])",
                   "racks forgotten in range")],
            "How far behind the DC controller is (arrival to processing), whether it says "
            "it is overloaded (its stale racks may then be its own fault), reports shed "
            "(an older one behind a newer of the same rack), racks kept fresh only by "
            "unread data, and made-up racks dropped after --forget (dc.md, Overload).",
            unit="none", minv=0), 8, 8),
        (timeseries("DC score over shards", [
            target(f"sum by (dc_id) (netwatch_dc_score_numerator{dcs}) / "
                   f"sum by (dc_id) (netwatch_dc_racks_known{dcs})", "{{dc_id}}")],
            "The DC score summed over every controller (shard) of a dc_id: the same "
            "number one controller over all its racks gives (dc.md, Shards).",
            unit="percentunit", minv=0, maxv=1), 8, 8),
        (timeseries("Racks by state (all shards)", [
            target(f"sum by (dc_id, state) (netwatch_dc_racks{dcs})", "{{dc_id}} {{state}}")],
            "Racks in the DC score by state, over every controller of a dc_id.",
            unit="none", minv=0, stack=True), 8, 8),
    ]
    return dashboard("collector", "NetWatch / Collector internals",
                     "What the collectors, the rack → DC report path and the DC controller "
                     "do: hooks, drops, refusals by reason, authentication failures, rings.",
                     [DC_VAR, rack_var], items)


# Fault scopes (netwatch_fault_active's `scope`), widest first, for colours.
FAULT_SCOPES = [("dc", "dark-red"), ("rack", "red"), ("path", "orange"), ("server", "yellow")]


def pair_matrix(title, expr, desc, thresholds=None, mappings=None, unit=None):
    """One instant value per (src_rack, dst_rack) pair as a src × dst grid:
    Grafana's groupingToMatrix turns the rows into a matrix, one column per
    destination rack, and every cell is coloured by its value (the pair
    heatmap). A pair without a series (not probed in this mesh epoch) stays
    an empty cell reading "unmeasured": absent, not healthy."""
    unmeasured = {"type": "special", "options": {
        "match": "null", "result": {"text": "unmeasured", "color": "transparent", "index": 99}}}
    p = panel("table", title, [target(expr, instant=True, fmt="table")], desc, unit=unit,
              thresholds=thresholds, mappings=(mappings or []) + [unmeasured],
              transformations=[
                  {"id": "groupingToMatrix", "options": {
                      "rowField": "src_rack", "columnField": "dst_rack",
                      "valueField": "Value", "emptyValue": "null"}},
                  {"id": "organize", "options": {
                      "excludeByName": {}, "indexByName": {},
                      "renameByName": {"src_rack\\dst_rack": "src \\ dst rack"}}}],
              custom={"align": "center", "cellOptions": {"type": "color-background"},
                      "inspect": False},
              overrides=[{"matcher": {"id": "byName", "options": "src \\ dst rack"},
                          "properties": [{"id": "custom.cellOptions",
                                          "value": {"type": "auto"}},
                                         {"id": "mappings", "value": []}]}],
              options={"showHeader": True, "cellHeight": "sm"})
    return p


def dc_fabric():
    path = f"{{{DC}}}"
    items = [
        row("Fabric"),
        (stat("Fabric score", [target(f"netwatch_fabric_score{path}", "{{dc_id}}")],
              "1 − the mean spectral error of the measured inter-rack paths. The DC score is "
              "min(mean rack score, fabric score): a bad fabric is not averaged away by healthy "
              "racks (docs/fabric.md).", unit="percentunit", minv=0, maxv=1,
              thresholds=SCORE_STEPS), 5, 6),
        (stat("Pairs probed / total", [
            target(f'netwatch_fabric_pairs{{{DC},state="probed"}}', "probed"),
            target(f'netwatch_fabric_pairs{{{DC},state="total"}}', "total")],
            "Rack pairs measured in the current mesh epoch, and all ordered pairs N·(N − 1). "
            "A limited mesh probes k peers per rack and rotates, so probed < total is "
            "expected there.", unit="none", graph=False), 5, 6),
        (stat("Scoped faults now", [
            target(f"count(netwatch_fault_active{path} == 1) or vector(0)", "faults")],
            "Faults the DC reports now, every scope (the table below lists them). Each one "
            "fires one NetWatchFault* alert.", unit="none", thresholds=ZERO_GOOD,
            graph=False), 4, 6),
        (timeseries("Fabric and DC score", [
            target(f"netwatch_fabric_score{path}", "fabric {{dc_id}}"),
            target(f"netwatch_dc_health_score{path}", "DC {{dc_id}}")],
            "The fabric score beside the DC score: the DC score follows the fabric when the "
            "fabric is the worse of the two.", unit="percentunit", minv=0, maxv=1,
            thresholds=SCORE_STEPS), 10, 6),
        row("Rack × rack matrix"),
        (pair_matrix("Path spectral error (src rack × dst rack)",
                     f"max by (src_rack, dst_rack) (netwatch_path_spectral_error{path})",
                     "Spectral error of every measured path, rows the source rack, columns the "
                     "destination: green < 0.2, yellow to 0.5, red above (the server classes). "
                     "A whole row and column red is one rack's uplink; one cell, that pair's "
                     "fabric; \"unmeasured\" a pair the mesh does not probe now.",
                     thresholds=ERROR_STEPS, unit="percentunit"), 12, 9),
        (pair_matrix("Path class (src rack × dst rack)",
                     f"max by (src_rack, dst_rack) (netwatch_path_class{path})",
                     "The class of every measured path (healthy, warning, critical, down, "
                     "warming) as the rack controllers' engine decides it for servers.",
                     mappings=class_mapping(), thresholds=[("green", None)]), 12, 9),
        (state_timeline("Path class over time", [
            target(f"max by (src_rack, dst_rack) (netwatch_path_class{path})",
                   "{{src_rack}} → {{dst_rack}}")],
            "Each measured pair's class over time (rows appear and go as a limited mesh "
            "rotates).", mappings=class_mapping(), thresholds=[("green", None)]), 24, 8),
        row("Per rack and per path"),
        (timeseries("Rack fabric error in / out", [
            target(f'netwatch_rack_fabric_error{{{DC},direction="in"}}', "rack {{rack_id}} in"),
            target(f'netwatch_rack_fabric_error{{{DC},direction="out"}}',
                   "rack {{rack_id}} out")],
            "Mean spectral error over each rack's measured paths into it and out of it. Both "
            "high for one rack while the others stay low: that rack's ToR uplink.",
            unit="percentunit", minv=0, maxv=1, thresholds=ERROR_STEPS, links=[TO_RACK]),
         12, 8),
        (bargauge("Rack fabric error now", [
            target(f"netwatch_rack_fabric_error{path}", "rack {{rack_id}} {{direction}}",
                   instant=True)],
            "The same, now: one bar per rack and direction.", unit="percentunit", minv=0,
            maxv=1, thresholds=ERROR_STEPS, links=[TO_RACK]), 12, 8),
        (timeseries("Paths into each rack, as its controller measures them", [
            target(f"netwatch_path_in_spectral_error{path}", "{{src_rack}} → {{rack_id}} error"),
            target(f"netwatch_path_in_loss_ratio{path}", "{{src_rack}} → {{rack_id}} loss"),
            target(f"netwatch_path_in_class{path}", "{{src_rack}} → {{rack_id}} class"),
            target(f"netwatch_path_in_period_seconds{path}",
                   "{{src_rack}} → {{rack_id}} period s"),
            target(f"max by (rack_id, src_rack) (netwatch_path_in_latency_seconds{path})",
                   "{{src_rack}} → {{rack_id}} latency s"),
            target(f"rate(netwatch_collector_fabric_samples_total{path}[1m])",
                   "rack {{rack_id}} fabric samples/s"),
            target(f"rate(netwatch_collector_fabric_misdirected_total{path}[1m])",
                   "rack {{rack_id}} misdirected/s"),
            target(f"rate(netwatch_dc_path_rows_rejected_total{path}[1m])",
                   "DC rows not scheduled/s")],
            "The rack controllers' own view of the paths into them (netwatch_path_in_*), "
            "which the DC's pair series are built from, and the collectors' FABRIC sample "
            "counters: a rack whose fabric samples/s falls below 10 Hz × its peers is "
            "losing probes before analysis. Rows not scheduled: paths_in rows the DC dropped "
            "because the --fabric-mesh schedule has no such probe now (a rack outside the "
            "mesh, a forged row); above 0 for more than an epoch edge, look at that rack."),
            24, 8),
        (timeseries("Worst paths: loss", [
            target(f"topk(10, netwatch_path_loss_ratio{path})",
                   "{{src_rack}} → {{dst_rack}}")],
            "Lost / sent of the ten worst paths in the analysis window (the tones are "
            "counted exactly, as servers' are).", unit="percentunit", minv=0,
            thresholds=LOSS_STEPS), 8, 8),
        (timeseries("Worst paths: latency p99", [
            target(f'topk(10, netwatch_path_latency_seconds{{{DC},quantile="0.99"}})',
                   "p99 {{src_rack}} → {{dst_rack}}"),
            target(f'topk(10, netwatch_path_latency_seconds{{{DC},quantile="0.5"}})',
                   "p50 {{src_rack}} → {{dst_rack}}")],
            "One-way latency between the two rack controllers' clocks (PTP/NTP caveats as for "
            "servers); a step in a path's own line says more than its level.", unit="s",
            minv=0), 8, 8),
        (timeseries("Path disturbance periods", [
            target(f"netwatch_path_period_seconds{path}", "{{src_rack}} → {{dst_rack}}")],
            "The strongest periodic disturbance found on a path; paths sharing one period "
            "share a cause (the fault scope uses that). Nothing while none is found.",
            unit="s", minv=0, draw="points"), 8, 8),
        (table("Worst pairs (above the per-pair series cap)", [
            target(f"netwatch_path_worst_spectral_error{path} * on (dc_id, rank) "
                   f"group_left (src_rack, dst_rack) netwatch_path_worst_info{path}",
                   instant=True, fmt="table")],
            "A DC probing more pairs than its --fabric-pair-series-max (default 4096) exports "
            "no per-pair series (the matrices above stay empty there) but the 64 worst pairs "
            "by spectral error, rank 0 the worst; the full matrix is in /api/v1/dc.",
            rename={"Value": "spectral error", "rank": "rank", "src_rack": "src rack",
                    "dst_rack": "dst rack", "dc_id": "DC"},
            unit="percentunit", thresholds=ERROR_STEPS,
            overrides=[{"matcher": {"id": "byName", "options": "spectral error"},
                        "properties": [{"id": "custom.cellOptions",
                                        "value": {"type": "color-background"}}]}]), 24, 8),
        row("Scoped faults"),
        (table("Active scoped faults", [
            target(f"netwatch_fault_active{path} == 1", instant=True, fmt="table")],
            "Every fault the DC reports now, placed at the widest scope its evidence supports: "
            "dc > rack (cause servers, uplink or tor) > path > server. One row, one "
            "NetWatchFault* alert (docs/alerts.md).",
            hide=("Value",),
            rename={"dc_id": "DC", "scope": "scope", "rack_id": "rack", "src_rack": "src rack",
                    "dst_rack": "dst rack", "server_id": "server", "cause": "cause"},
            overrides=[{"matcher": {"id": "byName", "options": "scope"},
                        "properties": [{"id": "mappings", "value": [
                            {"type": "value", "options": {
                                s: {"text": s, "color": c, "index": i}
                                for i, (s, c) in enumerate(FAULT_SCOPES)}}]},
                            {"id": "custom.cellOptions", "value": {"type": "color-text"}}]}]),
         16, 8),
        (bargauge("Faults by scope", [
            target(f"count by (scope) (netwatch_fault_active{path} == 1)", "{{scope}}",
                   instant=True)],
            "Active faults per scope.", unit="none"), 8, 8),
        (timeseries("Faults over time", [
            target(f"count by (scope) (netwatch_fault_active{path} == 1)", "{{scope}}")],
            "Active faults per scope over time.", unit="none", minv=0, stack=True), 12, 8),
        (timeseries("Onset to scope decided (mean)", [
            target(f"sum by (scope) (netwatch_fault_scope_seconds_sum{path}) / "
                   f"sum by (scope) (netwatch_fault_scope_seconds_count{path})", "{{scope}}")],
            "Seconds from a fault's onset (its first member leaving healthy) to its scope "
            "being decided, per scope, mean since the DC started (the target is 5 s after "
            "the first class change).", unit="s", minv=0), 12, 8),
    ]
    return dashboard("fabric", "NetWatch / DC fabric",
                     "The network between racks: the rack × rack path matrix, the fabric "
                     "score, each rack's fabric error in and out, and the scoped faults the DC "
                     "places.", [DC_VAR], items)


DASHBOARDS = {"dc-overview": dc_overview, "rack": rack_drilldown, "server": server_detail,
              "collector": collector_internals, "fabric": dc_fabric}


def render(build):
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        print("usage: generate.py [--check]", file=sys.stderr)
        return 2
    stale = []
    for slug, build in DASHBOARDS.items():
        path = os.path.join(HERE, f"{slug}.json")
        text = render(build)
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        if check:
            stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {path}")
    if stale:
        print("not current (run dashboards/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
