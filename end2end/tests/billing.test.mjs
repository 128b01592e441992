// Billing in the browser against a fake Stripe: pricing → Choose Pro → the fake hosted
// Checkout → back on the success page with the plan → the billing page shows Pro and the
// first month's credits → Manage billing reaches the fake portal and returns.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { startServer, launchBrowser, watchConsole, waitForHydration, submitSignIn } from '../support/harness.mjs';
import { startFakeStripe } from '../support/fake-stripe.mjs';

const pat = { email: 'pat@example.org', name: 'Pat Doe', password: 'correct horse battery staple' };
let server;
let stripe;
let browser;

// Checkout returns the browser to the configured public URL, so the server gets a known port.
async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

before(async () => {
  stripe = await startFakeStripe();
  const port = await freePort();
  server = await startServer({ images: 2, members: [pat], env: { ...stripe.env, ATELIER_LISTEN: `127.0.0.1:${port}` } });
  stripe.setApp(server.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await stripe?.close();
});

test('pricing → checkout → billing shows Pro and its credits → the portal and back', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);

  // Signed out, the plans are there and choosing one asks to sign in first.
  await page.goto(`${server.url}/pricing`);
  await waitForHydration(page);
  await assert.doesNotReject(page.getByRole('heading', { name: 'Pro', exact: true }).waitFor());
  await page.getByRole('link', { name: 'Sign in to choose Pro' }).waitFor();

  await submitSignIn(page, server.url, pat, '/pricing');
  await page.waitForURL(`${server.url}/pricing`);
  await waitForHydration(page);
  // Yearly prices show on request, through the link, without a reload of the data.
  await page.getByRole('link', { name: /Yearly/ }).click();
  await page.waitForURL(/billing=yearly/);
  await page.locator('[data-plan="pro"]').getByText('$120', { exact: true }).waitFor();
  await page.getByRole('link', { name: 'Monthly' }).click();
  await page.locator('[data-plan="pro"]').getByText('$12', { exact: true }).waitFor();
  await page.screenshot({ path: '/tmp/atelier-pricing.png', fullPage: true });

  await page.locator('[data-plan="pro"]').getByRole('button', { name: 'Choose Pro' }).click();
  await page.waitForURL(`${stripe.url}/pay/**`);
  const created = stripe.requests.filter((request) => request.method === 'POST');
  assert.deepEqual(created.map((request) => request.path), ['/v1/customers', '/v1/checkout/sessions']);
  assert.ok(created.every((request) => request.key), 'every create carries an idempotency key');
  assert.equal(created[1].form['line_items[0][price]'], 'price_pro_monthly');

  await page.getByRole('button', { name: 'Pay' }).click();
  await page.waitForURL(`${server.url}/billing/success?session_id=*`);
  await page.getByRole('heading', { name: 'You are on Pro now' }).waitFor();
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Go to billing' }).click();
  await page.waitForURL(`${server.url}/account/billing`);
  await page.getByTestId('plan-name').getByText('Pro, monthly').waitFor();
  assert.equal(await page.getByTestId('balance').textContent(), '1,000');
  await page.getByTestId('history').getByText('Monthly credits of your plan').waitFor();
  assert.match(await page.getByTestId('plan-status').textContent(), /Renews on/);
  await page.screenshot({ path: '/tmp/atelier-billing.png', fullPage: true });

  await waitForHydration(page);
  await page.getByRole('button', { name: 'Manage billing' }).click();
  await page.waitForURL(`${stripe.url}/portal/**`);
  await page.getByRole('heading', { name: 'Fake billing portal' }).waitFor();
  await page.getByRole('link', { name: 'Return to Atelier' }).click();
  await page.waitForURL(`${server.url}/account/billing`);
  await page.getByTestId('plan-name').getByText('Pro, monthly').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});
