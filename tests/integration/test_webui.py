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
- no page logs a console error, an uncaught exception or a failed request.

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
import urllib.error
import urllib.request

import pytest

from nwlab import BUILD, wait_for

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
