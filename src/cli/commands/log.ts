// `chronicle log compact --before POINT` and `chronicle log archives`: retention. The daemon
// does the work (it holds the log); this prints what moved where.
import { parseCommand, UsageError } from '../args.js';
import { json, type Ctx } from '../context.js';
import { isoTime, keyValues, table } from '../table.js';

interface Archive {
  path: string;
  fromSeq: number;
  toSeq: number;
  count: number;
  bytes: number;
  sha256: string;
  firstTs: number;
  lastTs: number;
}

export async function log(ctx0: Ctx, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'compact') return compact(ctx0, rest);
  if (sub === 'archives') return archives(ctx0, rest);
  throw new UsageError(sub === undefined ? 'log needs a subcommand: compact or archives' : `unknown log subcommand ${JSON.stringify(sub)}`);
}

async function compact(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand<{ before?: string }>(argv, { before: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values.before) throw new UsageError('log compact needs --before SEQ|TIME|DURATION');
  const ctx = ctx0.with(values);
  const r = await (await ctx.client()).unary<{ archive?: Archive | null; firstSeq: number }>('Log', 'Compact', { before: values.before });
  if (ctx.globals.json) ctx.stdout(json(r));
  else if (!r.archive) ctx.stdout(`nothing to compact: the log already starts at seq ${r.firstSeq}\n`);
  else
    ctx.stdout(
      keyValues([
        ['archived', `seqs ${r.archive.fromSeq}-${r.archive.toSeq} (${r.archive.count} events, ${isoTime(r.archive.firstTs)} to ${isoTime(r.archive.lastTs)})`],
        ['archive', r.archive.path],
        ['bytes', String(r.archive.bytes)],
        ['sha256', r.archive.sha256],
        ['log starts at', `seq ${r.firstSeq}`],
      ]),
    );
  return 0;
}

async function archives(ctx0: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {});
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const ctx = ctx0.with(values);
  const r = await (await ctx.client()).unary<{ archives: Archive[]; firstSeq: number }>('Log', 'Archives', {});
  if (ctx.globals.json) ctx.stdout(json(r));
  else {
    ctx.stdout(table(['FROM', 'TO', 'EVENTS', 'BYTES', 'UNTIL', 'PATH'], r.archives.map((a) => [String(a.fromSeq), String(a.toSeq), String(a.count), String(a.bytes), isoTime(a.lastTs), a.path])));
    ctx.stdout(`the log itself starts at seq ${r.firstSeq}\n`);
  }
  return 0;
}
