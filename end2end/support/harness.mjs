// Browser-test harness: starts the release server on a free loopback port with a fresh
// SQLite database and a seeded demo library, and launches Debian's Chromium headless.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { chromium } from 'playwright-core';

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function startServer({ images = 30, members = [], env: extraEnv = {} } = {}) {
  const bin = process.env.ATELIER_SERVER_BIN;
  if (!bin) throw new Error('ATELIER_SERVER_BIN must point at the release server binary (scripts/test sets it)');
  const dir = mkdtempSync(join(tmpdir(), 'atelier-e2e-'));
  const env = {
    ...process.env,
    ATELIER_DATA_DIR: dir,
    DATABASE_URL: `sqlite://${dir}/atelier.db`,
    ATELIER_MEDIA_DIR: join(dir, 'media'),
    ATELIER_LISTEN: '127.0.0.1:0',
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
    ...extraEnv,
  };
  execFileSync(bin, ['seed-demo', '--images', String(images)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (const { email, name, password } of members) {
    execFileSync(bin, ['create-admin', '--email', email, '--name', name, '--password-stdin'], {
      env,
      input: `${password}\n`,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
  }
  // `timeout` guarantees the server stops even if this process dies first.
  const child = spawn('timeout', ['--signal=TERM', '600', bin, 'serve'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const match = buffered.match(/listening on (http:\/\/\S+)/);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`the server exited early with code ${code}`)));
    setTimeout(() => reject(new Error('the server did not start within 30 s')), 30_000);
  });
  return {
    url,
    // The newest outbox mail to an address, as `server mail latest` prints it; waits for the
    // job worker to deliver it.
    async latestMail(to, subjectContains) {
      for (let attempt = 0; attempt < 100; attempt++) {
        try {
          const printed = execFileSync(bin, ['mail', 'latest', '--to', to], { env, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
          if (!subjectContains || printed.includes(subjectContains)) return printed;
        } catch {
          // Not delivered yet.
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      throw new Error(`no mail to ${to} arrived`);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A cookie choice already made (nothing optional allowed), so the banner stays out of
// tests about other pages. The consent tests launch with `{ decided: false }`.
export const DECIDED_CONSENT = { name: 'atelier_consent', value: '1.00.e2epreset01', domain: '127.0.0.1', path: '/' };

// Playwright's launch() gives every browser a fresh temporary profile directory.
export async function launchBrowser({ decided = true } = {}) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS });
  if (decided) {
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (options) => {
      const context = await newContext(options);
      await context.addCookies([DECIDED_CONSENT]);
      return context;
    };
  }
  return browser;
}

// Fills in and sends the sign-in form, asking to come back to `next` afterwards.
export async function submitSignIn(page, baseUrl, member, next) {
  await page.goto(`${baseUrl}/signin?next=${next}`);
  await page.getByLabel('Email').fill(member.email);
  await page.getByLabel('Password').fill(member.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// Collects console errors and warnings (hydration mismatches and CSP violations land there).
export function watchConsole(page) {
  const problems = [];
  page.on('console', (message) => {
    // The browser logs every 4xx answer; a refused input (422) or a signed-out check (401)
    // is an expected outcome that the test asserts on screen. 5xx answers still count.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) return;
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  // The console line for a failed load does not name the URL; this one does.
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`${response.status()} from ${response.request().method()} ${response.url()}`);
  });
  return problems;
}

// Hydration is done when effects have run: the theme toggle learns the current theme then.
// That is the shell; the page's own code is a lazy chunk that may still be on its way, and
// a form clicked before it arrives posts without JavaScript (a reload). So wait, too, for
// the network to settle: every chunk the page needs has arrived (it hydrates on arrival).
export async function waitForHydration(page) {
  await page.waitForSelector('.theme-toggle:not([data-theme-state="unknown"])', { timeout: 20_000 });
  await page.waitForLoadState('networkidle', { timeout: 20_000 });
}
