import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultSocket,
  parseCommand,
  parseDuration,
  parseEventFilters,
  parseKeyValues,
  parseSince,
  parseWithCommand,
  positionals,
  resolveGlobals,
  splitCommand,
  UsageError,
} from '../../src/cli/args.js';
import { loadConfig } from '../../src/config.js';

const isUsage = (e: unknown) => e instanceof UsageError;

test('global flags before the command; the rest is left verbatim', () => {
  const s = splitCommand(['--socket', '/s', '-n', 'ns1', '--json', 'run', '--rm', 'c1', '--', 'sh', '-c', 'exit 3']);
  assert.deepEqual({ ...s.globals }, { socket: '/s', namespace: 'ns1', json: true });
  assert.equal(s.command, 'run');
  assert.deepEqual(s.rest, ['--rm', 'c1', '--', 'sh', '-c', 'exit 3']);
  assert.equal(splitCommand(['--timeout=5s', 'ps']).command, 'ps');
  assert.equal(splitCommand(['-nfoo', 'ps']).command, 'ps');
  assert.equal(splitCommand([]).command, undefined);
  assert.throws(() => splitCommand(['--bogus', 'ps']), isUsage);
});

test('globals: flags over env over defaults; timeouts parsed', () => {
  const g = resolveGlobals({}, { CHRONICLE_SOCKET: '/e.sock', CHRONICLE_NAMESPACE: 'envns' }, 0);
  assert.equal(g.socket, '/e.sock');
  assert.equal(g.namespace, 'envns');
  assert.equal(g.timeoutExplicit, false);
  const f = resolveGlobals({ socket: '/f.sock', namespace: 'flagns', timeout: '1500ms' }, { CHRONICLE_SOCKET: '/e.sock', CHRONICLE_NAMESPACE: 'envns' }, 0);
  assert.deepEqual([f.socket, f.namespace, f.timeoutMs, f.timeoutExplicit, f.socketFlag], ['/f.sock', 'flagns', 1500, true, true]);
  assert.equal(resolveGlobals({}, {}, 0).namespace, 'default');
  assert.throws(() => resolveGlobals({ timeout: 'soon' }, {}, 0), isUsage);
  assert.throws(() => resolveGlobals({ timeout: '0s' }, {}, 0), isUsage);
});

test("the default socket is the daemon's (config defaults), for root and not", () => {
  const envs: NodeJS.ProcessEnv[] = [
    { PATH: '/usr/bin', HOME: '/home/u' },
    { PATH: '/usr/bin', HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000' },
    { PATH: '/usr/bin', CHRONICLE_STATE: '/var/run/x' },
    { PATH: '/usr/bin', CHRONICLE_SOCKET: '/tmp/explicit.sock', CHRONICLE_STATE: '/var/run/x' },
  ];
  for (const env of envs) {
    for (const uid of [0, 1000]) assert.equal(defaultSocket(env, uid), loadConfig({ argv: [], env, uid }).socket, JSON.stringify({ env, uid }));
  }
});

test('ID -- CMD: the command keeps its own flags; flags may sit around the ID', () => {
  const opts = { rm: { type: 'boolean' }, env: { type: 'string', short: 'e', multiple: true }, detach: { type: 'boolean', short: 'd' } } as const;
  const a = parseWithCommand<{ rm?: boolean; env?: string[] }>(['--rm', '-e', 'A=1', 'c1', '--', '/bin/sh', '-c', 'exit 3'], opts);
  assert.deepEqual([a.values.rm, a.values.env, a.id, a.cmd], [true, ['A=1'], 'c1', ['/bin/sh', '-c', 'exit 3']]);
  const b = parseWithCommand<{ rm?: boolean }>(['c1', '--rm', '--json', '--', 'ls', '-l'], opts);
  assert.deepEqual([b.values.rm, b.values.json, b.id, b.cmd], [true, true, 'c1', ['ls', '-l']]);
  const c = parseWithCommand(['-d', 'c1', 'sleep', '--rm'], opts);
  assert.deepEqual([c.id, c.cmd], ['c1', ['sleep', '--rm']]);
  const d = parseWithCommand(['--', 'c1', 'true'], opts);
  assert.deepEqual([d.id, d.cmd], ['c1', ['true']]);
  assert.throws(() => parseWithCommand(['--rm'], opts), isUsage);
  assert.throws(() => parseWithCommand(['--nope', 'c1', 'true'], opts), isUsage);
});

test('command flags: globals accepted after the command; positionals checked', () => {
  const p = parseCommand<{ force?: boolean }>(['-f', 'a', '--json', 'b', '-n', 'x'], { force: { type: 'boolean', short: 'f' } });
  assert.deepEqual([p.values.force, p.values.json, p.values.namespace, p.positionals], [true, true, 'x', ['a', 'b']]);
  assert.deepEqual(positionals(['c1'], ['container ID']), ['c1']);
  assert.throws(() => positionals([], ['container ID']), isUsage);
  assert.throws(() => positionals(['a', 'b'], ['container ID']), isUsage);
});

test('K=V lists: later key wins, a value may hold =, a bare key is refused', () => {
  assert.deepEqual(parseKeyValues(['a=1', 'b=x=y', 'a=2', 'c='], 'label'), { a: '2', b: 'x=y', c: '' });
  assert.deepEqual(parseKeyValues(undefined, 'label'), {});
  assert.throws(() => parseKeyValues(['novalue'], 'label'), isUsage);
  assert.throws(() => parseKeyValues(['=v'], 'label'), isUsage);
});

test('durations: units, combinations, bare seconds; junk refused', () => {
  assert.equal(parseDuration('500ms', 't'), 500);
  assert.equal(parseDuration('30s', 't'), 30_000);
  assert.equal(parseDuration('10m', 't'), 600_000);
  assert.equal(parseDuration('2h', 't'), 7_200_000);
  assert.equal(parseDuration('1h30m', 't'), 5_400_000);
  assert.equal(parseDuration('1d', 't'), 86_400_000);
  assert.equal(parseDuration('2.5', 't'), 2_500);
  for (const bad of ['', 'm', '10x', '10m junk', '-5s', '5s10']) assert.throws(() => parseDuration(bad, 't'), isUsage, bad);
});

test('--since: a seq, an RFC 3339 time, or a duration ago', () => {
  const now = Date.parse('2025-01-02T03:04:05Z');
  assert.deepEqual(parseSince('42', now), { fromSeq: 42 });
  assert.deepEqual(parseSince('2025-01-01T00:00:00Z', now), { fromTime: Date.parse('2025-01-01T00:00:00Z') });
  assert.deepEqual(parseSince('2025-01-01T01:00:00.250+01:00', now), { fromTime: Date.parse('2025-01-01T00:00:00.250Z') });
  assert.deepEqual(parseSince('10m', now), { fromTime: now - 600_000 });
  assert.deepEqual(parseSince('30s', now), { fromTime: now - 30_000 });
  assert.deepEqual(parseSince('2h', now), { fromTime: now - 7_200_000 });
  for (const bad of ['yesterday', '2025-13-45T99:99:99Z', '2025-01-01', '-3', '10q']) assert.throws(() => parseSince(bad, now), isUsage, bad);
});

test('event filters: ns, id, type (namespace as an alias of ns)', () => {
  assert.deepEqual(parseEventFilters(['ns=a', 'namespace=b', 'id=c1', 'type=TaskExited', 'type=TaskStarted']), ['ns=a', 'ns=b', 'id=c1', 'type=TaskExited', 'type=TaskStarted']);
  for (const bad of ['color=red', 'id', 'id=', '=x']) assert.throws(() => parseEventFilters([bad]), isUsage, bad);
});
