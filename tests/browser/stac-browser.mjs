// Uses STAC Browser (/browser/) in headless Chromium with every request to
// another host blocked: the landing page lists the API's collections, a
// collection shows its items, an item page shows its metadata, and a search
// by bbox (a box drawn on the map) returns the items the API returns.
// A screenshot of each step goes to ARTIFACTS; the only console errors
// allowed are those of the blocked hosts (thumbnails on example.com, the
// GeoJSON schema, map tiles).
//
//   BASE=http://127.0.0.1:8123 ARTIFACTS=/tmp/stac-browser node tests/browser/stac-browser.mjs
//
// scripts/test-browser.sh builds STAC Browser, starts the server with it and
// runs this. Exits 0 when every check passes, 1 with the reasons otherwise.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const BASE = (process.env.BASE || "http://127.0.0.1:8123").replace(/\/+$/, "");
const ARTIFACTS = process.env.ARTIFACTS || "/tmp/stac-browser";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT_MS = 30_000;
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

const blocked = new Set();
const consoleErrors = [];
const pageErrors = [];
const failures = [];
const started = Date.now();
mkdirSync(ARTIFACTS, { recursive: true });

function log(message) {
  console.log(`[stac-browser ${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function check(name, page, shot, fn) {
  try {
    await fn();
    log(`ok: ${name}`);
  } catch (error) {
    failures.push(`${name}: ${String(error?.message || error).split("\n")[0]}`);
    log(`FAILED: ${failures.at(-1)}`);
  } finally {
    await page.screenshot({ path: `${ARTIFACTS}/${shot}.png`, fullPage: true }).catch(() => {});
  }
}

async function api(path, init) {
  const response = await fetch(`${BASE}${path}`, init);
  expect(response.ok, `${path}: ${response.status}`);
  return response.json();
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
log(`chromium ${browser.version()} (${CHROMIUM}), page ${BASE}/browser/`);
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
context.setDefaultTimeout(TIMEOUT_MS);
await context.route("**/*", (route) => {
  const url = new URL(route.request().url());
  if (["data:", "blob:"].includes(url.protocol) || LOCAL_HOSTS.has(url.hostname)) return route.continue();
  blocked.add(url.host);
  return route.abort("blockedbyclient");
});
const page = await context.newPage();
page.on("console", (message) => {
  if (message.type() === "error") consoleErrors.push(message.text());
});
page.on("pageerror", (error) => pageErrors.push(String(error?.message || error)));

const collections = (await api("/collections")).collections;
const radar = collections.find((c) => c.id === "sentinel-1-grd");
const radarItems = (await api("/collections/sentinel-1-grd/items?limit=100")).features.map((f) => f.id);

await check("the landing page lists every collection", page, "1-landing", async () => {
  await page.goto(`${BASE}/browser/`, { waitUntil: "networkidle" });
  for (const collection of collections) {
    await page.getByText(collection.title, { exact: true }).first().waitFor({ state: "visible" });
  }
});

let item;
await check("a collection shows its items", page, "2-collection", async () => {
  await page.getByText(radar.title, { exact: true }).first().click();
  await page.waitForURL(/#\/collections\/sentinel-1-grd$/);
  const link = page.locator("a", { hasText: /^S1A_IW_GRDH_/ }).first();
  await link.waitFor({ state: "visible" });
  item = (await link.innerText()).trim();
  expect(radarItems.includes(item), `${item} is not an item of sentinel-1-grd`);
});

await check("an item page shows its metadata", page, "3-item", async () => {
  expect(item, "no item to open");
  const expected = await api(`/collections/sentinel-1-grd/items/${item}`);
  await page.locator("a", { hasText: item }).first().click();
  await page.waitForURL(new RegExp(`#/collections/sentinel-1-grd/items/${item}$`));
  await page.getByRole("heading", { name: item }).first().waitFor({ state: "visible" });
  await page.getByText("Metadata", { exact: true }).first().waitFor({ state: "visible" });
  await page.getByText("Platform", { exact: true }).first().waitFor({ state: "visible" });
  await page.getByText(expected.properties.platform, { exact: true }).first().waitFor({ state: "visible" });
});

await check("a search by bbox returns the API's items", page, "4-search", async () => {
  await page.goto(`${BASE}/browser/#/search`, { waitUntil: "networkidle" });
  await page.getByText("Search for Items").first().click();
  await page.waitForTimeout(1000); // the tab's form settles
  await page.getByText("Filter by spatial extent").last().click();
  const map = page.locator(".ol-viewport").last();
  await map.waitFor({ state: "visible" });
  await page.waitForTimeout(1500); // the map settles before it takes a click
  const box = await map.boundingBox();
  const searched = page.waitForResponse(
    (r) => r.url() === `${BASE}/search` && r.request().method() === "POST" && (r.request().postData() || "").includes("bbox"),
  );
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForTimeout(1000);
  await page.getByRole("button", { name: "Submit" }).last().click();
  const response = await searched;
  const body = JSON.parse(response.request().postData() || "{}");
  expect(Array.isArray(body.bbox) && body.bbox.length === 4, `the search sent no bbox: ${response.request().postData()}`);
  const answer = await response.json();
  expect(answer.features.length > 0, "the bbox matched nothing");
  const first = answer.features[0];
  const title = first.properties.title || first.id;
  await page.getByText(title, { exact: true }).first().waitFor({ state: "visible" });
});

const external = [...blocked];
const unexplained = consoleErrors.filter(
  (text) =>
    !text.includes("net::ERR_FAILED") &&
    !text.includes("net::ERR_BLOCKED_BY_CLIENT") &&
    !external.some((host) => text.includes(host)),
);
if (unexplained.length > 0) failures.push(`console errors: ${unexplained.join(" | ")}`);
if (pageErrors.length > 0) failures.push(`page errors: ${pageErrors.join(" | ")}`);
log(`blocked hosts: ${external.join(", ") || "none"}; screenshots in ${ARTIFACTS}`);
await browser.close();
if (failures.length > 0) {
  console.error(`FAIL:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
log("PASS");
