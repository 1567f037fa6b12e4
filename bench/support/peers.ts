// Runs a script of ../shared/peers (the real containerd on this machine) and returns its
// `name: value` lines, so that a benchmark can print chronicle's figure next to the peer's.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PEERS = fileURLToPath(new URL('../../../../shared/peers/', import.meta.url));

export function runPeer(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(join(PEERS, script))) {
    process.stderr.write(`peer script ${script} not found under ${PEERS}\n`);
    return out;
  }
  const r = spawnSync('bash', [join(PEERS, script), ...args], { encoding: 'utf8', timeout: 1_200_000, env: { ...process.env, ...env } });
  for (const line of r.stdout.split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 2).trim());
  }
  if (r.status !== 0) process.stderr.write(`peer ${script} exited ${r.status}: ${r.stderr.slice(-500)}\n`);
  return out;
}
