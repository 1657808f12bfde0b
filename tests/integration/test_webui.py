"""The web UI (docs/web-ui.md) in a real browser, against a small lab
(2 racks x 3 servers, its own name), faults injected with netwatch-chaos:

- the DC page at / shows every rack and server, all healthy, with the class
  written in each cell (not only its colour);
- `--loss 70` on one server turns its cell critical while the others stay
  healthy; its server page (the DC's link, a 302 to its rack controller with
  the server kept in the URL's fragment) draws a spectrum whose highest bin
  is the expected tone's;
- a periodic outage (`--outage 500ms/5s`) on another server shows its 5 s
  period on that server's page;
- netwatch-rack serves the same page at / for its own rack;
- a paused rack controller's rack shows stale, a killed agent's server down,
  both in words;
- no page logs a console error, an uncaught exception or a failed request;
- the DC page's fabric section (docs/fabric.md sections 5 and 6): the rack x
  rack matrix, cells by class with loss/latency/period in their tooltip,
  unprobed pairs shown as unmeasured (never healthy), and the scoped faults.
  Once against the documented `fabric` block (a loopback proxy in front of a
  real netwatch-dc answers /api/v1/dc with it; page, assets and headers are
  the DC's), once from a real netwatch-dc fed crafted rack reports with
  `paths_in` rows (rack 2's uplink at 30 % loss), test_dc_fabric.py's racks.

The browser is Debian's chromium, driven by playwright-core (tests/ui/,
pinned by its package-lock.json); both come from `make deps`. Each look is one
run of tests/ui/browse.mjs, which waits for a condition in the page with a
bounded timeout. Screenshots are kept in $NETWATCH_BUILD/test-artifacts/."""

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from nwlab import BUILD, wait_for
from prom_run import LoopbackHTTP
from test_dc import Dc
from test_dc_fabric import Fabric

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LAB = os.path.join(TOP, "deploy", "local", "netwatch-lab")
UI = os.path.join(TOP, "tests", "ui")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(BUILD, "test-artifacts")
RACKS, SERVERS = 2, 3
WINDOW_S = 256 / 20.0  # the rack's default analysis window at the agents' 20 Hz
HORIZON_S = 40         # rack --horizon: a 5 s period is found within ~25 s of data
LOSSY = (1, 2)         # (rack, server) that gets the loss
PERIODIC = (0, 1)      # (rack, server) that gets the periodic outage

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, BPF)")


def lab_cmd(name, *args):
    return subprocess.run([LAB, *args, "--name", name], capture_output=True, text=True,
                          env={**os.environ, "NETWATCH_BUILD": BUILD}, timeout=120)


def chaos(lab, *args):
    r = subprocess.run([os.path.join(BUILD, "netwatch-chaos"), "--topology",
                        lab["info"]["topology"], *args], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f"netwatch-chaos {' '.join(args)}: rc {r.returncode}\n{r.stderr}"


def browse(url, wait, evaluate=None, screenshot=None, timeout_s=30, viewport=(1280, 800)):
    """One page load in chromium: waits until `wait` (a JS expression) holds,
    returns the value of `evaluate` and where the page ended up; fails on any
    console error."""
    req = {"url": url, "wait": wait, "eval": evaluate, "timeout_s": timeout_s,
           "viewport": list(viewport)}
    if screenshot:
        os.makedirs(ARTIFACTS, exist_ok=True)
        req["screenshot"] = os.path.join(ARTIFACTS, screenshot)
    r = subprocess.run(["node", os.path.join(UI, "browse.mjs"), json.dumps(req)],
                       capture_output=True, text=True, timeout=timeout_s + 60, cwd=UI)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    assert lines, f"browse.mjs printed nothing (rc {r.returncode}): {r.stderr[-2000:]}"
    out = json.loads(lines[-1])
    assert out["ok"], f"{url}: {out['error']}\nconsole: {out['console']}"
    assert out["console"] == [], f"{url}: console errors: {out['console']}"
    return out


def http_get(url):
    """(status, headers, body) without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **kw):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.fixture(scope="module")
def lab():
    for what, path in (("netwatch-chaos", os.path.join(BUILD, "netwatch-chaos")),
                       ("chromium (make deps)", CHROMIUM)):
        assert os.access(path, os.X_OK), f"{what} missing at {path}"
    assert shutil.which("node"), "node missing: run make deps"
    assert os.path.isdir(os.path.join(UI, "node_modules", "playwright-core")), \
        "tests/ui/node_modules/playwright-core missing: run make deps"
    name = "w" + secrets.token_hex(3)
    r = lab_cmd(name, "up", "--racks", str(RACKS), "--servers", str(SERVERS),
                "--horizon", str(HORIZON_S), "--json")
    try:
        assert r.returncode == 0, f"up failed: {r.stderr}"
        info = json.loads(r.stdout)
        dc = info["endpoints"]["dc"]["json"].rsplit("/api/", 1)[0]
        racks = [x["json"].rsplit("/api/", 1)[0] for x in info["endpoints"]["racks"]]
        yield {"name": name, "info": info, "dc": dc, "racks": racks}
    finally:
        if r.returncode == 0:
            for rack in range(RACKS):
                subprocess.run([os.path.join(BUILD, "netwatch-chaos"), "--topology",
                                json.loads(r.stdout)["topology"], "--rack", str(rack), "--clear"],
                               capture_output=True, timeout=30)
        lab_cmd(name, "down")


# The DC grid's cells as {"rack/server": class}, read from the page.
CELLS = ("Object.fromEntries([...document.querySelectorAll('#dc-grid .cell')]"
         ".map(c => [c.dataset.rack + '/' + c.dataset.server, c.dataset.class]))")
CELL_TEXT = ("Object.fromEntries([...document.querySelectorAll('#dc-grid .cell')]"
             ".map(c => [c.dataset.rack + '/' + c.dataset.server, c.innerText]))")


def cells_are(expect):
    """JS: every cell present, analysed (an error figure) and of its expected
    class (default healthy)."""
    want = {f"{r}/{s}": expect.get((r, s), "healthy") for r in range(RACKS)
            for s in range(SERVERS)}
    return (f"(() => {{ const c = {CELLS}, w = {json.dumps(want)}; "
            "return Object.keys(c).length === Object.keys(w).length && "
            "Object.keys(w).every(k => c[k] === w[k]) && "
            "!document.querySelector('#dc-grid .cell[data-error=\"\"]'); })()")


def test_assets_are_embedded_and_served(lab):
    """Both tiers serve the page and its files from the binary, with a policy
    that keeps any other origin out; the DC's rack link redirects."""
    for base, tier in [(lab["dc"], "dc")] + [(r, "rack") for r in lab["racks"]]:
        st, hdr, body = http_get(base + "/")
        assert st == 200 and b"/ui/app.js" in body, (base, st)
        assert "default-src 'none'" in hdr["Content-Security-Policy"]
        for path in ("/ui/app.js", "/ui/app.css", "/ui/uplot.min.js", "/ui/uplot.min.css"):
            st, hdr, body = http_get(base + path)
            assert st == 200 and len(body) > 100, (base, path, st)
        st, _, body = http_get(base + "/api/v1/ui")
        assert st == 200 and json.loads(body)["tier"] == tier
    wait_for(lambda: http_get(lab["dc"] + "/racks/1/")[0] == 302, 20, "rack 1 reporting")
    st, hdr, _ = http_get(lab["dc"] + "/racks/1/")
    assert hdr["Location"] == lab["racks"][1] + "/", hdr["Location"]
    for bad in ("/racks/7/", "/racks/x/", "/racks/01/", "/racks/1/extra", "/ui/nope.js"):
        assert http_get(lab["dc"] + bad)[0] == 404, bad


def test_dc_page_shows_every_server_healthy(lab):
    out = browse(lab["dc"] + "/", cells_are({}), evaluate=CELL_TEXT,
                 screenshot="dc-healthy.png", timeout_s=WINDOW_S + 45)
    assert len(out["result"]) == RACKS * SERVERS
    for key, text in out["result"].items():
        # the class is written in the cell, with the error: colour is not the only signal
        assert "healthy" in text and "err 0." in text, (key, text)
    # The DC's rack page: that rack's servers as its reports have them, each
    # linking to the rack controller's page of the server.
    links = "[...document.querySelectorAll('table.list tr[data-server] a')].map(a => a.getAttribute('href'))"
    out = browse(lab["dc"] + "/#/rack/1", f"{links}.length === {SERVERS}", evaluate=links,
                 screenshot="dc-rack1.png")
    assert out["result"] == [f"/racks/1/#/rack/1/server/{s}" for s in range(SERVERS)]


def test_loss_turns_one_cell_critical_and_its_spectrum_peaks_at_the_tone(lab):
    rack, server = LOSSY
    chaos(lab, "--rack", str(rack), "--server", str(server), "--loss", "70")
    try:
        out = browse(lab["dc"] + "/", cells_are({LOSSY: "critical"}), evaluate=CELL_TEXT,
                     screenshot="dc-fault.png", timeout_s=WINDOW_S + 30)
        assert "critical" in out["result"][f"{rack}/{server}"]

        # The cell's link: the DC sends the browser to the rack's own page.
        link = (f"document.querySelector('#dc-grid .cell[data-rack=\"{rack}\"]"
                f"[data-server=\"{server}\"]').getAttribute('href')")
        href = browse(lab["dc"] + "/", "document.querySelector('#dc-grid .cell')",
                      evaluate=link)["result"]
        assert href == f"/racks/{rack}/#/rack/{rack}/server/{server}", href
        # Highest bin of the drawn spectrum (both series: lobe and noise) and
        # a pixel of the signal's colour drawn in its column.
        peak = """(() => {
          const u = nw.charts.spectrum, x = u.data[0];
          let best = -1, bi = -1;
          for (let i = 0; i < x.length; i++) for (const s of [1, 2]) {
            const v = u.data[s][i]; if (v !== null && v > best) { best = v; bi = i; } }
          const px = Math.round(u.valToPos(x[bi], 'x', true));
          const col = u.ctx.getImageData(px, 0, 1, u.ctx.canvas.height).data;
          let green = 0;
          for (let i = 0; i < col.length; i += 4) if (col[i + 1] > col[i] + 40 && col[i + 3] > 0) green++;
          const d = document.getElementById('spectrum').dataset;
          return {peak_hz: x[bi], expected_hz: +d.expectedHz, bin_hz: +d.binHz, green: green,
                  cls: document.getElementById('server-summary').dataset.class};
        })()"""
        out = browse(lab["dc"] + href, "window.nw && nw.charts.spectrum && nw.updates > 1",
                     evaluate=peak, screenshot="server-lossy.png", viewport=(1400, 900))
        assert out["url"].startswith(lab["racks"][rack] + "/"), out["url"]
        assert out["url"].endswith(f"#/rack/{rack}/server/{server}"), out["url"]
        p = out["result"]
        assert p["cls"] == "critical", p
        assert abs(p["peak_hz"] - p["expected_hz"]) <= p["bin_hz"], p
        assert p["green"] > 0, p
    finally:
        chaos(lab, "--rack", str(rack), "--server", str(server), "--clear")


def test_periodic_outage_shows_its_period(lab):
    rack, server = PERIODIC
    chaos(lab, "--rack", str(rack), "--server", str(server), "--outage", "500ms/5s")
    try:
        url = f"{lab['racks'][rack]}/#/rack/{rack}/server/{server}"
        period = "+document.getElementById('loss-period').dataset.periodS"
        # four periods and the evaluation's cadence: ~25 s; bounded at 90
        out = browse(url, f"{period} > 4.5 && {period} < 5.5",
                     evaluate="({p: " + period + ", text: document.getElementById('loss-period')"
                     ".innerText, marks: nw.charts.periodogram.data[0].length})",
                     screenshot="server-periodic.png", timeout_s=90, viewport=(1400, 900))
        assert f"period {out['result']['p']:.2f} s" in out["result"]["text"], out["result"]
        assert out["result"]["marks"] > 10, out["result"]  # the periodogram was drawn
    finally:
        chaos(lab, "--rack", str(rack), "--server", str(server), "--clear")


def test_rack_controller_serves_its_own_rack(lab):
    rows = "[...document.querySelectorAll('#rack-table tr[data-server]')].map(r => +r.dataset.server)"
    out = browse(lab["racks"][0] + "/", f"{rows}.length === {SERVERS}", evaluate=rows,
                 screenshot="rack0.png")
    assert out["result"] == list(range(SERVERS))


# ------------------------------------------------------------ the fabric

# The DC page's fabric section as {"src>dst": [class, text, tooltip]}, and
# its fault rows as [scope, headline].
MATRIX = ("Object.fromEntries([...document.querySelectorAll('#fabric-matrix .pcell')]"
          ".map(c => [c.dataset.src + '>' + c.dataset.dst, [c.dataset.class, c.innerText, c.title]]))")
FAULT_ROWS = ("[...document.querySelectorAll('#fabric-faults tr[data-scope]')]"
              ".map(r => [r.dataset.scope, r.children[1].innerText])")
FABRIC_RACKS = 4


def fabric_block():
    """/api/v1/dc's `fabric` as docs/fabric.md section 5-6 documents it: 4
    racks, rack 2's uplink at 30 % loss (every path in and out critical),
    pair 0 <-> 3 not probed, 3 -> 1 stale, a rack and a server fault."""
    paths = []
    for a in range(FABRIC_RACKS):
        for b in range(FABRIC_RACKS):
            if a == b or {a, b} == {0, 3}:
                continue
            bad = 2 in (a, b)
            paths.append({"src_rack": a, "dst_rack": b, "class": "critical" if bad else "healthy",
                          "error": 0.62 if bad else 0.03, "loss_ratio": 0.3 if bad else 0.0,
                          "latency_ms": {"p50": 0.21, "p99": 0.9},
                          "periods": [5.0] if (a, b) == (1, 2) else [],
                          "age_s": 0.8, "stale": (a, b) == (3, 1)})
    return {
        "mesh": {"mode": "full", "k": 3, "epoch": 0, "pairs_probed": len(paths),
                 "pairs_total": FABRIC_RACKS * (FABRIC_RACKS - 1)},
        "score": 0.79,
        "paths": paths,
        "faults": [
            {"id": "path:2>0", "name": "rack:2", "scope": "rack", "subject": {"rack_id": 2},
             "cause": "uplink", "since": time.time_ns() - 4 * 10**9,
             "members": [f"path:2>{b}" for b in (0, 1, 3)] + [f"path:{a}>2" for a in (0, 1, 3)],
             "members_total": 6, "loss_ratio": 0.3, "period_s": None, "scope_changes": 1},
            {"id": "server:1/1", "name": "server:1/1", "scope": "server",
             "subject": {"rack_id": 1, "server_id": 1}, "cause": None,
             "since": time.time_ns() - 9 * 10**9, "members": ["server:1/1"], "members_total": 1,
             "loss_ratio": 0.3, "period_s": 2.0, "scope_changes": 0}],
    }


def contract_proxy(dc_base, fabric):
    """Loopback HTTP in front of a real DC: /api/v1/dc is the DC's own answer
    with `fabric` replaced by the documented block (and the DC score by
    min(its score, the fabric's), as documented); everything else (the
    page, its assets and their headers) is the DC's, unchanged."""
    def respond(path):
        try:
            with urllib.request.urlopen(dc_base + path, timeout=5) as r:
                status, headers, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        if path.startswith("/api/v1/dc") and status == 200:
            doc = json.loads(body)
            doc["fabric"] = fabric
            doc["health_score"] = min(doc["health_score"], fabric["score"])
            body = json.dumps(doc).encode()
        keep = ("Content-Type", "Content-Security-Policy", "Cache-Control")
        return status, {k: headers[k] for k in keep if headers.get(k)}, body
    return LoopbackHTTP(respond)


class MeshWithoutPair(Fabric):
    """test_dc_fabric's four racks of eight servers in full mesh, except
    that rack 3 reports no row for rack 0: pair 0 -> 3 is not probed."""

    def paths(self, rack):
        return [r for r in super().paths(rack) if (r["src_rack"], rack) != (0, 3)]


def check_matrix(cells, bad_rack, unmeasured, stale=()):
    """Every ordered pair present once; the diagonal is the rack itself; an
    unprobed pair reads unmeasured (not healthy); the paths touching
    bad_rack critical, the others healthy (or stale)."""
    assert len(cells) == FABRIC_RACKS ** 2, cells
    for a in range(FABRIC_RACKS):
        for b in range(FABRIC_RACKS):
            cls, text, title = cells[f"{a}>{b}"]
            if a == b:
                assert cls == "self"
            elif (a, b) in unmeasured:
                assert cls == "unmeasured" and "unmeasured" in text and "healthy" not in text
                assert "unmeasured" in title, title
            elif (a, b) in stale:
                assert cls == "stale" and "stale" in text, (a, b, text)
            else:
                want = "critical" if bad_rack in (a, b) else "healthy"
                assert cls == want and want in text, (a, b, cls, text)  # in words too


def test_fabric_matrix_and_faults_from_the_documented_block():
    with Dc("--racks", str(FABRIC_RACKS), "--stale", "30") as dc, Fabric(dc) as fab:
        fab.bad_servers = {(1, 1)}  # the server fault's server, as its rack reports it
        proxy = contract_proxy(f"http://127.0.0.1:{dc.http_port}", fabric_block())
        try:
            out = browse(proxy.base + "/",
                         f"Object.keys({MATRIX}).length === {FABRIC_RACKS ** 2} && "
                         f"{FAULT_ROWS}.length === 2",
                         evaluate=f"({{m: {MATRIX}, f: {FAULT_ROWS}, "
                         "score: document.getElementById('fabric-score').innerText, "
                         "pairs: document.getElementById('fabric-pairs').innerText})",
                         screenshot="dc-fabric-contract.png", viewport=(1280, 1000))
        finally:
            proxy.close()
    res = out["result"]
    check_matrix(res["m"], 2, unmeasured={(0, 3), (3, 0)}, stale={(3, 1)})
    tip = res["m"]["1>2"][2]
    for part in ("rack 1 \u2192 rack 2: critical", "loss 30.00 %", "p50 0.210 ms",
                 "p99 0.900 ms", "period 5.00 s"):
        assert part in tip, (part, tip)
    assert "no period" in res["m"]["0>1"][2]
    assert res["f"] == [["rack", "rack 2 uplink: 30 % loss"],
                        ["server", "rack 1 server 1: 30 % loss"]], res["f"]
    assert res["score"] == "0.790" and res["pairs"] == "10 / 12", res


def test_fabric_from_a_real_dc():
    """A real netwatch-dc fed four racks' reports (test_dc_fabric's): every
    server healthy, paths_in rows from every other rack except 0 -> 3, and
    every path into and out of rack 2 critical at 30 % loss from the same
    onset (its uplink). The page draws the DC's matrix and the one fault the
    DC places: rack 2, cause uplink."""
    bad = {(a, b) for a in range(FABRIC_RACKS) for b in range(FABRIC_RACKS)
           if a != b and 2 in (a, b)}
    with Dc("--racks", str(FABRIC_RACKS), "--stale", "30") as dc, MeshWithoutPair(dc) as fab:
        wait_for(lambda: "fabric" in dc.api(), 10, "the DC's first answer")
        fab.bad_paths = bad
        out = browse(f"http://127.0.0.1:{dc.http_port}/",
                     f"Object.keys({MATRIX}).length === {FABRIC_RACKS ** 2} && "
                     f"{FAULT_ROWS}.some(f => f[0] === 'rack')",
                     evaluate=f"({{m: {MATRIX}, f: {FAULT_ROWS}}})",
                     screenshot="dc-fabric.png", viewport=(1280, 900), timeout_s=30)
        api = dc.api()
    res = out["result"]
    check_matrix(res["m"], 2, unmeasured={(0, 3)})
    assert res["f"] == [["rack", "rack 2 uplink: 30 % loss"]], res["f"]
    assert {(p["src_rack"], p["dst_rack"]) for p in api["fabric"]["paths"]} == {
        (a, b) for a in range(FABRIC_RACKS) for b in range(FABRIC_RACKS)
        if a != b and (a, b) != (0, 3)}


def lab_pid(lab, role, **where):
    r = lab_cmd(lab["name"], "status", "--json")
    for p in json.loads(r.stdout)["processes"]:
        if p["role"] == role and p["alive"] and all(p.get(k) == v for k, v in where.items()):
            return p["pid"]
    raise AssertionError(f"no live {role} {where} in the lab")


def test_stale_rack_and_down_server_are_shown_as_such(lab):
    """Last: it leaves an agent dead. Rack 1's controller paused (SIGSTOP:
    its reports stop, its connection stays) turns stale after the DC's
    --stale; an agent killed without its goodbye turns its server down."""
    rack_pid = lab_pid(lab, "rack", rack=1)
    os.kill(lab_pid(lab, "agent", rack=0, server=2), signal.SIGKILL)
    os.kill(rack_pid, signal.SIGSTOP)
    try:
        states = "[...document.querySelectorAll('#dc-grid tr[data-rack]')].map(r => r.dataset.state)"
        out = browse(lab["dc"] + "/",
                     f"(() => {{ const c = {CELLS}; return c['0/2'] === 'down' && "
                     "['1/0', '1/1', '1/2'].every(k => c[k] === 'stale'); })()",
                     evaluate=f"({{cells: {CELL_TEXT}, states: {states}}})",
                     screenshot="dc-stale.png", timeout_s=30)
        cells, states = out["result"]["cells"], out["result"]["states"]
        assert states == ["ok", "stale"], states
        assert "down" in cells["0/2"], cells
        for s in range(SERVERS):
            assert "stale" in cells[f"1/{s}"], cells  # in words, not only greyed
        for s in range(2):
            assert "healthy" in cells[f"0/{s}"], cells
    finally:
        os.kill(rack_pid, signal.SIGCONT)
