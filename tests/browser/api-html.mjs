// Loads the interactive API documentation (/api.html, Swagger UI) in headless
// Chromium with every request to another host blocked, and checks that it
// works: the page renders our operations, and "Try it out" on GET /search
// with limit=2 shows a 200 response with a FeatureCollection.
//
//   BASE=http://127.0.0.1:8123 SCREENSHOT=/tmp/api-html.png node tests/browser/api-html.mjs
//
// BASE: the server (default http://127.0.0.1:8123). SCREENSHOT: where the
// full-page screenshot goes (default /tmp/api-html.png; written also when a
// check fails, if the page got that far). CHROMIUM: the browser (default
// /usr/bin/chromium, Debian's package; Playwright never downloads one here).
// Exits 0 when every check passes, 1 with the reasons otherwise.
// scripts/test-browser.sh builds, indexes and starts the server and runs this.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

const BASE = (process.env.BASE || "http://127.0.0.1:8123").replace(/\/+$/, "");
const SCREENSHOT = process.env.SCREENSHOT || "/tmp/api-html.png";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT_MS = 30_000;
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

const blocked = []; // requests to other hosts (aborted)
const httpErrors = []; // same-host responses with a status >= 400
const consoleErrors = [];
const pageErrors = [];
const failures = [];
const started = Date.now();

function log(message) {
  console.log(`[api-html ${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

// Runs one named check; a failure is recorded and the run goes on only when
// `fatal` is false (later steps usually need the earlier ones).
async function check(name, fn, { fatal = true } = {}) {
  try {
    await fn();
    log(`ok: ${name}`);
    return true;
  } catch (error) {
    const message = `${name}: ${String(error?.message || error).split("\n")[0]}`;
    failures.push(message);
    log(`FAILED: ${message}`);
    if (fatal) throw error;
    return false;
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
log(`chromium ${browser.version()} (${CHROMIUM}), page ${BASE}/api.html`);

let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(TIMEOUT_MS);

  // No internet: only the server under test may be reached.
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (["data:", "blob:"].includes(url.protocol) || LOCAL_HOSTS.has(url.hostname)) {
      return route.continue();
    }
    blocked.push(url.href);
    return route.abort("blockedbyclient");
  });

  page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => pageErrors.push(String(error?.message || error)));
  page.on("response", (response) => {
    if (response.status() >= 400) httpErrors.push(`${response.status()} ${response.url()}`);
  });

  await check("GET /api.html answers 200", async () => {
    const response = await page.goto(`${BASE}/api.html`, { waitUntil: "load" });
    expect(response, "no response");
    expect(response.status() === 200, `status ${response.status()}`);
  });

  await check('the page title is "stac-indexed API"', async () => {
    const title = await page.title();
    expect(title === "stac-indexed API", `the title is ${JSON.stringify(title)}`);
  });

  await check("Swagger UI renders the OpenAPI document (info: title and version)", async () => {
    const info = page.locator("#swagger-ui .information-container .info");
    await info.locator(".title").waitFor({ state: "visible" });
    const title = (await info.locator(".title").innerText()).trim();
    expect(title.includes("stac-indexed"), `the info title is ${JSON.stringify(title)}`);
    expect(/\b0\.\d+\.\d+\b/.test(title), `no version in the info title ${JSON.stringify(title)}`);
    const description = await info.locator(".description").innerText();
    expect(description.includes("STAC API"), `the description is ${JSON.stringify(description)}`);
    const errors = page.locator("#swagger-ui .errors-wrapper");
    if (await errors.isVisible()) throw new Error(`Swagger UI shows errors: ${await errors.innerText()}`);
  });

  // Each [method, path] must be listed as an operation.
  const expected = [
    ["get", "/"],
    ["get", "/conformance"],
    ["get", "/collections"],
    ["get", "/collections/{collectionId}"],
    ["get", "/collections/{collectionId}/items"],
    ["get", "/collections/{collectionId}/items/{itemId}"],
    ["get", "/search"],
    ["post", "/search"],
    ["get", "/queryables"],
    ["get", "/collections/{collectionId}/queryables"],
    ["get", "/sortables"],
    ["get", "/collections/{collectionId}/sortables"],
  ];
  await check(`the page lists the operations ${expected.map(([m, p]) => `${m.toUpperCase()} ${p}`).join(", ")}`, async () => {
    const missing = [];
    for (const [method, path] of expected) {
      const op = page.locator(`.opblock.opblock-${method}`).filter({
        has: page.locator(`.opblock-summary-path[data-path="${path}"]`),
      });
      if ((await op.count()) !== 1 || !(await op.first().isVisible())) missing.push(`${method.toUpperCase()} ${path}`);
    }
    expect(missing.length === 0, `missing or hidden: ${missing.join(", ")}`);
    for (const text of ["/search", "/collections/{collectionId}/items", "/conformance"]) {
      expect(await page.getByText(text, { exact: true }).first().isVisible(), `the text ${text} is not visible`);
    }
  });

  const search = page.locator(".opblock.opblock-get").filter({
    has: page.locator('.opblock-summary-path[data-path="/search"]'),
  });

  await check("GET /search expands", async () => {
    await search.locator(".opblock-summary").first().click();
    await search.locator(".opblock-body").waitFor({ state: "visible" });
  });

  await check('"Try it out" enables the parameters', async () => {
    await search.locator("button.try-out__btn").click();
    await search.locator('tr[data-param-name="limit"] input').waitFor({ state: "visible" });
  });

  await check("limit=2 and Execute: the response code shown is 200", async () => {
    await search.locator('tr[data-param-name="limit"] input').fill("2");
    const answer = page.waitForResponse(
      (r) => new URL(r.url()).pathname === "/search" && r.request().method() === "GET",
    );
    await search.locator("button.execute").click();
    const response = await answer;
    const url = new URL(response.url());
    expect(url.searchParams.get("limit") === "2", `the request was ${response.url()}`);
    const status = search.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor({ state: "visible" });
    const shown = (await status.innerText()).trim();
    expect(shown === "200", `the response code shown is ${JSON.stringify(shown)} (HTTP ${response.status()})`);
  });

  await check('the response body shown is a FeatureCollection of 2 items', async () => {
    const body = search.locator(".live-responses-table .response-col_description .microlight, .live-responses-table .response-col_description pre").first();
    await body.waitFor({ state: "visible" });
    const text = await body.innerText();
    expect(text.includes("FeatureCollection"), `the body shown starts ${JSON.stringify(text.slice(0, 200))}`);
    const parsed = JSON.parse(text);
    expect(parsed.features?.length === 2, `${parsed.features?.length} features shown, not 2`);
  });

  await check("the request URL shown is on the server under test", async () => {
    const requestUrl = (await search.locator(".request-url pre").first().innerText()).trim();
    expect(requestUrl.startsWith(`${BASE}/search?`) && requestUrl.includes("limit=2"), `it is ${requestUrl}`);
  }, { fatal: false });
} catch {
  // Recorded by check(); the screenshot and the summary below still run.
} finally {
  if (page) {
    try {
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      log(`screenshot: ${SCREENSHOT}`);
    } catch (error) {
      failures.push(`screenshot: ${error.message.split("\n")[0]}`);
    }
  }
  await browser.close();
}

// After the interactions: nothing may have tried to leave the machine, no
// asset may have failed, and the page must have run without errors.
if (blocked.length) failures.push(`the page tried to reach other hosts (blocked): ${[...new Set(blocked)].join(", ")}`);
if (httpErrors.length) failures.push(`responses with an error status: ${httpErrors.join(", ")}`);
if (pageErrors.length) failures.push(`uncaught errors in the page: ${pageErrors.join(" | ")}`);
if (consoleErrors.length) failures.push(`console errors: ${consoleErrors.join(" | ")}`);

if (failures.length) {
  console.error(`FAIL: ${BASE}/api.html (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  for (const failure of failures) console.error(`  - ${failure}`);
  process.exit(1);
}
console.log(`PASS: ${BASE}/api.html (${((Date.now() - started) / 1000).toFixed(1)} s)`);
