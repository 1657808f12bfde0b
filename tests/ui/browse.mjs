// One look at a page in a real browser, for tests/integration/test_webui.py:
// Debian's chromium, headless, driven by playwright-core (pinned in
// package-lock.json, installed by `make deps`; it downloads no browser).
//
//   node browse.mjs '{"url": ..., "wait": "<JS expression>", "timeout_s": 30,
//                     "eval": "<JS expression>", "screenshot": "out.png",
//                     "viewport": [1280, 800]}'
//
// Opens url, waits until `wait` is truthy in the page (bounded by timeout_s),
// saves the screenshot, then prints one JSON line: {"ok", "url" (where the
// page ended up, after redirects), "result" (the value of `eval`), "console"
// (every console error and uncaught exception), "error" (why not ok)}.
// Exit status 0 when the page was reached and `wait` held, else 1.
import { chromium } from "playwright-core";

const req = JSON.parse(process.argv[2] || "{}");
const out = { ok: false, url: null, result: null, console: [], error: null };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // root in a test namespace: no user namespaces for the sandbox
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const [w, h] = req.viewport || [1280, 800];
  const page = await browser.newPage({ viewport: { width: w, height: h } });
  page.on("console", (m) => {
    if (m.type() === "error") out.console.push(`console: ${m.text()} (${m.location().url || ""})`);
  });
  page.on("pageerror", (e) => out.console.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => {
    const why = r.failure() ? r.failure().errorText : "";
    // a navigation away (a redirect to the rack) aborts the last poll: not an error
    if (why !== "net::ERR_ABORTED") out.console.push(`request failed: ${r.url()} ${why}`);
  });
  const timeout = (req.timeout_s || 30) * 1000;
  await page.goto(req.url, { waitUntil: "load", timeout });
  // Polled from here: waitForFunction would eval inside the page, which the
  // page's Content-Security-Policy (rightly) forbids.
  const deadline = Date.now() + timeout;
  while (req.wait && !(await page.evaluate(req.wait).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${req.timeout_s || 30} s waiting for ${req.wait}`);
    await page.waitForTimeout(250);
  }
  // one more update after the condition, so the screenshot shows a settled page
  await page.waitForTimeout(300);
  if (req.screenshot) await page.screenshot({ path: req.screenshot, fullPage: true });
  out.url = page.url();
  if (req.eval) out.result = await page.evaluate(req.eval);
  out.ok = true;
} catch (e) {
  out.error = String(e && e.message ? e.message : e).split("\n").slice(0, 6).join("\n");
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
