// The HTML access matrix in a real browser: Debian's Chromium, headless, driven by
// playwright-core. For each page given on the command line: it loads without console errors
// or failed requests, sorting a column reorders the rows (checked in the DOM), the filter and
// the "restricted only" box hide exactly the rows they should, and a PNG screenshot is written
// beside the page for review.
//
//   node tests/browser/matrix.mjs target/browser/national-health.html ...
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";

const pages = process.argv.slice(2);
if (pages.length === 0) {
  console.error("usage: node matrix.mjs PAGE.html...");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let failures = 0;
for (const file of pages) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  page.on("request", (r) => { if (!r.url().startsWith("file:")) problems.push(`network request: ${r.url()}`); });
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
    // The space with the most members.
    const idx = await page.evaluate(() => {
      const counts = [...document.querySelectorAll("section table.members")].map((t) => t.tBodies[0].rows.length);
      return counts.indexOf(Math.max(...counts));
    });
    const section = page.locator("section").nth(idx);
    const members = section.locator("table.members");
    const firstColumn = () => members.locator("tbody tr:not([hidden]) th").allTextContents();

    // Sorting by the member column: ascending, then descending.
    const before = await firstColumn();
    assert.ok(before.length >= 2, `${file}: a space with at least two members comes first`);
    const sorted = [...before].sort((a, b) => a.localeCompare(b));
    await members.locator("thead th").first().locator("button").click();
    assert.deepEqual(await firstColumn(), sorted, "ascending sort");
    assert.equal(await members.locator("thead th").first().getAttribute("aria-sort"), "ascending");
    await members.locator("thead th").first().locator("button").click();
    assert.deepEqual(await firstColumn(), [...sorted].reverse(), "descending sort");

    // Sorting by a permission column groups equal values together.
    await members.locator("thead th.perm", { hasText: /^data$/ }).locator("button").click();
    const dataColumn = await members.evaluate((t) => {
      const col = [...t.tHead.rows[0].cells].findIndex((c) => c.textContent.trim() === "data");
      return [...t.tBodies[0].rows].map((r) => r.cells[col].textContent.replace("*", "").trim());
    });
    assert.deepEqual(dataColumn, [...dataColumn].sort((a, b) => a.localeCompare(b)), "sorted by data");

    // Filtering by text: only the rows that contain it stay visible.
    const target = sorted[0];
    await section.locator("input.filter").nth(1).fill(target);
    const shown = await firstColumn();
    assert.ok(shown.includes(target) && shown.length < before.length, `filter on ${target}: ${shown}`);
    for (const name of shown) {
      const row = members.locator("tbody tr:not([hidden])", { has: page.locator("th", { hasText: name }) });
      assert.ok((await row.first().textContent()).toLowerCase().includes(target.toLowerCase()));
    }
    await section.locator("input.filter").nth(1).fill("");
    assert.equal((await firstColumn()).length, before.length, "cleared filter shows every row");

    // "Restricted only": exactly the rows marked restricted.
    await section.locator("input.only-restricted").check();
    const restricted = await members.locator("tbody tr:not([hidden])").evaluateAll((rows) => rows.map((r) => r.dataset.restricted));
    assert.ok(restricted.every((r) => r === "true"), "only restricted rows");
    const expected = await members.locator('tbody tr[data-restricted="true"]').count();
    assert.equal(restricted.length, expected);
    await section.locator("input.only-restricted").uncheck();

    // A role filter works on the roles table too.
    const roles = section.locator("table.roles");
    await section.locator("input.filter").first().fill("admin");
    const roleRows = await roles.locator("tbody tr:not([hidden]) th").allTextContents();
    assert.ok(roleRows.length >= 1 && roleRows.every((r) => r.includes("admin")), `roles: ${roleRows}`);
    await section.locator("input.filter").first().fill("");

    const shot = file.replace(/\.html?$/, "") + ".png";
    await page.screenshot({ path: shot, fullPage: false });
    assert.deepEqual(problems, [], "no console errors, no network");
    console.log(`ok ${file}: sort, filter, restricted-only; screenshot ${shot}`);
  } catch (e) {
    failures++;
    console.error(`FAIL ${file}: ${e.message}`);
    for (const p of problems) console.error(`  ${p}`);
  }
  await page.close();
}
await browser.close();
process.exit(failures === 0 ? 0 : 1);
