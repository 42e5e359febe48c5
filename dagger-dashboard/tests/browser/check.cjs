// Opens the dashboard in Debian's headless chromium (driven by playwright-core), waits for
// the live numbers, prints what the page shows as JSON lines on stdout and saves a
// screenshot.
//
//   node check.cjs URL SCREENSHOT EXPECTED_FINISHED
//
// Line 1 {"phase":"first",...}: the page's first live update (the test then lets its
// computation run). Line 2 {"phase":"final",...}: once done + failed reaches
// EXPECTED_FINISHED with nothing queued or running, and the task stream has bars.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require(path.join(__dirname, "node_modules", "playwright-core"));

const [url, screenshot, expectedArg] = process.argv.slice(2);
const expected = Number(expectedArg);
if (!url || !screenshot || !Number.isFinite(expected)) {
  console.error("usage: node check.cjs URL SCREENSHOT EXPECTED_FINISHED");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

// What the page shows, read from its data attributes.
function readPage() {
  const num = (el, k) => Number(el ? el.dataset[k] : NaN);
  const totals = document.getElementById("totals");
  const gantt = document.getElementById("gantt");
  const graph = document.getElementById("graph");
  const counts = (el) => ({ queued: num(el, "queued"), running: num(el, "running"),
                            done: num(el, "done"), failed: num(el, "failed") });
  return {
    updates: num(document.getElementById("status"), "updates"),
    totals: counts(totals),
    names: [...document.querySelectorAll("tr.task-row")].map((r) => ({ name: r.dataset.name, ...counts(r) })),
    gantt: { spans: num(gantt, "spans"), processors: num(gantt, "processors") },
    graph: { nodes: num(graph, "nodes"), done: num(graph, "done"), failed: num(graph, "failed"),
             queued: num(graph, "queued"), running: num(graph, "running") },
    memory: [...document.querySelectorAll("tr.mem-row")].map((r) => ({
      worker: Number(r.dataset.worker), in_use: Number(r.dataset.inUse), spilled: Number(r.dataset.spilled) })),
  };
}

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "dagger-dashboard-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(url, { waitUntil: "domcontentloaded", timeout: 30000 });
    await page.waitForFunction(() => Number(document.getElementById("status").dataset.updates) >= 1,
                               null, { timeout: 30000, polling: 50 });
    console.log(JSON.stringify({ phase: "first", ...(await page.evaluate(readPage)) }));
    // Follow the numbers until the computation is over, keeping each distinct reading.
    const seen = new Set();
    const deadline = Date.now() + 60000;
    let last;
    for (;;) {
      last = await page.evaluate(readPage);
      seen.add(last.totals.done);
      const t = last.totals;
      if (t.done + t.failed >= expected && t.queued === 0 && t.running === 0 && last.gantt.spans > 0) break;
      if (Date.now() > deadline) break;
      await page.waitForTimeout(50);
    }
    // One more update so the graph and the task stream show the finished state.
    const n = last.updates;
    await page.waitForFunction((n) => Number(document.getElementById("status").dataset.updates) > n,
                               n, { timeout: 10000, polling: 50 }).catch(() => {});
    last = await page.evaluate(readPage);
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(JSON.stringify({ phase: "final", distinct_done_readings: seen.size, ...last }));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error("check.cjs:", e && e.stack ? e.stack : e);
  process.exit(1);
});
