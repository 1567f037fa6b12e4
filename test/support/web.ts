// The web endpoints as a test calls them: the URL a daemon started with --http prints,
// JSON GETs that keep the status, and a Server-Sent Events reader over fetch.
import type { RunningDaemon } from './daemon.js';

/** The web UI's base URL, from the daemon's "web UI serving" log line (waits up to 20 s). */
export async function webUrl(d: RunningDaemon): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    for (const line of d.output().split('\n')) {
      if (!line.includes('web UI serving')) continue;
      const url = (JSON.parse(line) as { url?: string }).url;
      if (url) return url.replace('0.0.0.0', '127.0.0.1').replace('[::]', '[::1]');
    }
    if (Date.now() > deadline || d.child.exitCode !== null) throw new Error(`no web UI in the daemon's log:\n${d.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface JsonReply<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<JsonReply<T>> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, body: (await r.json()) as T, headers: r.headers };
}

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** The messages of an event stream, as they arrive; abort `signal` to stop. */
export async function* sse(url: string, opts: { headers?: Record<string, string>; signal: AbortSignal }): AsyncGenerator<SseMessage> {
  const r = await fetch(url, { headers: { accept: 'text/event-stream', ...opts.headers }, signal: opts.signal });
  if (r.status !== 200 || !r.body) throw new Error(`event stream: HTTP ${r.status} ${await r.text()}`);
  const decoder = new TextDecoder();
  let buf = '';
  const reader = r.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const msg: SseMessage = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line === '') continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'id') msg.id = value;
        else if (field === 'event') msg.event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length === 0 && msg.id === undefined) continue;
      msg.data = data.join('\n');
      yield msg;
    }
  }
}
