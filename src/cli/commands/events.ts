// `events`: Events.Subscribe, a line per event. With --follow it outlives the daemon:
// when the stream breaks it dials again with from_seq = last + 1 (backing off up to 1 s),
// so each event is printed once across daemon restarts.
import { parseCommand, parseEventFilters, parseSince, UsageError, type Since } from '../args.js';
import { UnreachableError, type CliClient } from '../client.js';
import type { Ctx } from '../context.js';
import type { Event } from '../messages.js';
import { isoTime } from '../table.js';
import { isChronicleError } from '../../errors.js';

/** The event as a line for people: seq, time, ns, id, type, actor, data. */
export function eventLine(e: Event): string {
  const dash = (s: string) => s || '-';
  return [String(e.seq), isoTime(e.ts), dash(e.namespace), dash(e.id), e.type, dash(e.actor), e.dataJson || '{}'].join(' ') + '\n';
}

/** The event for programs: one JSON object per line, data parsed. */
export function eventJson(e: Event): string {
  let data: unknown = e.dataJson;
  try {
    data = JSON.parse(e.dataJson) as unknown;
  } catch {
    // kept as the raw string
  }
  const { dataJson: _raw, ...rest } = e;
  return JSON.stringify({ ...rest, time: isoTime(e.ts), data }) + '\n';
}

/** Worth dialling again: the daemon went away or said it is not ready yet. */
export function retryable(e: unknown): boolean {
  return e instanceof UnreachableError || (isChronicleError(e) && (e.code === 'UNAVAILABLE' || e.code === 'SHIM_UNAVAILABLE'));
}

export function nextBackoff(ms: number): number {
  return Math.min(1_000, Math.max(50, ms * 2));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

export async function events(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<{ since?: string; follow?: boolean; filter?: string[] }>(argv, {
    since: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
    filter: { type: 'string', multiple: true },
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const ctx = ctx0.with(values);
  const filters = parseEventFilters(values.filter);
  const follow = values.follow ?? false;
  const client = await ctx.client();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // Following without --since shows what happens from now on, as `ctr events` does.
    const from: Since = values.since !== undefined ? parseSince(values.since, Date.now()) : follow ? { fromSeq: (await head(client)) + 1 } : { fromSeq: 1 };
    return await subscribeLoop(ctx, client, from, filters, follow, stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function head(client: CliClient): Promise<number> {
  return (await client.unary<{ seq: number }>('Events', 'Head', {})).seq;
}

async function subscribeLoop(
  ctx: Ctx,
  client: CliClient,
  start: Since,
  filters: string[],
  follow: boolean,
  signal: AbortSignal,
): Promise<number> {
  const print = ctx.globals.json ? eventJson : eventLine;
  let backoff = 0;
  let connected = false;
  let from = start;
  for (;;) {
    try {
      const req = { fromSeq: 'fromSeq' in from ? from.fromSeq : 0, fromTime: 'fromTime' in from ? from.fromTime : 0, filters, follow };
      for await (const e of client.stream<Event>('Events', 'Subscribe', req, signal)) {
        connected = true;
        backoff = 0;
        ctx.stdout(print(e));
        from = { fromSeq: e.seq + 1 };
      }
      if (!follow || signal.aborted) return 0;
      connected = true;
    } catch (e) {
      if (signal.aborted) return 0;
      // A daemon that was never reached is an error; one that went away is waited for.
      if (!follow || !retryable(e) || (!connected && e instanceof UnreachableError)) throw e;
    }
    client.reset();
    backoff = nextBackoff(backoff);
    await sleep(backoff, signal);
    if (signal.aborted) return 0;
  }
}
