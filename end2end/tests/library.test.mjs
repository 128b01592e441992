// The library in a browser: /photos loads further pages as the reader scrolls (and keeps
// real page links), search filters apply through the router without a reload, and
// contributor pages are one click from the contributors list (and that navigation is
// reported as a page view) — all without console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration } from '../support/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ images: 60 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const tiles = (page) => page.locator('.image-tile[data-image-id]').count();

test('scrolling to the end of /photos loads the next pages in place', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(`${server.url}/photos`);
  await waitForHydration(page);
  await page.evaluate(() => { window.__sameDocument = true; });
  assert.equal(await tiles(page), 24);
  assert.equal(await page.getByTestId('show-more').getAttribute('href'), '/photos?page=2');

  await page.mouse.wheel(0, 100000);
  await page.waitForFunction(() => document.querySelectorAll('.image-tile[data-image-id]').length === 48);
  await page.mouse.wheel(0, 100000);
  await page.waitForFunction(() => document.querySelectorAll('.image-tile[data-image-id]').length === 60);
  await page.getByText("You've reached the end.").waitFor();
  assert.equal(await page.getByTestId('show-more').count(), 0, 'nothing more to show');
  const ids = await page.locator('.image-tile[data-image-id]').evaluateAll((els) => els.map((e) => e.dataset.imageId));
  assert.equal(new Set(ids).size, 60, 'every image once');
  assert.equal(new URL(page.url()).pathname, '/photos');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  assert.deepEqual(problems, []);
  await context.close();
});

test('search filters apply in place and mark the matched words', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  // Titles are drawn at random when the demo is seeded, so search for a word that a real
  // title holds: the last word of the newest image's title.
  await page.goto(`${server.url}/photos`);
  const label = await page.locator('.image-tile a:not(.tile-save)').first().getAttribute('aria-label');
  const word = label.split(' by ')[0].split(' ').pop().toLowerCase();
  await page.goto(`${server.url}/search?q=${encodeURIComponent(word)}`);
  await waitForHydration(page);
  await page.evaluate(() => { window.__sameDocument = true; });
  const all = await tiles(page);
  assert.ok(all > 0, `${word} has results`);
  assert.ok(await page.locator('.image-tile mark').count() > 0, 'matched words are marked');

  const filters = page.getByTestId('search-filters');
  await filters.getByLabel('Sort').selectOption('newest');
  const contributor = await page.locator('.image-tile a:not(.tile-save)').first().getAttribute('aria-label');
  const name = contributor.split(' by ').pop();
  await filters.getByLabel('Contributor').selectOption({ label: name });
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL(/contributor=/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('q'), word);
  assert.equal(url.searchParams.get('sort'), 'newest');
  await page.waitForFunction(
    (who) => [...document.querySelectorAll('.image-tile a:not(.tile-save)')].every((a) => a.getAttribute('aria-label').endsWith(` by ${who}`)),
    name,
  );
  const filtered = await tiles(page);
  assert.ok(filtered > 0 && filtered <= all, `${filtered} of ${all}`);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the router applied the filters, no reload');

  // A transposed pair of letters in the same word, with the filters still applied: the
  // page searches the word it meant and says so.
  const letters = [...word];
  const at = letters.at(-1) !== letters.at(-2) ? letters.length - 2 : 0;
  [letters[at], letters[at + 1]] = [letters[at + 1], letters[at]];
  await page.locator('#search-words').fill(letters.join(''));
  await page.locator('#search-words').press('Enter');
  await page.getByTestId('corrected').waitFor();
  assert.ok((await page.getByTestId('corrected').textContent()).includes(word));
  assert.deepEqual(problems, []);
  await context.close();
});

test('a contributor page is one click from the contributors list', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const beacons = [];
  page.on('requestfinished', async (request) => {
    if (request.url().endsWith('/usage/page-view')) {
      beacons.push({ body: request.postData(), status: (await request.response())?.status() });
    }
  });
  await page.goto(`${server.url}/contributors`);
  await waitForHydration(page);
  const first = page.locator('main h2 a').first();
  const name = await first.textContent();
  await first.click();
  await page.waitForURL(/\/contributors\/[a-z-]+$/);
  assert.equal(await page.locator('h1').textContent(), name);
  assert.ok(await tiles(page) > 0);
  // The server counted the first page as it rendered it; the browser reports the second.
  const path = new URL(page.url()).pathname;
  for (let i = 0; i < 50 && beacons.length === 0; i++) await page.waitForTimeout(100);
  assert.deepEqual(beacons, [{ body: path, status: 204 }], 'one page view reported for the navigation');
  assert.deepEqual(problems, []);
  await context.close();
});
