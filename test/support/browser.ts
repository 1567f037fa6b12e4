// Headless Chromium for the web UI's tests and bench: Debian's /usr/bin/chromium driven by
// playwright-core (whose own browser download cannot work here). Missing chromium is an
// error under CI=true (.ci/run installs it) and a skip reason elsewhere.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `${CHROMIUM} is not installed (apt-get install chromium)`;
  if (process.env['CI'] === 'true') throw new Error(`${why}: under CI=true the web UI tests may not be skipped`);
  return why;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox when running as root (CI containers); no GPU on a headless server.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 60_000,
  });
}

/** Where screenshots go: test-artifacts/web (ignored by git, kept by CI). */
export function artifactPath(name: string): string {
  const dir = join(process.cwd(), 'test-artifacts', 'web');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/** Opens `url` and waits until the page has drawn its first state. */
export async function openTimeline(browser: Browser, url: string, opts: { colorScheme?: 'light' | 'dark'; width?: number; height?: number } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 }, colorScheme: opts.colorScheme ?? 'light' });
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  await page.waitForSelector('html[data-ready="true"]');
  return page;
}
