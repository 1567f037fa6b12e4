// Decoding a waitid() siginfo_t (x86_64 layout) and reading OOM-kill counters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeSiginfo } from '../../src/shim/ffi.js';
import { oomCounterFile, parseOomKills } from '../../src/shim/oom.js';

function siginfo(code: number, pid: number, status: number): Buffer {
  const b = Buffer.alloc(128);
  b.writeInt32LE(17, 0); // SIGCHLD
  b.writeInt32LE(code, 8);
  b.writeInt32LE(pid, 16);
  b.writeInt32LE(status, 24);
  return b;
}

test('exit codes follow the shell convention', () => {
  assert.deepEqual(decodeSiginfo(siginfo(1, 1234, 3)), { pid: 1234, exitCode: 3, signal: null }); // CLD_EXITED
  assert.deepEqual(decodeSiginfo(siginfo(2, 1234, 9)), { pid: 1234, exitCode: 137, signal: 'SIGKILL' }); // CLD_KILLED
  assert.deepEqual(decodeSiginfo(siginfo(3, 1234, 11)), { pid: 1234, exitCode: 139, signal: 'SIGSEGV' }); // CLD_DUMPED
  assert.equal(decodeSiginfo(siginfo(2, 1, 15)).exitCode, 143);
});

test('the OOM counter of a cgroup v1 memory controller, or of cgroup v2', () => {
  const v1 = '9:name=systemd:/\n4:memory:/chronicle/abc\n3:cpuset:/\n0::/\n';
  assert.equal(oomCounterFile(v1), '/sys/fs/cgroup/memory/chronicle/abc/memory.oom_control');
  assert.equal(oomCounterFile('4:cpuacct,memory:/x\n'), '/sys/fs/cgroup/memory/x/memory.oom_control');
  assert.equal(oomCounterFile('0::/system.slice/c1\n'), '/sys/fs/cgroup/system.slice/c1/memory.events');
  assert.equal(oomCounterFile(''), undefined);
  assert.equal(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n'), 3);
  assert.equal(parseOomKills('low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n'), 1);
  assert.equal(parseOomKills('low 0\n'), 0);
});
