// A new member's whole way in, through the real pages: sign up, confirm the email with the
// link from the outbox, sign in and out; a forgotten password reset end to end; and the
// age refusal with JavaScript off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration } from '../support/harness.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({ images: 4 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// The link in a mail, made relative to the test server (the configured public URL of a
// server on port 0 is not an address a browser can use).
function linkIn(mail, path) {
  const match = mail.match(new RegExp(`https?://\\S+(${path}\\?token=[0-9a-f]{64})`));
  assert.ok(match, `a ${path} link in:\n${mail}`);
  return `${server.url}${match[1]}`;
}

async function signUp(page, who) {
  await page.goto(`${server.url}/signup`);
  await waitForHydration(page);
  await page.getByLabel('Display name').fill(who.name);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByLabel('Date of birth').fill(who.birthDate);
  await page.getByRole('button', { name: 'Create account' }).click();
}

async function signIn(page, who, password = who.password) {
  await page.goto(`${server.url}/signin`);
  await waitForHydration(page);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('member-name').waitFor();
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
}

test('sign up, confirm the email from the outbox, sign in, sign out', async () => {
  const who = { name: 'Katherine Johnson', email: 'katherine@example.org', password: 'orbital mechanics by hand', birthDate: '1990-08-26' };
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);

  await signUp(page, who);
  await page.waitForURL(/\/account\?welcome=1$/);
  await page.getByTestId('verify-reminder').waitFor();
  assert.equal(await page.getByTestId('member-name').textContent(), who.name);
  await signOut(page);

  const mail = await server.latestMail(who.email, 'Confirm your email');
  await page.goto(linkIn(mail, '/verify-email'));
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Confirm my email' }).click();
  await page.waitForURL(/\/signin\?verified=1$/);
  assert.match(await page.getByTestId('sign-in-notice').textContent(), /confirmed/);

  await signIn(page, who);
  assert.equal(await page.getByTestId('member-name').textContent(), who.name);
  await page.goto(`${server.url}/account`);
  await page.getByTestId('current-email').waitFor();
  assert.match(await page.getByTestId('current-email').textContent(), /Confirmed/);
  assert.equal(await page.getByTestId('verify-reminder').count(), 0);
  await signOut(page);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a forgotten password is reset with the mailed link', async () => {
  const who = { name: 'Dorothy Vaughan', email: 'dorothy@example.org', password: 'fortran for everyone', birthDate: '1985-09-20' };
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await signUp(page, who);
  await page.waitForURL(/\/account\?welcome=1$/);
  await signOut(page);

  await page.goto(`${server.url}/signin`);
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await page.waitForURL(/\/forgot-password$/);
  await waitForHydration(page);
  await page.getByLabel('Email').fill(who.email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await page.getByTestId('reset-sent').waitFor();

  const mail = await server.latestMail(who.email, 'Reset your');
  await page.goto(linkIn(mail, '/reset-password'));
  await waitForHydration(page);
  await page.getByLabel('New password').fill('short');
  await page.getByRole('button', { name: 'Save new password' }).click();
  await page.locator('[data-field-error="password"]').waitFor();
  await page.getByLabel('New password').fill('a brand new passphrase');
  await page.getByRole('button', { name: 'Save new password' }).click();
  await page.waitForURL(/\/signin\?reset=1$/);

  await signIn(page, who, 'a brand new passphrase');
  assert.equal(await page.getByTestId('member-name').textContent(), who.name);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript: sign-up below the minimum age is refused at the date field', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const year = new Date().getUTCFullYear() - 10;
  await page.goto(`${server.url}/signup`);
  await page.getByLabel('Display name').fill('Too Young');
  await page.getByLabel('Email').fill('young@example.org');
  await page.getByLabel('Password').fill('a perfectly fine passphrase');
  await page.getByLabel('Date of birth').fill(`${year}-01-01`);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('[data-field-error="birth_date"]').waitFor();
  assert.match(await page.locator('[data-field-error="birth_date"]').textContent(), /at least 13/);
  assert.equal(await page.getByTestId('member-name').count(), 0);
  await context.close();
});
