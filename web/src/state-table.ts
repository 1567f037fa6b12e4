// The table under the timeline: StateAt at the cursor, one row per container, with the
// changes since the previous cursor position (Diff) highlighted and listed.
import type { ChangeWire, ContainerWire, StateAtWire } from '../../src/api/http-wire.js';
import { esc, formatTime, labelsText } from './dom.js';
import { keyOf } from './model.js';

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

export class StateTable {
  readonly el: HTMLElement;
  #last: StateAtWire | undefined;
  #filter: (c: ContainerWire) => boolean = () => true;
  #selected: string | undefined;

  constructor(
    parent: HTMLElement,
    private readonly onSelect: (ns: string, id: string) => void,
  ) {
    this.el = document.createElement('section');
    this.el.className = 'state';
    this.el.setAttribute('aria-label', 'State at the cursor');
    parent.append(this.el);
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
        (e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling)?.closest<HTMLElement>('tr')?.focus();
      }
    });
  }

  setFilter(f: (c: ContainerWire) => boolean): void {
    this.#filter = f;
    if (this.#last) this.show(this.#last);
  }

  setSelected(key: string | undefined): void {
    this.#selected = key;
    if (this.#last) this.show(this.#last);
  }

  show(s: StateAtWire): void {
    this.#last = s;
    const changed = new Map<string, ChangeWire[]>();
    for (const c of s.changes ?? []) {
      const k = keyOf(c.namespace, c.id);
      changed.set(k, [...(changed.get(k) ?? []), c]);
    }
    const rows = s.containers.filter(this.#filter).sort((a, b) => (a.namespace === b.namespace ? cmp(a.id, b.id) : cmp(a.namespace, b.namespace)));
    let body = '';
    for (const c of rows) {
      const k = keyOf(c.namespace, c.id);
      const ch = changed.get(k);
      const status = c.task?.status ?? 'created';
      const exit = c.task?.status === 'exited' ? `${c.task.exitCode}${c.task.exitReason ? ` (${esc(c.task.exitReason)})` : ''}` : '';
      body +=
        `<tr tabindex="0" data-key="${esc(k)}" data-ns="${esc(c.namespace)}" data-id="${esc(c.id)}" data-status="${status}"` +
        `${ch ? ' class="changed"' : ''}${k === this.#selected ? ' aria-selected="true"' : ''}>` +
        `<td>${esc(c.namespace)}</td><td class="id">${esc(c.id)}</td><td>${esc(labelsText(c.labels))}</td>` +
        `<td><span class="badge s-${status}">${status}</span></td><td>${c.task?.pid || ''}</td><td>${exit}</td>` +
        `<td class="change">${ch ? esc(ch.map(changeText).join('; ')) : ''}</td></tr>`;
    }
    const hidden = s.containers.length - rows.length;
    const shown = new Set(rows.map((r) => keyOf(r.namespace, r.id)));
    const list = (s.changes ?? [])
      .filter((c) => c.kind === 'deleted' || shown.has(keyOf(c.namespace, c.id)))
      .map((c) => `<li data-key="${esc(keyOf(c.namespace, c.id))}" data-kind="${c.kind}"><span class="id">${esc(c.namespace)}/${esc(c.id)}</span> ${esc(changeText(c))}</li>`)
      .join('');
    const since = s.sinceSeq === undefined || s.sinceSeq === s.seq ? undefined : s.sinceSeq < s.seq ? `Changes since seq ${s.sinceSeq}` : `Changes going back from seq ${s.sinceSeq}`;
    this.el.innerHTML =
      `<h2>State at <span class="seq" data-seq="${s.seq}">seq ${s.seq}</span> <span class="ts">${formatTime(s.ts)}</span>` +
      ` <small>${rows.length} container${rows.length === 1 ? '' : 's'}${hidden ? `, ${hidden} filtered out` : ''}</small></h2>` +
      (since ? `<div class="changes" aria-live="polite"><h3>${since}</h3>${list ? `<ul>${list}</ul>` : '<p>none</p>'}</div>` : '') +
      `<table><thead><tr><th scope="col">namespace</th><th scope="col">container</th><th scope="col">labels</th><th scope="col">status</th>` +
      `<th scope="col">pid</th><th scope="col">exit</th><th scope="col">change</th></tr></thead><tbody>${body}</tbody></table>`;
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
