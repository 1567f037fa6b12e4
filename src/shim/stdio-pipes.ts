// A runc container's stdout and stderr are pipes that the shim copies into their files (or
// FIFOs). A file held by the container itself would be a host path outside its mount
// namespace, which CRIU refuses to dump ("Can't lookup mount"); a pipe is external, and
// `runc restore` hands the restored process a new one in its place (CRIU's inherit-fd), so
// every runc container can be checkpointed.
import { closeSync, createWriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { makePipe } from './ffi.js';

export class StdioPipes {
  /** Write ends, for the child (runc passes them on to the container's init). */
  readonly stdout: number;
  readonly stderr: number;
  /** Resolves once every byte written was copied and the files are closed. */
  readonly done: Promise<void>;
  #writeEnds: number[];

  /**
   * Takes ownership of `outFd` and `errFd` (they are closed when the copy ends). The same
   * fd twice shares one pipe, so the order of the two streams' writes is kept.
   */
  constructor(outFd: number, errFd: number) {
    const copies: Promise<void>[] = [];
    const made: number[] = [];
    const pipeTo = (fd: number): number => {
      const [r, w] = makePipe();
      made.push(w);
      const reader = new Socket({ fd: r, readable: true, writable: false });
      const writer = createWriteStream('', { fd, autoClose: true });
      copies.push(
        new Promise<void>((resolve) => {
          writer.once('close', resolve);
          // A file that cannot be written (full disk) must not take the shim down.
          writer.once('error', () => (reader.destroy(), resolve()));
          reader.once('error', () => writer.end());
        }),
      );
      reader.pipe(writer);
      return w;
    };
    this.stdout = pipeTo(outFd);
    this.stderr = errFd === outFd ? this.stdout : pipeTo(errFd);
    this.#writeEnds = made;
    this.done = Promise.all(copies).then(() => undefined);
  }

  /** Call once the child (runc) has exited: the container holds its own copies. */
  closeWriteEnds(): void {
    for (const w of this.#writeEnds.splice(0)) closeSync(w);
  }
}
