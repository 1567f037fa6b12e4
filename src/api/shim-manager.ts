// The daemon's side of its shims: spawns them (ShimSpawning is durable BEFORE the spawn, so
// recovery knows which address to probe), keeps one client per shim, follows each shim's
// Events stream and turns its facts into log events, and declares a shim lost when its
// stream ends and PID() fails.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { crashPoint } from '../crash-points.js';
import { ChronicleError } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import type { Fact } from '../events/schemas.js';
import type { Logger } from '../log.js';
import type { Projector } from '../projections/projector.js';
import { containerKey, isLive, type ContainerView } from '../projections/state.js';
import { addressFor, ShimClient, spawnShim, type PidReply, type ShimFactMessage, type ShimState } from '../shim/index.js';
import type { CallContext } from './audit.js';
import type { ContainerLocks } from './container-locks.js';
import { cleanUpLostShim } from './lost-shim-cleanup.js';

export const SHIM_GROUP_LABEL = 'chronicle.io/shim-group';

interface Followed {
  ns: string;
  client: ShimClient;
  abort: AbortController;
  /** The shimSeq of the last fact handled (logged, or found already in the log). */
  handled: number;
  /** Called after each fact handled (recovery waits for the shim's last shimSeq). */
  progress: Set<() => void>;
  /** Opens the Events stream when recovery deferred it until the daemon serves. */
  deferred?: () => void;
}

export interface ShimManagerDeps {
  log: EventLog;
  projector: Projector;
  stateDir: string;
  runtimeBinary: string;
  logger: Logger;
  probeTimeoutMs: number;
  /** Shim facts take the container's lock, so they land after the facts of a call in flight. */
  locks: ContainerLocks;
  /** Pre-spawned shims kept ready (0: no pool, a shim per container). Spawning one and warming it up costs ~170 ms of CPU (measured with the code cache). */
  poolSize?: number;
  /** Idle shims kept after their last Delete (at least poolSize); beyond poolSize they are retired after poolIdleMs unused. */
  poolMax?: number;
  poolIdleMs?: number;
}

export class ShimManager {
  readonly #deps: ShimManagerDeps;
  readonly #shims = new Map<string, Followed>();
  /** One spawn at a time per address (a group shim is shared by several containers). */
  readonly #spawning = new Map<string, Promise<{ client: ShimClient; pid: number; ready: Fact | undefined; address: string }>>();

  /** Warm shims, spawned ahead of need (or given back empty) and not named in the log. */
  readonly #pool: Promise<{ address: string; pid: number; version: string; client: ShimClient }>[] = [];
  /** Pool entries whose shim is up (a take prefers them to a spawn still under way). */
  readonly #up = new WeakSet<Promise<unknown>>();
  /** Pool shims this daemon spawned (their orphan check watches this process): address -> hello. */
  readonly #ownWarm = new Map<string, { pid: number; version: string }>();
  #refill: NodeJS.Timeout | undefined;
  #trim: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: ShimManagerDeps) {
    this.#deps = deps;
  }

  get #poolSize(): number {
    return this.#deps.poolSize ?? 0;
  }

  get #poolMax(): number {
    return this.#poolSize === 0 ? 0 : Math.max(this.#poolSize, this.#deps.poolMax ?? this.#poolSize);
  }

  /** Fills the warm pool (call once the daemon serves). */
  startPool(): void {
    while (!this.#closed && this.#pool.length < this.#poolSize) {
      const p = this.#spawnWarm();
      p.then(
        () => this.#up.add(p),
        (e: unknown) => this.#deps.logger.warn({ err: String(e) }, 'warm shim failed'),
      );
      this.#pool.push(p);
    }
  }

  /**
   * A pool shim: not named in the log until a container is given to it, and it leaves by
   * itself if this daemon dies before that. Connected and called once ahead of need: the
   * channel's set-up and the shim's first (cold) call are then off the path of the Create
   * that takes it (~15 ms measured).
   */
  #spawnWarm(): Promise<{ address: string; pid: number; version: string; client: ShimClient }> {
    return spawnShim({ stateDir: this.#deps.stateDir, ns: 'pool', id: `w${randomUUID().slice(0, 12)}`, runtimeBinary: this.#deps.runtimeBinary, runcRoot: this.runcRoot, pool: true }).then(async (hello) => {
      this.#ownWarm.set(hello.address, { pid: hello.pid, version: hello.version });
      const client = new ShimClient(hello.address);
      await client.pid(this.#deps.probeTimeoutMs).catch(() => undefined);
      return { ...hello, client };
    });
  }

  /**
   * Idle shims beyond poolSize (kept after a burst of parallel work) are shut down once the
   * pool has gone unused for poolIdleMs: each is a Node process of ~42 MB PSS (76 MB RSS), measured idle.
   */
  #armTrim(): void {
    clearTimeout(this.#trim);
    if (this.#pool.length <= this.#poolSize) return;
    this.#trim = setTimeout(() => {
      this.#trim = undefined;
      // The least recently given back go (takes are from the end).
      for (const p of this.#pool.splice(0, this.#pool.length - this.#poolSize)) {
        void p.then(
          (w) => {
            this.#ownWarm.delete(w.address);
            void w.client
              .shutdown(false)
              .catch(() => undefined)
              .finally(() => w.client.close());
          },
          () => undefined,
        );
      }
    }, this.#deps.poolIdleMs ?? 30_000).unref();
  }

  async #takeWarm(): Promise<{ address: string; pid: number; version: string; client: ShimClient } | undefined> {
    this.#armTrim();
    while (this.#pool.length > 0) {
      // A shim that is up before one still starting; among those, the most recently given
      // back (the one most likely still in memory).
      const i = this.#pool.findLastIndex((p) => this.#up.has(p));
      const next = i >= 0 ? this.#pool.splice(i, 1)[0]! : this.#pool.shift()!;
      // Refilled a little later: a shim given back by a Delete meanwhile (release) refills
      // the pool without a spawn (~170 ms of CPU each), and a spawn's fork blocks this event
      // loop for a few ms, better not before the taken shim is asked to Create.
      this.#refill ??= setTimeout(() => {
        this.#refill = undefined;
        this.startPool();
      }, 250).unref();
      const hello = await next.catch(() => undefined);
      if (hello) return hello;
    }
    return undefined;
  }

  get runcRoot(): string {
    return join(this.#deps.stateDir, 'runc');
  }

  /** runc's --root per namespace, so that the same id in two namespaces never collides. */
  runcRootFor(ns: string): string {
    return join(this.runcRoot, ns);
  }

  client(address: string): ShimClient | undefined {
    return this.#shims.get(address)?.client;
  }

  /** The client of the shim hosting a task, or SHIM_UNAVAILABLE when it is not connected. */
  clientOf(t: { shim: { address: string } }): ShimClient {
    const client = this.client(t.shim.address);
    if (!client) throw new ChronicleError('SHIM_UNAVAILABLE', `the shim at ${t.shim.address} is not connected`, { address: t.shim.address });
    return client;
  }

  /**
   * The shim for a container: its group's shim if it has one and it serves, else a new one.
   * Returns the ShimReady fact to append with TaskCreated when it spawned one.
   */
  async ensure(ctx: CallContext, c: ContainerView): Promise<{ address: string; pid: number; client: ShimClient; ready: Fact | undefined }> {
    const group = c.labels[SHIM_GROUP_LABEL];
    const key = group ? `group.${group}` : c.id;
    const address = addressFor({ stateDir: this.#deps.stateDir, ns: c.ns, id: key });
    const known = this.#deps.projector.state.shims[address];
    const followed = this.#shims.get(address);
    if (group && followed && known?.status === 'ready' && known.pid !== null) {
      try {
        await followed.client.pid(this.#deps.probeTimeoutMs);
        return { address, pid: known.pid, client: followed.client, ready: undefined };
      } catch {
        // gone: spawn a new one at the same address
      }
    }
    let pending = this.#spawning.get(address);
    if (!pending) {
      pending = this.#spawn(ctx, c.ns, key, address, group);
      this.#spawning.set(address, pending);
      void pending.finally(() => this.#spawning.delete(address)).catch(() => undefined);
    }
    return pending;
  }

  async #spawn(ctx: CallContext, ns: string, key: string, address: string, group: string | undefined): Promise<{ client: ShimClient; pid: number; ready: Fact | undefined; address: string }> {
    // With a pool, a container without a group gets a pool shim even when none is idle: it
    // goes back to the pool after the Delete instead of exiting, so a burst of parallel
    // work spawns shims once, not once per container.
    const warm = group || this.#poolMax === 0 ? undefined : ((await this.#takeWarm()) ?? (await this.#spawnWarm()));
    if (warm) {
      // Already running: the log names its address before any container is given to it.
      await this.#deps.log.append([{ type: 'ShimSpawning', ns, id: key, actor: ctx.actor, req: ctx.req, data: { address: warm.address } }]);
      const client = warm.client;
      this.#follow(warm.address, ns, client, 0);
      return { client, pid: warm.pid, ready: { type: 'ShimReady', ns, id: key, actor: 'daemon', req: ctx.req, data: { address: warm.address, pid: warm.pid, version: warm.version } }, address: warm.address };
    }
    await this.#deps.log.append([{ type: 'ShimSpawning', ns, id: group ? '' : key, actor: ctx.actor, req: ctx.req, data: { address, ...(group ? { group } : {}) } }]);
    const hello = await spawnShim({ stateDir: this.#deps.stateDir, ns, id: key, runtimeBinary: this.#deps.runtimeBinary, runcRoot: this.runcRoot });
    crashPoint('shim.after-spawn');
    const client = new ShimClient(address);
    this.#follow(address, ns, client, 0);
    const ready: Fact = { type: 'ShimReady', ns, id: group ? '' : key, actor: 'daemon', req: ctx.req, data: { address, pid: hello.pid, version: hello.version } };
    return { client, pid: hello.pid, ready, address };
  }

  /**
   * Attaches to a shim the log names (recovery): PID() with a deadline, then follow.
   * Resolves with the states of the tasks it hosts and its last shimSeq, or undefined when
   * it is gone.
   */
  async attach(address: string, ns: string, expectedPid: number | null, opts: { deferFollow?: boolean } = {}): Promise<{ tasks: ShimState[]; lastShimSeq: number } | undefined> {
    const client = new ShimClient(address);
    let reply: PidReply;
    try {
      reply = await client.pid(this.#deps.probeTimeoutMs);
      if (expectedPid !== null && reply.pid !== expectedPid) throw new Error(`pid ${reply.pid}, log says ${expectedPid}`);
    } catch (e) {
      this.#deps.logger.warn({ address, err: String(e) }, 'shim unreachable');
      client.close();
      return undefined;
    }
    const logged = this.#deps.projector.state.shims[address]?.lastShimSeq ?? 0;
    // Nothing happened while the daemon was down: the stream can open once it serves (its
    // `after` covers whatever comes meanwhile). Otherwise it opens now, to catch up first.
    this.#follow(address, ns, client, logged, opts.deferFollow === true && reply.lastShimSeq <= logged);
    return { tasks: reply.tasks, lastShimSeq: reply.lastShimSeq };
  }

  /**
   * Opens the Events streams that recovery deferred (call once the daemon serves), a few per
   * turn of the event loop: opening 100 in one go held the loop ~100 ms, just as the first
   * clients connect.
   */
  followDeferred(perTurn = 8): void {
    const pending = [...this.#shims.values()].filter((f) => f.deferred);
    const slice = (): void => {
      for (const f of pending.splice(0, perTurn)) {
        const open = f.deferred;
        f.deferred = undefined;
        open?.();
      }
      if (pending.length > 0) setImmediate(slice);
    };
    slice();
  }

  /** Resolves true once the follower of `address` has handled every fact up to `shimSeq`. */
  caughtUp(address: string, shimSeq: number, timeoutMs: number): Promise<boolean> {
    const f = this.#shims.get(address);
    if (!f) return Promise.resolve(false);
    if (f.handled >= shimSeq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        f.progress.delete(check);
        resolve(ok);
      };
      const check = (): void => {
        if (f.handled >= shimSeq) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      f.progress.add(check);
    });
  }

  #follow(address: string, ns: string, client: ShimClient, after: number, deferred = false): void {
    this.#shims.get(address)?.abort.abort();
    const abort = new AbortController();
    const followed: Followed = { ns, client, abort, handled: after, progress: new Set() };
    this.#shims.set(address, followed);
    if (deferred) followed.deferred = () => this.#stream(address, followed, after);
    else this.#stream(address, followed, after);
  }

  /** Follows a shim's Events from `after` (reconnecting while it answers PID(), lost when not). */
  #stream(address: string, followed: Followed, after: number): void {
    const { ns, client, abort } = followed;
    if (abort.signal.aborted) return;
    void (async () => {
      let last = after;
      for (let attempt = 0; !abort.signal.aborted; attempt++) {
        try {
          for await (const f of client.events(last, abort.signal)) {
            await this.#record(address, ns, f);
            last = f.shimSeq;
            followed.handled = last;
            for (const p of followed.progress) p();
            attempt = 0;
          }
        } catch {
          // the stream broke: find out below whether the shim is still there
        }
        if (abort.signal.aborted) return;
        const alive = await client.pid(this.#deps.probeTimeoutMs).then(
          () => true,
          () => false,
        );
        if (!alive) {
          await this.lost(address, 'shim stopped answering');
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    })().catch((e: unknown) => this.#deps.logger.error({ address, err: String(e) }, 'shim follower failed'));
  }

  /** One shim fact into the log, once: the projection knows the last shimSeq logged. */
  async #record(address: string, ns: string, f: ShimFactMessage): Promise<void> {
    await this.#deps.locks.with(containerKey(ns, f.containerId), () => this.#recordLocked(address, ns, f));
  }

  async #recordLocked(address: string, ns: string, f: ShimFactMessage): Promise<void> {
    const state = this.#deps.projector.state;
    if ((state.shims[address]?.lastShimSeq ?? 0) >= f.shimSeq) return;
    const c = state.containers[containerKey(ns, f.containerId)];
    if (!c?.task || c.task.shim.address !== address) return;
    const base = { ns, id: f.containerId, actor: 'shim', shimSeq: f.shimSeq } as const;
    if (f.type === 'exit') {
      if (c.task.status === 'exited') return;
      await this.#deps.log.append([
        { ...base, type: 'TaskExited', data: { pid: f.pid, exitCode: f.exitCode, signal: f.signal || null, exitedAt: f.exitedAt, reason: f.signal ? 'killed' : 'exited' } },
      ]);
    } else if (f.type === 'exec-exit') {
      await this.#deps.log.append([{ ...base, type: 'ExecExited', data: { execId: f.execId, pid: f.pid, exitCode: f.exitCode, exitedAt: f.exitedAt } }]);
    } else {
      await this.#deps.log.append([{ ...base, type: 'TaskOOM', data: {} }]);
    }
  }

  /** ShimLost, then TaskExited(shim-lost) for each live task it hosted. */
  async lost(address: string, reason: string): Promise<number> {
    const followed = this.#shims.get(address);
    followed?.abort.abort();
    followed?.client.close();
    this.#shims.delete(address);
    const state = this.#deps.projector.state;
    const shim = state.shims[address];
    // A shim that hosted nothing any more exited as it should: that is no loss.
    if (!shim || shim.status === 'lost' || shim.containers.length === 0) return 0;
    const live = (keys: string[]): ContainerView[] => keys.map((k) => this.#deps.projector.state.containers[k]).filter((c): c is ContainerView => isLive(c?.task));
    // Leftovers first: a crash before the append below probes, finds it dead and cleans again.
    await cleanUpLostShim(
      { stateDir: this.#deps.stateDir, runtimeBinary: this.#deps.runtimeBinary, runcRootFor: (ns) => this.runcRootFor(ns), logger: this.#deps.logger },
      shim,
      live(shim.containers),
    );
    const facts: Fact[] = [];
    const now = Date.now();
    let tasks = 0;
    for (const c of live(shim.containers)) {
      if (!c.task) continue;
      tasks++;
      facts.push({ type: 'TaskExited', ns: c.ns, id: c.id, actor: 'recovery', data: { pid: c.task.pid, exitCode: 255, signal: null, exitedAt: now, reason: 'shim-lost' } });
    }
    const first = shim.containers[0]?.split('/');
    facts.unshift({ type: 'ShimLost', ns: first?.[0] ?? '', id: first?.[1] ?? '', actor: 'recovery', data: { address, pid: shim.pid, reason } });
    await this.#deps.log.append(facts);
    return tasks;
  }

  /** Shuts down a shim that hosts nothing the log knows of, and records it as lost. */
  async retire(address: string, reason: string): Promise<void> {
    const followed = this.#shims.get(address)?.client;
    const client = followed ?? new ShimClient(address, this.#deps.probeTimeoutMs);
    await client.shutdown(true).catch(() => undefined);
    if (!followed) client.close();
    this.forget(address);
    const shim = this.#deps.projector.state.shims[address];
    await this.#deps.log.append([{ type: 'ShimLost', ns: '', id: '', actor: 'recovery', data: { address, pid: shim?.pid ?? null, reason } }]);
  }

  /**
   * A shim that hosts nothing any more after a Delete: a pool shim of this daemon goes back
   * to the pool while it has room (it stays connected); any other leaves (a pool shim is
   * shut down, others exit by themselves).
   */
  release(address: string): void {
    const f = this.#shims.get(address);
    const own = this.#ownWarm.get(address);
    if (!f) return;
    f.abort.abort();
    this.#shims.delete(address);
    if (own && !this.#closed && this.#pool.length < this.#poolMax) {
      const back = Promise.resolve({ address, pid: own.pid, version: own.version, client: f.client });
      this.#up.add(back);
      this.#pool.push(back);
      this.#armTrim();
      return;
    }
    this.#ownWarm.delete(address);
    void f.client
      .shutdown(false)
      .catch(() => undefined)
      .finally(() => f.client.close());
  }

  /** Forgets a shim that exited after its last Delete. */
  forget(address: string): void {
    const f = this.#shims.get(address);
    f?.abort.abort();
    f?.client.close();
    this.#shims.delete(address);
  }

  /** Stops following (shims keep running) and retires the warm shims nobody was given. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#refill);
    clearTimeout(this.#trim);
    for (const address of [...this.#shims.keys()]) this.forget(address);
    const warm = await Promise.all(this.#pool.splice(0).map((p) => p.catch(() => undefined)));
    for (const w of warm) {
      if (!w) continue;
      await w.client.shutdown(false).catch(() => undefined);
      w.client.close();
    }
  }
}
