// Reads a process's stdout/stderr files, and with `follow` keeps reading as they grow until
// the process has exited and everything it wrote was sent. Files only: a FIFO's reader is
// whoever created it.
import { open, stat } from 'node:fs/promises';

export interface LogChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export async function* readLogs(
  files: { stdout: string; stderr: string },
  opts: { follow: boolean; streams: ('stdout' | 'stderr')[]; done: () => boolean; signal: AbortSignal; exited?: Promise<unknown> },
): AsyncGenerator<LogChunk> {
  const offsets = { stdout: 0, stderr: 0 };
  for (;;) {
    const finished = opts.done();
    let progressed = false;
    for (const stream of opts.streams) {
      const path = files[stream];
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile() || st.size <= offsets[stream]) continue;
      const fh = await open(path, 'r');
      try {
        const len = Math.min(st.size - offsets[stream], 1 << 20);
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, offsets[stream]);
        offsets[stream] += bytesRead;
        if (bytesRead > 0) {
          progressed = true;
          yield { stream, data: buf.subarray(0, bytesRead) };
        }
      } finally {
        await fh.close();
      }
    }
    if (opts.signal.aborted) return;
    if (!progressed && (!opts.follow || finished)) return;
    // Poll for growth, but wake at once when the process exits: a `run --rm` waits on this.
    if (!progressed) await sleepUnless(100, opts.exited);
  }
}

function sleepUnless(ms: number, wake: Promise<unknown> | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void wake?.then(
      () => (clearTimeout(t), resolve()),
      () => undefined,
    );
  });
}
