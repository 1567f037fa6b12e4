// One waiting thread for any number of children. It peeks at the next zombie; a child that
// libuv spawned (a process-runtime command) is left for libuv to reap; one spawned with
// spawnVfork (a runc invocation) is reaped here and handed to whoever expects it; anything
// else (a container init or exec reparented to us, or an orphan) is reaped here and
// reported, so no zombie stays behind.
import { peekNextExit, reap, type ChildExit } from './ffi.js';

export class Reaper {
  /** Pids of children spawned through child_process: libuv reaps those. */
  readonly #libuvChildren = new Set<number>();
  /** Pids of children spawned by us without libuv, and who waits for each. */
  readonly #expected = new Map<number, (exit: ChildExit) => void>();
  readonly #onExit: (exit: ChildExit, at: number) => void;
  #wake: (() => void) | undefined;
  #kicked = false;
  #stopped = false;

  constructor(onExit: (exit: ChildExit, at: number) => void) {
    this.#onExit = onExit;
  }

  start(): void {
    void this.#loop();
  }

  stop(): void {
    this.#stopped = true;
    this.kick();
  }

  /** Tracks a child_process pid until its 'exit' (call untrack then). */
  track(pid: number): void {
    this.#libuvChildren.add(pid);
    this.kick();
  }

  /**
   * A child just spawned outside libuv (spawnVfork): its exit goes to `done`, not to the
   * exit listener. Call it in the same turn as the spawn, before any exit can be handled.
   */
  expect(pid: number, done: (exit: ChildExit) => void): void {
    this.#expected.set(pid, done);
    this.kick();
  }

  /** libuv has reaped it: a zombie of ours queued behind it can be seen now, not after the next idle. */
  untrack(pid: number): void {
    this.#libuvChildren.delete(pid);
    this.kick();
  }

  /** New children may exist: stop idling (or do not start to, if the loop is between waits). */
  kick(): void {
    const w = this.#wake;
    this.#wake = undefined;
    if (w) w();
    else this.#kicked = true;
  }

  async #idle(ms: number): Promise<void> {
    // A kick while the loop was not idling: what it announced may not have been seen.
    if (this.#kicked) {
      this.#kicked = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      const next = await peekNextExit();
      if (this.#stopped) return;
      if (!next) {
        // No children: each one this shim gets comes from its own spawn, which kicks (a
        // reparented orphan needs a living child first, and then waitid blocks). The long
        // fallback only guards a missed kick; polling every 200 ms cost an idle shim ~0.5%
        // of a core (measured: 320-390 ms of CPU per 20 s per warm shim, 150-200 with 5 s).
        await this.#idle(10_000);
        continue;
      }
      if (this.#libuvChildren.has(next.pid)) {
        await this.#idle(5); // libuv's own; it reaps it on SIGCHLD
        continue;
      }
      const at = Date.now();
      const reaped = reap(next.pid);
      if (!reaped) continue;
      const waiter = this.#expected.get(reaped.pid);
      if (waiter) {
        this.#expected.delete(reaped.pid);
        waiter(reaped);
      } else this.#onExit(reaped, at);
    }
  }
}
