// Shims for tests: a short temp state dir, a private runc root, and a cleanup that kills
// every shim and container the test started (by pid and by id), even when the test fails.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShimClient, spawnShim } from '../../src/shim/index.js';

export interface Harness {
  dir: string;
  stateDir: string;
  runcRoot: string;
  spawn(id: string): Promise<{ client: ShimClient; pid: number; address: string }>;
  bundle(name: string): string;
  /** Another runc --root a test used: cleanup deletes its containers too. */
  trackRuncRoot(root: string): void;
  cleanup(): Promise<void>;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** State letter and parent of every process, from /proc/<pid>/stat (after the comm field). */
function processes(): { pid: number; state: string; ppid: number }[] {
  const out: { pid: number; state: string; ppid: number }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), state: f[0] ?? '', ppid: Number(f[1]) });
    } catch {
      // gone
    }
  }
  return out;
}

/** Children of `pid`, from /proc. */
export function childrenOf(pid: number): number[] {
  return processes().filter((p) => p.ppid === pid).map((p) => p.pid);
}

/** Children of `pid` that are not warm-pool shims (a pool shim given work still counts as one). */
export function workingChildrenOf(pid: number): number[] {
  return childrenOf(pid).filter((c) => {
    try {
      return !readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').includes('--pool');
    } catch {
      return false;
    }
  });
}

/** Children of `pid` in state Z (zombies), from /proc. */
export function zombiesOf(pid: number): number[] {
  return processes().filter((p) => p.ppid === pid && p.state === 'Z').map((p) => p.pid);
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function harness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'chs-'));
  const stateDir = join(dir, 's');
  const runcRoot = join(dir, 'runc');
  const shims: { pid: number; client: ShimClient }[] = [];
  const runcRoots = [runcRoot];
  return {
    dir,
    stateDir,
    runcRoot,
    async spawn(id) {
      const hello = await spawnShim({ stateDir, ns: 'test', id, runcRoot });
      const client = new ShimClient(hello.address);
      shims.push({ pid: hello.pid, client });
      return { client, pid: hello.pid, address: hello.address };
    },
    bundle(name) {
      return join(dir, 'bundles', name);
    },
    trackRuncRoot(root) {
      runcRoots.push(root);
    },
    async cleanup() {
      for (const s of shims) s.client.close();
      // Containers first (their inits are the shims' children), then the shims.
      for (const root of runcRoots) {
        try {
          const list = JSON.parse(execFileSync('runc', ['--root', root, 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string }[] | null;
          for (const c of list ?? []) {
            try {
              execFileSync('runc', ['--root', root, 'delete', '--force', c.id], { stdio: 'ignore' });
            } catch {
              // already gone
            }
          }
        } catch {
          // no runc root: nothing ran under runc
        }
      }
      for (const s of shims) {
        // Process-runtime commands run in their own groups under the shim.
        for (const child of alive(s.pid) ? childrenOf(s.pid) : []) {
          for (const target of [-child, child]) {
            try {
              process.kill(target, 'SIGKILL');
            } catch {
              // gone
            }
          }
        }
        if (alive(s.pid)) {
          try {
            process.kill(-s.pid, 'SIGKILL'); // its session's group: process-runtime children too
          } catch {
            // not a group leader any more
          }
          try {
            process.kill(s.pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
