// Signing in and out through the real forms: after hydration, and with JavaScript off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration } from '../support/harness.mjs';

const member = { email: 'ada@example.org', name: 'Ada Lovelace', password: 'correct horse battery staple' };
const traveller = { email: 'grace@example.org', name: 'Grace Hopper', password: 'another long passphrase' };
let server;
let browser;

before(async () => {
  server = await startServer({ images: 4, members: [member, traveller] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(page, password = member.password, who = member) {
  await page.goto(`${server.url}/signin`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('with JavaScript: sign in, the header shows the member, sign out', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await page.goto(`${server.url}/signin`);
  await waitForHydration(page);
  await signIn(page);
  await page.getByTestId('member-name').waitFor();
  assert.equal(await page.getByTestId('member-name').textContent(), member.name);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'atelier_session');
  assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
  assert.equal(session.sameSite, 'Lax');

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript: a wrong password shows an inline error, then sign in and out work', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, 'not the right password');
  await page.getByTestId('form-alert').waitFor();
  assert.match(await page.getByTestId('form-alert').textContent(), /email or password is incorrect/);

  await signIn(page);
  await page.waitForURL(`${server.url}/`);
  assert.equal(await page.getByTestId('member-name').textContent(), member.name);

  await page.goto(`${server.url}/account/sessions`);
  assert.equal(await page.locator('[data-session]').count(), 1);
  await page.getByText('This device').waitFor();

  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  assert.equal((await context.cookies()).filter((c) => c.name === 'atelier_session').length, 0);
  await context.close();
});

test('sign out everywhere ends the other browser too', async () => {
  const laptop = await browser.newContext();
  const phone = await browser.newContext();
  const laptopPage = await laptop.newPage();
  const phonePage = await phone.newPage();
  for (const page of [laptopPage, phonePage]) {
    await page.goto(`${server.url}/signin`);
    await waitForHydration(page);
    await signIn(page, traveller.password, traveller);
    await page.getByTestId('member-name').waitFor();
  }
  await laptopPage.goto(`${server.url}/account/sessions`);
  await waitForHydration(laptopPage);
  assert.equal(await laptopPage.locator('[data-session]').count(), 2);
  await laptopPage.getByTestId('sign-out-everywhere').click();
  await laptopPage.waitForURL(/\/signin$/);
  await phonePage.reload();
  await phonePage.getByRole('link', { name: 'Sign in' }).waitFor();
  await laptop.close();
  await phone.close();
});
