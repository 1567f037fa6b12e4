// Shim request schemas name the bad field; status mapping round-trips every ErrorCode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromServiceError, toServiceError } from '../../src/api/status.js';
import { ChronicleError, ERROR_CODES, invalidArgument } from '../../src/errors.js';
import { CreateRequest, ExecRequest, KillRequest } from '../../src/shim/shim-requests.js';

const create = { id: 'c1', bundle: '/b', runtime: 'runc', args: [], env: [], cwd: '', stdout: '', stderr: '', runtimeBinary: '', runcRoot: '' };

function field(schema: { safeParse(v: unknown): { success: true } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } }, v: unknown): string | undefined {
  const r = schema.safeParse(v);
  return r.success ? undefined : (invalidArgument(r.error.issues).details['field'] as string);
}

test('a well-formed Create passes', () => {
  assert.equal(field(CreateRequest, create), undefined);
  assert.equal(field(CreateRequest, { ...create, runtime: 'process', args: ['/bin/true'], env: ['A=1'], runtimeBinary: '/usr/bin/crun', runcRoot: '/run/r' }), undefined);
});

test('each malformed Create field is named', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ id: '../x' }, 'id'],
    [{ id: '' }, 'id'],
    [{ bundle: 'rel' }, 'bundle'],
    [{ bundle: '/a/../b' }, 'bundle'],
    [{ bundle: '/a\0b' }, 'bundle'],
    [{ runtime: 'crun' }, 'runtime'],
    [{ args: ['ok', 'n\0ul'] }, 'args.1'],
    [{ env: ['NOEQUALS'] }, 'env.0'],
    [{ cwd: 'rel' }, 'cwd'],
    [{ stdout: 'out.log' }, 'stdout'],
    [{ stderr: 'err.log' }, 'stderr'],
    [{ runtimeBinary: 'two words' }, 'runtimeBinary'],
    [{ runcRoot: 'rel' }, 'runcRoot'],
  ];
  for (const [patch, name] of cases) assert.equal(field(CreateRequest, { ...create, ...patch }), name, JSON.stringify(patch));
});

test('Kill and Exec name their fields', () => {
  assert.equal(field(KillRequest, { id: 'c', signal: 0, all: false, execId: '' }), 'signal');
  assert.equal(field(KillRequest, { id: 'c', signal: 65, all: false, execId: '' }), 'signal');
  assert.equal(field(KillRequest, { id: 'c', signal: 9, all: true, execId: 'bad/x' }), 'execId');
  assert.equal(field(ExecRequest, { id: 'c', execId: 'x', args: [], env: [], cwd: '' }), 'args');
  assert.equal(field(ExecRequest, { id: 'c', execId: '', args: ['sh'], env: [], cwd: '' }), 'execId');
});

test('every ErrorCode survives the trip through a gRPC status and back', () => {
  for (const code of ERROR_CODES) {
    const back = fromServiceError(toServiceError(new ChronicleError(code, 'm', { field: 'f' })));
    assert.equal(back.code, code);
    assert.equal(back.details['field'], 'f');
  }
});
