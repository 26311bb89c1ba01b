// A documenter's day in the browser, in their own language and time.
// Usage:
//   node day.mjs witness DROPBOX-URL PHOTO SCREENSHOT-DIR
//   E2E_PASSPHRASE=… E2E_CONSOLE=… node day.mjs documenter DESK-URL SCREENSHOT-DIR
// The witness, on a Kazakh phone, leaves a sealed testimony with a photo
// at a drop box whose zone is Asia/Almaty; the documenter, whose own node
// (another port) synced it in between, opens it in the console in Russian,
// sees the photo, publishes it, and finds it by the day it happened and by
// its language, with the interface staying Russian and the time shown as
// the witness wrote it. Exits non-zero at the first thing that is wrong.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';

const [mode, base, ...rest] = process.argv.slice(2);
const step = (what) => console.log(`web day: ${what}`);
const phone = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const text = 'Республика алаңында сағат үште әскер адамдарды ұстады.';

function watch(page) {
  const problems = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) problems.push(`request to ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

try {
  if (mode === 'witness') {
    const [photo, shots] = rest;
    mkdirSync(shots, { recursive: true });
    const context = await browser.newContext({ ...phone, locale: 'kk-KZ' });
    const page = await context.newPage();
    const problems = watch(page);
    step('a Kazakh phone opens the drop box in Kazakh');
    await page.goto(base + '/submit/testimony');
    assert.equal(await page.getAttribute('html', 'lang'), 'kk');
    step('the form offers the node\'s zone (Asia/Almaty) for the time');
    const zone = await page.inputValue('#zone');
    assert.ok(zone === '+05:00' || zone === '+06:00', `the offered zone is ${zone}`);
    await page.fill('#text', text);
    await page.fill('#place', 'Алматы, Республика алаңы');
    await page.fill('#observed', '2022-01-05T15:00');
    await page.selectOption('#zone', '+06:00');
    await page.setInputFiles('#files', photo);
    await page.check('input[name=visibility][value=sealed]');
    await page.click('form button[type=submit]');
    await page.waitForSelector('h1.ok');
    await page.screenshot({ path: `${shots}/day-1-sealed.png`, fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  } else if (mode === 'documenter') {
    const [shots] = rest;
    const passphrase = process.env.E2E_PASSPHRASE;
    const consoleLink = process.env.E2E_CONSOLE;
    assert.ok(passphrase && consoleLink, 'E2E_PASSPHRASE and E2E_CONSOLE');
    const context = await browser.newContext({ ...phone, locale: 'ru-RU' });
    const page = await context.newPage();
    const problems = watch(page);
    step('the documenter unlocks the console of their own node, in Russian');
    await page.goto(consoleLink);
    await page.waitForURL(base + '/console');
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    await page.fill('#passphrase', 'not the passphrase');
    await page.click('form[action="/console/unlock"] button');
    assert.equal(await page.locator('form[action="/console/unlock"]').count(), 1,
      'a wrong passphrase shows the form again');
    assert.match(await page.textContent('p.problem'), /неверная парольная фраза/);
    await page.fill('#passphrase', passphrase);
    await page.click('form[action="/console/unlock"] button');
    await page.waitForSelector('form[action="/console/lock"]');
    step('the sealed testimony arrived without any carriers set; its photo shows');
    const sealed = page.locator('a[href^="/console/sealed/"]');
    assert.equal(await sealed.count(), 1, 'one sealed record');
    await sealed.click();
    assert.equal((await page.textContent('.text')).trim(), text);
    const img = page.locator('figure.media img');
    assert.equal(await img.count(), 1, 'the sealed photo is shown');
    assert.ok(await img.evaluate((i) => i.complete && i.naturalWidth > 0), 'the photo loads');
    await page.screenshot({ path: `${shots}/day-2-sealed-in-console.png`, fullPage: true });
    step('published with the witness\'s signature');
    await page.click('form[action="/console/publish"] button');
    await page.goto(base + '/timeline?day=2022-01-05');
    const item = page.locator('ol.items a[href^="/r/"]');
    assert.equal(await item.count(), 1, 'the day it happened finds it');
    assert.match(await page.textContent('ol.items'), /2022-01-05 15:00 \(UTC\+06:00\)/,
      'the time as the witness wrote it');
    await page.goto(base + '/timeline?day=2022-01-04');
    assert.equal(await page.locator('ol.items a[href^="/r/"]').count(), 0);
    step('filtering by Kazakh records keeps the interface Russian');
    await page.goto(base + '/timeline');
    await page.click('details.filters summary');
    await page.selectOption('#language', 'kk');
    await page.click('details.filters button[type=submit]');
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    assert.equal(await page.locator('ol.items a[href^="/r/"]').count(), 1);
    await page.selectOption('#language', 'ru');
    await page.click('details.filters button[type=submit]');
    assert.equal(await page.locator('ol.items a[href^="/r/"]').count(), 0);
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    await page.screenshot({ path: `${shots}/day-3-timeline.png`, fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  } else {
    console.error('usage: node day.mjs witness|documenter …');
    process.exit(2);
  }
  step(`${mode}: all passed`);
} finally {
  await browser.close();
}
