// A process's stdin from a client's FIFO, as containerd's shim does it: the shim opens a
// keep-alive writer on the FIFO (read-write: never blocks, and lets the client's pending
// write-open complete), reads the FIFO and copies into a pipe whose read end is the
// process's stdin. CloseIO closes the keep-alive, so the process sees EOF once the client
// has closed its writer too. A pipe (not the FIFO itself) is what the process holds: a host
// FIFO inside a container cannot be checkpointed by CRIU, a pipe can (inherit-fd).
// A regular file is copied the same way, without a keep-alive.
import { closeSync, constants, createReadStream, createWriteStream, openSync, statSync, type ReadStream, type WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { ChronicleError } from '../errors.js';
import { makePipe } from './ffi.js';

export class StdinCopy {
  /** The pipe's read end, for the child; the caller closes it once the child has it. */
  readonly fd: number;
  #keepAlive: number | undefined;
  readonly #reader: Socket | ReadStream;
  readonly #writer: WriteStream;

  constructor(path: string) {
    const opened: number[] = [];
    try {
      let src: number;
      if (statSync(path, { throwIfNoEntry: false })?.isFIFO()) {
        this.#keepAlive = openSync(path, constants.O_RDWR);
        opened.push(this.#keepAlive);
        src = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      } else src = openSync(path, 'r');
      opened.push(src);
      const [r, w] = makePipe();
      opened.push(r, w);
      this.fd = r;
      this.#reader = this.#keepAlive !== undefined ? new Socket({ fd: src, readable: true, writable: false }) : createReadStream('', { fd: src, autoClose: true });
      this.#writer = createWriteStream('', { fd: w, autoClose: true });
    } catch (e) {
      for (const fd of opened) closeSync(fd);
      throw new ChronicleError('INVALID_ARGUMENT', `invalid stdin: cannot open ${path} for reading`, { field: 'stdin' }, { cause: e });
    }
    // The process closing its stdin (EPIPE) stops the copy; the source ending ends the pipe.
    this.#writer.once('error', () => this.#reader.destroy());
    this.#reader.once('error', () => this.#writer.end());
    this.#reader.pipe(this.#writer);
  }

  /** containerd's CloseIO(stdin): the process gets EOF once the client's writer closes too. */
  closeKeepAlive(): void {
    if (this.#keepAlive === undefined) return;
    closeSync(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  /** The process is gone (or never started): stop copying and close everything. */
  close(): void {
    this.closeKeepAlive();
    this.#reader.destroy();
    this.#writer.destroy();
  }
}
