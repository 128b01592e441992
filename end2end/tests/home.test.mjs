// The home page hydrates under the CSP, client-only interactions work without a reload,
// a server function round-trips, and the server-rendered page works without JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration } from '../support/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ images: 30 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('home page hydrates with no console errors and no hydration warnings', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const response = await page.goto(server.url);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'nonce-/);
  await waitForHydration(page);
  assert.equal(await page.locator('.image-tile').count(), 24);
  await page.waitForLoadState('networkidle');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the theme toggle switches themes in place, without a reload', async () => {
  const context = await browser.newContext({ colorScheme: 'light' });
  const page = await context.newPage();
  const problems = watchConsole(page);
  let navigations = 0;
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations += 1; });
  await page.goto(server.url);
  await waitForHydration(page);
  await page.evaluate(() => { window.__sameDocument = true; });
  const before = navigations;

  const toggle = page.locator('.theme-toggle');
  assert.equal(await toggle.getAttribute('aria-label'), 'Switch to dark theme');
  await toggle.click();
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
  assert.equal(await toggle.getAttribute('aria-label'), 'Switch to light theme');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(18, 17, 16)', 'dark tokens apply');
  await toggle.press('Enter');
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'light', 'keyboard works too');

  assert.equal(await page.evaluate(() => window.__sameDocument), true);
  assert.equal(navigations, before, 'no navigation happened');
  assert.deepEqual(problems, []);
  await context.close();
});

test('"Show more" fetches the next page through a server function', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  await waitForHydration(page);
  await page.evaluate(() => { window.__sameDocument = true; });
  const [call] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/') && r.request().method() === 'POST'),
    page.getByTestId('show-more').click(),
  ]);
  assert.equal(call.status(), 200);
  await page.waitForFunction(() => document.querySelectorAll('.image-tile').length === 30);
  await page.getByText("You've reached the end.").waitFor();
  assert.equal(new URL(page.url()).pathname, '/', 'stayed on the home page');
  assert.equal(await page.evaluate(() => window.__sameDocument), true);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript the page is complete and "Show more" is a real link', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(server.url);
  assert.equal(await page.locator('.image-tile').count(), 24);
  const images = page.locator('.image-tile img');
  assert.equal(await images.first().getAttribute('fetchpriority'), 'high');
  await page.getByTestId('show-more').click();
  await page.waitForURL(/\/photos\?page=2$/);
  assert.equal(await page.locator('.image-tile').count(), 6);
  await context.close();
});

test('searching from the header works before hydration', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(server.url);
  await page.locator('#site-search').fill('aurora');
  await page.locator('#site-search').press('Enter');
  await page.waitForURL(/\/search\?q=aurora/);
  const count = await page.locator('.image-tile').count();
  assert.ok(count > 0 && count < 30, `aurora results: ${count}`);
  await context.close();
});
