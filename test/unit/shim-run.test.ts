// The shim's runc runner (posix_spawn + the reaper): output read to its end, failures that
// say why, the file descriptors it is given, a deadline, and a child that starts as
// libuv's would, with no signal ignored or blocked (Node itself ignores SIGPIPE).
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Reaper } from '../../src/shim/reaper.js';
import { run } from '../../src/shim/runtime.js';

const reported: number[] = [];
const reaper = new Reaper((exit) => reported.push(exit.pid));
reaper.start();
after(() => reaper.stop());

test('stdout and stderr are read to their end', async () => {
  const r = await run(reaper, 'sh', ['-c', 'echo out; echo err >&2; seq 1 20000 | tail -1']);
  assert.deepEqual(r, { code: 0, stdout: 'out\n20000\n', stderr: 'err\n' });
});

test('a non-zero exit rejects with what the command wrote to stderr', async () => {
  await assert.rejects(run(reaper, 'sh', ['-c', 'echo "no such container" >&2; exit 3']), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'FAILED_PRECONDITION');
    assert.match(e.message, /failed \(3\): no such container/);
    return true;
  });
});

test('a binary that is not there rejects, naming the error', async () => {
  await assert.rejects(run(reaper, '/nonexistent/runc', ['--version']), /ENOENT/);
});

test('the child starts with no signal ignored or blocked', async () => {
  const r = await run(reaper, 'sh', ['-c', 'exec grep -E "^Sig(Ign|Blk):" /proc/self/status']);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.replace(/\s+/g, ' ')).sort(), ['SigBlk: 0000000000000000', 'SigIgn: 0000000000000000']);
});

test('given descriptors become its stdin and stdout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chr-run-'));
  try {
    const output = join(dir, 'out');
    const inFd = openSync('/etc/hostname', 'r');
    const outFd = openSync(output, 'w');
    try {
      await run(reaper, 'cat', [], { stdio: [inFd, outFd, 'pipe'] });
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
    assert.equal(readFileSync(output, 'utf8'), readFileSync('/etc/hostname', 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('past its deadline the command is terminated and the run rejects', async () => {
  await assert.rejects(run(reaper, 'sleep', ['30'], {}, 200), /failed \(SIGTERM\)/);
});

test('the runs were reaped for their callers, not reported as container exits', () => {
  assert.deepEqual(reported, []);
});
