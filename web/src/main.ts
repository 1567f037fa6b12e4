// The web timeline: loads the overview, draws the timeline, follows the log live, and keeps
// the StateAt table in step with the time cursor. A move of the cursor asks the daemon for
// the state there and the changes since the previous position, in one request; while one
// is in flight only the latest move waits (a fast drag never queues up stale states).
// The URL keeps the cursor, the filters and the open container.
import type { LiveEventWire, OverviewMessage, StateAtWire } from '../../src/api/http-wire.js';
import { Api, ApiError } from './api.js';
import { DetailPanel } from './detail.js';
import { formatTime, must } from './dom.js';
import { containerMatches, FilterBar, readUrl, rowMatches, writeUrl, type Filters, type ViewState } from './filters.js';
import { Model } from './model.js';
import { StateTable } from './state-table.js';
import { TimelineView } from './timeline.js';
import { initTheme } from './theme.js';

const api = new Api();
const model = new Model();
const view: ViewState = readUrl(location.search);

const app = must<HTMLElement>(document, '#app');
app.innerHTML = `
  <a class="skip" href="#search">Skip to the filters</a>
  <header class="top">
    <h1>chronicle <span>timeline</span></h1>
    <form class="goto" aria-label="Move the cursor">
      <label for="goto-input">Cursor</label>
      <input id="goto-input" name="at" placeholder="seq, 2026-12-01T03:12:00Z or 10m" autocomplete="off" spellcheck="false" />
      <button type="submit">Go</button>
      <button type="button" class="live-btn" aria-pressed="true" title="Follow the head (End on the cursor)">Live</button>
    </form>
    <p class="status" aria-live="polite"><span class="head"></span> <span class="conn"></span></p>
    <button type="button" class="theme-btn" title="Light, dark or the system's"></button>
    <details class="keys"><summary>Keys</summary><dl>
      <dt>/</dt><dd>search</dd><dt>g</dt><dd>type a cursor point</dd><dt>c</dt><dd>focus the cursor</dd>
      <dt>← →</dt><dd>previous / next change (on the cursor)</dd><dt>Shift+← →</dt><dd>previous / next event</dd>
      <dt>Home End</dt><dd>start / follow the head</dd><dt>↑ ↓ Enter</dt><dd>containers; open one</dd><dt>Esc</dt><dd>close the detail</dd>
    </dl></details>
  </header>
  <main class="main"></main>
  <p class="error" role="alert" hidden></p>`;
const main = must<HTMLElement>(app, '.main');
const errorEl = must<HTMLElement>(app, '.error');
const gotoForm = must<HTMLFormElement>(app, '.goto');
const gotoInput = must<HTMLInputElement>(app, '#goto-input');
const liveBtn = must<HTMLButtonElement>(app, '.live-btn');
initTheme(must<HTMLButtonElement>(app, '.theme-btn'));

let shownSeq = 0;
let haveShown = false;
/** The seq the cursor is heading to (ahead of shownSeq while a request is in flight). */
let targetSeq = 0;
/** The time the cursor shows while dragging (else the time of the state shown). */
let dragTs: number | undefined;
/** The time of the state shown. */
let lastTs = 0;

const filterBar = new FilterBar(main, (f) => {
  view.filters = f;
  applyFilters();
  saveUrl();
});
const timeline = new TimelineView(main, model, {
  cursor: (ts, final) => {
    dragTs = final ? undefined : ts;
    moveTo(new Date(ts).toISOString());
  },
  step: (dir, fine) => {
    const to = fine ? Math.min(model.head, Math.max(0, targetSeq + dir)) : model.stepFrom(targetSeq, dir);
    if (to !== undefined) moveTo(String(to));
  },
  jump: (to) => (to === 'head' ? followHead() : moveTo('0')),
  select: (row) => void openRow(row.ns, row.id),
});
const table = new StateTable(main, (ns, id) => void openRow(ns, id));
const detail = new DetailPanel(main, api, {
  close: () => closeDetail(),
  seek: (seq) => moveTo(String(seq)),
});

function showError(e: unknown): void {
  if (e instanceof DOMException && e.name === 'AbortError') return;
  errorEl.hidden = false;
  errorEl.textContent = e instanceof ApiError ? `${e.code}${e.field ? ` (${e.field})` : ''}: ${e.message}` : String(e);
  if (e instanceof ApiError && e.status === 401) askToken();
}

function saveUrl(): void {
  history.replaceState(null, '', writeUrl(view));
}

function applyFilters(): void {
  const f: Filters = view.filters;
  timeline.setRows(model.rows.filter((r) => rowMatches(model, r, f, shownSeq)));
  table.setFilter((c) => containerMatches(model, c, f));
}

async function openRow(ns: string, id: string): Promise<void> {
  view.open = `${ns}/${id}`;
  saveUrl();
  main.classList.add('with-detail');
  timeline.setSelected(view.open);
  table.setSelected(view.open);
  try {
    await detail.show(ns, id);
    detail.el.querySelector<HTMLElement>('.close')?.focus({ preventScroll: true });
  } catch (e) {
    showError(e);
  }
}

function closeDetail(): void {
  const key = view.open;
  view.open = undefined;
  saveUrl();
  detail.close();
  main.classList.remove('with-detail');
  timeline.setSelected(undefined);
  table.setSelected(undefined);
  if (key) main.querySelector<HTMLElement>(`.tl-name[data-key="${CSS.escape(key)}"], tr[data-key="${CSS.escape(key)}"]`)?.focus();
}

// --- the cursor -------------------------------------------------------------------------
let inFlight = false;
let pending = false;

/** Moves the cursor to a point (seq, time or duration, as the daemon's parsePoint reads it). */
function moveTo(spec: string): void {
  const same = spec === view.at && !pending;
  view.at = spec;
  if (/^\d+$/.test(spec)) targetSeq = Math.min(Number(spec), model.head);
  liveBtn.setAttribute('aria-pressed', 'false');
  if (dragTs !== undefined) timeline.setCursor(dragTs, targetSeq);
  // A drag released where it last moved to (a click) needs no second state.
  if (same && (inFlight || haveShown)) {
    if (!inFlight) timeline.setCursor(dragTs ?? lastTs, shownSeq);
    return;
  }
  request();
}

function followHead(): void {
  view.at = undefined;
  dragTs = undefined;
  liveBtn.setAttribute('aria-pressed', 'true');
  request();
}

function request(): void {
  if (inFlight) {
    pending = true;
    return;
  }
  inFlight = true;
  document.documentElement.dataset['busy'] = 'true';
  const at = view.at;
  const t0 = performance.now();
  api
    .get<StateAtWire>('state-at', { at: at ?? '', since: haveShown ? String(shownSeq) : undefined })
    .then((s) => {
      errorEl.hidden = true;
      const moved = s.seq !== shownSeq;
      shownSeq = s.seq;
      lastTs = s.ts;
      haveShown = true;
      if (!pending) targetSeq = s.seq;
      table.show(s);
      // The status filter follows the cursor (the spans do not change).
      if (moved && view.filters.state) applyFilters();
      timeline.setCursor(at === undefined ? undefined : (dragTs ?? s.ts), s.seq);
      if (document.activeElement !== gotoInput) gotoInput.value = at ?? '';
      saveUrl();
      // For tests and the bench: how many states have been drawn.
      document.documentElement.dataset['states'] = String(Number(document.documentElement.dataset['states'] ?? 0) + 1);
      document.dispatchEvent(new CustomEvent('chronicle:state', { detail: { seq: s.seq, ms: performance.now() - t0 } }));
    })
    .catch(showError)
    .finally(() => {
      inFlight = false;
      if (pending) {
        pending = false;
        request();
      } else delete document.documentElement.dataset['busy'];
    });
}

gotoForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const v = gotoInput.value.trim();
  if (v === '' || v === 'head') followHead();
  else moveTo(v);
});
liveBtn.addEventListener('click', () => followHead());

// --- keyboard -----------------------------------------------------------------------------
document.addEventListener('keydown', (e) => {
  const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement;
  if (e.key === 'Escape') {
    if (typing) (e.target as HTMLElement).blur();
    else if (view.open) closeDetail();
    return;
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const focus: Record<string, () => void> = {
    '/': () => must<HTMLInputElement>(main, '#search').focus(),
    g: () => gotoInput.focus(),
    c: () => timeline.focusCursor(),
  };
  const f = focus[e.key];
  if (f) {
    e.preventDefault();
    f();
  }
});

// --- live -------------------------------------------------------------------------------
let liveTimer = 0;
function onLive(batch: LiveEventWire[]): void {
  let changed = false;
  for (const w of batch) changed = model.apply(w) || changed;
  showHead();
  if (changed) {
    applyFilters();
    filterBar.setChoices(model.namespaces(), model.actors(), view.filters);
  } else timeline.render();
  // Following the head: the table follows too, at most a few times a second.
  if (view.at === undefined && !liveTimer) {
    liveTimer = window.setTimeout(() => {
      liveTimer = 0;
      if (view.at === undefined) request();
    }, 150);
  }
  // The open container's detail follows its new events.
  if (view.open && batch.some((w) => `${w.event.namespace}/${w.event.id}` === view.open)) {
    const [ns, id] = splitKey(view.open);
    detail.show(ns, id).catch(showError);
  }
}

function showHead(): void {
  must(app, '.head').textContent = `head seq ${model.head} · ${formatTime(model.headTs)}`;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

function askToken(): void {
  if (document.querySelector('.token-form')) return;
  const form = document.createElement('form');
  form.className = 'token-form';
  form.innerHTML = `<label>This daemon needs its bearer token (httpToken): <input type="password" name="token" autocomplete="off" required /></label> <button type="submit">Use it</button>`;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = new FormData(form).get('token');
    if (typeof token === 'string') api.setToken(token.trim());
    location.reload();
  });
  errorEl.after(form);
  form.querySelector('input')?.focus();
}

async function start(): Promise<void> {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token');
  if (token) {
    api.setToken(token);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const t0 = performance.now();
  model.load(await api.get<OverviewMessage>('overview'));
  showHead();
  filterBar.setChoices(model.namespaces(), model.actors(), view.filters);
  filterBar.set(view.filters);
  applyFilters();
  timeline.renderNow();
  const first = new Promise<void>((resolve) => document.addEventListener('chronicle:state', () => resolve(), { once: true }));
  if (view.at !== undefined) moveTo(view.at);
  else followHead();
  await first;
  if (view.open) await openRow(...splitKey(view.open));
  app.removeAttribute('aria-busy');
  document.documentElement.dataset['ready'] = 'true';
  document.dispatchEvent(new CustomEvent('chronicle:ready', { detail: { ms: performance.now() - t0 } }));
  const conn = must(app, '.conn');
  void api.follow(
    model.head + 1,
    onLive,
    (live, err) => {
      conn.textContent = live ? '● live' : err ? `○ ${err.message}` : '○ reconnecting';
      conn.className = `conn ${live ? 'on' : 'off'}`;
    },
    new AbortController().signal,
  );
}

start().catch(showError);
