/// <reference lib="dom" /> -- the callbacks given to page.evaluate run in the browser
/// <reference lib="dom.iterable" />
// The web timeline in a real browser (Debian's chromium, headless, through playwright-core)
// against a real daemon with a scripted history: three daemon lives (a clean restart and a
// kill -9), containers run, paused, resumed, killed, exiting with a code, deleted. The
// oracle is chronicle.v1.History over gRPC: the spans drawn are the runs of the status
// StateAt gives at every seq; the table at a cursor position is StateAt there; the
// highlight is Diff. Checkpoint/restore markers come from a real runc container dumped and
// restored through CRIU.
// Screenshots go to test-artifacts/web/.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ChangeWire, ContainerWire } from '../../src/api/http-wire.js';
import { artifactPath, browserMissing, launchBrowser, openTimeline } from '../support/browser.js';
import { busyboxRootfs } from '../support/busybox-bundle.js';
import { call, readEvents, startDaemon, type EventMsg, type RunningDaemon } from '../support/daemon.js';
import { webUrl } from '../support/web.js';

const skip = browserMissing();
const started: RunningDaemon[] = [];
const dirs: string[] = [];
let browser: Browser | undefined;
let d: RunningDaemon;
let base = '';
let events: EventMsg[] = [];

after(async () => {
  await browser?.close().catch(() => undefined);
  for (const x of started) await x.cleanup();
  for (const x of dirs) rmSync(x, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const x = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(x);
  return x;
}

async function daemon(dir: string): Promise<RunningDaemon> {
  const x = await startDaemon({ dir, args: ['--shim-pool', '0', '--http', '127.0.0.1:0'] });
  started.push(x);
  return x;
}

const sleeper = { runtime: 'process', args: ['/bin/sleep', '1000'] };
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip) return;
  const dir = tempDir('chr-webui-');
  d = await daemon(dir);
  let C = d.client('Containers');
  let T = d.client('Tasks');
  await call(C, 'Create', { id: 'a1', ...sleeper, labels: { tier: 'web' } });
  await call(T, 'Create', { id: 'a1' });
  await call(T, 'Start', { id: 'a1' });
  await call(C, 'Create', { id: 'b2', ...sleeper, labels: { tier: 'db' } });
  await call(T, 'Create', { id: 'b2' });
  await call(T, 'Start', { id: 'b2' });
  await pause(40);
  await call(T, 'Pause', { id: 'a1' });
  await pause(40);
  await call(T, 'Resume', { id: 'a1' });
  await call(C, 'Create', { id: 'c3', runtime: 'process', args: ['/bin/sh', '-c', 'exit 3'], labels: { tier: 'batch' } });
  await call(T, 'Create', { id: 'c3' });
  await call(T, 'Start', { id: 'c3' });
  await call(T, 'Wait', { id: 'c3' });
  await d.stop('SIGTERM');
  d = await daemon(dir);
  C = d.client('Containers');
  T = d.client('Tasks');
  await call(T, 'Kill', { id: 'b2', signal: 'KILL' });
  await call(T, 'Wait', { id: 'b2' });
  await call(T, 'Pause', { id: 'b2' }).catch(() => undefined); // refused: it has exited (audited)
  await call(C, 'Create', { id: 'd4', ...sleeper });
  await call(T, 'Create', { id: 'd4' });
  await call(T, 'Start', { id: 'd4' });
  await d.stop('SIGKILL');
  d = await daemon(dir);
  C = d.client('Containers');
  T = d.client('Tasks');
  await call(T, 'Delete', { id: 'c3' });
  await call(C, 'Delete', { id: 'c3' });
  await pause(40);
  await call(T, 'Pause', { id: 'd4' });
  await call(C, 'Create', { id: 'n1', ...sleeper, labels: { tier: 'ops' } }, 'ops');
  events = (await readEvents(d)).map((e) => ({ ...e, seq: Number(e.seq) }));
  base = await webUrl(d);
  browser = await launchBrowser();
});

const opts = { skip: skip ?? false, timeout: 120_000 };

/** chronicle.v1.History.StateAt over gRPC. */
async function stateAt(at: string): Promise<{ seq: number; ts: number; containers: ContainerWire[] }> {
  const r = await call<{ seq: number; ts: number; containers: ContainerWire[] }>(d.client('History'), 'StateAt', { at });
  return { seq: Number(r.seq), ts: Number(r.ts), containers: r.containers };
}

const statusOf = (c: ContainerWire): string => c.task?.status ?? 'created';
const line = (c: ContainerWire): string => `${c.namespace}/${c.id} ${statusOf(c)} ${c.task?.status === 'exited' ? c.task.exitCode : ''}`.trim();

/** The table as the page shows it, one line per container. */
async function tableLines(page: Page): Promise<{ seq: number; lines: string[] }> {
  return page.$eval('.state', (el) => ({
    seq: Number(el.querySelector<HTMLElement>('.seq')?.dataset['seq']),
    lines: [...el.querySelectorAll<HTMLTableRowElement>('tbody tr')].map((tr) => {
      const exit = tr.cells[5]?.textContent?.split(' ')[0] ?? '';
      return `${tr.dataset['key']} ${tr.dataset['status']} ${exit}`.trim();
    }),
  }));
}

/** Waits until the page has drawn a state after `count` and has nothing in flight. */
async function settled(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => Number(document.documentElement.dataset['states'] ?? 0) > n && document.documentElement.dataset['busy'] === undefined, count);
}
const states = (page: Page): Promise<number> => page.evaluate(() => Number(document.documentElement.dataset['states'] ?? 0));

async function typeCursor(page: Page, at: string): Promise<void> {
  const n = await states(page);
  await page.fill('#goto-input', at);
  await page.press('#goto-input', 'Enter');
  await settled(page, n);
}

test('the rows and spans are the statuses StateAt gives at every seq, and the daemon rules are its lives', opts, async () => {
  // The oracle: each container's status after every seq, from gRPC StateAt.
  const head = events.at(-1)!.seq;
  const statusBySeq = new Map<string, (string | undefined)[]>();
  const exitBySeq = new Map<string, (number | undefined)[]>();
  for (let seq = 0; seq <= head; seq++) {
    const s = await stateAt(String(seq));
    const present = new Map(s.containers.map((c) => [`${c.namespace}/${c.id}`, c]));
    for (const k of present.keys()) if (!statusBySeq.has(k)) statusBySeq.set(k, Array<string | undefined>(head + 1).fill(undefined));
    for (const [k, arr] of statusBySeq) {
      const c = present.get(k);
      arr[seq] = c ? statusOf(c) : arr[seq - 1] !== undefined ? 'deleted' : undefined;
      if (!exitBySeq.has(k)) exitBySeq.set(k, []);
      exitBySeq.get(k)![seq] = c?.task?.status === 'exited' ? c.task.exitCode : undefined;
    }
  }
  const expected = [...statusBySeq].map(([key, arr]) => {
    const spans: string[] = [];
    for (let seq = 1; seq <= head; seq++) {
      if (arr[seq] === undefined || arr[seq] === arr[seq - 1]) continue;
      if (spans.length) spans[spans.length - 1] += `-${seq}`;
      spans.push(`${arr[seq]}${arr[seq] === 'exited' ? `(${exitBySeq.get(key)![seq]})` : ''}@${seq}`);
    }
    return { key, spans };
  });

  const page = await openTimeline(browser!, base);
  const drawn = await page.$$eval('.tl-row', (rows) =>
    rows.map((r) => ({
      key: (r as HTMLElement).dataset['key']!,
      spans: [...r.querySelectorAll<HTMLElement>('.span')].map((s) => {
        const exit = s.dataset['status'] === 'exited' ? `(${s.dataset['exitCode']})` : '';
        return `${s.dataset['status']}${exit}@${s.dataset['fromSeq']}${s.dataset['toSeq'] ? `-${s.dataset['toSeq']}` : ''}`;
      }),
    })),
  );
  assert.deepEqual(drawn, expected);
  assert.deepEqual(
    drawn.map((r) => r.key),
    ['default/a1', 'default/b2', 'default/c3', 'default/d4', 'ops/n1'],
  );
  // Spans sit left to right in time.
  const lefts = await page.$$eval('.tl-row[data-key="default/a1"] .span', (els) => els.map((e) => e.getBoundingClientRect().left));
  assert.deepEqual(lefts, [...lefts].sort((a, b) => a - b));
  // One rule per daemon start, recovery and clean stop, at its seq.
  const rules = await page.$$eval('.rule', (els) => els.map((e) => `${(e as HTMLElement).dataset['rule']}@${(e as HTMLElement).dataset['seq']}`));
  const names: Record<string, string> = { DaemonStarted: 'started', DaemonRecovered: 'recovered', DaemonStopped: 'stopped' };
  assert.deepEqual(
    rules,
    events.filter((e) => names[e.type]).map((e) => `${names[e.type]}@${e.seq}`),
  );
  assert.equal(rules.filter((r) => r.startsWith('started')).length, 3, 'three daemon lives');
  // At the head the table is StateAt at the head.
  const now = await stateAt('');
  const t = await tableLines(page);
  assert.equal(t.seq, now.seq);
  assert.deepEqual(t.lines, now.containers.map(line).sort());
  await page.screenshot({ path: artifactPath('timeline-light.png'), fullPage: true });
  await page.close();
});

test('a cursor typed as a time or a seq, or dragged, shows exactly StateAt there; the changes since the last position are highlighted', opts, async () => {
  const page = await openTimeline(browser!, base);
  const ofType = (type: string, id: string): EventMsg => events.find((e) => e.type === type && e.id === id)!;
  const points: string[] = [];
  for (const e of [ofType('TaskPaused', 'a1'), ofType('TaskExited', 'c3'), ofType('TaskExited', 'b2'), ofType('ContainerDeleted', 'c3')]) {
    const ts = (await stateAt(String(e.seq))).ts;
    points.push(new Date(ts).toISOString(), new Date(ts - 1).toISOString(), String(e.seq - 1));
  }
  points.push('0', '1');
  for (const at of points) {
    await typeCursor(page, at);
    const want = await stateAt(at);
    const got = await tableLines(page);
    assert.equal(got.seq, want.seq, `seq at ${at}`);
    assert.deepEqual(got.lines, want.containers.map(line).sort(), `table at ${at}`);
    assert.equal(new URL(page.url()).searchParams.get('at'), at, 'the URL keeps the cursor');
  }
  // Diff: from one seq to another, the highlighted rows and the listed changes are History.Diff's.
  const from = ofType('TaskStarted', 'a1').seq;
  const to = ofType('TaskPaused', 'a1').seq;
  await typeCursor(page, String(from));
  await typeCursor(page, String(to));
  const diff = await call<{ changes: ChangeWire[] }>(d.client('History'), 'Diff', { from: String(from), to: String(to) });
  const changedKeys = [...new Set(diff.changes.map((c) => `${c.namespace}/${c.id}`))].sort();
  assert.deepEqual(changedKeys, ['default/a1', 'default/b2'], 'a1 paused, b2 created and started');
  const highlighted = await page.$$eval('.state tr.changed', (trs) => trs.map((tr) => (tr as HTMLElement).dataset['key']!).sort());
  assert.deepEqual(highlighted, changedKeys);
  const listed = await page.$$eval('.changes li', (lis) => lis.map((li) => `${(li as HTMLElement).dataset['key']}:${(li as HTMLElement).dataset['kind']}`));
  assert.deepEqual(
    listed,
    diff.changes.map((c) => `${c.namespace}/${c.id}:${c.kind}`),
  );
  await page.screenshot({ path: artifactPath('cursor-diff.png'), fullPage: true });

  // Dragging along the axis: the table is StateAt at the time the drag ended on.
  const axis = (await page.locator('.tl-axis').boundingBox())!;
  const y = axis.y + axis.height / 2;
  for (const f of [0.15, 0.5, 0.8, 0.35]) {
    const n = await states(page);
    await page.mouse.move(axis.x + axis.width * 0.05, y);
    await page.mouse.down();
    await page.mouse.move(axis.x + axis.width * f, y, { steps: 8 });
    await page.mouse.up();
    await settled(page, n);
    const at = new URL(page.url()).searchParams.get('at')!;
    assert.match(at, /^\d{4}-\d{2}-\d{2}T/, 'a dragged cursor is a time');
    const want = await stateAt(at);
    const got = await tableLines(page);
    assert.equal(got.seq, want.seq, `seq at ${at}`);
    assert.deepEqual(got.lines, want.containers.map(line).sort(), `table at ${at}`);
    assert.equal(await page.getAttribute('.tl-cursor', 'aria-valuenow'), String(want.seq));
  }

  // Zoomed in (keys + and Ctrl+wheel), a drag still lands exactly on StateAt.
  await page.focus('body');
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  assert.equal(await page.getAttribute('.timeline', 'data-zoomed'), 'true');
  await page.mouse.move(axis.x + axis.width / 2, y + 40);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -100);
  await page.keyboard.up('Control');
  {
    const n = await states(page);
    await page.mouse.move(axis.x + axis.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(axis.x + axis.width * 0.6, y, { steps: 5 });
    await page.mouse.up();
    await settled(page, n);
    const at = new URL(page.url()).searchParams.get('at')!;
    const want = await stateAt(at);
    assert.deepEqual((await tableLines(page)).lines, want.containers.map(line).sort(), `zoomed, table at ${at}`);
  }
  await page.screenshot({ path: artifactPath('zoomed.png'), fullPage: true });
  await page.keyboard.press('0');
  assert.equal(await page.getAttribute('.timeline', 'data-zoomed'), 'false');

  // The keyboard: Home, then one event at a time, then the next change, then End (live).
  await page.focus('.tl-cursor');
  let n = await states(page);
  await page.keyboard.press('Home');
  await settled(page, n);
  assert.equal((await tableLines(page)).seq, 0);
  n = await states(page);
  await page.keyboard.press('Shift+ArrowRight');
  await settled(page, n);
  assert.equal((await tableLines(page)).seq, 1);
  const firstContainer = events.find((e) => e.type === 'ContainerCreated')!.seq;
  for (let k = 0; k < 5 && (await tableLines(page)).seq < firstContainer; k++) {
    n = await states(page);
    await page.keyboard.press('ArrowRight');
    await settled(page, n);
  }
  assert.equal((await tableLines(page)).seq, firstContainer, 'ArrowRight steps to the next change');
  n = await states(page);
  await page.keyboard.press('End');
  await settled(page, n);
  assert.equal((await tableLines(page)).seq, events.at(-1)!.seq);
  assert.equal(new URL(page.url()).searchParams.get('at'), null, 'following the head');
  await page.close();
});

test('a container started during the test appears live, without a reload', opts, async () => {
  const page = await openTimeline(browser!, base);
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  await page.waitForSelector('.conn.on');
  const C = d.client('Containers');
  const T = d.client('Tasks');
  await call(C, 'Create', { id: 'e5', ...sleeper, labels: { tier: 'live' } });
  await call(T, 'Create', { id: 'e5' });
  await call(T, 'Start', { id: 'e5' });
  await page.waitForSelector('.tl-row[data-key="default/e5"] .span[data-status="running"]');
  await page.waitForSelector('.state tr[data-key="default/e5"][data-status="running"]');
  assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'no reload');
  const head = await call<{ seq: number }>(d.client('Events'), 'Head', {});
  await page.waitForFunction((seq) => document.querySelector('.state .seq')?.getAttribute('data-seq') === String(seq), Number(head.seq));
  await page.screenshot({ path: artifactPath('live.png'), fullPage: true });
  await page.close();
});

test('a shared URL restores the same view: cursor, filters and the open container with its events, requests and chain status', opts, async () => {
  const page = await openTimeline(browser!, base);
  const killed = events.find((e) => e.type === 'TaskExited' && e.id === 'b2')!.seq;
  await typeCursor(page, String(killed));
  await page.fill('input[name="label"]', 'tier');
  await page.selectOption('select[name="state"]', 'exited');
  await page.click('.tl-name[data-key="default/b2"]');
  await page.waitForSelector('.detail[data-loaded="default/b2"]');
  const url = page.url();
  const p = new URL(url).searchParams;
  assert.deepEqual([p.get('at'), p.get('label'), p.get('state'), p.get('c')], [String(killed), 'tier', 'exited', 'default/b2']);
  const snapshot = async (pg: Page): Promise<unknown> => ({
    table: await tableLines(pg),
    rows: await pg.$$eval('.tl-row', (rows) => rows.map((r) => (r as HTMLElement).dataset['key'])),
    filters: await pg.$eval('form.filters', (f) => Object.fromEntries(new FormData(f as HTMLFormElement))),
    detail: await pg.$$eval('.detail tbody tr', (trs) => trs.map((tr) => tr.textContent)),
    chain: await pg.getAttribute('.detail .chain', 'data-chain'),
    cursor: await pg.getAttribute('.tl-cursor', 'aria-valuenow'),
  });
  const before = await snapshot(page);
  const shared = await openTimeline(browser!, url);
  await shared.waitForSelector('.detail[data-loaded="default/b2"]');
  assert.deepEqual(await snapshot(shared), before);
  // What the view shows is what History says.
  const want = await stateAt(String(killed));
  assert.deepEqual(
    (await tableLines(shared)).lines,
    want.containers
      .filter((c) => statusOf(c) === 'exited' && 'tier' in c.labels)
      .map(line)
      .sort(),
  );
  const rows = await shared.$$eval('.tl-row', (rs) => rs.map((r) => (r as HTMLElement).dataset['key']));
  assert.deepEqual(rows, ['default/b2', 'default/c3'], 'exited at the cursor, with a tier label');
  const detailSeqs = await shared.$$eval('.detail tbody tr', (trs) => trs.map((tr) => Number((tr as HTMLElement).dataset['seq'])));
  assert.deepEqual(
    detailSeqs,
    events.filter((e) => e.id === 'b2').map((e) => e.seq),
  );
  assert.equal(await shared.getAttribute('.detail .chain', 'data-chain'), 'ok');
  assert.match((await shared.textContent('.detail .exits')) ?? '', /exit code 137/);
  const startRow = (await shared.textContent('.detail tr[data-type="TaskStarted"]')) ?? '';
  assert.match(startRow, /tasks\.Start/);
  assert.match(startRow, /completed/);
  assert.match(startRow, /uid:\d+/);
  const refused = (await shared.textContent('.detail tr[data-type="RequestDenied"], .detail tr[data-type="RequestFailed"]')) ?? '';
  assert.match(refused, /tasks\.Pause/, 'the refused pause is in its history');
  await shared.screenshot({ path: artifactPath('shared-url-detail.png'), fullPage: true });
  // Esc closes the detail and the URL forgets it.
  await shared.keyboard.press('Escape');
  await shared.waitForSelector('.detail', { state: 'hidden' });
  assert.equal(new URL(shared.url()).searchParams.get('c'), null);
  await page.close();
  await shared.close();
});

test('keyboard only: search, open, close; readable in dark and light', opts, async () => {
  const page = await openTimeline(browser!, base, { colorScheme: 'dark' });
  await page.screenshot({ path: artifactPath('timeline-dark.png'), fullPage: true });
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'search');
  await page.keyboard.type('a1');
  await page.waitForFunction(() => document.querySelectorAll('.tl-row').length === 1);
  assert.equal(new URL(page.url()).searchParams.get('q'), 'a1');
  await page.keyboard.press('Escape'); // leaves the search box
  await page.focus('.tl-name[data-key="default/a1"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.detail[data-loaded="default/a1"]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('.detail', { state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-key')), 'default/a1', 'focus returns to the row');
  // Namespace and actor filters, on the rows and the table alike.
  await page.fill('#search', '');
  await page.selectOption('select[name="ns"]', 'ops');
  await page.waitForFunction(() => [...document.querySelectorAll('.tl-row')].map((r) => r.getAttribute('data-key')).join() === 'ops/n1');
  assert.deepEqual(await page.$$eval('.state tbody tr[data-key]', (trs) => trs.map((tr) => tr.getAttribute('data-key'))), ['ops/n1']);
  await page.selectOption('select[name="ns"]', '');
  await page.selectOption('select[name="actor"]', 'shim');
  const byShim = [...new Set(events.filter((e) => e.actor === 'shim' && e.id).map((e) => `${e.namespace}/${e.id}`))].sort();
  assert.ok(byShim.length >= 2, 'exits are reported by shims');
  await page.waitForFunction((want) => [...document.querySelectorAll('.tl-row')].map((r) => r.getAttribute('data-key')).join() === want, byShim.join());
  assert.equal(new URL(page.url()).searchParams.get('actor'), 'shim');
  await page.selectOption('select[name="actor"]', '');
  // Contrast of the text on the page background, in both schemes (WCAG AA: 4.5).
  const contrast = (pg: Page): Promise<number> =>
    pg.evaluate(() => {
      const rgb = (s: string): number[] => (s.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const lum = (c: number[]): number => {
        const [r, g, b] = c.map((v) => {
          const x = v / 255;
          return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const st = getComputedStyle(document.body);
      const a = lum(rgb(st.color));
      const b = lum(rgb(st.backgroundColor));
      return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    });
  const bg = (pg: Page): Promise<string> => pg.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.ok((await contrast(page)) >= 4.5);
  assert.equal(await bg(page), 'rgb(13, 17, 23)', 'dark when the system is dark');
  // The theme button overrides the system: light, then dark, then the system's again.
  await page.click('.theme-btn');
  assert.equal(await bg(page), 'rgb(255, 255, 255)');
  assert.ok((await contrast(page)) >= 4.5);
  await page.click('.theme-btn');
  assert.equal(await bg(page), 'rgb(13, 17, 23)');
  await page.click('.theme-btn');
  await page.close();
});

test('a daemon with a token: the page asks for it, or takes it from the URL fragment and forgets it there', opts, async () => {
  const dir = tempDir('chr-webui-tok-');
  const token = 'web-ui-test-token-0123456789';
  const td = await startDaemon({ dir, args: ['--shim-pool', '0', '--http', '127.0.0.1:0'], env: { CHRONICLE_HTTP_TOKEN: token } });
  started.push(td);
  const url = await webUrl(td);
  const page = await browser!.newPage();
  await page.goto(url);
  await page.waitForSelector('.token-form input[type="password"]');
  assert.match((await page.textContent('.error')) ?? '', /UNAUTHENTICATED/);
  await page.fill('.token-form input', token);
  await page.press('.token-form input', 'Enter');
  await page.waitForSelector('html[data-ready="true"]');
  await page.close();
  const fresh = await browser!.newContext();
  const viaFragment = await fresh.newPage();
  await viaFragment.goto(`${url}#token=${token}`);
  await viaFragment.waitForSelector('html[data-ready="true"]');
  assert.equal(new URL(viaFragment.url()).hash, '', 'the token leaves the address bar');
  await viaFragment.waitForSelector('.conn.on'); // the event stream sends it too
  await fresh.close();
});

test('a real checkpoint and restore (runc, CRIU) draw as markers on their row', opts, async () => {
  const cd = await daemon(tempDir('chr-webui-cp-'));
  const id = 'cp1';
  await call(cd.client('Containers'), 'Create', { id, runtime: 'runc', rootfs: busyboxRootfs(), args: ['/bin/sh', '-c', 'while :; do sleep 0.1; done'] });
  await call(cd.client('Tasks'), 'Create', { id });
  await call(cd.client('Tasks'), 'Start', { id });
  // The dump stops the task; restoring into the same container brings it back.
  await call(cd.client('Checkpoints'), 'Create', { id, leaveRunning: false, name: 'ck1' });
  await call(cd.client('Tasks'), 'Delete', { id });
  await call(cd.client('Checkpoints'), 'Restore', { checkpointId: 'ck1', id });
  const events = await readEvents(cd);
  const seqOf = (type: string): number => Number(events.find((e) => e.id === id && e.type === type)!.seq);
  const page = await openTimeline(browser!, await webUrl(cd));
  const markers = await page.$$eval(`.tl-row[data-key="default/${id}"] .marker`, (ms) => ms.map((m) => `${(m as HTMLElement).dataset['marker']}@${(m as HTMLElement).dataset['seq']}`));
  assert.deepEqual(markers, [`checkpoint@${seqOf('TaskCheckpointed')}`, `restore@${seqOf('TaskRestored')}`]);
  const spans = await page.$$eval(`.tl-row[data-key="default/${id}"] .span`, (ss) => ss.map((x) => (x as HTMLElement).dataset['status']));
  assert.deepEqual(spans, ['created', 'running', 'exited', 'created', 'running']);
  await page.screenshot({ path: artifactPath('checkpoint-markers.png'), fullPage: true });
  await page.close();
  await call(cd.client('Tasks'), 'Delete', { id, force: true });
});
