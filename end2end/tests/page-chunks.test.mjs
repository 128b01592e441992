// Each page's code is split out of the first download (cargo leptos build --split): the
// first page fetches the main module and its own chunks only, and moving to another page
// in the app fetches that page's code without a reload, with no console errors.
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

// The main module keeps the output name; split-out code has its own files.
const isMain = (name) => name.startsWith('atelier.');

// Every .wasm file the page fetches, by name.
function recordWasm(page) {
  const fetched = [];
  page.on('request', (request) => {
    const name = new URL(request.url()).pathname.split('/').pop();
    if (name.endsWith('.wasm')) fetched.push(name);
  });
  return fetched;
}

test('the first page loads its own code only, and other pages load theirs on the way', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const wasm = recordWasm(page);

  await page.goto(server.url);
  await waitForHydration(page);
  await page.waitForLoadState('networkidle');
  const main = wasm.filter(isMain);
  const homeChunks = wasm.filter((name) => !isMain(name));
  assert.equal(main.length, 1, `one main module: ${wasm.join(', ')}`);
  assert.ok(homeChunks.length >= 1, `the home page's code is a chunk: ${wasm.join(', ')}`);

  // In-app navigation to the library: same document, its chunk arrives, the page works.
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.locator('header').getByRole('link', { name: 'Contributors' }).click();
  await page.waitForURL(/\/contributors$/);
  await page.getByRole('heading', { level: 1 }).waitFor();
  await page.waitForLoadState('networkidle');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  const later = wasm.filter((name) => !isMain(name) && !homeChunks.includes(name));
  assert.ok(later.length >= 1, `the contributors page brought its own chunk: ${wasm.join(', ')}`);
  assert.equal(wasm.filter(isMain).length, 1, 'the main module is not fetched again');

  // And back: the home page's code is already here, so nothing new is fetched.
  const before = wasm.length;
  await page.goBack();
  await page.waitForURL(`${server.url}/`);
  await page.locator('.image-tile').first().waitFor();
  assert.equal(wasm.length, before, 'nothing fetched twice');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'still no reload');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a page opened first hydrates from its chunk, preloaded by the server', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  const response = await page.goto(`${server.url}/signin`);
  const html = await response.text();
  assert.match(html, /<link rel="preload"[^>]+\.wasm/, 'the page names its chunk for preloading');
  await waitForHydration(page);
  // The form is live: a refused sign-in answers in place, through the server function,
  // without leaving the page.
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.getByLabel('Email').fill('nobody@example.org');
  await page.getByLabel('Password').fill('not anybody\'s password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('form-alert').waitFor();
  assert.match(await page.getByTestId('form-alert').textContent(), /email or password is incorrect/);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'answered in place');
  assert.deepEqual(problems, []);
  await context.close();
});
