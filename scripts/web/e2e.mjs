// End-to-end test of the web interface in a real browser (Debian's
// Chromium, driven by playwright-core), at a phone-sized viewport.
// Usage: E2E_PASSPHRASE=… E2E_CONSOLE=… node e2e.mjs NODE-URL PHOTO-WITH-GPS SCREENSHOT-DIR
// Exits non-zero, saying why, at the first thing that is wrong.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';

const [base, photo, shots] = process.argv.slice(2);
// The passphrase of the node's identity, the documenter's.
const passphrase = process.env.E2E_PASSPHRASE;
// The console's link as `serve` printed it, with its access key.
const consoleLink = process.env.E2E_CONSOLE;
if (!base || !photo || !shots || !passphrase || !consoleLink) {
  console.error('usage: E2E_PASSPHRASE=… E2E_CONSOLE=… node e2e.mjs NODE-URL PHOTO-WITH-GPS SCREENSHOT-DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

// What the photo carries, which must not survive: its GPS position and
// device serials, as written by the tour's photo generator.
const secrets = ['SN-4417-0042', 'ACME-PHONE', 'IPTC-ALMATY'];
for (const s of secrets) {
  assert.ok(readFileSync(photo).includes(s), `the test photo should carry ${s}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const phone = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const step = (what) => console.log(`web e2e: ${what}`);

// Every request must go to the node itself; every page must keep its CSP.
function watch(page) {
  const problems = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) problems.push(`request to ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

async function fitsThePhone(page, name) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `${name} is ${width}px wide, wider than the 360px screen`);
}

async function shot(page, name) {
  await fitsThePhone(page, name);
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

try {
  // A Russian-speaking phone.
  const context = await browser.newContext({ ...phone, locale: 'ru-RU' });
  const page = await context.newPage();
  const problems = watch(page);

  step('the home page speaks Russian');
  const started = Date.now();
  await page.goto(base + '/');
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  await shot(page, '1-home');

  step('leave a Cyrillic testimony with a photo that carries GPS');
  await page.click('nav.main a.primary');
  await page.click('a[href="/submit/testimony"]');
  await shot(page, '2-testimony-form');
  // Each checkbox and radio sits on its label's line, not above it.
  for (const input of await page.locator('label.choice input').all()) {
    const box = await input.boundingBox();
    const label = await input.locator('xpath=..').boundingBox();
    assert.ok(box && label && box.height < label.height + 1 && box.width < 60,
      'a choice\'s box is laid out beside its label');
  }
  const text = 'У акимата задержали около тридцати человек. Бүгін көп адам ұсталды, олардың арасында журналистер бар.';
  await page.fill('#text', text);
  await page.fill('#place', 'Алматы, площадь Республики');
  await page.fill('#observed', '2026-11-30T14:30');
  await page.setInputFiles('#files', photo);
  await page.click('form button[type=submit]');
  await page.waitForSelector('h1.ok');
  assert.match(await page.textContent('h1'), /Сохранено/);
  step(`from the home page to the confirmation, photo included: ${Date.now() - started} ms (screenshots included)`);
  const nsec = await page.textContent('#nsec');
  assert.match(nsec, /^nsec1[02-9ac-hj-np-z]{58}$/, 'the witness is shown their new key once');
  await shot(page, '3-stored');
  const recordLink = await page.getAttribute('a[href^="/r/"]', 'href');
  const id = recordLink.slice(3);

  step('the testimony is in the timeline');
  await page.click('a[href="/timeline"]');
  const item = page.locator(`a[href="/r/${id}"]`);
  assert.equal(await item.count(), 1, 'the timeline lists the new testimony');
  assert.match(await item.textContent(), /задержали около тридцати/);
  await shot(page, '4-timeline');

  step('the record page shows the text, its language, a valid signature and the photo');
  await item.click();
  assert.equal(await page.getAttribute('.text', 'lang'), 'ru');
  assert.equal((await page.textContent('.text')).trim(), text);
  assert.equal(await page.locator('.ok').count(), 1, 'the signature checks out');
  const img = page.locator('figure.media img');
  assert.equal(await img.count(), 1);
  const loaded = await img.evaluate((i) => i.complete && i.naturalWidth > 0);
  assert.ok(loaded, 'the photo loads in the page');
  await shot(page, '5-record');

  step('the served photo carries no metadata');
  const src = await img.getAttribute('src');
  const served = Buffer.from(await (await page.request.get(base + src)).body());
  for (const s of secrets) assert.ok(!served.includes(s), `the served photo still carries ${s}`);
  assert.ok(served[0] === 0xff && served[1] === 0xd8, 'the served photo is a JPEG');
  // scripts/web/run reads it with `samizdat media inspect`, field by field.
  writeFileSync(`${shots}/served-photo.jpg`, served);

  step('the console is closed to a browser without its key');
  const closed = await page.request.get(base + '/console');
  assert.equal(closed.status(), 403, 'the console opens without its key');

  step('a documenter corroborates it from the console, and the record page shows it');
  await page.goto(consoleLink);
  await page.waitForURL(base + '/console');
  await page.fill('#passphrase', passphrase);
  await page.click('form[action="/console/unlock"] button');
  await page.waitForSelector('form[action="/console/lock"]');
  await shot(page, '6-console');
  await page.goto(base + `/r/${id}`);
  await page.selectOption('#label', 'corroborates');
  await page.fill('#note', 'Подтверждаю: видела это сама');
  await page.click('form[action="/console/attest"] button');
  await page.waitForURL(`${base}/r/${id}`);
  assert.match(await page.textContent('ul.said'), /подтверждает.*Подтверждаю: видела это сама/s);
  await shot(page, '7-corroborated');
  await page.goto(base + '/console');
  await page.click('form[action="/console/lock"] button');

  step('search finds it by a word written in Kazakh');
  await page.goto(base + '/search');
  await page.fill('#q', 'ұсталды');
  await page.click('form.search button');
  assert.equal(await page.locator(`a[href="/r/${id}"]`).count(), 1, 'search by ұсталды finds the record');
  await shot(page, '8-search');

  step('the language switch keeps the page');
  await page.click('nav.langs a[lang="kk"]');
  assert.equal(await page.getAttribute('html', 'lang'), 'kk');
  assert.equal(await page.inputValue('#q'), 'ұсталды');
  await page.goto(base + '/');
  assert.equal(await page.getAttribute('html', 'lang'), 'kk', 'the choice is remembered');

  assert.deepEqual(problems, [], 'no request left the node and no page broke its CSP');
  await context.close();

  step('with JavaScript off, an old phone reports a person and reads the registry');
  const plain = await browser.newContext({ ...phone, locale: 'en-GB', javaScriptEnabled: false });
  const old = await plain.newPage();
  const oldProblems = watch(old);
  await old.goto(base + '/submit/person');
  await old.fill('#name', 'Айгерим Сапарова');
  await old.fill('#aliases', 'Aigerim Saparova');
  await old.selectOption('#status', 'detained');
  await old.fill('#place', 'Алматы');
  await old.fill('#details', 'Taken from the square at 15:00.');
  await old.click('form button[type=submit]');
  await old.waitForSelector('h1.ok');
  await old.goto(base + '/people?name=Aigerim');
  assert.equal(await old.locator('ol.items li').count(), 1, 'the registry finds her by the Latin spelling');
  assert.match(await old.textContent('ol.items li'), /Айгерим Сапарова/);
  await shot(old, '9-people');
  await old.click('ol.items li a');
  assert.match(await old.textContent('main'), /detained/);
  await old.goto(base + '/node');
  await shot(old, '10-node');
  assert.deepEqual(oldProblems, []);
  await plain.close();
  step('all passed');
} finally {
  await browser.close();
}
