// Argument parsing for the chronicle CLI: global flags, per-command flags (node:util
// parseArgs), `ID -- CMD...` splitting, K=V lists, durations and --since values.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A mistake in the command line: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS = {
  socket: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export interface GlobalOptions {
  socket: string;
  namespace: string;
  json: boolean;
  /** Deadline for ordinary unary calls, ms. */
  timeoutMs: number;
  /** True when --timeout was given: then long waits (Wait, follow) get it too. */
  timeoutExplicit: boolean;
  /** True when --socket was given on the command line (forwarded by `chronicle daemon`). */
  socketFlag: boolean;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** The daemon's default socket, as src/config.ts defaults() computes it (without loading zod). */
export function defaultSocket(env: NodeJS.ProcessEnv, uid: number): string {
  if (env['CHRONICLE_SOCKET']) return env['CHRONICLE_SOCKET'];
  if (env['CHRONICLE_STATE']) return join(env['CHRONICLE_STATE'], 'chronicle.sock');
  const state = uid === 0 ? '/run/chronicle' : join(env['XDG_RUNTIME_DIR'] ?? join(tmpdir(), `chronicle-${uid}`), 'chronicle');
  return join(state, 'chronicle.sock');
}

export type GlobalValues = { socket?: string; namespace?: string; json?: boolean; timeout?: string; help?: boolean };

export function resolveGlobals(values: GlobalValues, env: NodeJS.ProcessEnv, uid: number): GlobalOptions {
  const timeoutMs = values.timeout !== undefined ? parseDuration(values.timeout, 'timeout') : DEFAULT_TIMEOUT_MS;
  if (timeoutMs <= 0) throw new UsageError('--timeout must be positive');
  return {
    socket: values.socket ?? defaultSocket(env, uid),
    namespace: values.namespace || env['CHRONICLE_NAMESPACE'] || 'default',
    json: values.json ?? false,
    timeoutMs,
    timeoutExplicit: values.timeout !== undefined,
    socketFlag: values.socket !== undefined,
  };
}

export interface SplitArgv {
  /** Global flags that came before the command. */
  globals: GlobalValues;
  command: string | undefined;
  rest: string[];
}

/** Leading global flags, then the command name, then everything after it untouched. */
export function splitCommand(argv: readonly string[]): SplitArgv {
  const i = scanToPositional(argv, GLOBAL_OPTIONS);
  const head = argv.slice(0, i);
  const values = parseOrUsage(head, GLOBAL_OPTIONS, false).values as GlobalValues;
  return { globals: values, command: argv[i], rest: argv.slice(i + 1) };
}

/** Index of the first positional (or of `--`), skipping options and their values. */
function scanToPositional(argv: readonly string[], options: OptionSpec): number {
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--' || !a.startsWith('-') || a === '-') return i;
    if (takesValue(a, options)) i++;
    i++;
  }
  return i;
}

function takesValue(token: string, options: OptionSpec): boolean {
  if (token.startsWith('--')) {
    if (token.includes('=')) return false;
    return options[token.slice(2)]?.type === 'string';
  }
  // -n NS, or a group like -dn NS: the last letter decides; -nNS carries its value.
  const letters = token.slice(1);
  const spec = (l: string) => Object.values(options).find((o) => o.short === l);
  for (let k = 0; k < letters.length; k++) {
    if (spec(letters[k]!)?.type === 'string') return k === letters.length - 1;
  }
  return false;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parseOrUsage(args: readonly string[], options: OptionSpec, allowPositionals: boolean): { values: Values; positionals: string[] } {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** The values a command's spec yields; V is the command's own shape (global flags on top). */
export interface Parsed<V> {
  values: V & GlobalValues;
  positionals: string[];
}

/** A command's own flags (global flags are accepted among them too). */
export function parseCommand<V>(argv: readonly string[], options: OptionSpec): Parsed<V> {
  return parseOrUsage(argv, { ...GLOBAL_OPTIONS, ...options }, true) as Parsed<V>;
}

/**
 * `[flags] ID [--] CMD...`: flags up to the ID (and between the ID and `--`), then the
 * command line verbatim, so `sh -c '...'` keeps its own flags.
 */
export function parseWithCommand<V>(argv: readonly string[], options: OptionSpec): { values: V & GlobalValues; id: string; cmd: string[] } {
  const all: OptionSpec = { ...GLOBAL_OPTIONS, ...options };
  const flags: string[] = [];
  let id: string | undefined;
  let cmd: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '--') {
      if (id === undefined) {
        id = argv[i + 1];
        cmd = argv.slice(i + 2);
      } else cmd = argv.slice(i + 1);
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      flags.push(a);
      if (takesValue(a, all) && i + 1 < argv.length) flags.push(argv[++i]!);
      i++;
      continue;
    }
    if (id === undefined) {
      id = a;
      i++;
      continue;
    }
    cmd = argv.slice(i);
    break;
  }
  const { values } = parseCommand<V>(flags, options);
  if (id === undefined || id === '') throw new UsageError('missing container ID');
  return { values, id, cmd };
}

/** K=V pairs into a record (a later key wins); a bare K is refused. */
export function parseKeyValues(list: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--${flag} wants KEY=VALUE, got ${JSON.stringify(kv)}`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** `--env K=V` entries stay a list (order kept, like a process environment). */
export function parseEnv(list: readonly string[] | undefined): string[] {
  for (const kv of list ?? []) if (kv.indexOf('=') <= 0) throw new UsageError(`--env wants KEY=VALUE, got ${JSON.stringify(kv)}`);
  return [...(list ?? [])];
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `10m`, `2h`, `1d`, or `1h30m`; a bare number is seconds. */
export function parseDuration(s: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1_000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  if (end === 0 || end !== s.length) throw new UsageError(`--${flag}: not a duration: ${JSON.stringify(s)} (e.g. 30s, 10m, 2h)`);
  return Math.round(total);
}

export type Since = { fromSeq: number } | { fromTime: number };

/** --since: a seq (digits), an RFC 3339 time, or a duration ago (`10m`). */
export function parseSince(s: string, now: number): Since {
  if (/^\d+$/.test(s)) return { fromSeq: Number(s) };
  if (/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/.test(s)) {
    const t = Date.parse(s.replace(' ', 'T'));
    if (Number.isNaN(t)) throw new UsageError(`--since: not a valid time: ${JSON.stringify(s)}`);
    return { fromTime: Math.max(1, t) };
  }
  let ago: number;
  try {
    ago = parseDuration(s, 'since');
  } catch {
    throw new UsageError(`--since wants a seq, an RFC 3339 time or a duration ago (10m), got ${JSON.stringify(s)}`);
  }
  return { fromTime: Math.max(1, now - ago) };
}

/** --filter K=V for Events.Subscribe: ns, id or type. */
export function parseEventFilters(list: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const f of list ?? []) {
    const i = f.indexOf('=');
    const k = i > 0 ? f.slice(0, i) : '';
    const key = k === 'namespace' ? 'ns' : k;
    if (!['ns', 'id', 'type'].includes(key) || i === f.length - 1) throw new UsageError(`--filter wants ns=NS, id=ID or type=TYPE, got ${JSON.stringify(f)}`);
    out.push(`${key}=${f.slice(i + 1)}`);
  }
  return out;
}

/** Exactly n positionals, or a usage error naming what is missing. */
export function positionals(list: readonly string[], names: readonly string[]): string[] {
  if (list.length < names.length) throw new UsageError(`missing ${names[list.length]}`);
  if (list.length > names.length) throw new UsageError(`unexpected argument ${JSON.stringify(list[names.length])}`);
  return [...list];
}
