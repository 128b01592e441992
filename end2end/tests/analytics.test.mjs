// PostHog behind consent, against a local fake PostHog host that counts requests: nothing
// in the page, nothing sent and no analytics host in the CSP before consent or after
// Reject all; Accept starts capture from the next page the server sends (only its CSP
// lets the browser reach PostHog); withdrawing stops it without a reload and removes what
// it stored; Global Privacy Control keeps it off; a visitor who already allowed analytics
// gets the loader at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration } from '../support/harness.mjs';
import { startFakePostHog } from '../support/fake-posthog.mjs';

let posthog;
let server;
let browser;

before(async () => {
  posthog = await startFakePostHog();
  server = await startServer({ images: 4, env: { ATELIER_POSTHOG_KEY: 'phc_e2etest', ATELIER_POSTHOG_HOST: posthog.url } });
  browser = await launchBrowser({ decided: false });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await posthog?.close();
});

// PostHog drops events from browsers that look automated (a "HeadlessChrome" user agent or
// brand, `navigator.webdriver`), so the pages are tested as the desktop browser people use.
const DESKTOP_CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
async function newContext(options = {}) {
  const context = await browser.newContext({ userAgent: DESKTOP_CHROME, ...options });
  await context.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false });
    Object.defineProperty(Navigator.prototype, 'userAgentData', { get: () => undefined });
  });
  return context;
}

const banner = (page) => page.getByTestId('consent-banner');
const isPostHogName = (name) => name.startsWith('ph_') || name.startsWith('__ph');
const loaders = (page) => page.locator('script[src="/analytics.js"], script[src="/vendor/posthog.js"]').count();

async function stored(page, context) {
  const keys = await page.evaluate(() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)]);
  const cookies = (await context.cookies()).map((cookie) => cookie.name);
  return [...keys, ...cookies].filter(isPostHogName);
}

async function eventually(check, what, timeout = 15_000) {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.fail(`timed out waiting until ${what}`);
}

// Every request the page makes for analytics code or to the analytics host.
function watchAnalytics(page) {
  const seen = [];
  page.on('request', (request) => {
    const url = request.url();
    if (url.startsWith(posthog.url) || url.endsWith('/analytics.js') || url.includes('/vendor/posthog')) seen.push(url);
  });
  return seen;
}

test('before consent and after Reject all: no analytics script, request, cookie or storage key', async () => {
  const context = await newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const seen = watchAnalytics(page);
  const sentBefore = posthog.requests.length;
  const response = await page.goto(server.url);
  assert.doesNotMatch(response.headers()['content-security-policy'], new RegExp(posthog.url), 'no analytics host in the CSP');
  await banner(page).waitFor();
  await waitForHydration(page);
  assert.equal(await loaders(page), 0, 'no analytics script in the page');
  assert.doesNotMatch(await page.content(), /posthog|analytics\.js/i);

  await page.getByTestId('consent-reject').click();
  await banner(page).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Library' }).first().click();
  await page.waitForURL(`${server.url}/photos`);
  await page.waitForTimeout(1_500);
  assert.equal(await loaders(page), 0);
  assert.deepEqual(seen, [], 'nothing loaded or sent for analytics');
  assert.equal(posthog.requests.length, sentBefore, 'the analytics host heard nothing');
  assert.deepEqual(await stored(page, context), []);
  assert.deepEqual(problems, []);
  await context.close();
});

test('Accept all starts capture from the next page served; withdrawing stops it without a reload', async () => {
  const context = await newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const seen = watchAnalytics(page);
  const eventsBefore = posthog.events().length;
  await page.goto(server.url);
  await waitForHydration(page);

  await page.getByTestId('consent-accept').click();
  await banner(page).waitFor({ state: 'detached' });
  // This page was served before consent: its CSP does not name the analytics host, so
  // nothing is loaded on it. The next page the server sends carries the loader and a CSP
  // that allows the host.
  await page.waitForTimeout(1_500);
  assert.deepEqual(seen, [], 'nothing loaded on the page served before consent');
  const response = await page.reload();
  assert.match(response.headers()['content-security-policy'], new RegExp(`connect-src 'self' ${posthog.url}`));
  await waitForHydration(page);
  await page.evaluate(() => { window.stillHere = true; });
  await eventually(() => posthog.events().length > eventsBefore, 'PostHog received an event');
  await eventually(async () => (await stored(page, context)).length > 0, 'PostHog keeps its id');
  assert.equal(await page.locator('script[src="/vendor/posthog.js"]').count(), 1, 'our own copy');

  await page.getByTestId('cookie-settings-link').click();
  await banner(page).waitFor();
  await page.locator('#consent-analytics').uncheck();
  await page.getByTestId('consent-save').click();
  await banner(page).waitFor({ state: 'detached' });
  await eventually(async () => (await stored(page, context)).length === 0, 'every PostHog cookie and key is gone');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.analytics), 'denied');

  // Events queued before the withdrawal may still be flushing; after that, silence.
  await page.waitForTimeout(4_000);
  const sentAfterWithdrawal = posthog.requests.length;
  await page.getByRole('link', { name: 'Library' }).first().click();
  await page.waitForURL(`${server.url}/photos`);
  await page.waitForTimeout(4_000);
  assert.equal(posthog.requests.length, sentAfterWithdrawal, 'nothing is sent after withdrawal');
  assert.deepEqual(await stored(page, context), [], 'and nothing is written back');
  assert.equal(await page.evaluate(() => window.stillHere), true, 'still no reload');
  assert.deepEqual(problems, []);
  await context.close();
});

test('with Sec-GPC: 1 and no choice, analytics stays off', async () => {
  const context = await newContext({ extraHTTPHeaders: { 'Sec-GPC': '1' } });
  const page = await context.newPage();
  const seen = watchAnalytics(page);
  await page.goto(server.url);
  await waitForHydration(page);
  assert.equal(await banner(page).count(), 0);
  await page.waitForTimeout(1_500);
  assert.equal(await loaders(page), 0);
  assert.deepEqual(seen, []);
  assert.deepEqual(await stored(page, context), []);
  await context.close();
});

test('a visitor who allowed analytics gets the loader in the served page, under the CSP', async () => {
  const context = await newContext();
  await context.addCookies([{ name: 'atelier_consent', value: '1.01.e2eanalytics', domain: '127.0.0.1', path: '/' }]);
  const page = await context.newPage();
  const problems = watchConsole(page);
  const eventsBefore = posthog.events().length;
  const response = await page.goto(server.url);
  assert.match(response.headers()['content-security-policy'], new RegExp(`connect-src 'self' ${posthog.url}`));
  assert.match(await response.text(), /<script src="\/analytics.js"/);
  await eventually(() => posthog.events().length > eventsBefore, 'PostHog received the page view');
  assert.deepEqual(problems, [], 'no CSP violation');
  await context.close();
});
