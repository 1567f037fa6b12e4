// Signal names and numbers (Linux), so `kill -s` is checked before any call and exit
// codes of signalled processes read as 128+n, like a shell.
import { constants } from 'node:os';

const BY_NAME: Readonly<Record<string, number>> = constants.signals;

/** `KILL`, `SIGKILL`, `sigkill` or `9` → `SIGKILL`; numbers without a name stay numbers. */
export function normalizeSignal(s: string): string | undefined {
  const t = s.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > 64) return undefined;
    return signalName(n) ?? String(n);
  }
  const up = t.toUpperCase();
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  return BY_NAME[name] !== undefined ? name : undefined;
}

export function signalNumber(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const n = normalizeSignal(name);
  return n === undefined ? undefined : BY_NAME[n];
}

export function signalName(n: number): string | undefined {
  for (const [name, num] of Object.entries(BY_NAME)) if (num === n && name !== 'SIGIOT' && name !== 'SIGPOLL') return name;
  return undefined;
}

/** A process's exit as a shell's status: the code, or 128+signal when it was signalled. */
export function exitStatus(exitCode: number, exitSignal: string): number {
  if (exitSignal) {
    const n = signalNumber(exitSignal);
    if (n !== undefined && exitCode === 0) return 128 + n;
  }
  return exitCode & 0xff;
}
