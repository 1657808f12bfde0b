/* NetWatch web UI: one page for both tiers (docs/web-ui.md).
 *
 *   netwatch-dc    #/                  the DC grid: racks x servers, from /api/v1/dc,
 *                                      and the fabric: the rack x rack path matrix
 *                                      and the scoped faults (its `fabric` block)
 *                  #/rack/R            one rack's servers as the DC has them
 *                  a server            /racks/R/#/rack/R/server/S: the DC sends the
 *                                      browser to rack R's own controller (302)
 *   netwatch-rack  #/ or #/rack/R      its rack, from /api/v1/rack
 *                  #/rack/R/server/S   one server: tone spectrum, delay series,
 *                                      periodogram, skew fit, counters
 *
 * Every view polls its JSON once a second (POLL_MS) and redraws in place; the
 * location hash is the whole state, so a link is shareable. Plain DOM and
 * uPlot (window.uPlot, embedded from npm): no framework. */
"use strict";

(function () {
  const POLL_MS = 1000;
  const ICON = { healthy: "\u2713", warning: "!", critical: "\u2715", down: "\u2193",
    left: "\u2190", warming: "\u231b", stale: "?", never: "\u2013", unknown: "?" };
  /* The server page's periodogram: periods down to 0.5 s, as the controller's search. */
  const PERIODOGRAM_FMAX_HZ = 2.0;

  const main = document.getElementById("main");
  const crumbs = document.getElementById("crumbs");
  const statusEl = document.getElementById("status");
  const nw = { tier: null, rackId: null, view: null, charts: {}, updates: 0 };
  window.nw = nw; /* for the browser tests and a curious operator's console */

  /* ------------------------------------------------------------ helpers */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined)
      e.append(typeof k === "string" ? document.createTextNode(k) : k);
    return e;
  }
  function num(x, digits) {
    return x === null || x === undefined || !isFinite(x) ? "\u2013" : Number(x).toFixed(digits);
  }
  function pct(x) { return x === null || x === undefined ? "\u2013" : (100 * x).toFixed(2) + " %"; }
  function ms(s) { return s === null || s === undefined ? "\u2013" : (s * 1e3).toFixed(3) + " ms"; }
  function clsWord(c) { return ICON[c] !== undefined ? c : "unknown"; }
  function badge(c) {
    const w = clsWord(c);
    return el("span", { class: "badge c-" + w, "data-class": w }, ICON[w] + " " + w);
  }
  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) throw new Error(url + ": HTTP " + r.status);
    return r.json();
  }
  function setStatus(msg, isError) {
    statusEl.textContent = msg;
    statusEl.classList.toggle("error", !!isError);
  }
  function setCrumbs(parts) {
    crumbs.replaceChildren();
    parts.forEach(([text, href], i) => {
      if (i) crumbs.append(" / ");
      crumbs.append(href ? el("a", { href: href }, text) : el("span", {}, text));
    });
  }
  function route() {
    const m = location.hash.match(/^#\/rack\/(\d+)(?:\/server\/(\d+))?\/?$/);
    if (m) return { rack: Number(m[1]), server: m[2] === undefined ? null : Number(m[2]) };
    return { rack: null, server: null };
  }
  function destroyCharts() {
    for (const u of Object.values(nw.charts)) u.destroy();
    nw.charts = {};
  }
  function plotWidth(node) { return Math.max(300, node.clientWidth - 10); }

  /* ------------------------------------------------------------ DC grid */
  function rackLabel(r) {
    if (r.state === "ok") return null;
    if (r.state === "never") return "never reported";
    return "stale: last report " + num(r.age_s, 0) + " s ago";
  }

  function serverCell(r, s, stale) {
    /* A stale rack's servers are what it said last: shown, but as stale. */
    const w = stale ? r.state : clsWord(s.class);
    const href = "/racks/" + r.rack_id + "/#/rack/" + r.rack_id + "/server/" + s.id;
    return el("a", { class: "cell c-" + w, href: href, "data-rack": r.rack_id,
      "data-server": s.id, "data-class": stale ? r.state : s.class,
      "data-error": s.error === null ? "" : s.error,
      title: "rack " + r.rack_id + " server " + s.id + ": " + s.class +
        (stale ? " (rack " + r.state + ")" : "") + "; open its spectrum on the rack's controller" },
    el("span", { class: "id" }, "s" + s.id),
    el("span", { class: "cls" }, ICON[w] + " " + (stale ? r.state + " (" + s.class + ")" : s.class)),
    el("span", { class: "err" }, s.error === null ? "err \u2013 (not measured)" : "err " + num(s.error, 3)));
  }

  /* ------------------------------------------------------------ fabric */
  /* The DC's `fabric` block (docs/fabric.md sections 5 and 6): the measured
   * inter-rack paths and the scoped faults. A pair with no row is not
   * probed now: drawn as unmeasured, never as healthy. */
  function pathKey(src, dst) { return src + ">" + dst; }

  function periodsText(p) {
    const ps = (p.periods || []).map((x) => typeof x === "number" ? x : x && x.period_s)
      .filter((x) => x > 0);
    return ps.length ? "period " + ps.map((x) => num(x, 2) + " s").join(", ") : "no period";
  }

  function pathTitle(src, dst, p) {
    if (!p) return "rack " + src + " \u2192 rack " + dst + ": unmeasured (not probed in this mesh epoch)";
    const lat = p.latency_ms || {};
    return "rack " + src + " \u2192 rack " + dst + ": " + p.class + (p.stale ? " (stale)" : "") +
      "; error " + num(p.error, 3) + "; loss " + pct(p.loss_ratio) +
      "; latency p50 " + num(lat.p50, 3) + " ms, p99 " + num(lat.p99, 3) + " ms; " +
      periodsText(p) + "; " + num(p.age_s, 1) + " s old";
  }

  function pathCell(src, dst, p) {
    if (src === dst)
      return el("span", { class: "pcell self", "data-src": src, "data-dst": dst, "data-class": "self",
        title: "rack " + src + " itself" }, "\u00b7");
    if (!p)
      return el("span", { class: "pcell c-unmeasured", "data-src": src, "data-dst": dst,
        "data-class": "unmeasured", title: pathTitle(src, dst, null) }, "\u2013 unmeasured");
    const w = p.stale ? "stale" : clsWord(p.class);
    return el("span", { class: "pcell c-" + w, "data-src": src, "data-dst": dst,
      "data-class": p.stale ? "stale" : p.class, "data-error": p.error === null ? "" : p.error,
      "data-loss": p.loss_ratio, title: pathTitle(src, dst, p) },
    el("span", { class: "cls" }, ICON[w] + " " + (p.stale ? "stale (" + p.class + ")" : p.class)),
    el("span", { class: "err" }, p.error === null || p.error === undefined ? "err \u2013"
      : "err " + num(p.error, 2)));
  }

  function faultSubject(f) {
    const s = f.subject || {};
    if (f.scope === "dc") return "the DC";
    if (f.scope === "path") return "rack " + s.src_rack + (s.both_directions ? " \u2194 " : " \u2192 ") +
      "rack " + s.dst_rack;
    if (f.scope === "server") return "rack " + s.rack_id + " server " + s.server_id;
    return "rack " + s.rack_id;
  }

  function sinceText(t) {
    if (t === null || t === undefined) return "\u2013";
    /* CLOCK_REALTIME: ns (as the reports' since_ns) or s, or an ISO string */
    const when = typeof t === "number" ? new Date(t > 1e14 ? t / 1e6 : t * 1e3) : new Date(t);
    return isNaN(when) ? String(t) : when.toLocaleTimeString();
  }

  /* Members are named "server:R/S" and "path:A>B" (the DC's fault ids). */
  function memberText(m) {
    const t = String(m), sm = t.match(/^server:(\d+)\/(\d+)$/), pm = t.match(/^path:(\d+)>(\d+)$/);
    if (sm) return "server " + sm[1] + "/" + sm[2];
    if (pm) return "path " + pm[1] + "\u2192" + pm[2];
    return t;
  }

  function faultRow(f) {
    const headline = faultSubject(f) + (f.cause ? " " + f.cause : "") +
      (f.loss_ratio === null || f.loss_ratio === undefined ? "" : ": " + num(100 * f.loss_ratio, 0) + " % loss");
    const members = f.members || [];
    const total = f.members_total !== undefined ? f.members_total : members.length;
    return el("tr", { "data-scope": f.scope, "data-id": f.id, title: f.name || null },
      el("td", {}, el("span", { class: "badge scope-" + f.scope }, f.scope)),
      el("td", { class: "cls" }, headline),
      el("td", {}, f.cause || "\u2013"),
      el("td", {}, sinceText(f.since)),
      el("td", {}, pct(f.loss_ratio)),
      el("td", {}, f.period_s > 0 ? num(f.period_s, 2) + " s" : "\u2013"),
      el("td", { class: "cls", title: members.map(memberText).join(", ") },
        total + (members.length ? ": " + members.slice(0, 4).map(memberText).join(", ") +
          (total > 4 ? ", \u2026" : "") : "")),
      el("td", {}, String(f.scope_changes || 0)));
  }

  function fabricSection(d) {
    const sec = el("section", { id: "paths" });
    const f = d.fabric;
    if (!f) {
      sec.append(el("h2", {}, "Fabric"),
        el("p", { class: "legend-note" }, "This DC controller reports no fabric block."));
      return sec;
    }
    const paths = f.paths || [];
    const byPair = new Map(paths.map((p) => [pathKey(p.src_rack, p.dst_rack), p]));
    const ids = new Set(d.racks.map((r) => r.rack_id));
    for (const p of paths) { ids.add(p.src_rack); ids.add(p.dst_rack); }
    const racks = [...ids].sort((a, b) => a - b);
    const mesh = f.mesh || {};
    sec.append(el("h2", {}, "Fabric: rack \u00d7 rack paths"),
      el("div", { class: "summary" },
        el("span", {}, "fabric score ", el("b", { id: "fabric-score" }, num(f.score, 3))),
        el("span", {}, "mesh ", el("b", {}, (mesh.mode || "\u2013") +
          (mesh.k ? ", k " + mesh.k : "") + (mesh.epoch !== undefined ? ", epoch " + mesh.epoch : ""))),
        el("span", {}, "pairs probed ", el("b", { id: "fabric-pairs" },
          (mesh.pairs_probed !== undefined ? mesh.pairs_probed : paths.length) + " / " +
          (mesh.pairs_total !== undefined ? mesh.pairs_total : racks.length * (racks.length - 1))))));
    if (!paths.length && racks.length < 2) {
      sec.append(el("p", { id: "fabric-none" }, "No inter-rack path measured (no rack runs its fabric sender)."));
    } else {
      const table = el("table", { class: "grid matrix", id: "fabric-matrix" },
        el("tr", {}, el("th", {}, "from \\ to"), ...racks.map((r) => el("th", { class: "dst" }, "rack " + r))));
      for (const src of racks)
        table.append(el("tr", { "data-src": src }, el("th", {}, "rack " + src),
          ...racks.map((dst) => el("td", {}, pathCell(src, dst, byPair.get(pathKey(src, dst)))))));
      sec.append(table,
        el("p", { class: "legend-note" }, "Row: the sending rack; column: the receiving rack. Each cell: the path's class and spectral ",
          "error; hover for loss, latency and period. \u2013 unmeasured: the mesh does not probe that pair now ",
          "(it is not known to be healthy). A whole row and column degraded is that rack's uplink."));
    }
    const faults = f.faults || [];
    sec.append(el("h2", {}, "Faults by scope"));
    if (!faults.length) {
      sec.append(el("p", { id: "fabric-faults-none" }, "No fault: every measured server and path is healthy."));
    } else {
      sec.append(el("table", { class: "list", id: "fabric-faults" },
        el("tr", {}, ...["scope", "fault", "cause", "since", "loss", "period", "members",
          "scope changes"].map((h) => el("th", {}, h))), ...faults.map(faultRow)));
    }
    return sec;
  }

  const dcView = {
    title: "DC",
    async update() {
      // One page of up to 1000 racks (docs/dc.md); a larger DC says how many are left out.
      const d = await getJSON("/api/v1/dc?limit=1000");
      setCrumbs([["DC " + d.dc_id, null]]);
      const maxServers = Math.max(0, ...d.racks.map((r) => r.servers.length));
      const table = el("table", { class: "grid", id: "dc-grid" });
      const head = el("tr", {}, el("th", {}, "rack"));
      if (maxServers) head.append(el("th", { colspan: maxServers }, "servers"));
      table.append(head);
      for (const r of d.racks) {
        const stale = r.state !== "ok";
        const label = rackLabel(r);
        const row = el("tr", { "data-rack": r.rack_id, "data-state": r.state },
          el("th", {}, el("a", { href: "#/rack/" + r.rack_id }, "rack " + r.rack_id),
            el("small", {}, "score " + num(r.score, 3)),
            label ? el("small", { class: "rack-state c-" + r.state }, ICON[r.state] + " " + label) : null));
        for (const s of r.servers) row.append(el("td", {}, serverCell(r, s, stale)));
        if (!r.servers.length)
          row.append(el("td", { colspan: Math.max(1, maxServers) },
            el("span", { class: "cell c-" + r.state }, ICON[r.state] + " " + (label || "no servers"))));
        table.append(row);
      }
      const byClass = {};
      for (const r of d.racks) for (const s of r.servers) {
        const c = r.state === "ok" ? s.class : r.state;
        byClass[c] = (byClass[c] || 0) + 1;
      }
      main.replaceChildren(
        el("h1", {}, "Datacenter " + d.dc_id),
        el("div", { class: "summary" },
          el("span", {}, "DC score ", el("b", { id: "dc-score" }, num(d.health_score, 3))),
          el("span", {}, "racks reporting ", el("b", {}, d.racks_reporting + " / " +
            Math.max(d.racks_expected, d.racks.length))),
          el("span", {}, "servers ", el("b", {}, Object.entries(byClass)
            .map(([k, v]) => v + " " + k).join(", ") || "none")),
          el("span", {}, "stale after ", el("b", {}, num(d.stale_s, 0) + " s")),
          d.overloaded ? el("span", { class: "cls", id: "dc-overloaded" },
            "\u26a0 DC controller overloaded (lag " + num(d.lag_s, 1) + " s)") : ""),
        table,
        d.next_after !== null && d.next_after !== undefined
          ? el("p", { id: "dc-more" }, "Showing the first " + d.racks.length + " of " +
            d.racks_known + " racks; the worst: " +
            (d.worst_racks || []).map((w) => w.rack_id).join(", ")) : "",
        el("p", { class: "legend-note" }, "Each cell: server, class (", ICON.healthy, " healthy, ",
          ICON.warning, " warning, ", ICON.critical, " critical, ", ICON.down, " down, ",
          ICON.warming, " warming: up, not measured yet, ", ICON.left, " left) and spectral error (0 pure tone .. 1 noise). A cell opens the ",
          "server's live spectrum on its rack's controller."),
        fabricSection(d));
      document.getElementById("version").textContent = "netwatch-dc " + d.version;
    },
  };

  /* DC tier: one rack as its reports have it. */
  function dcRackView(rackId) {
    return {
      async update() {
        const d = await getJSON("/api/v1/dc?rack=" + rackId);
        const r = d.racks.find((x) => x.rack_id === rackId);
        setCrumbs([["DC " + d.dc_id, "#/"], ["rack " + rackId, null]]);
        if (!r) {
          main.replaceChildren(el("h1", {}, "Rack " + rackId), el("p", {}, "The DC knows no such rack."));
          return;
        }
        const stale = r.state !== "ok";
        const rows = r.servers.map((s) => el("tr", { "data-server": s.id },
          el("td", {}, el("a", { href: "/racks/" + rackId + "/#/rack/" + rackId + "/server/" + s.id,
            class: "out" }, "server " + s.id)),
          el("td", { class: "cls" }, badge(stale ? r.state : s.class)),
          el("td", {}, num(s.error, 4)), el("td", {}, num(s.snr_db, 1)),
          el("td", {}, pct(s.loss_ratio)), el("td", {}, ms(s.jitter_s)),
          el("td", {}, s.up ? "yes" : "no")));
        main.replaceChildren(
          el("h1", {}, "Rack " + rackId),
          el("div", { class: "summary" },
            el("span", {}, "state ", badge(r.state === "ok" ? "healthy" : r.state), " ", r.state),
            el("span", {}, "score ", el("b", {}, num(r.score, 3))),
            el("span", {}, "last report ", el("b", {}, num(r.age_s, 1) + " s ago")),
            el("span", {}, el("a", { href: "/racks/" + rackId + "/#/rack/" + rackId, class: "out" },
              "the rack controller's own page"))),
          el("table", { class: "list" },
            el("tr", {}, ...["server", "class", "error", "SNR dB", "loss", "jitter", "up"]
              .map((h) => el("th", {}, h))), ...rows));
      },
    };
  }

  /* ------------------------------------------------------------ rack tier */
  function periodText(p) {
    if (!p) return "not evaluated yet";
    return p.found ? "period " + num(p.period_s, 2) + " s (false-alarm p " +
      Number(p.fap).toExponential(1) + ")" : "no period found";
  }

  function rackView() {
    return {
      async update() {
        const d = await getJSON("/api/v1/rack");
        setCrumbs([["rack " + d.rack_id, null]]);
        const rows = d.servers.map((s) => {
          const a = s.analysis || {};
          return el("tr", { "data-server": s.server_id, "data-class": s.class },
            el("td", {}, el("a", { href: "#/rack/" + d.rack_id + "/server/" + s.server_id },
              "server " + s.server_id)),
            el("td", { class: "cls" }, badge(s.class)),
            el("td", {}, num(a.spectral_error, 4)), el("td", {}, num(a.snr_db, 1)),
            el("td", {}, pct(s.loss_ratio)), el("td", {}, ms(s.jitter_s)),
            el("td", {}, a.skew_ppm === undefined || a.skew_ppm === null ? "\u2013" : num(a.skew_ppm, 1)),
            el("td", {}, a.delay_period && a.delay_period.found ? num(a.delay_period.period_s, 2) + " s" : "\u2013"),
            el("td", {}, a.loss_period && a.loss_period.found ? num(a.loss_period.period_s, 2) + " s" : "\u2013"),
            el("td", {}, String(s.outages)));
        });
        main.replaceChildren(
          el("h1", {}, "Rack " + d.rack_id),
          el("div", { class: "summary" },
            el("span", {}, "rack score ", el("b", { id: "rack-score" }, num(d.health_score, 3))),
            el("span", {}, "collector ", el("b", {}, d.hook + (d.iface ? " on " + d.iface : "") +
              (d.attached ? "" : " (not attached)"))),
            el("span", {}, "servers ", el("b", {}, Object.entries(d.servers_by_state)
              .filter(([, v]) => v).map(([k, v]) => v + " " + k).join(", ") || "none"))),
          el("table", { class: "list", id: "rack-table" },
            el("tr", {}, ...["server", "class", "error", "SNR dB", "loss", "jitter", "skew ppm",
              "delay period", "loss period", "outages"].map((h) => el("th", {}, h))), ...rows));
        document.getElementById("version").textContent = "netwatch-rack " + d.version;
      },
    };
  }

  /* The delay series on a regular grid (the sender's sample period), gaps
   * filled linearly, detrended, Hann-tapered; |DFT|^2 up to fmax. A picture
   * of the series' rhythm: the period itself is the controller's test
   * (docs/periodicity.md), drawn as a marker. */
  function periodogram(t, y, rate, fmax) {
    if (t.length < 16 || !(rate > 0)) return [[], []];
    const dt = 1 / rate, t0 = t[0];
    const n = Math.min(8192, Math.round((t[t.length - 1] - t0) / dt) + 1);
    const g = new Float64Array(n).fill(NaN);
    for (let i = 0; i < t.length; i++) {
      const k = Math.round((t[i] - t0) / dt);
      if (k >= 0 && k < n) g[k] = y[i];
    }
    let last = -1;
    for (let k = 0; k < n; k++) {
      if (isNaN(g[k])) continue;
      if (last < 0) for (let j = 0; j < k; j++) g[j] = g[k];
      else for (let j = last + 1; j < k; j++) g[j] = g[last] + (g[k] - g[last]) * (j - last) / (k - last);
      last = k;
    }
    for (let j = last + 1; j < n; j++) g[j] = g[last];
    let sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (let k = 0; k < n; k++) { sx += k; sy += g[k]; sxx += k * k; sxy += k * g[k]; }
    const b = (n * sxy - sx * sy) / Math.max(1e-12, n * sxx - sx * sx), a = (sy - b * sx) / n;
    for (let k = 0; k < n; k++) g[k] = (g[k] - a - b * k) * (0.5 - 0.5 * Math.cos(2 * Math.PI * k / (n - 1)));
    const fs = [], ps = [];
    const kmax = Math.min(Math.floor(n / 2), Math.floor(fmax * n * dt));
    for (let j = 1; j <= kmax; j++) {
      let re = 0, im = 0;
      const w = 2 * Math.PI * j / n;
      for (let k = 0; k < n; k++) { re += g[k] * Math.cos(w * k); im -= g[k] * Math.sin(w * k); }
      fs.push(j / (n * dt));
      ps.push((re * re + im * im) / n);
    }
    return [fs, ps];
  }

  /* Vertical markers (x in data units) drawn after the series. */
  function markerPlugin(getMarks) {
    return {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
          ctx.save();
          for (const m of getMarks()) {
            if (m.x === null || m.x === undefined || !isFinite(m.x)) continue;
            const px = u.valToPos(m.x, "x", true);
            if (m.lo !== undefined) {
              const a = u.valToPos(m.lo, "x", true), b = u.valToPos(m.hi, "x", true);
              ctx.fillStyle = m.fill;
              ctx.fillRect(a, top, Math.max(1, b - a), h);
            }
            ctx.strokeStyle = m.color;
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.setLineDash(m.dash ? [6 * devicePixelRatio, 4 * devicePixelRatio] : []);
            ctx.beginPath(); ctx.moveTo(px, top); ctx.lineTo(px, top + h); ctx.stroke();
            ctx.fillStyle = m.color;
            ctx.font = (12 * devicePixelRatio) + "px system-ui, sans-serif";
            ctx.fillText(m.label, px + 4 * devicePixelRatio, top + (14 + 14 * (m.row || 0)) * devicePixelRatio);
          }
          ctx.restore();
        }],
      },
    };
  }

  function makeChart(name, node, opts, data) {
    const u = new uPlot(Object.assign({ width: plotWidth(node), height: 240 }, opts), data, node);
    nw.charts[name] = u;
    return u;
  }

  function serverView(rackId, serverId) {
    let marks = { spectrum: [], periodogram: [] };
    const ui = {};
    function build() {
      destroyCharts();
      ui.head = el("div", {});
      ui.spectrumPlot = el("div", { class: "plot", id: "spectrum" });
      ui.spectrumNote = el("p", { class: "note", id: "spectrum-note" });
      ui.delayPlot = el("div", { class: "plot", id: "delay" });
      ui.delayNote = el("p", { class: "note", id: "delay-note" });
      ui.pgPlot = el("div", { class: "plot", id: "periodogram" });
      ui.pgNote = el("p", { class: "note" },
        el("span", { id: "delay-period" }), el("br"), el("span", { id: "loss-period" }));
      ui.facts = el("div", { class: "facts", id: "counters" });
      main.replaceChildren(ui.head,
        el("div", { class: "charts" },
          el("section", { class: "chart" }, el("h2", {}, "Tone spectrum (latest window)"),
            ui.spectrumPlot, ui.spectrumNote),
          el("section", { class: "chart" }, el("h2", {}, "One-way delay and skew fit"),
            ui.delayPlot, ui.delayNote),
          el("section", { class: "chart" }, el("h2", {}, "Periodogram of the delay series"),
            ui.pgPlot, ui.pgNote)),
        el("h2", {}, "Counters"), ui.facts);
    }
    build();

    function drawSpectrum(sp) {
      const xs = [], sig = [], noise = [];
      const lobe = sp.lobe_hz || [NaN, NaN];
      let peak = null;
      for (const b of sp.bins) {
        const db = 10 * Math.log10(Math.max(b.power || 0, 1e-12));
        const inLobe = b.hz >= lobe[0] - 1e-9 && b.hz <= lobe[1] + 1e-9;
        xs.push(b.hz);
        sig.push(inLobe ? db : null);
        noise.push(inLobe ? null : db);
        if (peak === null || b.power > peak.power) peak = b;
      }
      /* One continuous outline: the bins either side of the lobe belong to
       * both fills, so the green area meets the red one. */
      const inside = sig.map((v) => v !== null);
      for (let i = 1; i < xs.length; i++) {
        if (inside[i] && !inside[i - 1]) sig[i - 1] = noise[i - 1];
        if (!inside[i] && inside[i - 1]) sig[i] = noise[i];
      }
      marks.spectrum = [{ x: sp.expected_hz, lo: lobe[0], hi: lobe[1], fill: "rgba(46,125,50,.10)",
        color: "#2e7d32", dash: true, label: "expected " + num(sp.expected_hz, 3) + " Hz" }];
      const data = [xs, sig, noise];
      if (!nw.charts.spectrum) {
        const floor = (self, min, max) => [Math.max(min, max - 90), max + 3];
        makeChart("spectrum", ui.spectrumPlot, {
          scales: { x: { time: false }, y: { range: floor } },
          axes: [{ label: "Hz" }, { label: "power dB" }],
          series: [{ label: "Hz", value: (u, v) => num(v, 3) },
            { label: "signal (main lobe)", stroke: "#2e7d32", fill: "rgba(46,125,50,.35)", width: 2,
              spanGaps: false, value: (u, v) => num(v, 1) + " dB" },
            { label: "noise", stroke: "#b3261e", fill: "rgba(179,38,30,.18)", width: 1,
              spanGaps: false, value: (u, v) => num(v, 1) + " dB" }],
          plugins: [markerPlugin(() => marks.spectrum)],
        }, data);
      } else nw.charts.spectrum.setData(data);
      ui.spectrumPlot.dataset.expectedHz = sp.expected_hz;
      ui.spectrumPlot.dataset.peakHz = peak ? peak.hz : "";
      ui.spectrumPlot.dataset.binHz = sp.bin_hz;
      ui.spectrumNote.textContent = peak
        ? "Highest bin " + num(peak.hz, 3) + " Hz; expected tone " + num(sp.expected_hz, 3) +
          " Hz, main lobe " + num(lobe[0], 3) + "\u2013" + num(lobe[1], 3) +
          " Hz (green: signal; red: noise, every other bin)."
        : "No spectrum yet: the window is still filling.";
    }

    function drawDelay(dl) {
      const t = dl.t_s, y = dl.delay_ms;
      let min = Infinity;
      for (const v of y) if (v < min) min = v;
      if (!isFinite(min)) min = 0;
      const rel = y.map((v) => v - min);
      let fit = null;
      const k = dl.skew;
      if (k && k.valid && t.length) {
        const [[ta, ya], [tb, yb]] = k.line_ms;
        const slope = tb > ta ? (yb - ya) / (tb - ta) : 0;
        fit = t.map((x) => ya + slope * (x - ta) - min);
      }
      const data = [t, rel, fit || t.map(() => null)];
      if (!nw.charts.delay) {
        makeChart("delay", ui.delayPlot, {
          scales: { x: { time: false } },
          axes: [{ label: "s (sender clock)" }, { label: "ms above the minimum" }],
          series: [{ label: "s", value: (u, v) => num(v, 2) },
            { label: "delay", stroke: "#1f5fa8", width: 1, points: { show: false },
              value: (u, v) => num(v, 3) + " ms" },
            { label: "skew fit (envelope)", stroke: "#8a5a00", width: 2, dash: [6, 4],
              value: (u, v) => num(v, 3) + " ms" }],
        }, data);
      } else nw.charts.delay.setData(data);
      ui.delayNote.textContent = (k && k.valid)
        ? "Skew " + num(k.ppm, 2) + " ppm; one-way delay with the skew removed " + ms(k.owd_s) +
          "; queueing above the envelope " + ms(k.excess_s) + ". " + t.length + " newest samples."
        : (k && k.nonlinear ? "Skew: no fit (the delay steps or bends: not a clock)." :
          "Skew: not enough samples yet.") + " " + t.length + " samples.";

      const [fs, ps] = periodogram(t, y, dl.rate_hz, PERIODOGRAM_FMAX_HZ);
      const dp = dl.delay_period, lp = dl.loss_period;
      marks.periodogram = [];
      if (dp && dp.found) marks.periodogram.push({ x: 1 / dp.period_s, color: "#1f5fa8",
        label: "delay period " + num(dp.period_s, 2) + " s" });
      if (lp && lp.found) marks.periodogram.push({ x: 1 / lp.period_s, color: "#b3261e", dash: true,
        row: 1, label: "loss period " + num(lp.period_s, 2) + " s" });
      const pdata = [fs, ps];
      if (!nw.charts.periodogram) {
        makeChart("periodogram", ui.pgPlot, {
          scales: { x: { time: false } },
          axes: [{ label: "Hz (period = 1/Hz)" }, { label: "power (ms\u00b2, relative)" }],
          series: [{ label: "Hz", value: (u, v) => v ? num(v, 3) + " (" + num(1 / v, 2) + " s)" : "" },
            { label: "periodogram", stroke: "#1f5fa8", fill: "rgba(31,95,168,.12)", width: 1,
              value: (u, v) => v === null ? "" : Number(v).toExponential(2) }],
          plugins: [markerPlugin(() => marks.periodogram)],
        }, pdata);
      } else nw.charts.periodogram.setData(pdata);
      const dpe = document.getElementById("delay-period"), lpe = document.getElementById("loss-period");
      dpe.textContent = "Delay series: " + periodText(dp) + ".";
      dpe.dataset.periodS = dp && dp.found ? dp.period_s : "";
      lpe.textContent = "Loss series: " + periodText(lp) + ".";
      lpe.dataset.periodS = lp && lp.found ? lp.period_s : "";
    }

    function drawFacts(s) {
      const a = s.analysis || {};
      const facts = [["received", s.received], ["lost", s.lost], ["duplicates", s.duplicates],
        ["reordered", s.reordered], ["late", s.late], ["restarts", s.restarts],
        ["goodbyes", s.goodbyes], ["ring full", s.ring_full], ["records drained", s.records_drained],
        ["outages", s.outages], ["outage seconds", num(s.outage_seconds, 2)],
        ["loss ratio", pct(s.loss_ratio)], ["jitter", ms(s.jitter_s)],
        ["tone (announced)", num(s.freq_hz, 3) + " Hz"], ["sample rate", num(s.rate_hz, 1) + " Hz"],
        ["spectral error", num(a.spectral_error, 4)], ["short-scale error", num(s.spectral_error_short, 4)],
        ["SNR", num(a.snr_db, 1) + " dB"], ["peak", num(a.peak_hz, 3) + " Hz"],
        ["tone offset", num(a.tone_offset_hz, 3) + " Hz"], ["tone mismatch", a.tone_mismatch ? "yes" : "no"],
        ["skew", a.skew_ppm === null || a.skew_ppm === undefined ? "\u2013" : num(a.skew_ppm, 2) + " ppm"],
        ["one-way delay", ms(a.owd_s)]];
      ui.facts.replaceChildren(...facts.map(([k, v]) =>
        el("div", {}, el("span", {}, k), el("span", {}, String(v)))));
    }

    return {
      async update() {
        const base = "/api/v1/servers/" + serverId;
        const [rack, sp, dl] = await Promise.all([getJSON("/api/v1/rack"),
          getJSON(base + "/spectrum"), getJSON(base + "/delay")]);
        setCrumbs([["rack " + rack.rack_id, "#/rack/" + rack.rack_id],
          ["server " + serverId, null]]);
        const s = rack.servers.find((x) => x.server_id === serverId);
        if (!s) throw new Error("server " + serverId + " is not in rack " + rack.rack_id);
        ui.head.replaceChildren(el("h1", {}, "Rack " + rack.rack_id + ", server " + serverId, " ",
          badge(s.class)),
          el("div", { class: "summary", id: "server-summary", "data-class": s.class },
            el("span", {}, "class ", el("b", {}, s.class)),
            el("span", {}, "up ", el("b", {}, s.up ? "yes" : "no")),
            el("span", {}, "spectral error ", el("b", {}, num(s.analysis && s.analysis.spectral_error, 4))),
            el("span", {}, "loss ", el("b", {}, pct(s.loss_ratio)))));
        drawSpectrum(sp);
        drawDelay(dl);
        drawFacts(s);
        document.getElementById("version").textContent = "netwatch-rack " + rack.version;
      },
    };
  }

  /* ------------------------------------------------------------ loop */
  let timer = null, generation = 0;

  function pick() {
    const r = route();
    if (nw.tier === "dc") {
      if (r.rack === null) return dcView;
      if (r.server === null) return dcRackView(r.rack);
      /* A server's live view is its rack controller's: go there. */
      location.replace("/racks/" + r.rack + "/" + location.hash);
      return null;
    }
    if (r.rack !== null && r.rack !== nw.rackId) {
      return { async update() {
        main.replaceChildren(el("p", {}, "This is rack " + nw.rackId + "'s controller; rack " +
          r.rack + " has its own (or see the DC's page)."), el("a", { href: "#/" }, "rack " + nw.rackId));
      } };
    }
    return r.server === null ? rackView() : serverView(nw.rackId, r.server);
  }

  async function tick(gen) {
    if (gen !== generation || !nw.view) return;
    try {
      await nw.view.update();
      nw.updates++;
      setStatus("updated " + new Date().toLocaleTimeString(), false);
    } catch (e) {
      setStatus(String(e.message || e), true);
    }
    if (gen === generation) timer = setTimeout(() => tick(gen), POLL_MS);
  }

  function show() {
    clearTimeout(timer);
    generation++;
    destroyCharts();
    main.replaceChildren(el("p", {}, "Loading\u2026"));
    nw.view = pick();
    nw.updates = 0;
    tick(generation);
  }

  window.addEventListener("hashchange", show);
  window.addEventListener("resize", () => {
    for (const u of Object.values(nw.charts))
      u.setSize({ width: plotWidth(u.root.parentNode), height: 240 });
  });

  getJSON("/api/v1/ui").then((t) => {
    nw.tier = t.tier;
    nw.rackId = t.rack_id === undefined ? null : t.rack_id;
    show();
  }).catch((e) => setStatus(String(e.message || e), true));
})();
