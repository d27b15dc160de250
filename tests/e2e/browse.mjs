// Log into Home Assistant in headless Chromium (Debian's /usr/bin/chromium via playwright-core), open pages,
// save a screenshot of each and print, as JSON, the text each page shows (walking open shadow roots, which is
// where Home Assistant's frontend renders everything).
//
// usage: node browse.mjs '{"url": "...", "username": "...", "password": "...", "outDir": "...",
//                          "viewport": {"width": 1280, "height": 2400},
//                          "pages": [{"name": "jbd", "path": "/config/devices/device/ID", "waitFor": "Voltage",
//                                     "ws": [{"type": "repairs/list_issues"}], "fullPage": false,
//                                     "viewport": {"width": 1280, "height": 1600}}]}'
// A page's "ws" messages are sent through the frontend's own websocket connection (hass.callWS) once the page is
// shown; their results are printed as "<name>:ws". "waitFor" may also be a list (every text must appear). A page's
// "clicks" ([{"selector": "css"} | {"text": "..."}]) are clicked in order before the screenshot.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const job = JSON.parse(process.argv[2]);
const profile = mkdtempSync(join(tmpdir(), "bms-e2e-chromium-"));
// A fresh profile (--user-data-dir) per run: playwright passes it for a persistent context.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
  viewport: job.viewport || { width: 1280, height: 2400 },
  locale: "en-US",
});

function deepText() {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const t = node.textContent.replace(/\s+/g, " ").trim();
      if (t) out.push(t);
      return;
    }
    if (node.nodeName === "STYLE" || node.nodeName === "SCRIPT") return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document);
  return out;
}

const result = {};
try {
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  await page.goto(job.url + "/");
  await page.getByLabel("Username").fill(job.username);
  await page.getByLabel("Password", { exact: true }).fill(job.password);
  await page.getByRole("button", { name: /log in/i }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/auth/"));
  // The frontend exchanges the auth code for tokens after the redirect: wait until it stored them.
  await page.waitForFunction(() => window.localStorage.getItem("hassTokens"));
  for (const p of job.pages) {
    await page.setViewportSize(p.viewport || job.viewport || { width: 1280, height: 2400 });
    await page.goto(job.url + p.path);
    for (const text of [p.waitFor ?? []].flat()) {
      try {
        await page.getByText(text).first().waitFor({ timeout: p.timeoutMs ?? 60000 });
      } catch (err) {
        result[`${p.name}:error`] = String(err); // still screenshot and dump what is shown, for the report
      }
    }
    for (const click of p.clicks ?? []) {
      // CSS locators pierce the frontend's open shadow roots; a text is clicked where it is first shown.
      const target = click.selector ? page.locator(click.selector) : page.getByText(click.text, { exact: true });
      try {
        await target.first().click({ timeout: p.timeoutMs ?? 60000 });
        await page.waitForTimeout(500);
      } catch (err) {
        result[`${p.name}:error`] = String(err);
      }
    }
    await page.waitForTimeout(p.settleMs ?? 2000); // let every card render its states
    await page.screenshot({ path: join(job.outDir, `${p.name}.png`), fullPage: !!p.fullPage });
    result[p.name] = await page.evaluate(deepText);
    if (p.ws) {
      result[`${p.name}:ws`] = await page.evaluate(async (messages) => {
        const hass = document.querySelector("home-assistant").hass;
        const out = [];
        for (const message of messages) out.push(await hass.callWS(message));
        return out;
      }, p.ws);
    }
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result));
