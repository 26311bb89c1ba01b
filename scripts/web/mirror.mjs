// The static mirror (`samizdat publish site`) in a real browser, opened
// from the disk (file://) as a reader with a USB stick would, at a
// phone-sized viewport.
// Usage: node mirror.mjs MIRROR-DIR SCREENSHOT-DIR
// Exits non-zero, saying why, at the first thing that is wrong.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const [dir, shots] = process.argv.slice(2);
if (!dir || !shots) {
  console.error('usage: node mirror.mjs MIRROR-DIR SCREENSHOT-DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const root = pathToFileURL(dir).href.replace(/\/?$/, '/');
const step = (what) => console.log(`web mirror: ${what}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'ru-RU',
  });
  const page = await context.newPage();
  const problems = [];
  // Nothing but the mirror's own files: no network at all.
  page.on('request', (r) => {
    if (!r.url().startsWith(root)) problems.push(`request to ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`failed to load ${r.url()}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  const check = async (name) => {
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `${name} is ${width}px wide, wider than the 360px screen`);
    // The stylesheet applied: the page background is the mirror's own.
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(251, 250, 247)', `${name}: the stylesheet did not load`);
    assert.deepEqual(problems, [], `${name}: ${problems.join('; ')}`);
    await page.screenshot({ path: `${shots}/mirror-${name}.png`, fullPage: true });
  };

  await page.goto(`${root}index.html`);
  await page.getByRole('link', { name: 'Русский' }).click();
  await page.waitForURL(/\/ru\/index\.html$/);
  await check('index');
  step('the Russian index opens from the disk');

  // A record with a photo, if the mirror holds any media: its page
  // shows it, loaded from the mirror's own files.
  const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8'));
  assert.ok(manifest.records > 0, 'the mirror holds no records');
  const withMedia = readFileSync(`${dir}/SHA256SUMS`, 'utf8').includes('  blobs/');
  const links = await page.locator('ol.items li a').evaluateAll((as) => as.map((a) => a.href));
  const images = page.locator('figure.media img');
  for (const link of links.slice(0, 20)) {
    await page.goto(link);
    if (!withMedia || await images.count() > 0) break;
  }
  assert.match(page.url(), /\/ru\/r\/[0-9a-f]{2}\/[0-9a-f]{64}\.html$/);
  if (withMedia) {
    assert.ok(await images.count() > 0, 'no record page of the index shows a photo');
    const loaded = await images.first().evaluate((img) => img.complete && img.naturalWidth > 0);
    assert.ok(loaded, 'the record\'s photo did not load from the mirror');
  }
  await check('record');
  step(`a record page opens (${await images.count()} photo(s) shown)`);

  await page.getByRole('link', { name: 'English' }).click();
  await page.waitForURL(/\/en\/r\/[0-9a-f]{2}\/[0-9a-f]{64}\.html$/);
  await page.getByRole('link', { name: 'Check this copy' }).click();
  await check('verify');
  await page.getByRole('link', { name: 'People' }).click();
  await check('people');
  step('the language switcher, the check page and the people registry work');
} finally {
  await browser.close();
}
