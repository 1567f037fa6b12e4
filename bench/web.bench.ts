// npm run bench:web — the web timeline over a 1,000-container, 100,000-event history, in
// headless Chromium (Debian's /usr/bin/chromium through playwright-core). The log is written
// directly with EventLog (a Projector takes snapshots as the daemon does), then a daemon
// serves it with --http. Measures: the overview endpoint on the server, the time to first
// render (navigation start -> timeline and StateAt table drawn) over fresh page loads, and the
// cursor-scrub response (input event -> the frame showing the new StateAt table and its
// diff) for clicks at random points of the axis and for arrow-key steps. Goal: <= 100 ms a
// move. Prints `name: value` lines; figures are medians (and p95) of repeated runs.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { EventLog } from '../src/events/event-log.js';
import type { Fact } from '../src/events/schemas.js';
import { Projector } from '../src/projections/projector.js';
import { DEFAULT_SNAPSHOT_EVERY } from '../src/projections/snapshot-policy.js';
import { browserMissing, launchBrowser } from '../test/support/browser.js';
import { startDaemon, type RunningDaemon } from '../test/support/daemon.js';
import { webUrl } from '../test/support/web.js';
import { median, percentile, print, timeIt } from './support/stats.js';

const CONTAINERS = Number(process.env['BENCH_WEB_CONTAINERS'] ?? 1_000);
const EVENTS = Number(process.env['BENCH_WEB_EVENTS'] ?? 100_000);
const LOADS = Number(process.env['BENCH_WEB_LOADS'] ?? 5);
const MOVES = Number(process.env['BENCH_WEB_MOVES'] ?? 40);

/** The k-th event of container i's life: created, started, then pause/resume cycles with their audit records; the last is its exit. */
function eventOf(i: number, k: number, perContainer: number): Fact {
  const ns = i % 10 === 0 ? 'batch' : 'default';
  const id = `ctr-${String(i).padStart(4, '0')}`;
  const actor = `uid:${1000 + (i % 7)}`;
  const address = `/nonexistent/bench/${id}.sock`; // no ShimReady: recovery has no shim to probe
  const req = `r-${i}-${k}`;
  if (k === 0) return { type: 'ContainerCreated', ns, id, actor, req, data: { runtime: 'process', bundle: `/nonexistent/bench/${id}`, args: ['/bin/sleep', '1'], env: [], cwd: '/', labels: { app: `app-${i % 20}`, tier: ['web', 'db', 'cache'][i % 3]! } } };
  if (k === 1) return { type: 'TaskCreated', ns, id, actor, req, data: { pid: 10_000 + i, shim: { address, pid: 9_000 + i }, bundle: `/nonexistent/bench/${id}`, stdio: { stdout: '/dev/null', stderr: '/dev/null' } } };
  if (k === 2) return { type: 'TaskStarted', ns, id, actor, req, data: { pid: 10_000 + i } };
  if (k === perContainer - 1) return { type: 'TaskExited', ns, id, actor: 'shim', data: { pid: 10_000 + i, exitCode: i % 5, signal: null, exitedAt: Date.now(), reason: 'exited' } };
  const cycle = (k - 3) % 4;
  if (cycle === 0) return { type: 'TaskPaused', ns, id, actor, req: `r-${i}-${k}`, data: {} };
  if (cycle === 2) return { type: 'TaskResumed', ns, id, actor, req: `r-${i}-${k}`, data: {} };
  return { type: 'RequestCompleted', ns, id, actor, req: `r-${i}-${k - 1}`, data: { op: cycle === 1 ? 'tasks.Pause' : 'tasks.Resume', digest: 'ab'.repeat(32), durationMs: 1 } };
}

/** Interleaved lives: round k appends the k-th event of every container. */
async function writeLog(path: string): Promise<number> {
  const log = await EventLog.open({ path });
  const projector = new Projector(log, { snapshotEvery: DEFAULT_SNAPSHOT_EVERY });
  try {
    await projector.start();
    const per = Math.floor(EVENTS / CONTAINERS);
    for (let k = 0; k < per; k++) {
      const round: Fact[] = [];
      for (let i = 0; i < CONTAINERS; i++) round.push(eventOf(i, k, per));
      for (let j = 0; j < round.length; j += 1000) await log.append(round.slice(j, j + 1000));
    }
    return log.head().seq;
  } finally {
    await projector.close();
    await log.close();
  }
}

/** The duration of the last state-at request, fetch start to last byte (Resource Timing). */
function lastFetchMs(page: Page): Promise<number> {
  return page.evaluate(() => {
    const all = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/state-at'));
    const e = all.at(-1) as PerformanceResourceTiming | undefined;
    return e ? e.responseEnd - e.startTime : NaN;
  });
}

/** Time from an input event to the frame that shows the state it asked for. */
async function respond(page: Page, act: () => Promise<void>): Promise<number> {
  await page.evaluate(() => {
    const w = window as unknown as { benchInput?: number; benchShown?: number };
    w.benchInput = undefined;
    w.benchShown = undefined;
  });
  const n = await page.evaluate(() => Number(document.documentElement.dataset['states'] ?? 0));
  await act();
  await page.waitForFunction((count) => Number(document.documentElement.dataset['states'] ?? 0) > count && document.documentElement.dataset['busy'] === undefined, n);
  return page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        // The frame after the table changed is the one that shows it.
        const w = window as unknown as { benchInput?: number; benchShown?: number };
        const done = (): void => resolve(w.benchShown! - w.benchInput!);
        if (w.benchShown !== undefined) done();
        else setTimeout(done, 50);
      }),
  );
}

const skip = browserMissing();
if (skip) {
  console.error(`bench:web needs chromium: ${skip}`);
  process.exit(1);
}
// BENCH_WEB_DIR keeps the written log for the next run (writing it is most of the time).
const keep = process.env['BENCH_WEB_DIR'];
if (keep) mkdirSync(keep, { recursive: true });
const dir = keep ?? mkdtempSync(join(tmpdir(), 'chb-web-'));
let d: RunningDaemon | undefined;
const browser = await launchBrowser();
try {
  const logPath = join(dir, 'root', 'log');
  const writeMs = keep && existsSync(logPath) ? 0 : await timeIt(async () => writeLog(logPath));
  d = await startDaemon({ dir, args: ['--shim-pool', '0', '--log-level', 'info', '--http', '127.0.0.1:0'] });
  const url = await webUrl(d);
  print('web_containers', CONTAINERS);
  print('web_history_events', EVENTS);
  print('web_write_log_ms', writeMs);

  /** A fresh page: navigation start -> the frame after the timeline and the table are drawn. */
  const load = async (): Promise<{ ms: number; overviewMs: number }> => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await page.goto(url);
      await page.waitForSelector('html[data-ready="true"]', { timeout: 120_000 });
      // performance.now() counts from the navigation's start.
      const ms = await page.evaluate(() => new Promise<number>((resolve) => requestAnimationFrame(() => resolve(performance.now()))));
      const overviewMs = await page.evaluate(() => {
        const e = performance.getEntriesByType('resource').find((x) => x.name.includes('/api/overview')) as PerformanceResourceTiming | undefined;
        return e ? e.responseEnd - e.startTime : NaN;
      });
      return { ms, overviewMs };
    } finally {
      await page.close();
    }
  };
  // Cold: the daemon folds the whole history for the first overview; later ones fold only what is new.
  const cold = await load();
  print('first_render_cold_ms', cold.ms);
  print('overview_fetch_cold_ms', cold.overviewMs);
  const warm: { ms: number; overviewMs: number }[] = [];
  for (let r = 0; r < LOADS; r++) warm.push(await load());
  print('first_render_median_ms', median(warm.map((w) => w.ms)));
  print('first_render_max_ms', Math.max(...warm.map((w) => w.ms)));
  print('overview_fetch_median_ms', median(warm.map((w) => w.overviewMs)));
  const res = await fetch(`${url}api/overview`);
  print('overview_kb', (await res.arrayBuffer()).byteLength / 1024);

  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(60_000);
  await page.goto(url);
  await page.waitForSelector('html[data-ready="true"]', { timeout: 120_000 });
  await page.evaluate(() => {
    const w = window as unknown as { benchInput?: number; benchShown?: number };
    const input = (e: Event): void => void (w.benchInput ??= e.timeStamp);
    document.addEventListener('pointerdown', input, true);
    document.addEventListener('keydown', input, true);
    document.addEventListener('chronicle:state', () => requestAnimationFrame(() => (w.benchShown = performance.now())));
  });
  print('containers_at_head', await page.$eval('.state h2 small', (el) => parseInt(el.textContent ?? '', 10)));
  print('table_rows_in_dom', await page.$$eval('.state tbody tr:not(.spacer)', (trs) => trs.length));
  const axis = (await page.locator('.tl-axis').boundingBox())!;
  await page.evaluate(() => performance.setResourceTimingBufferSize(10_000));
  const clicks: number[] = [];
  const fetches: number[] = [];
  for (let m = 0; m < MOVES; m++) {
    const x = axis.x + 2 + Math.random() * (axis.width - 4);
    clicks.push(await respond(page, () => page.mouse.click(x, axis.y + axis.height / 2)));
    fetches.push(await lastFetchMs(page));
  }
  print('scrub_click_median_ms', median(clicks), 1);
  print('scrub_click_p95_ms', percentile(clicks, 95), 1);
  print('scrub_click_fetch_median_ms', median(fetches), 1);
  // Steps from the start, change by change (at the head there is no next change).
  await page.focus('.tl-cursor');
  await respond(page, () => page.keyboard.press('Home'));
  const keys: number[] = [];
  for (let m = 0; m < MOVES; m++) keys.push(await respond(page, () => page.keyboard.press(m % 5 === 4 ? 'ArrowLeft' : 'ArrowRight')));
  print('scrub_key_median_ms', median(keys), 1);
  print('scrub_key_p95_ms', percentile(keys, 95), 1);
  print('scrub_goal_ms', 100);
} finally {
  await browser.close();
  await d?.cleanup();
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
