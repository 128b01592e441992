// "Your data": what is held, an export built in the background whose progress the page
// follows without a reload, its download, and account deletion with its cancel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration, submitSignIn } from '../support/harness.mjs';

const ada = { email: 'ada@example.org', name: 'Ada Lovelace', password: 'correct horse battery staple' };
const grace = { email: 'grace@example.org', name: 'Grace Hopper', password: 'correct horse battery staple' };
let server;
let browser;

before(async () => {
  server = await startServer({ images: 2, members: [ada, grace] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page, member, next) {
  await submitSignIn(page, server.url, member, next);
}

test('the export is prepared in the background, followed on the page, and downloaded', async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchConsole(page);
  await signIn(page, ada, '/account');
  await page.waitForURL(`${server.url}/account`);
  await waitForHydration(page);
  await page.getByTestId('your-data-link').click();
  await page.waitForURL(`${server.url}/account/data`);
  const held = page.getByTestId('held-data');
  await held.waitFor();
  assert.match(await held.locator('[data-category="Account identity"] [data-testid="record-count"]').innerText(), /1 record/);
  assert.match(await held.locator('[data-category="Sessions"] [data-testid="record-count"]').innerText(), /record/);

  await page.evaluate(() => { window.stillHere = true; });
  await page.getByRole('button', { name: 'Prepare my export' }).click();
  const download = page.getByTestId('download-export');
  await download.waitFor({ timeout: 30_000 });
  assert.equal(await page.evaluate(() => window.stillHere), true, 'progress arrived without a reload');
  await page.getByTestId('next-export').waitFor();
  await page.screenshot({ path: '/tmp/my-data.png', fullPage: true });

  const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
  assert.match(file.suggestedFilename(), /^atelier-data-\d{4}-\d{2}-\d{2}\.zip$/);
  const path = await file.path();
  const { statSync, readFileSync } = await import('node:fs');
  assert.ok(statSync(path).size > 200, 'a real zip');
  assert.equal(readFileSync(path).subarray(0, 2).toString('latin1'), 'PK');
  assert.deepEqual(problems, []);
  await context.close();
});

test('deleting needs the password, signs out, and signing in again lets the member cancel', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await signIn(page, grace, '/account/data');
  await page.waitForURL(`${server.url}/account/data`);
  await waitForHydration(page);

  const form = page.getByTestId('delete-account');
  await form.getByLabel('Your password').fill('not the password');
  await form.getByRole('checkbox').check();
  await form.getByRole('button', { name: 'Delete my account' }).click();
  await form.locator('[data-field-error="password"]').waitFor();

  await form.getByLabel('Your password').fill(grace.password);
  await form.getByRole('button', { name: 'Delete my account' }).click();
  await page.waitForURL(/\/signin\?deletion_scheduled=1$/);
  await page.getByTestId('sign-in-notice').waitFor();
  assert.equal((await context.cookies()).some((cookie) => cookie.name === 'atelier_session' && cookie.value), false);

  await signIn(page, grace, '/');
  await page.waitForURL(`${server.url}/account/data`);
  await waitForHydration(page);
  const scheduled = page.getByTestId('deletion-scheduled');
  await scheduled.waitFor();
  await scheduled.getByRole('button', { name: 'Cancel the deletion' }).click();
  await scheduled.waitFor({ state: 'detached' });
  await page.getByTestId('delete-account').waitFor();
  await page.getByTestId('requests').getByText('Cancelled by the member during the grace period').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});
