// Cookie consent in the browser: the banner on a first visit, choices applied without a
// reload, "Cookie settings" reopening it, Global Privacy Control, a new policy version, and
// the download-size preference cookie following the choice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration } from '../support/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ images: 6 });
  browser = await launchBrowser({ decided: false });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const banner = (page) => page.getByTestId('consent-banner');

async function cookieNames(context) {
  return (await context.cookies()).map((cookie) => cookie.name).sort();
}

test('a first visit is asked; Reject all applies without a reload and sets only the consent cookie', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const foreign = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(server.url) && !request.url().startsWith('data:')) foreign.push(request.url());
  });
  await page.goto(server.url);
  await banner(page).waitFor();
  await waitForHydration(page);
  await page.evaluate(() => { window.stillHere = true; });

  await page.getByTestId('consent-reject').click();
  await banner(page).waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => window.stillHere), true, 'no reload');
  assert.deepEqual(await cookieNames(context), ['atelier_consent']);
  assert.match((await context.cookies())[0].value, /^1\.00\.[0-9a-f]{32}$/);
  assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);

  await page.reload();
  await waitForHydration(page);
  assert.equal(await banner(page).count(), 0, 'the choice is remembered');
  assert.deepEqual(foreign, [], 'nothing leaves for another host');
  assert.deepEqual(problems, []);
  await context.close();
});

test('Cookie settings reopens the choices; allowing preferences remembers the download size', async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  await waitForHydration(page);
  await page.getByTestId('consent-reject').click();
  await banner(page).waitFor({ state: 'detached' });

  await page.getByTestId('cookie-settings-link').click();
  await banner(page).waitFor();
  assert.equal(new URL(page.url()).pathname, '/', 'reopened in place');
  // Focus moves on the next animation frame, after the banner is in the page.
  await page.waitForFunction(() => document.activeElement?.id === 'cookie-banner', null, { timeout: 5000 })
    .catch(() => assert.fail('focus moves to the choices'));
  await page.locator('#consent-preferences').check();
  await page.getByTestId('consent-save').click();
  await banner(page).waitFor({ state: 'detached' });
  const consent = (await context.cookies()).find((cookie) => cookie.name === 'atelier_consent');
  assert.match(consent.value, /^1\.10\./);

  const href = await page.locator('.image-tile a:not(.tile-save)').first().getAttribute('href');
  await page.goto(`${server.url}${href}`);
  await waitForHydration(page);
  await page.locator('label[for="size-small"]').click();
  await Promise.all([page.waitForEvent('download'), page.getByTestId('download-button').click()]);
  const size = (await context.cookies()).find((cookie) => cookie.name === 'atelier_size');
  assert.equal(size?.value, 'small');
  await page.reload();
  assert.equal(await page.locator('#size-small').isChecked(), true, 'the size is preselected next time');
  await waitForHydration(page);

  // Withdrawing removes the preference cookie, again without a reload.
  await page.getByTestId('cookie-settings-link').click();
  await page.getByTestId('consent-reject').click();
  await banner(page).waitFor({ state: 'detached' });
  assert.deepEqual(await cookieNames(context), ['atelier_consent']);
  assert.deepEqual(problems, []);
  await context.close();
});

test('with Sec-GPC: 1 there is no banner, yet the settings stay reachable', async () => {
  const context = await browser.newContext({ extraHTTPHeaders: { 'Sec-GPC': '1' } });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  await waitForHydration(page);
  assert.equal(await banner(page).count(), 0);
  assert.deepEqual(await cookieNames(context), []);
  await page.getByTestId('cookie-settings-link').click();
  await banner(page).waitFor();
  await page.goto(`${server.url}/cookies`);
  assert.match(await page.getByTestId('consent-summary').textContent(), /Global Privacy Control/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript the banner still works', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}/photos`);
  await Promise.all([page.waitForNavigation(), page.getByTestId('consent-accept').click()]);
  assert.equal(new URL(page.url()).pathname, '/photos', 'back on the same page');
  assert.equal(await banner(page).count(), 0);
  const consent = (await context.cookies()).find((cookie) => cookie.name === 'atelier_consent');
  assert.match(consent.value, /^1\.11\./);
  await context.close();
});

test('a new policy version asks again', async () => {
  const newer = await startServer({ images: 2, env: { ATELIER_PRIVACY_POLICY_VERSION: '2' } });
  try {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'atelier_consent', value: '1.11.e2epreset01', domain: '127.0.0.1', path: '/' }]);
    const page = await context.newPage();
    await page.goto(newer.url);
    await banner(page).waitFor();
    await waitForHydration(page);
    await page.getByTestId('consent-accept').click();
    await banner(page).waitFor({ state: 'detached' });
    const consent = (await context.cookies()).find((cookie) => cookie.name === 'atelier_consent');
    assert.match(consent.value, /^2\.11\.e2epreset01$/, 'the same browser, the new version');
    await context.close();
  } finally {
    await newer.stop();
  }
});

test('the footer leads to the privacy policy, which lists what is held, and to the terms', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  await waitForHydration(page);
  await page.getByTestId('consent-reject').click();
  await banner(page).waitFor({ state: 'detached' });

  await page.getByRole('navigation', { name: 'Legal' }).getByRole('link', { name: 'Privacy' }).click();
  await page.getByRole('heading', { level: 1, name: 'Privacy policy' }).waitFor();
  const categories = page.getByTestId('policy-categories').locator('h3');
  await categories.first().waitFor();
  assert.ok((await categories.count()) >= 10, 'every inventoried category has a card');
  assert.match(await page.getByTestId('policy-version').innerText(), /^Version 1 · last updated \d{4}-\d{2}-\d{2}$/);
  assert.equal(await page.title(), 'Privacy policy — Atelier');

  await page.getByRole('navigation', { name: 'Legal' }).getByRole('link', { name: 'Terms' }).click();
  await page.getByRole('heading', { level: 1, name: 'Terms of use' }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});
