// Avatar upload from the account page: a plain multipart form, with and without JavaScript;
// a file that is not an image is refused with a message and the current avatar stays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { startServer, launchBrowser, watchConsole, waitForHydration } from '../support/harness.mjs';

const member = { email: 'ada@example.org', name: 'Ada Lovelace', password: 'correct horse battery staple' };
let server;
let browser;

before(async () => {
  server = await startServer({ images: 4, members: [member] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// A real PNG of the given size (a colour gradient), built here so the test needs no fixtures.
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = (x * 255) / width;
      row[2 + x * 3] = (y * 255) / height;
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function signedInPage(context) {
  const page = await context.newPage();
  await page.goto(`${server.url}/signin?next=/account`);
  await page.getByLabel('Email').fill(member.email);
  await page.getByLabel('Password').fill(member.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.url}/account`);
  return page;
}

test('with JavaScript: upload an avatar, refuse a text file, then remove the avatar', async () => {
  const context = await browser.newContext();
  const page = await signedInPage(context);
  const problems = watchConsole(page);
  await waitForHydration(page);
  await page.getByTestId('avatar-initials').waitFor();
  assert.equal(await page.getByTestId('avatar-initials').textContent(), 'AL');

  await page.getByLabel('New avatar').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png(600, 400) });
  await page.getByRole('button', { name: 'Upload avatar' }).click();
  await page.getByTestId('avatar-notice').waitFor();
  const image = page.getByTestId('avatar-image');
  await image.waitFor();
  const size = await image.evaluate(async (img) => {
    await img.decode();
    return [img.naturalWidth, img.naturalHeight];
  });
  assert.deepEqual(size, [256, 256], 'stored as a 256 × 256 square');
  const stored = await image.getAttribute('src');

  // A file that claims to be a PNG but is text: refused, and the avatar stays.
  await page.getByLabel('New avatar').setInputFiles({ name: 'evil.png', mimeType: 'image/png', buffer: Buffer.from('not an image at all') });
  await page.getByRole('button', { name: 'Upload avatar' }).click();
  await page.getByTestId('avatar-error').waitFor();
  assert.match(await page.getByTestId('avatar-error').textContent(), /Only JPEG, PNG and WebP/);
  assert.equal(await page.getByTestId('avatar-image').getAttribute('src'), stored);

  await page.getByRole('button', { name: 'Remove avatar' }).click();
  await page.getByTestId('avatar-initials').waitFor();
  await page.waitForLoadState('networkidle');
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript: the avatar form still uploads', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await signedInPage(context);
  await page.getByLabel('New avatar').setInputFiles({ name: 'square.png', mimeType: 'image/png', buffer: png(300, 300) });
  await page.getByRole('button', { name: 'Upload avatar' }).click();
  await page.getByTestId('avatar-image').waitFor();
  assert.match(await page.getByTestId('avatar-image').getAttribute('src'), /^\/media\/.+\.webp$/);
  await context.close();
});
