// Operations on one container are serialised (DESIGN section 6, step 2): a FIFO promise chain
// per key, dropped when idle so the map never grows with history.

export class ContainerLocks {
  readonly #tails = new Map<string, Promise<void>>();

  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prior = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prior.then(() => mine);
    this.#tails.set(key, tail);
    await prior;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  get size(): number {
    return this.#tails.size;
  }
}
