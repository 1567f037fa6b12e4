// The web timeline: loads the overview, draws the timeline, follows the log live, and keeps
// the StateAt table in step with the time cursor. A move of the cursor asks the daemon for
// the state there and the changes since the previous position, in one request; while one
// is in flight only the latest move waits (a fast drag never queues up stale states).
import type { StateAtWire, OverviewMessage } from '../../src/api/http-wire.js';
import { Api, ApiError } from './api.js';
import { esc, formatTime, must } from './dom.js';
import { Model, type Row } from './model.js';
import { StateTable } from './state-table.js';
import { TimelineView } from './timeline.js';

const api = new Api();
const model = new Model();

/** Where the cursor is: undefined follows the head live. */
interface Cursor {
  spec: string | undefined;
  /** The time it shows (while dragging, the dragged time; else the state's). */
  ts: number | undefined;
}

const app = must<HTMLElement>(document, '#app');
app.innerHTML = `
  <header class="top">
    <h1>chronicle <span>timeline</span></h1>
    <form class="goto" role="search" aria-label="Move the cursor">
      <label for="goto-input">Cursor</label>
      <input id="goto-input" name="at" placeholder="seq, 2026-12-01T03:12:00Z or 10m" autocomplete="off" spellcheck="false" />
      <button type="submit">Go</button>
      <button type="button" class="live-btn" aria-pressed="true" title="Follow the head (End)">Live</button>
    </form>
    <p class="status" aria-live="polite"><span class="head"></span> <span class="conn"></span></p>
  </header>
  <main class="main"></main>
  <p class="error" role="alert" hidden></p>`;
const main = must<HTMLElement>(app, '.main');
const errorEl = must<HTMLElement>(app, '.error');
const gotoForm = must<HTMLFormElement>(app, '.goto');
const gotoInput = must<HTMLInputElement>(app, '#goto-input');
const liveBtn = must<HTMLButtonElement>(app, '.live-btn');

const cursor: Cursor = { spec: undefined, ts: undefined };
let shownSeq = 0;
let haveShown = false;
/** The seq the cursor is heading to (ahead of shownSeq while a request is in flight). */
let targetSeq = 0;

const timeline = new TimelineView(main, model, {
  cursor: (ts, final) => {
    cursor.ts = ts;
    moveTo(new Date(ts).toISOString(), final);
  },
  step: (dir, fine) => {
    const to = fine ? Math.min(model.head, Math.max(0, targetSeq + dir)) : model.stepFrom(targetSeq, dir);
    if (to !== undefined) moveTo(String(to), true);
  },
  jump: (to) => (to === 'head' ? followHead() : moveTo('0', true)),
  select: (row) => selectRow(row),
});
const table = new StateTable(main, (ns, id) => {
  const row = model.byKey.get(`${ns}/${id}`);
  if (row) selectRow(row);
});

function showError(e: unknown): void {
  errorEl.hidden = false;
  errorEl.textContent = e instanceof ApiError ? `${e.code}${e.field ? ` (${e.field})` : ''}: ${e.message}` : String(e);
}

function selectRow(_row: Row): void {
  // The detail panel comes with the next step.
}

// --- the cursor -------------------------------------------------------------------------
let inFlight = false;
let pending: { spec: string | undefined } | undefined;

/** Moves the cursor to a point (seq, time or duration as parsePoint reads it). */
function moveTo(spec: string, _final: boolean): void {
  cursor.spec = spec;
  if (/^\d+$/.test(spec)) targetSeq = Math.min(Number(spec), model.head);
  liveBtn.setAttribute('aria-pressed', 'false');
  if (!timeline.dragging) cursor.ts = undefined;
  timeline.setCursor(cursor.ts ?? model.headTs, shownSeq);
  request({ spec });
}

function followHead(): void {
  cursor.spec = undefined;
  cursor.ts = undefined;
  liveBtn.setAttribute('aria-pressed', 'true');
  request({ spec: undefined });
}

function request(p: { spec: string | undefined }): void {
  if (inFlight) {
    pending = p;
    return;
  }
  inFlight = true;
  const t0 = performance.now();
  api
    .get<StateAtWire>('state-at', { at: p.spec ?? '', since: haveShown ? String(shownSeq) : undefined })
    .then((s) => {
      errorEl.hidden = true;
      shownSeq = s.seq;
      haveShown = true;
      if (!pending) targetSeq = s.seq;
      table.show(s);
      timeline.setCursor(cursor.spec === undefined ? undefined : (cursor.ts ?? s.ts), s.seq);
      if (document.activeElement !== gotoInput) gotoInput.value = cursor.spec === undefined ? '' : cursor.spec;
      document.dispatchEvent(new CustomEvent('chronicle:state', { detail: { seq: s.seq, ms: performance.now() - t0 } }));
    })
    .catch(showError)
    .finally(() => {
      inFlight = false;
      const next = pending;
      pending = undefined;
      if (next) request(next);
    });
}

gotoForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const v = gotoInput.value.trim();
  if (v === '' || v === 'head') followHead();
  else moveTo(v, true);
});
liveBtn.addEventListener('click', () => followHead());

// --- live -------------------------------------------------------------------------------
let liveTimer = 0;
function onLive(batch: Parameters<Model['apply']>[0][]): void {
  let changed = false;
  for (const w of batch) changed = model.apply(w) || changed;
  must(app, '.head').textContent = `head seq ${model.head} · ${formatTime(model.headTs)}`;
  if (changed) timeline.setRows(model.rows);
  else timeline.render();
  // Following the head: the table follows too, at most a few times a second.
  if (cursor.spec === undefined && !liveTimer) {
    liveTimer = window.setTimeout(() => {
      liveTimer = 0;
      if (cursor.spec === undefined) request({ spec: undefined });
    }, 150);
  }
}

async function start(): Promise<void> {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token');
  if (token) {
    api.setToken(token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const t0 = performance.now();
  const overview = await api.get<OverviewMessage>('overview');
  model.load(overview);
  must(app, '.head').textContent = `head seq ${model.head} · ${formatTime(model.headTs)}`;
  timeline.setRows(model.rows);
  timeline.renderNow();
  followHead();
  await new Promise<void>((resolve) => document.addEventListener('chronicle:state', () => resolve(), { once: true }));
  app.removeAttribute('aria-busy');
  document.documentElement.dataset['ready'] = 'true';
  document.dispatchEvent(new CustomEvent('chronicle:ready', { detail: { ms: performance.now() - t0 } }));
  const conn = must(app, '.conn');
  void api.follow(
    model.head + 1,
    onLive,
    (live, err) => {
      conn.textContent = live ? '● live' : err ? `○ ${esc(err.message)}` : '○ reconnecting';
      conn.className = `conn ${live ? 'on' : 'off'}`;
    },
    new AbortController().signal,
  );
}

start().catch(showError);
