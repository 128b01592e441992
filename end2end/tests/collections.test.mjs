// Collections in the browser: saving from the image page and from a grid tile, a save
// that shows at once and a refused one that rolls back with a message, reordering by drag
// and by keyboard, a bulk move, and a public link opened signed out in another context.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration, submitSignIn } from '../support/harness.mjs';

const ada = { email: 'ada@example.org', name: 'Ada Lovelace', password: 'correct horse battery staple' };
const grace = { email: 'grace@example.org', name: 'Grace Hopper', password: 'correct horse battery staple' };
let server;
let browser;

before(async () => {
  // Three images per collection, so the fourth save is refused by the server.
  server = await startServer({ images: 6, members: [ada, grace], env: { ATELIER_ITEMS_PER_COLLECTION: '3' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page, member, next) {
  await submitSignIn(page, server.url, member, next);
  await page.waitForURL(`${server.url}${next}`);
  await waitForHydration(page);
}

async function tileIds(page) {
  return page.locator('[data-testid="image-grid"] > li[data-image-id]').evaluateAll((tiles) => tiles.map((tile) => tile.dataset.imageId));
}

async function collectionOrder(page) {
  return page.locator('[data-testid="collection-items"] > li[data-image-id]:visible').evaluateAll((tiles) => tiles.map((tile) => tile.dataset.imageId));
}

// Holds the next call to one server function until `release()`, so the page's state while
// the call is on its way can be seen.
async function holdCalls(page, name) {
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  await page.route(new RegExp(`/api/${name}`), async (route) => {
    await released;
    await route.continue();
  }, { times: 1 });
  return release;
}

test('save from the image page and from grid tiles; a refused save rolls back with a message', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await signIn(page, ada, '/photos');
  const ids = await tileIds(page);
  assert.ok(ids.length >= 5, `${ids}`);

  // The image page: a new collection from the picker holds the image at once.
  await page.goto(`${server.url}/photos/${ids[0]}`);
  await waitForHydration(page);
  const picker = page.getByTestId('save-picker');
  await picker.getByLabel('New collection name').fill('Moodboard');
  await picker.getByRole('button', { name: 'Create' }).click();
  const row = picker.locator('[data-collection^="moodboard-"]');
  await row.waitFor();
  assert.equal(await row.getByTestId('save-toggle').getAttribute('aria-pressed'), 'true');
  assert.equal(await picker.getByLabel('New collection name').inputValue(), '', 'the field is ready for the next name');

  // A grid tile: the dialog's toggle shows "Saved" while the call is still on its way.
  await page.goto(`${server.url}/photos`);
  await waitForHydration(page);
  const tile = page.locator(`li[data-image-id="${ids[1]}"]`);
  await tile.hover();
  await tile.getByTestId('tile-save').click();
  const dialog = page.getByTestId('save-dialog');
  await dialog.waitFor();
  const toggle = dialog.locator('[data-collection^="moodboard-"] [data-testid="save-toggle"]');
  await toggle.waitFor();
  let release = await holdCalls(page, 'add_to_collection');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true', 'shown saved before the server answers');
  release();
  await page.waitForFunction(() => document.querySelector('[data-testid="save-dialog"] [data-testid="save-count"]')?.textContent.startsWith('2 images'));
  await dialog.getByTestId('save-dialog-close').click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await tile.getByTestId('tile-save').innerText(), 'Saved', 'the tile is marked saved');
  assert.ok(await tile.getByTestId('tile-save').evaluate((button) => document.activeElement === button), 'focus returns to the button');

  // The third fits; the fourth is over the limit: shown at once, then put back.
  for (const [id, refused] of [[ids[2], false], [ids[3], true]]) {
    const next = page.locator(`li[data-image-id="${id}"]`);
    await next.hover();
    await next.getByTestId('tile-save').click();
    await dialog.waitFor();
    const button = dialog.locator('[data-collection^="moodboard-"] [data-testid="save-toggle"]');
    await button.waitFor();
    release = await holdCalls(page, 'add_to_collection');
    await button.click();
    assert.equal(await button.getAttribute('aria-pressed'), 'true');
    release();
    if (refused) {
      const message = dialog.getByTestId('save-message');
      await message.waitFor({ state: 'visible' });
      assert.match(await message.innerText(), /at most 3 images/);
      await page.waitForFunction(() => document.querySelector('[data-testid="save-dialog"] [data-collection] [data-testid="save-toggle"]')?.getAttribute('aria-pressed') === 'false');
    } else {
      await page.waitForFunction(() => document.querySelector('[data-testid="save-dialog"] [data-testid="save-count"]')?.textContent.startsWith('3 images'));
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  }
  assert.equal(await page.locator(`li[data-image-id="${ids[3]}"] [data-testid="tile-save"]`).innerText(), 'Save');
  await page.screenshot({ path: '/tmp/collections-grid.png' });

  // The collection holds exactly the three, newest first.
  await page.getByTestId('nav-collections').click();
  await page.waitForURL(`${server.url}/collections`);
  await page.locator('[data-collection^="moodboard-"] a').click();
  await page.waitForURL(/\/collections\/moodboard-/);
  await page.getByTestId('collection-items').waitFor();
  assert.deepEqual(await collectionOrder(page), [ids[2], ids[1], ids[0]]);
  assert.deepEqual(problems, []);
  await context.close();
});

test('reorder by keyboard and by drag, move in bulk, and share a public link', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await signIn(page, grace, '/collections');

  // Two collections from the collections page; the first receives three images.
  for (const name of ['Trip', 'Elsewhere']) {
    await page.goto(`${server.url}/collections`);
    await waitForHydration(page);
    const form = page.getByTestId('new-collection');
    await form.getByLabel('Name').fill(name);
    await form.getByRole('button', { name: 'Create collection' }).click();
    await page.waitForURL(new RegExp(`/collections/${name.toLowerCase()}-`));
  }
  await page.goto(`${server.url}/photos`);
  await waitForHydration(page);
  const ids = (await tileIds(page)).slice(0, 3);
  for (const id of ids) {
    await page.goto(`${server.url}/photos/${id}`);
    await waitForHydration(page);
    const toggle = page.locator('[data-collection^="trip-"] [data-testid="save-toggle"]');
    await toggle.click();
    await page.waitForFunction(() => document.querySelector('[data-collection^="trip-"] [data-testid="save-toggle"]').getAttribute('aria-pressed') === 'true');
  }
  await page.goto(`${server.url}/collections`);
  await page.locator('[data-collection^="trip-"] a').click();
  await page.waitForURL(/\/collections\/trip-/);
  const address = page.url();
  await waitForHydration(page);
  assert.deepEqual(await collectionOrder(page), [ids[2], ids[1], ids[0]]);

  // Keyboard: the last image's handle, Home → first.
  const handle = page.locator(`li[data-image-id="${ids[0]}"] [data-testid="move-handle"]`);
  await handle.focus();
  await page.keyboard.press('Home');
  await page.waitForFunction((first) => document.querySelector('[data-testid="collection-items"] > li[data-image-id]').dataset.imageId === first, ids[0]);
  assert.match(await page.getByTestId('reorder-status').innerText(), /position 1 of 3/);
  assert.ok(await page.evaluate((id) => document.activeElement?.dataset.moveHandle === id, ids[0]), 'focus stays on the moved handle');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => /position 2 of 3/.test(document.querySelector('[data-testid="reorder-status"]').textContent));
  await page.waitForLoadState('networkidle');
  await page.reload();
  await waitForHydration(page);
  assert.deepEqual(await collectionOrder(page), [ids[2], ids[0], ids[1]], 'the keyboard order persisted');

  // Drag the last image onto the first.
  await page.locator(`li[data-image-id="${ids[1]}"]`).dragTo(page.locator(`li[data-image-id="${ids[2]}"]`));
  await page.waitForFunction((first) => document.querySelector('[data-testid="collection-items"] > li[data-image-id]').dataset.imageId === first, ids[1]);
  await page.waitForLoadState('networkidle');
  await page.reload();
  await waitForHydration(page);
  assert.deepEqual(await collectionOrder(page), [ids[1], ids[2], ids[0]], 'the dragged order persisted');

  // Bulk: pick two and move them to the other collection.
  await page.locator(`li[data-image-id="${ids[2]}"] [data-testid="tile-select"]`).check();
  await page.locator(`li[data-image-id="${ids[0]}"] [data-testid="tile-select"]`).check();
  assert.equal(await page.getByTestId('selected-count').innerText(), '2 images selected');
  await page.getByTestId('bulk-target').selectOption({ label: 'Elsewhere' });
  await page.getByTestId('bulk-move').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="collection-items"] > li[data-image-id]:not(.hidden)').length === 1);
  await page.waitForLoadState('networkidle');
  assert.deepEqual(await collectionOrder(page), [ids[1]]);
  await page.screenshot({ path: '/tmp/collection-page.png', fullPage: true });

  // Private: a signed-out visitor gets the 404 page. Public: they see it.
  const visitor = await browser.newContext();
  const outside = await visitor.newPage();
  const missing = await outside.goto(address);
  assert.equal(missing.status(), 404);
  await page.getByTestId('edit-collection').locator('summary').click();
  await page.getByLabel('Anyone with the link').check();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForFunction(() => /Public collection/.test(document.querySelector('[data-testid="collection-page"]').textContent));
  const shown = await outside.goto(address);
  assert.equal(shown.status(), 200);
  assert.equal(await outside.getByTestId('collection-name').innerText(), 'Trip');
  assert.deepEqual(await collectionOrder(outside), [ids[1]]);
  assert.equal(await outside.getByTestId('move-handle').count(), 0, 'visitors cannot reorder');
  await outside.screenshot({ path: '/tmp/collection-public.png', fullPage: true });
  await visitor.close();
  assert.deepEqual(problems, []);
  await context.close();
});

test('export a collection: choose a size, watch the progress, download the zip', async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await signIn(page, ada, '/collections');
  await page.locator('[data-collection^="moodboard-"] a').click();
  await page.waitForURL(/\/collections\/moodboard-/);
  await waitForHydration(page);
  const images = (await collectionOrder(page)).length;
  assert.ok(images >= 1);

  // The first answer about the new export is shown as "building, 40 %", as a slow export
  // would be; the page keeps asking and shows the real, finished one next.
  let first = true;
  await page.route(/\/api\/collection_exports/, async (route) => {
    const response = await route.fetch();
    const exports = await response.json();
    if (first && exports.length > 0) {
      first = false;
      Object.assign(exports[0], { status: 'Building', progress: 40, download_href: null, size_bytes: null });
    }
    await route.fulfill({ response, json: exports });
  });
  await page.getByTestId('export-collection').locator('summary').click();
  await page.getByLabel('Medium (800 px)').check();
  await page.getByLabel('Include the originals as well').check();
  await page.getByRole('button', { name: 'Make the zip' }).click();
  const progress = page.getByTestId('export-progress');
  await progress.waitFor();
  assert.equal(await progress.innerText(), 'Making the zip… 40%');
  assert.equal(await page.locator('[data-testid="collection-exports"] progress').getAttribute('value'), '40');
  assert.equal(await page.getByTestId('export-collection').getAttribute('open'), null, 'the panel closes once the export starts');

  const link = page.getByTestId('download-collection-export');
  await link.waitFor({ timeout: 20000 });
  assert.match(await link.innerText(), /^Download zip \(/);
  assert.match(await page.getByTestId('collection-exports').innerText(), /Medium \(800 px\) \+ originals/);
  assert.match(await page.getByTestId('collection-exports').innerText(), /Link works until/);
  await page.screenshot({ path: '/tmp/collection-export.png', fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(download.suggestedFilename(), /^moodboard-[a-z0-9-]+-\d{4}-\d{2}-\d{2}\.zip$/);
  const { readFile } = await import('node:fs/promises');
  const zip = await readFile(await download.path());
  assert.equal(zip.subarray(0, 2).toString(), 'PK', 'a zip arrives');
  const names = zip.toString('latin1');
  assert.ok(names.includes('manifest.json'), 'with its manifest');
  assert.equal((names.match(/originals\/\d+-/g) ?? []).length / 2, images, 'an original per image (each named twice in a zip)');

  // Someone else's link gets the page's explanation, not the file.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await submitSignIn(otherPage, server.url, grace, '/collections');
  await otherPage.waitForURL(`${server.url}/collections`);
  const href = await link.getAttribute('href');
  const refused = await otherPage.goto(`${server.url}${href}`);
  assert.equal(refused.status(), 404, 'a private collection is not found by another member');
  await other.close();
  assert.deepEqual(problems, []);
  await context.close();
});
