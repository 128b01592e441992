// Chat in a browser against a fake model server: start a conversation from a contributor's
// page, watch the words arrive, stop midway (the model's request is closed), reload and
// find the conversation as it was left, find it in the list, and delete it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, watchConsole, waitForHydration, submitSignIn } from '../support/harness.mjs';
import { startFakeLlm } from '../support/fake-llm.mjs';

const pat = { email: 'pat@example.org', name: 'Pat Doe', password: 'correct horse battery staple' };
let server;
let llm;
let browser;

before(async () => {
  llm = await startFakeLlm({ words: 80, gap: 120 });
  server = await startServer({ images: 6, members: [pat], env: llm.env });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await llm?.close();
});

test('a contributor page → a streaming reply → stop → reload → the list → delete', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watchConsole(page);
  await submitSignIn(page, server.url, pat, '/contributors/mira-solenne');
  await page.waitForURL(`${server.url}/contributors/mira-solenne`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Chat with Mira' }).click();
  await page.waitForURL(/\/chat\/[a-z0-9]+$/);
  const conversation = page.url();
  await waitForHydration(page);
  await page.getByTestId('greeting').getByText("Hello, I'm Mira.", { exact: false }).waitFor();

  // Keyboard first: type, Enter sends.
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('What does a polar night sound like?');
  await composer.press('Enter');
  await page.getByTestId('member-message').getByText('What does a polar night sound like?').waitFor();
  const streaming = page.getByTestId('streaming');
  await streaming.getByText('Word0', { exact: false }).waitFor();
  assert.equal(await composer.inputValue(), '', 'the composer is cleared for the next message');

  // The words arrive one by one: the reply grows while we watch.
  const words = async () => ((await streaming.textContent()) ?? '').split(' word').length;
  const first = await words();
  await page.waitForTimeout(700);
  const later = await words();
  assert.ok(later >= first + 3, `the reply grew from ${first} to ${later} words`);
  await page.screenshot({ path: '/tmp/atelier-chat-streaming.png', fullPage: true });

  await page.getByTestId('stop').click();
  const stopped = page.locator('[data-testid="persona-message"][data-state="stopped"]');
  await stopped.waitFor();
  await stopped.getByText('Stopped — nothing was charged.').waitFor();
  await page.getByTestId('retry').waitFor();
  assert.equal(await page.getByTestId('streaming').count(), 0);
  const kept = (await stopped.textContent()) ?? '';
  for (let i = 0; i < 50 && llm.state.cancelled === 0; i++) await page.waitForTimeout(100);
  assert.equal(llm.state.cancelled, 1, 'stopping closed the request to the model');
  assert.equal(llm.state.finished, 0);

  // Reload: the conversation is stored as it was left, titled by the first message. (The
  // server ends the reply as the connection closes; give it a moment to be written.)
  for (let attempt = 0; attempt < 20; attempt++) {
    await page.reload();
    await waitForHydration(page);
    if ((await page.locator('[data-testid="persona-message"][data-state="stopped"]').count()) > 0) break;
    await page.waitForTimeout(250);
  }
  await page.getByTestId('chat-title').getByText('What does a polar night sound like?').waitFor();
  await page.getByTestId('member-message').getByText('What does a polar night sound like?').waitFor();
  const reloaded = page.locator('[data-testid="persona-message"][data-state="stopped"]');
  await reloaded.waitFor();
  assert.ok(kept.includes('Word0') && (await reloaded.textContent()).includes('Word0'), 'what arrived was kept');
  await page.screenshot({ path: '/tmp/atelier-chat.png', fullPage: true });

  // The list has it, and leads back to it.
  await page.getByRole('link', { name: 'Chats' }).first().click();
  await page.waitForURL(`${server.url}/chat`);
  const row = page.getByTestId('chat-list').getByRole('link', { name: /What does a polar night sound like\?/ });
  await row.waitFor();
  await row.click();
  await page.waitForURL(conversation);

  // Delete it.
  await page.getByText('Delete this conversation').click();
  await page.getByTestId('delete-chat').click();
  await page.waitForURL(/\/chat\?deleted=1$/);
  await page.getByTestId('chat-deleted').waitFor();
  await page.getByText('No conversations yet').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});
