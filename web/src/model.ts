// The timeline's model, fed by GET /api/overview and then by the live event stream: one row
// per container, its marks in seq order, and the daemon's rules. The server decides what
// each event draws (with the projection); here marks only become spans. Pure: no DOM.
import type { LiveEventWire, Mark, MarkCode, OverviewMessage, RowInfo, StatusCode } from '../../src/api/http-wire.js';

export const STATUSES: readonly StatusCode[] = ['created', 'running', 'paused', 'exited', 'deleted'];
const STATUS_SET = new Set<string>(STATUSES);
export const isStatus = (c: MarkCode): c is StatusCode => STATUS_SET.has(c);

export interface Row {
  /** Its place in Model.rows (what a Mark's row field holds). */
  index: number;
  key: string;
  ns: string;
  id: string;
  labels: Record<string, string>;
  actors: Set<string>;
  /** This row's marks, in seq order. */
  marks: Mark[];
}

export interface Span {
  status: StatusCode;
  fromSeq: number;
  fromTs: number;
  /** The seq and ts where the next status began; undefined: still in it. */
  toSeq: number | undefined;
  toTs: number | undefined;
  exitCode: number | null;
}

export const keyOf = (ns: string, id: string): string => `${ns}/${id}`;

export class Model {
  rows: Row[] = [];
  readonly byKey = new Map<string, Row>();
  /** Daemon started/recovered/stopped, in seq order. */
  rules: Mark[] = [];
  /** Seqs of every mark, sorted: where the cursor steps to. */
  markSeqs: number[] = [];
  markTs: number[] = [];
  head = 0;
  headTs = 0;
  firstTs = 0;

  load(o: OverviewMessage): void {
    this.rows = [];
    this.byKey.clear();
    this.rules = [];
    this.markSeqs = [];
    this.markTs = [];
    this.head = o.head;
    this.headTs = o.headTs;
    this.firstTs = o.firstTs;
    o.rows.forEach((r) => this.#addRow(r));
    for (const m of o.marks) this.#addMark(m[2] === -1 ? undefined : this.rows[m[2]], m);
  }

  #addRow(r: RowInfo): Row {
    const row: Row = { index: this.rows.length, key: keyOf(r.ns, r.id), ns: r.ns, id: r.id, labels: r.labels, actors: new Set(r.actors), marks: [] };
    this.rows.push(row);
    this.byKey.set(row.key, row);
    return row;
  }

  #addMark(row: Row | undefined, m: Mark): void {
    if (row) row.marks.push(m);
    else this.rules.push(m);
    this.markSeqs.push(m[0]);
    this.markTs.push(m[1]);
  }

  /** One live event; true if it changed what is drawn (a new row or a new mark). */
  apply(w: LiveEventWire): boolean {
    const e = w.event;
    if (e.seq <= this.head) return false; // already in the overview (or seen)
    this.head = e.seq;
    this.headTs = e.ts;
    if (this.firstTs === 0) this.firstTs = e.ts;
    const daemon = e.id === '' && e.namespace === '';
    let row = daemon ? undefined : this.byKey.get(keyOf(e.namespace, e.id));
    let changed = false;
    if (!daemon && !row) {
      if (w.marks.length === 0) return false; // a request about a container that never existed
      row = this.#addRow({ ns: e.namespace, id: e.id, labels: {}, actors: [] });
      changed = true;
    }
    if (row) {
      if (w.labels) row.labels = w.labels;
      if (!row.actors.has(e.actor)) {
        row.actors.add(e.actor);
        changed = true;
      }
    }
    for (const m of w.marks) {
      this.#addMark(row, [e.seq, e.ts, row ? row.index : -1, m.code, m.exitCode]);
      changed = true;
    }
    return changed;
  }

  /** The spans of a row: each status from its mark to the next status mark. */
  spans(row: Row): Span[] {
    const out: Span[] = [];
    for (const m of row.marks) {
      if (!isStatus(m[3])) continue;
      const last = out.at(-1);
      if (last) {
        last.toSeq = m[0];
        last.toTs = m[1];
      }
      out.push({ status: m[3], fromSeq: m[0], fromTs: m[1], toSeq: undefined, toTs: undefined, exitCode: m[4] });
    }
    return out;
  }

  /** The row's status after event `seq` (undefined: it did not exist yet). */
  statusAt(row: Row, seq: number): StatusCode | undefined {
    let s: StatusCode | undefined;
    for (const m of row.marks) {
      if (m[0] > seq) break;
      if (isStatus(m[3])) s = m[3];
    }
    return s;
  }

  namespaces(): string[] {
    return [...new Set(this.rows.map((r) => r.ns))].sort();
  }

  actors(): string[] {
    const all = new Set<string>();
    for (const r of this.rows) for (const a of r.actors) all.add(a);
    return [...all].sort();
  }

  /** The mark seq just before / after `seq` (for stepping the cursor), or undefined. */
  stepFrom(seq: number, dir: -1 | 1): number | undefined {
    const seqs = this.markSeqs;
    if (dir === 1) {
      const i = upperBound(seqs, seq);
      return i < seqs.length ? seqs[i] : undefined;
    }
    const i = upperBound(seqs, seq - 1) - 1;
    return i >= 0 ? seqs[i] : undefined;
  }
}

/** Index of the first element > x in a sorted array. */
export function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
