// `info`: Daemon.Info — version, pid, dirs, head seq, and what the last recovery found.
import { parseCommand, UsageError } from '../args.js';
import { json, type Ctx } from '../context.js';
import type { InfoReply } from '../messages.js';
import { keyValues } from '../table.js';

function parseRecovery(s: string): Record<string, unknown> | null {
  if (!s) return null;
  try {
    const v = JSON.parse(s) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Info as key/value lines for people (pure: unit-tested). */
export function infoText(info: InfoReply): string {
  const pairs: [string, string][] = [
    ['version', info.version],
    ['pid', String(info.pid)],
    ['root', info.root],
    ['state', info.state],
    ['socket', info.socket],
    ['runtime', info.defaultRuntime],
    ['head seq', String(info.headSeq)],
    ['containers', String(info.containers)],
    ['running', String(info.tasksRunning)],
  ];
  const r = parseRecovery(info.lastRecoveryJson);
  if (!r) pairs.push(['last recovery', 'none']);
  else {
    for (const k of ['replayed', 'snapshotSeq', 'alive', 'lost', 'reconciled']) if (k in r) pairs.push([`recovery ${k}`, String(r[k])]);
    const d = r['durations'];
    if (typeof d === 'object' && d !== null) {
      for (const [k, v] of Object.entries(d)) pairs.push([`recovery ${k}`, typeof v === 'number' ? `${v} ms` : String(v)]);
    }
  }
  const x = parseRecovery(info.exportJson ?? '');
  if (x) {
    pairs.push(['export', `node ${String(x['node'])} to stream ${String(x['stream'])} (${x['connected'] ? 'connected' : 'not connected'})`]);
    pairs.push(['export seq', `${String(x['exportedSeq'])} of ${String(x['headSeq'])} (lag ${String(x['lag'])})`]);
    const err = x['lastError'];
    if (typeof err === 'string' && err) pairs.push(['export error', err]);
  }
  return keyValues(pairs);
}

export async function info(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const ctx = ctx0.with(values);
  const reply = await (await ctx.client()).unary<InfoReply>('Daemon', 'Info', {});
  if (ctx.globals.json) {
    const { lastRecoveryJson, exportJson, ...rest } = reply;
    ctx.stdout(json({ ...rest, lastRecovery: parseRecovery(lastRecoveryJson), export: parseRecovery(exportJson ?? '') }));
  } else ctx.stdout(infoText(reply));
  return 0;
}
