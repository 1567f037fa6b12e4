// Filters over the timeline rows and the table (namespace, label, state, actor, and a search
// by container id), their form, and the URL that keeps them with the cursor and the open
// container, so that a link shows someone else the same view.
import type { ContainerWire } from '../../src/api/http-wire.js';
import { esc, must } from './dom.js';
import { keyOf, STATUSES, type Model, type Row } from './model.js';

export interface Filters {
  ns: string;
  /** "key=value" or "key", several separated by commas (all must match). */
  label: string;
  state: string;
  actor: string;
  /** Part of a container id. */
  q: string;
}

export interface ViewState {
  /** The cursor's point as typed or dragged (undefined: follow the head). */
  at: string | undefined;
  filters: Filters;
  /** The open container, ns/id. */
  open: string | undefined;
}

const FILTER_KEYS = ['ns', 'label', 'state', 'actor', 'q'] as const;

export function readUrl(search: string): ViewState {
  const p = new URLSearchParams(search);
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, p.get(k) ?? ''])) as unknown as Filters;
  return { at: p.get('at') ?? undefined, filters, open: p.get('c') ?? undefined };
}

export function writeUrl(v: ViewState): string {
  const p = new URLSearchParams();
  if (v.at !== undefined) p.set('at', v.at);
  for (const k of FILTER_KEYS) if (v.filters[k]) p.set(k, v.filters[k]);
  if (v.open) p.set('c', v.open);
  const qs = p.toString();
  return qs ? `?${qs}` : location.pathname;
}

export function labelsMatch(labels: Record<string, string>, spec: string): boolean {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .every((term) => {
      const i = term.indexOf('=');
      return i < 0 ? Object.hasOwn(labels, term) : labels[term.slice(0, i).trim()] === term.slice(i + 1).trim();
    });
}

/** A timeline row: its state is the one at the cursor's seq. */
export function rowMatches(model: Model, row: Row, f: Filters, seq: number): boolean {
  if (f.ns && row.ns !== f.ns) return false;
  if (f.q && !row.id.toLowerCase().includes(f.q.toLowerCase())) return false;
  if (f.actor && !row.actors.has(f.actor)) return false;
  if (f.label && !labelsMatch(row.labels, f.label)) return false;
  if (f.state && model.statusAt(row, seq) !== f.state) return false;
  return true;
}

/** A container of the state table (its labels and status as of the cursor). */
export function containerMatches(model: Model, c: ContainerWire, f: Filters): boolean {
  if (f.ns && c.namespace !== f.ns) return false;
  if (f.q && !c.id.toLowerCase().includes(f.q.toLowerCase())) return false;
  if (f.actor && !model.byKey.get(keyOf(c.namespace, c.id))?.actors.has(f.actor)) return false;
  if (f.label && !labelsMatch(c.labels, f.label)) return false;
  if (f.state && (c.task?.status ?? 'created') !== f.state) return false;
  return true;
}

export class FilterBar {
  readonly el: HTMLFormElement;

  constructor(
    parent: HTMLElement,
    private readonly onChange: (f: Filters) => void,
  ) {
    this.el = document.createElement('form');
    this.el.className = 'filters';
    this.el.setAttribute('role', 'search');
    this.el.setAttribute('aria-label', 'Filter containers');
    this.el.innerHTML = `
      <label>Search <input type="search" name="q" id="search" placeholder="container id  ( / )" autocomplete="off" spellcheck="false" /></label>
      <label>Namespace <select name="ns"><option value="">all</option></select></label>
      <label>Label <input name="label" placeholder="tier=db" autocomplete="off" spellcheck="false" /></label>
      <label>State <select name="state"><option value="">any</option>${STATUSES.map((s) => `<option>${s}</option>`).join('')}</select></label>
      <label>Actor <select name="actor"><option value="">any</option></select></label>
      <button type="reset">Clear</button>`;
    parent.append(this.el);
    this.el.addEventListener('input', () => this.onChange(this.value()));
    this.el.addEventListener('submit', (e) => e.preventDefault());
    this.el.addEventListener('reset', () => setTimeout(() => this.onChange(this.value())));
  }

  value(): Filters {
    const d = new FormData(this.el);
    const get = (k: string): string => {
      const v = d.get(k);
      return typeof v === 'string' ? v.trim() : '';
    };
    return { ns: get('ns'), label: get('label'), state: get('state'), actor: get('actor'), q: get('q') };
  }

  set(f: Filters): void {
    for (const k of FILTER_KEYS) {
      const el = this.el.elements.namedItem(k);
      if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) el.value = f[k];
    }
  }

  /** Refreshes the choices of the namespace and actor lists, keeping what is selected. */
  setChoices(namespaces: string[], actors: string[], keep: Filters): void {
    const fill = (name: 'ns' | 'actor', values: string[], any: string): void => {
      const sel = must<HTMLSelectElement>(this.el, `select[name="${name}"]`);
      const all = keep[name] && !values.includes(keep[name]) ? [...values, keep[name]] : values;
      const html = `<option value="">${any}</option>${all.map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join('')}`;
      if (sel.innerHTML !== html) sel.innerHTML = html;
      sel.value = keep[name];
    };
    fill('ns', namespaces, 'all');
    fill('actor', actors, 'any');
  }
}
