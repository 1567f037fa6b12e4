// One container in detail: its Timeline (every event with the container after it), the
// request and actor behind each event (Audit), its exit codes, and whether the log's hash
// chain verifies over the range of seqs its history spans.
import type { AuditWire, EventWire, TimelineWire, VerifyWire } from '../../src/api/http-wire.js';
import type { Api } from './api.js';
import { esc, formatTime } from './dom.js';

type AuditRecord = AuditWire['records'][number];

/** A data field as text (numbers, strings, booleans; anything else as JSON). */
const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === undefined || v === null ? '' : JSON.stringify(v));

function eventDetail(e: EventWire): string {
  let d: Record<string, unknown>;
  try {
    d = JSON.parse(e.dataJson) as Record<string, unknown>;
  } catch {
    return '';
  }
  switch (e.type) {
    case 'TaskExited':
      return `exit code ${str(d['exitCode'])}${d['signal'] ? `, signal ${str(d['signal'])}` : ''}, ${str(d['reason'])}`;
    case 'TaskCreated':
    case 'TaskStarted':
      return `pid ${str(d['pid'])}`;
    case 'TaskCheckpointed':
      return `checkpoint ${str(d['checkpointId'])}, ${str(d['bytes'])} bytes${d['leftRunning'] ? ', left running' : ''}`;
    case 'TaskRestored':
      return `from checkpoint ${str(d['checkpointId'])}, pid ${str(d['pid'])}`;
    case 'ContainerCreated':
    case 'ContainerUpdated': {
      const labels = d['labels'] as Record<string, string> | undefined;
      return labels && Object.keys(labels).length ? `labels ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ')}` : '';
    }
    case 'ExecAdded':
    case 'ExecStarted':
    case 'ExecExited':
      return `exec ${str(d['execId'])}${d['exitCode'] !== undefined ? `, exit code ${str(d['exitCode'])}` : ''}`;
    case 'RequestCompleted':
    case 'RequestFailed':
    case 'RequestDenied':
      return `${str(d['op'])}${d['code'] ? ` → ${str(d['code'])}` : ''}`;
    default:
      return '';
  }
}

const opOf = (r: AuditRecord): string => {
  try {
    return str((JSON.parse(r.request.dataJson) as { op?: unknown }).op);
  } catch {
    return '';
  }
};

export class DetailPanel {
  readonly el: HTMLElement;
  #key: string | undefined;
  #abort: AbortController | undefined;

  constructor(
    parent: HTMLElement,
    private readonly api: Api,
    private readonly on: { close: () => void; seek: (seq: number) => void },
  ) {
    this.el = document.createElement('aside');
    this.el.className = 'detail';
    this.el.hidden = true;
    this.el.setAttribute('aria-label', 'Container detail');
    parent.append(this.el);
    this.el.addEventListener('click', (e) => {
      const t = e.target as HTMLElement;
      if (t.closest('.close')) this.on.close();
      const seq = t.closest<HTMLElement>('[data-seek]')?.dataset['seek'];
      if (seq) this.on.seek(Number(seq));
    });
  }

  get key(): string | undefined {
    return this.#key;
  }

  close(): void {
    this.#abort?.abort();
    this.#key = undefined;
    this.el.hidden = true;
    this.el.innerHTML = '';
  }

  async show(ns: string, id: string): Promise<void> {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    this.#key = `${ns}/${id}`;
    this.el.hidden = false;
    this.el.innerHTML = `<header><h2>${esc(ns)}/<b>${esc(id)}</b></h2><button type="button" class="close" aria-label="Close (Esc)">×</button></header><p class="muted">Loading…</p>`;
    const [tl, au] = await Promise.all([
      this.api.get<TimelineWire>('timeline', { ns, id }, abort.signal),
      this.api.get<AuditWire>('audit', { ns, id, limit: 10_000 }, abort.signal),
    ]);
    const seqs = tl.entries.map((x) => x.event.seq);
    const from = seqs[0];
    const to = seqs.at(-1);
    const chain = from !== undefined && to !== undefined ? await this.api.get<VerifyWire>('verify', { fromSeq: from, toSeq: to }, abort.signal) : undefined;
    if (abort.signal.aborted) return;
    const byReq = new Map<string, AuditRecord>();
    for (const r of au.records) if (r.request.req) byReq.set(r.request.req, r);
    const last = tl.entries.at(-1);
    const exits = tl.entries.filter((x) => x.event.type === 'TaskExited');
    let rows = '';
    for (const { event: e } of tl.entries) {
      const r = e.req ? byReq.get(e.req) : undefined;
      const isRecord = e.type.startsWith('Request');
      const cause = isRecord ? '' : r ? `${esc(opOf(r))} <span class="outcome o-${esc(r.outcome)}">${esc(r.outcome)}</span>` : '';
      rows +=
        `<tr data-seq="${e.seq}" data-type="${esc(e.type)}"${isRecord ? ' class="record"' : ''}>` +
        `<td><button type="button" class="seek" data-seek="${e.seq}" title="Move the cursor here">${e.seq}</button></td>` +
        `<td title="${esc(formatTime(e.ts))}">${esc(formatTime(e.ts).slice(11))}</td><td>${esc(e.type)}</td><td class="actor">${esc(e.actor)}</td>` +
        `<td>${cause}${e.req ? ` <code title="request id">${esc(e.req.slice(0, 8))}</code>` : ''}</td><td>${esc(eventDetail(e))}</td></tr>`;
    }
    const chainText = !chain
      ? 'no events'
      : chain.ok
        ? `✔ hash chain verified over seq ${from}–${to} (${chain.checked} events)`
        : `✘ hash chain broken at seq ${chain.firstBadSeq}: ${esc(chain.reason)}`;
    const status = last?.after ? (last.after.task?.status ?? 'created') : 'deleted';
    this.el.innerHTML =
      `<header><h2>${esc(ns)}/<b>${esc(id)}</b></h2><button type="button" class="close" aria-label="Close (Esc)">×</button></header>` +
      `<p class="chain ${chain?.ok ? 'ok' : 'bad'}" data-chain="${chain?.ok ? 'ok' : 'broken'}">${chainText}</p>` +
      `<dl><dt>now</dt><dd><span class="badge s-${status}">${status}</span></dd>` +
      `<dt>exit codes</dt><dd class="exits">${exits.length ? exits.map((x) => `${esc(eventDetail(x.event))} <small>(seq ${x.event.seq})</small>`).join('<br>') : '—'}</dd>` +
      `<dt>requests</dt><dd>${au.records.length} (${au.records.filter((r) => r.outcome !== 'completed').length} refused or failed)</dd></dl>` +
      `<div class="events-wrap"><table class="events"><thead><tr><th>seq</th><th>time</th><th>event</th><th>actor</th><th>request</th><th>detail</th></tr></thead><tbody>${rows}</tbody></table></div>`;
    this.el.dataset['loaded'] = this.#key;
  }
}
