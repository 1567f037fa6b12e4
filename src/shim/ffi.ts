// The few syscalls Node does not expose, through koffi (a maintained FFI with prebuilt
// binaries, so nothing is compiled at install): prctl(PR_SET_CHILD_SUBREAPER), waitid,
// pipe2 (Node makes socketpairs for a child's stdio; CRIU can hand over only a real pipe)
// and posix_spawnp (libuv forks: see spawnVfork).
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
const waitid = libc.func('int waitid(int idtype, uint32_t id, _Out_ uint8_t *infop, int options)');
const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)');
const O_CLOEXEC = 0o2000000;
const posixSpawnp = libc.func('int posix_spawnp(_Out_ int *pid, const char *file, void *actions, void *attr, const char **argv, const char **envp)');
const actionsInit = libc.func('int posix_spawn_file_actions_init(void *actions)');
const actionsDup2 = libc.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)');
const actionsDestroy = libc.func('int posix_spawn_file_actions_destroy(void *actions)');
const attrInit = libc.func('int posix_spawnattr_init(void *attr)');
const attrSetFlags = libc.func('int posix_spawnattr_setflags(void *attr, short flags)');
const attrSetSigDefault = libc.func('int posix_spawnattr_setsigdefault(void *attr, const void *set)');
const attrSetSigMask = libc.func('int posix_spawnattr_setsigmask(void *attr, const void *set)');
const attrDestroy = libc.func('int posix_spawnattr_destroy(void *attr)');
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;

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

/**
 * Starts `file` (looked up in PATH) with `fds` as its stdin, stdout and stderr, and returns
 * its pid; the caller reaps it (Reaper.expect). glibc's posix_spawn shares the address space
 * until the exec (CLONE_VFORK) where libuv fork()s and copies the page tables of the whole
 * heap: 0.7 ms instead of 5.9 ms for /bin/true from a bare Node here, and 5-10 ms for each
 * runc call from a shim. Like libuv's children, it starts with every signal at its default
 * disposition (Node ignores SIGPIPE, and an ignored signal survives exec) and none blocked.
 * Our other descriptors are close-on-exec, as libuv opens them.
 */
export function spawnVfork(file: string, argv: readonly string[], env: readonly string[], fds: readonly [number, number, number]): number {
  // Opaque glibc structs (80, 336 and 128 bytes on x86_64), with room to spare.
  const actions = Buffer.alloc(256);
  const attr = Buffer.alloc(512);
  // Every signal, glibc's internal 32 and 33 included: sigfillset leaves those out, and
  // posix_spawn then hands them to the child ignored (as it must while sharing our memory),
  // where they would stay ignored through the exec.
  const all = Buffer.alloc(256, 0xff);
  const none = Buffer.alloc(256); // all bits clear: the empty set
  actionsInit(actions);
  attrInit(attr);
  try {
    fds.forEach((fd, target) => {
      if (actionsDup2(actions, fd, target) !== 0) throw new Error(`posix_spawn_file_actions_adddup2(${fd}, ${target}) failed`);
    });
    attrSetSigDefault(attr, all);
    attrSetSigMask(attr, none);
    attrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    const pid = new Int32Array(1);
    const err = posixSpawnp(pid, file, actions, attr, [...argv, null], [...env, null]) as number;
    if (err !== 0) throw Object.assign(new Error(`spawn ${file}: ${getSystemErrorName(-err)}`), { errno: err });
    return pid[0]!;
  } finally {
    actionsDestroy(actions);
    attrDestroy(attr);
  }
}
