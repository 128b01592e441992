// Privacy settings save themselves on change (keyboard included) and work as a plain form
// without JavaScript; a correction asked on "Your data" is answered from the admins' queue
// and the refusal is appealed from the same page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration, submitSignIn } from '../support/harness.mjs';

// The harness creates members as administrators, so Ada can also answer the queue.
const ada = { email: 'ada@example.org', name: 'Ada Lovelace', password: 'correct horse battery staple' };
let server;
let browser;

before(async () => {
  server = await startServer({ images: 2, members: [ada] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page, next) {
  await submitSignIn(page, server.url, ada, next);
  await page.waitForURL(`${server.url}${next}`);
}

test('a switch saves itself when changed from the keyboard, and the stop is listed as a request', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await signIn(page, '/account');
  await waitForHydration(page);
  await page.getByTestId('privacy-settings-link').click();
  await page.waitForURL(`${server.url}/account/privacy`);
  const history = page.getByRole('switch', { name: 'Keep my activity history' });
  await history.waitFor();
  assert.equal(await history.isChecked(), true, 'on by default');
  assert.equal(await page.getByRole('switch', { name: /Email me about new features/ }).isChecked(), false);

  await page.evaluate(() => { window.stillHere = true; });
  await history.focus();
  await page.keyboard.press('Space');
  await page.getByTestId('privacy-status').getByText('Saved').waitFor();
  assert.equal(await page.evaluate(() => window.stillHere), true, 'saved without a reload');
  await page.screenshot({ path: '/tmp/privacy-settings.png', fullPage: true });

  await page.reload();
  await waitForHydration(page);
  assert.equal(await page.getByRole('switch', { name: 'Keep my activity history' }).isChecked(), false, 'kept');

  await page.goto(`${server.url}/account/data`);
  const objection = page.locator('[data-request-kind="objection"]');
  await objection.waitFor();
  assert.match(await objection.innerText(), /Stop activity history/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript the Save button posts the settings and comes back to the page', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, '/account/privacy');
  await page.getByRole('switch', { name: /Email me about new features/ }).check();
  await page.getByLabel('Delete after 30 days').check();
  await page.getByLabel('Download size').selectOption('small');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.waitForURL(`${server.url}/account/privacy`);
  assert.equal(await page.getByRole('switch', { name: /Email me about new features/ }).isChecked(), true);
  assert.equal(await page.getByLabel('Delete after 30 days').isChecked(), true);
  assert.equal(await page.getByLabel('Download size').inputValue(), 'small');
  await context.close();
});

test('a correction is refused from the queue, and the member appeals it once', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await signIn(page, '/account/data');
  await waitForHydration(page);
  const correction = page.getByTestId('correction-form');
  await correction.getByLabel('What should we correct?').fill('My display name should be Augusta Ada King.');
  await correction.getByRole('button', { name: 'Ask for a correction' }).click();
  await page.locator('[data-request-kind="correction"][data-request-status="open"]').waitFor();

  await page.goto(`${server.url}/admin/requests`);
  await waitForHydration(page);
  const item = page.getByTestId('requests-queue').locator('li').first();
  await item.getByText('Augusta Ada King').waitFor();
  await item.getByLabel('Refuse').check();
  await item.getByLabel('Your answer to the member').fill('Please change your display name on your account page.');
  await item.getByRole('button', { name: 'Send the answer' }).click();
  await page.getByTestId('requests-empty').waitFor();
  const mail = await server.latestMail(ada.email, 'has been answered');
  assert.match(mail, /display name on your account page/);

  await page.goto(`${server.url}/account/data`);
  await waitForHydration(page);
  const refused = page.locator('[data-request-kind="correction"][data-request-status="refused"]');
  await refused.waitFor();
  await refused.getByText('Appeal this decision').click();
  await refused.getByLabel('Why should we look again?').fill('I cannot change it there.');
  await refused.getByRole('button', { name: 'Send the appeal' }).click();
  await refused.getByTestId('appeal-status').getByText('waiting for an answer').waitFor();
  assert.equal(await refused.getByText('Appeal this decision').count(), 0, 'one appeal only');
  assert.deepEqual(problems, []);
  await context.close();
});
