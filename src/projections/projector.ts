// The live projection: loads the newest snapshot plus the rest of the log, then folds every
// committed (durable) event from the bus as it is published, synchronously, so the state is
// current by the time an appender's promise resolves. Snapshots every N events and on close.
import type { Subscription } from 'rxjs';
import type { EventLog } from '../events/event-log.js';
import type { Envelope } from '../events/schemas.js';
import { silentLogger, type Logger } from '../log.js';
import { apply, fold } from './evolve.js';
import { encodeSnapshot } from './snapshot.js';
import { DEFAULT_SNAPSHOT_EVERY } from './snapshot-policy.js';
import { loadState } from './state-at.js';
import { initialState, type State } from './state.js';

export interface ProjectorOptions {
  snapshotEvery?: number;
  logger?: Logger;
}

export class Projector implements AsyncDisposable {
  readonly #log: EventLog;
  readonly #every: number;
  readonly #logger: Logger;
  #state: State = initialState();
  #sub: Subscription | undefined;
  #lastSnapshotSeq = 0;
  #writing: Promise<void> = Promise.resolve();
  #loaded = { snapshotSeq: 0, replayed: 0, ms: 0 };

  constructor(log: EventLog, opts: ProjectorOptions = {}) {
    this.#log = log;
    this.#every = opts.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
    this.#logger = opts.logger ?? silentLogger;
  }

  get state(): State {
    return this.#state;
  }

  /** What the start-up replay did: the snapshot it began from and how many events it folded. */
  get loaded(): { snapshotSeq: number; replayed: number; ms: number } {
    return this.#loaded;
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    // Attach first and buffer, so that nothing committed during the load is missed.
    const pending: Envelope[] = [];
    let live = false;
    this.#sub = this.#log.committed$.subscribe((e) => (live ? this.#onEvent(e) : pending.push(e)));
    const loaded = await loadState(this.#log);
    this.#state = fold(loaded.state, pending.filter((e) => e.seq > loaded.state.seq));
    live = true;
    this.#lastSnapshotSeq = loaded.snapshotSeq;
    this.#loaded = { snapshotSeq: loaded.snapshotSeq, replayed: loaded.replayed, ms: performance.now() - t0 };
  }

  #onEvent(e: Envelope): void {
    if (e.seq <= this.#state.seq) return;
    // The Projector owns its state: a private draft per event keeps earlier states intact.
    const draft = fold(this.#state, []);
    apply(draft, e);
    this.#state = draft;
    if (this.#state.seq - this.#lastSnapshotSeq >= this.#every) this.#snapshot();
  }

  #snapshot(): void {
    const state = this.#state;
    this.#lastSnapshotSeq = state.seq;
    this.#writing = this.#writing
      .then(() => this.#log.putSnapshot(state.seq, encodeSnapshot(state)))
      .catch((e: unknown) => this.#logger.warn({ err: e, seq: state.seq }, 'snapshot failed'));
  }

  /** Waits for snapshot writes in flight. */
  async flush(): Promise<void> {
    await this.#writing;
  }

  /** A final snapshot (if anything happened since the last), then detach. */
  async close(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    if (this.#state.seq > this.#lastSnapshotSeq && !this.#log.closed) this.#snapshot();
    await this.#writing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
