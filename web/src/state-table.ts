// The table under the timeline: StateAt at the cursor, one row per container, with the
// changes since the previous cursor position (Diff) highlighted and listed. Rows are
// virtualised in their own scroll box (a thousand containers draw as fast as thirty);
// the list of changes shows the first LIST_MAX of them.
import type { ChangeWire, ContainerWire, StateAtWire } from '../../src/api/http-wire.js';
import { esc, formatTime, labelsText, must } from './dom.js';
import { keyOf } from './model.js';

const ROW_HEIGHT = 28;
const OVERSCAN = 10;
const LIST_MAX = 50;

function changeText(c: ChangeWire): string {
  switch (c.kind) {
    case 'created':
      return `created${c.toStatus ? ` (${c.toStatus})` : ''}`;
    case 'deleted':
      return 'deleted';
    case 'task-created':
      return `task created${c.detail ? ` (${c.detail})` : ''}`;
    case 'task-deleted':
      return 'task deleted';
    case 'transition':
      return `${c.fromStatus} → ${c.toStatus}`;
    case 'exited':
      return `${c.fromStatus} → exited (code ${c.exitCode}${c.detail ? `, ${c.detail}` : ''})`;
    case 'labels':
      return `labels ${c.detail}`;
    default:
      return c.kind;
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class StateTable {
  readonly el: HTMLElement;
  readonly #title: HTMLElement;
  readonly #changes: HTMLElement;
  readonly #scroll: HTMLElement;
  readonly #body: HTMLTableSectionElement;
  #last: StateAtWire | undefined;
  #rows: ContainerWire[] = [];
  #changed = new Map<string, ChangeWire[]>();
  #filter: (c: ContainerWire) => boolean = () => true;
  #selected: string | undefined;
  #frame = 0;

  constructor(
    parent: HTMLElement,
    private readonly onSelect: (ns: string, id: string) => void,
  ) {
    this.el = document.createElement('section');
    this.el.className = 'state';
    this.el.setAttribute('aria-label', 'State at the cursor');
    this.el.innerHTML =
      `<h2></h2><div class="changes" aria-live="polite" hidden></div>` +
      `<div class="table-scroll"><table><thead><tr><th scope="col">namespace</th><th scope="col">container</th><th scope="col">labels</th>` +
      `<th scope="col">status</th><th scope="col">pid</th><th scope="col">exit</th><th scope="col">change</th></tr></thead><tbody></tbody></table></div>`;
    parent.append(this.el);
    this.#title = must(this.el, 'h2');
    this.#changes = must(this.el, '.changes');
    this.#scroll = must(this.el, '.table-scroll');
    this.#body = must(this.el, 'tbody');
    this.#scroll.addEventListener('scroll', () => this.#schedule(), { passive: true });
    this.el.addEventListener('click', (e) => {
      const tr = (e.target as HTMLElement).closest<HTMLElement>('tr[data-key]');
      if (tr?.dataset['ns'] && tr.dataset['id']) this.onSelect(tr.dataset['ns'], tr.dataset['id']);
    });
    this.el.addEventListener('keydown', (e) => {
      const tr = (e.target as HTMLElement).closest<HTMLElement>('tr[data-key]');
      if (!tr) return;
      if ((e.key === 'Enter' || e.key === ' ') && tr.dataset['ns'] && tr.dataset['id']) {
        e.preventDefault();
        this.onSelect(tr.dataset['ns'], tr.dataset['id']);
      } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        this.#focusIndex(Number(tr.dataset['index']) + (e.key === 'ArrowDown' ? 1 : -1));
      }
    });
  }

  setFilter(f: (c: ContainerWire) => boolean): void {
    this.#filter = f;
    if (this.#last) this.show(this.#last);
  }

  setSelected(key: string | undefined): void {
    this.#selected = key;
    this.#draw();
  }

  show(s: StateAtWire): void {
    this.#last = s;
    this.#changed = new Map();
    for (const c of s.changes ?? []) {
      const k = keyOf(c.namespace, c.id);
      const list = this.#changed.get(k);
      if (list) list.push(c);
      else this.#changed.set(k, [c]);
    }
    this.#rows = s.containers.filter(this.#filter).sort((a, b) => (a.namespace === b.namespace ? cmp(a.id, b.id) : cmp(a.namespace, b.namespace)));
    const hidden = s.containers.length - this.#rows.length;
    this.#title.innerHTML =
      `State at <span class="seq" data-seq="${s.seq}">seq ${s.seq}</span> <span class="ts">${formatTime(s.ts)}</span>` +
      ` <small>${this.#rows.length} container${this.#rows.length === 1 ? '' : 's'}${hidden ? `, ${hidden} filtered out` : ''}</small>`;
    const shown = new Set(this.#rows.map((r) => keyOf(r.namespace, r.id)));
    const changes = (s.changes ?? []).filter((c) => c.kind === 'deleted' || shown.has(keyOf(c.namespace, c.id)));
    const since = s.sinceSeq === undefined || s.sinceSeq === s.seq ? undefined : s.sinceSeq < s.seq ? `Changes since seq ${s.sinceSeq}` : `Changes going back from seq ${s.sinceSeq}`;
    this.#changes.hidden = since === undefined;
    if (since !== undefined) {
      const items = changes
        .slice(0, LIST_MAX)
        .map((c) => `<li data-key="${esc(keyOf(c.namespace, c.id))}" data-kind="${c.kind}"><span class="id">${esc(c.namespace)}/${esc(c.id)}</span> ${esc(changeText(c))}</li>`)
        .join('');
      const more = changes.length > LIST_MAX ? `<p class="more">and ${changes.length - LIST_MAX} more (highlighted in the table)</p>` : '';
      this.#changes.innerHTML = `<h3>${since}: ${changes.length}</h3>${items ? `<ul>${items}</ul>${more}` : '<p>none</p>'}`;
    }
    this.#draw();
  }

  #schedule(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw();
    });
  }

  #draw(): void {
    const top = this.#scroll.scrollTop;
    const height = this.#scroll.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.#rows.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const focused = document.activeElement instanceof HTMLElement && this.#body.contains(document.activeElement) ? document.activeElement.dataset['key'] : undefined;
    let html = first > 0 ? `<tr class="spacer" aria-hidden="true" style="height:${first * ROW_HEIGHT}px"></tr>` : '';
    for (let i = first; i < last; i++) html += this.#rowHtml(this.#rows[i]!, i);
    if (last < this.#rows.length) html += `<tr class="spacer" aria-hidden="true" style="height:${(this.#rows.length - last) * ROW_HEIGHT}px"></tr>`;
    this.#body.innerHTML = html;
    if (focused) this.#body.querySelector<HTMLElement>(`tr[data-key="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  #rowHtml(c: ContainerWire, i: number): string {
    const k = keyOf(c.namespace, c.id);
    const ch = this.#changed.get(k);
    const status = c.task?.status ?? 'created';
    const exit = c.task?.status === 'exited' ? `${c.task.exitCode}${c.task.exitReason ? ` (${esc(c.task.exitReason)})` : ''}` : '';
    const labels = esc(labelsText(c.labels));
    return (
      `<tr tabindex="0" data-index="${i}" data-key="${esc(k)}" data-ns="${esc(c.namespace)}" data-id="${esc(c.id)}" data-status="${status}"` +
      `${ch ? ' class="changed"' : ''}${k === this.#selected ? ' aria-selected="true"' : ''}>` +
      `<td>${esc(c.namespace)}</td><td class="id">${esc(c.id)}</td><td title="${labels}">${labels}</td>` +
      `<td><span class="badge s-${status}">${status}</span></td><td>${c.task?.pid || ''}</td><td>${exit}</td>` +
      `<td class="change">${ch ? esc(ch.map(changeText).join('; ')) : ''}</td></tr>`
    );
  }

  #focusIndex(i: number): void {
    if (i < 0 || i >= this.#rows.length) return;
    const top = i * ROW_HEIGHT;
    if (top < this.#scroll.scrollTop) this.#scroll.scrollTop = top;
    else if (top + ROW_HEIGHT > this.#scroll.scrollTop + this.#scroll.clientHeight - ROW_HEIGHT) this.#scroll.scrollTop = top + 2 * ROW_HEIGHT - this.#scroll.clientHeight;
    this.#draw();
    this.#body.querySelector<HTMLElement>(`tr[data-index="${i}"]`)?.focus({ preventScroll: true });
  }
}
