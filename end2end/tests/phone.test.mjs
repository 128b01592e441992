// On a phone-sized screen: no page is wider than the screen, for a visitor or a member, and
// the header's menu holds the links that do not fit — it opens and closes from the keyboard,
// closes when the page changes, and works without JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, submitSignIn, watchConsole, waitForHydration } from '../support/harness.mjs';

const member = { email: 'ada@example.org', name: 'Ada Lovelace', password: 'correct horse battery staple' };
const PHONE = { viewport: { width: 390, height: 844 } };
let server;
let browser;

before(async () => {
  server = await startServer({ images: 6, members: [member] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function assertFits(page, path) {
  await page.goto(`${server.url}${path}`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.viewport.width, `${path} is ${width} px wide on a ${PHONE.viewport.width} px screen`);
}

async function firstImagePath(page) {
  await page.goto(`${server.url}/photos`);
  return new URL(await page.locator('a[href^="/photos/"]').first().getAttribute('href'), server.url).pathname;
}

const menu = (page) => page.getByTestId('phone-menu');
const isOpen = (page) => menu(page).evaluate((details) => details.open);

test('no page scrolls sideways on a phone, signed out or signed in', async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const image = await firstImagePath(page);
  for (const path of ['/', '/photos', image, '/contributors', '/pricing', '/signin']) await assertFits(page, path);
  await submitSignIn(page, server.url, member, '/');
  await page.waitForURL(`${server.url}/`);
  for (const path of ['/', '/photos', image, '/collections', '/chat', '/account', '/pricing']) await assertFits(page, path);
  await context.close();
});

test('the menu opens from the keyboard, closes on Escape and when the page changes', async () => {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const problems = watchConsole(page);
  await submitSignIn(page, server.url, member, '/');
  await page.waitForURL(`${server.url}/`);
  await waitForHydration(page);
  assert.equal(await page.getByTestId('member-name').isVisible(), false, 'the wide header is hidden');

  const button = menu(page).locator('summary');
  await button.focus();
  await page.keyboard.press('Enter');
  assert.equal(await isOpen(page), true, 'Enter opens the menu');
  for (const name of ['Library', 'Contributors', 'Pricing', 'Collections', 'Chats']) {
    assert.ok(await menu(page).getByRole('link', { name, exact: true }).isVisible(), `the menu lists ${name}`);
  }
  await page.keyboard.press('Escape');
  assert.equal(await isOpen(page), false, 'Escape closes it');
  assert.equal(await button.evaluate((summary) => summary === document.activeElement), true, 'focus is back on the button');

  await page.keyboard.press('Enter');
  await menu(page).getByRole('link', { name: 'Collections', exact: true }).click();
  await page.waitForURL(`${server.url}/collections`);
  await page.waitForFunction(() => !document.querySelector('[data-testid="phone-menu"]').open);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript the menu still opens and its links work', async () => {
  const context = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await menu(page).locator('summary').click();
  await menu(page).getByRole('link', { name: 'Pricing', exact: true }).click();
  await page.waitForURL(`${server.url}/pricing`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  await context.close();
});
