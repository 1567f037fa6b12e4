// The timeline: one row per container with its statuses as coloured spans over time,
// checkpoint/restore/OOM markers, the daemon's starts, recoveries and stops as vertical
// rules, and the time cursor. Rows are virtualised (only those in view are in the DOM), so
// a thousand containers with a hundred thousand events draw as fast as thirty.
import type { Mark } from '../../src/api/http-wire.js';
import { esc, formatTick, formatTime, labelsText, must } from './dom.js';
import { isStatus, type Model, type Row } from './model.js';

export const ROW_HEIGHT = 24;
const OVERSCAN = 8;

export interface TimelineEvents {
  /** The cursor was dragged or clicked to `ts`; `final` on release. */
  cursor: (ts: number, final: boolean) => void;
  /** Arrow keys on the cursor: to the next/previous mark (`fine`: the next/previous event). */
  step: (dir: -1 | 1, fine: boolean) => void;
  /** Home/End on the cursor. */
  jump: (to: 'start' | 'head') => void;
  select: (row: Row) => void;
}

const RULE_TEXT: Readonly<Record<string, string>> = { started: 'daemon started', recovered: 'daemon recovered', stopped: 'daemon stopped' };
const MARKER_TEXT: Readonly<Record<string, string>> = { checkpoint: 'checkpointed', restore: 'restored', oom: 'OOM' };

export class TimelineView {
  readonly el: HTMLElement;
  readonly #body: HTMLElement;
  readonly #sizer: HTMLElement;
  readonly #axis: HTMLElement;
  readonly #rules: HTMLElement;
  readonly #cursor: HTMLElement;
  readonly #track: HTMLElement;
  #rows: Row[] = [];
  #cursorTs: number | undefined;
  #cursorSeq = 0;
  #selected: string | undefined;
  #frame = 0;
  #t0 = 0;
  #t1 = 1;
  #dragging = false;

  constructor(
    parent: HTMLElement,
    private readonly model: Model,
    private readonly on: TimelineEvents,
  ) {
    this.el = document.createElement('section');
    this.el.className = 'timeline';
    this.el.setAttribute('aria-label', 'Timeline');
    this.el.innerHTML = `
      <div class="tl-head"><div class="tl-gutter">container</div><div class="tl-axis" aria-hidden="true"></div></div>
      <div class="tl-body"><div class="tl-sizer" role="list" aria-label="Containers"></div></div>
      <div class="tl-overlay"><div class="tl-track-area">
        <div class="tl-rules"></div>
        <div class="tl-cursor" role="slider" tabindex="0" aria-label="Time cursor" aria-valuemin="0" aria-valuenow="0"
          title="Drag, or use ←/→ (next change), Shift+←/→ (next event), Home/End"><span class="tl-cursor-label"></span></div>
      </div></div>
      <p class="legend" aria-hidden="true"><span><i class="s-created"></i>created</span><span><i class="s-running"></i>running</span>
        <span><i class="s-paused"></i>paused</span><span><i class="s-exited"></i>exited</span><span><i class="lg-deleted"></i>deleted</span>
        <span><i class="lg-marker m-checkpoint"></i>checkpoint</span><span><i class="lg-marker m-restore"></i>restore</span>
        <span><i class="lg-rule r-started"></i>daemon start</span><span><i class="lg-rule r-recovered"></i>recovery</span><span><i class="lg-rule r-stopped"></i>daemon stop</span></p>`;
    parent.append(this.el);
    this.#body = must(this.el, '.tl-body');
    this.#sizer = must(this.el, '.tl-sizer');
    this.#axis = must(this.el, '.tl-axis');
    this.#rules = must(this.el, '.tl-rules');
    this.#cursor = must(this.el, '.tl-cursor');
    this.#track = must(this.el, '.tl-track-area');
    this.#body.addEventListener('scroll', () => this.render(), { passive: true });
    new ResizeObserver(() => this.render()).observe(this.#body);
    this.#wirePointer();
    this.#wireKeys();
  }

  setRows(rows: Row[]): void {
    this.#rows = rows;
    this.render();
  }

  /** Where the cursor stands: a time (undefined: at the head) and the seq it resolved to. */
  setCursor(ts: number | undefined, seq: number): void {
    this.#cursorTs = ts;
    this.#cursorSeq = seq;
    this.#placeCursor();
  }

  setSelected(key: string | undefined): void {
    this.#selected = key;
    this.render();
  }

  get dragging(): boolean {
    return this.#dragging;
  }

  focusCursor(): void {
    this.#cursor.focus();
  }

  /** Redraws on the next frame (many calls, one draw). */
  render(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw();
    });
  }

  /** Draws now (first render, tests of timing). */
  renderNow(): void {
    if (this.#frame) cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.#draw();
  }

  #domain(): void {
    const m = this.model;
    const t0 = m.firstTs || Date.now();
    const span = Math.max(m.headTs - t0, 1000);
    this.#t0 = t0;
    this.#t1 = t0 + span * 1.02; // a little room after the last event
  }

  #pct(ts: number): number {
    return ((ts - this.#t0) / (this.#t1 - this.#t0)) * 100;
  }

  #draw(): void {
    this.#domain();
    this.#sizer.style.height = `${this.#rows.length * ROW_HEIGHT}px`;
    const first = Math.max(0, Math.floor(this.#body.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.#rows.length, Math.ceil((this.#body.scrollTop + this.#body.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    let html = '';
    for (let i = first; i < last; i++) html += this.#rowHtml(this.#rows[i]!, i);
    if (this.#rows.length === 0) html = '<p class="tl-empty">No container matches.</p>';
    // Redrawing replaces the names: keep the keyboard focus on the same one.
    const focused = document.activeElement instanceof HTMLElement && this.#sizer.contains(document.activeElement) ? document.activeElement.dataset['key'] : undefined;
    this.#sizer.innerHTML = html;
    if (focused) this.#sizer.querySelector<HTMLElement>(`.tl-name[data-key="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
    this.#drawAxis();
    this.#drawRules();
    this.#placeCursor();
  }

  #rowHtml(row: Row, i: number): string {
    let spans = '';
    for (const s of this.model.spans(row)) {
      const left = this.#pct(s.fromTs);
      const right = s.toTs === undefined ? 100 : this.#pct(s.toTs);
      const exit = s.status === 'exited' && s.exitCode !== null ? ` (exit ${s.exitCode})` : '';
      const title = `${s.status}${exit}: seq ${s.fromSeq}${s.toSeq === undefined ? ' on' : `–${s.toSeq}`}, ${formatTime(s.fromTs)}`;
      spans +=
        `<div class="span s-${s.status}" data-status="${s.status}" data-from-seq="${s.fromSeq}" data-to-seq="${s.toSeq ?? ''}"` +
        `${s.exitCode !== null ? ` data-exit-code="${s.exitCode}"` : ''} style="left:${left.toFixed(4)}%;width:${Math.max(0, right - left).toFixed(4)}%" title="${esc(title)}"></div>`;
    }
    for (const m of row.marks) if (!isStatus(m[3])) spans += this.#markerHtml(m);
    const selected = row.key === this.#selected;
    const labels = labelsText(row.labels);
    return (
      `<div class="tl-row${selected ? ' selected' : ''}" role="listitem" data-key="${esc(row.key)}" style="top:${i * ROW_HEIGHT}px">` +
      `<button type="button" class="tl-name" data-key="${esc(row.key)}" aria-pressed="${selected}" title="${esc(`${row.key}${labels ? ` — ${labels}` : ''}`)}">` +
      `<span class="tl-ns">${esc(row.ns)}/</span>${esc(row.id)}</button>` +
      `<div class="tl-track">${spans}</div></div>`
    );
  }

  #markerHtml(m: Mark): string {
    const text = `${MARKER_TEXT[m[3]] ?? m[3]} at seq ${m[0]}, ${formatTime(m[1])}`;
    return `<div class="marker m-${m[3]}" data-marker="${m[3]}" data-seq="${m[0]}" style="left:${this.#pct(m[1]).toFixed(4)}%" title="${esc(text)}" aria-label="${esc(text)}"></div>`;
  }

  #drawAxis(): void {
    const range = this.#t1 - this.#t0;
    const width = this.#axis.clientWidth || 800;
    const n = Math.max(2, Math.min(10, Math.floor(width / 160)));
    let html = '';
    for (let k = 0; k <= n; k++) {
      const ts = this.#t0 + (range * k) / n;
      html += `<span class="tick" style="left:${((k / n) * 100).toFixed(3)}%">${esc(formatTick(ts, range))}</span>`;
    }
    this.#axis.innerHTML = html;
  }

  #drawRules(): void {
    let html = '';
    for (const m of this.model.rules) {
      const text = `${RULE_TEXT[m[3]] ?? m[3]} at seq ${m[0]}, ${formatTime(m[1])}`;
      html += `<div class="rule r-${m[3]}" data-rule="${m[3]}" data-seq="${m[0]}" style="left:${this.#pct(m[1]).toFixed(4)}%" title="${esc(text)}"></div>`;
    }
    this.#rules.innerHTML = html;
  }

  #placeCursor(): void {
    const ts = this.#cursorTs ?? this.model.headTs;
    const pct = Math.min(100, Math.max(0, this.#pct(ts)));
    this.#cursor.style.left = `${pct}%`;
    this.#cursor.classList.toggle('flip', pct > 70);
    this.#cursor.setAttribute('aria-valuenow', String(this.#cursorSeq));
    this.#cursor.setAttribute('aria-valuemax', String(this.model.head));
    const text = `seq ${this.#cursorSeq} · ${formatTime(ts)}`;
    this.#cursor.setAttribute('aria-valuetext', text);
    must(this.#cursor, '.tl-cursor-label').textContent = this.#cursorTs === undefined ? `live · ${text}` : text;
  }

  #tsAt(clientX: number): number {
    const r = this.#track.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - r.left) / Math.max(1, r.width)));
    return Math.round(this.#t0 + f * (this.#t1 - this.#t0));
  }

  #wirePointer(): void {
    // The overlay passes clicks through to the rows; the cursor handle and the axis start a drag.
    const start = (e: PointerEvent): void => {
      if (e.button !== 0) return;
      e.preventDefault();
      this.#dragging = true;
      const target = e.currentTarget as HTMLElement;
      target.setPointerCapture(e.pointerId);
      this.#cursor.focus({ preventScroll: true });
      const move = (ev: PointerEvent): void => this.on.cursor(this.#tsAt(ev.clientX), false);
      const up = (ev: PointerEvent): void => {
        this.#dragging = false;
        target.removeEventListener('pointermove', move);
        target.removeEventListener('pointerup', up);
        target.removeEventListener('pointercancel', up);
        this.on.cursor(this.#tsAt(ev.clientX), true);
      };
      target.addEventListener('pointermove', move);
      target.addEventListener('pointerup', up);
      target.addEventListener('pointercancel', up);
      this.on.cursor(this.#tsAt(e.clientX), false);
    };
    this.#cursor.addEventListener('pointerdown', start);
    this.#axis.addEventListener('pointerdown', start);
    // A click on a track (not on a name) moves the cursor there too.
    this.#sizer.addEventListener('pointerdown', (e) => {
      if ((e.target as HTMLElement).closest('.tl-name')) return;
      if ((e.target as HTMLElement).closest('.tl-track')) start(e);
    });
    this.#sizer.addEventListener('click', (e) => {
      const name = (e.target as HTMLElement).closest<HTMLElement>('.tl-name');
      const row = name?.dataset['key'] ? this.model.byKey.get(name.dataset['key']) : undefined;
      if (row) this.on.select(row);
    });
  }

  #wireKeys(): void {
    this.#cursor.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') this.on.step(e.key === 'ArrowLeft' ? -1 : 1, e.shiftKey);
      else if (e.key === 'Home' || e.key === 'End') this.on.jump(e.key === 'Home' ? 'start' : 'head');
      else return;
      e.preventDefault();
    });
    // Up/Down between container names, as in a list.
    this.#sizer.addEventListener('keydown', (e) => {
      const name = (e.target as HTMLElement).closest<HTMLElement>('.tl-name');
      if (!name || (e.key !== 'ArrowDown' && e.key !== 'ArrowUp')) return;
      e.preventDefault();
      const i = this.#rows.findIndex((r) => r.key === name.dataset['key']) + (e.key === 'ArrowDown' ? 1 : -1);
      if (i < 0 || i >= this.#rows.length) return;
      const top = i * ROW_HEIGHT;
      if (top < this.#body.scrollTop) this.#body.scrollTop = top;
      else if (top + ROW_HEIGHT > this.#body.scrollTop + this.#body.clientHeight) this.#body.scrollTop = top + ROW_HEIGHT - this.#body.clientHeight;
      this.renderNow();
      this.#sizer.querySelector<HTMLElement>(`.tl-name[data-key="${CSS.escape(this.#rows[i]!.key)}"]`)?.focus();
    });
  }
}
