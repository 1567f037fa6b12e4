// The few syscalls Node does not expose, through koffi (a maintained FFI with prebuilt
// binaries, so nothing is compiled at install): prctl(PR_SET_CHILD_SUBREAPER), waitid and
// pipe2 (Node makes socketpairs for a child's stdio; CRIU can hand over only a real pipe).
import { constants } from 'node:os';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
const waitid = libc.func('int waitid(int idtype, uint32_t id, _Out_ uint8_t *infop, int options)');
const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)');
const O_CLOEXEC = 0o2000000;

const PR_SET_CHILD_SUBREAPER = 36;
const P_ALL = 0;
const P_PID = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const CLD_EXITED = 1;

/** Orphans in our subtree (the container init once runc exits) become our children. */
export function becomeChildSubreaper(): void {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0) throw new Error('prctl(PR_SET_CHILD_SUBREAPER) failed');
}

export interface ChildExit {
  pid: number;
  /** Shell convention: the exit code, or 128 + signal number. */
  exitCode: number;
  signal: string | null;
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** A waitid() siginfo_t as a ChildExit (exported for its unit test). */
export function decodeSiginfo(info: Buffer): ChildExit {
  // siginfo_t on x86_64: si_code @8, si_pid @16, si_status @24.
  const code = info.readInt32LE(8);
  const pid = info.readInt32LE(16);
  const status = info.readInt32LE(24);
  if (code === CLD_EXITED) return { pid, exitCode: status, signal: null };
  return { pid, exitCode: 128 + status, signal: SIGNAL_NAMES.get(status) ?? `SIG${status}` };
}

/**
 * Waits, on a worker thread, for any child to become a zombie WITHOUT reaping it, so that
 * children libuv spawned (and will reap itself) are left alone. Resolves undefined when
 * there are no children at all (ECHILD).
 */
export function peekNextExit(): Promise<ChildExit | undefined> {
  const info = Buffer.alloc(128);
  return new Promise((resolve) => {
    waitid.async(P_ALL, 0, info, WEXITED | WNOWAIT, (err: unknown, r: unknown) => {
      if (err || r !== 0) return resolve(undefined);
      const exit = decodeSiginfo(info);
      resolve(exit.pid > 0 ? exit : undefined);
    });
  });
}

/** Reaps one zombie child by pid (after peekNextExit saw it). */
export function reap(pid: number): ChildExit | undefined {
  const info = Buffer.alloc(128);
  return waitid(P_PID, pid, info, WEXITED) === 0 ? decodeSiginfo(info) : undefined;
}

/** An anonymous pipe, both ends close-on-exec: [read end, write end]. */
export function makePipe(): [number, number] {
  const fds = new Int32Array(2);
  if (pipe2(fds, O_CLOEXEC) !== 0) throw new Error('pipe2 failed');
  return [fds[0]!, fds[1]!];
}
