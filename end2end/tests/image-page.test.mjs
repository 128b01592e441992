// The image page: reached from the grid, the photo is the page's first, eager, high-priority
// image with its size set; the Download menu turns the chosen size into a signed link that
// the browser downloads, with JavaScript and without.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration } from '../support/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ images: 12 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('from the grid to the image page, then download the medium size', async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(server.url);
  await waitForHydration(page);
  const tile = page.locator('.image-tile a:not(.tile-save)').first();
  const label = await tile.getAttribute('aria-label');
  await tile.click();
  await page.waitForURL(/\/photos\/[0-9A-Za-z]+$/);
  await page.getByTestId('image-page').waitFor();
  assert.ok(label.startsWith(await page.locator('h1').textContent()), 'the page is the image that was clicked');

  const main = page.getByTestId('image-main');
  assert.equal(await main.getAttribute('fetchpriority'), 'high');
  assert.notEqual(await main.getAttribute('loading'), 'lazy');
  assert.ok(Number(await main.getAttribute('width')) > 0 && Number(await main.getAttribute('height')) > 0);
  assert.match(await main.getAttribute('srcset'), /\/img\/\w+\/small\?v=\w+ 800w/);
  await page.waitForFunction(() => document.querySelector('[data-testid="image-main"]').complete);
  assert.equal(await main.evaluate((img) => img.naturalWidth > 0), true, 'the photo loaded');

  await page.locator('label[for="size-small"]').click();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-button').click(),
  ]);
  assert.match(download.suggestedFilename(), /-800x\d+\.webp$/);
  assert.equal(page.url().includes('/photos/'), true, 'the page stays where it was');
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript the Download button still downloads', async () => {
  const context = await browser.newContext({ acceptDownloads: true, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(server.url);
  const href = await page.locator('.image-tile a:not(.tile-save)').first().getAttribute('href');
  await page.goto(`${server.url}${href}`);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-button').click(),
  ]);
  assert.match(download.suggestedFilename(), /\.(webp|jpg)$/);
  await context.close();
});

test('an unknown image gets the designed 404 page', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(`${server.url}/photos/doesnotexist1`);
  assert.equal(response.status(), 404);
  assert.match(await page.locator('main').textContent(), /couldn.t find/i);
  await context.close();
});
