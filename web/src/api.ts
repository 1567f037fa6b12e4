// The daemon's web endpoints as the page calls them: JSON GETs and the live event stream,
// both with the bearer token when one is needed. The stream is read with fetch rather than
// EventSource, which cannot send an Authorization header; it reconnects from the last seq.
import type { ErrorWire, LiveEventWire } from '../../src/api/http-wire.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'chronicle.token';

export class Api {
  /** The token from the URL fragment (#token=…, never sent to a server) or this tab's storage. */
  token: string | undefined = sessionStorage.getItem(TOKEN_KEY) ?? undefined;

  setToken(token: string): void {
    this.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
  }

  #headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async get<T>(path: string, params: Record<string, string | number | undefined> = {}, signal?: AbortSignal): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
    const qs = q.toString();
    const r = await fetch(`/api/${path}${qs ? `?${qs}` : ''}`, { headers: this.#headers(), ...(signal ? { signal } : {}) });
    if (!r.ok) {
      const body = (await r.json().catch(() => undefined)) as ErrorWire | undefined;
      throw new ApiError(r.status, body?.error.code ?? 'HTTP', body?.error.message ?? `HTTP ${r.status}`, body?.error.field);
    }
    return (await r.json()) as T;
  }

  /**
   * Follows the log from `fromSeq`, calling `onEvents` with each batch that arrived
   * together; reconnects after a failure from the seq after the last one delivered.
   */
  async follow(fromSeq: number, onEvents: (batch: LiveEventWire[]) => void, onStatus: (live: boolean, error?: ApiError) => void, signal: AbortSignal): Promise<void> {
    let next = fromSeq;
    while (!signal.aborted) {
      try {
        const r = await fetch(`/api/events?from=${next}`, { headers: { accept: 'text/event-stream', ...this.#headers() }, signal });
        if (r.status === 401) throw new ApiError(401, 'UNAUTHENTICATED', 'a bearer token is required');
        if (!r.ok || !r.body) throw new ApiError(r.status, 'HTTP', `event stream: HTTP ${r.status}`);
        onStatus(true);
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          const batch: LiveEventWire[] = [];
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).replace(/^ /, '');
            }
            if (event === 'event' && data) batch.push(JSON.parse(data) as LiveEventWire);
          }
          if (batch.length > 0) {
            next = batch.at(-1)!.event.seq + 1;
            onEvents(batch);
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        onStatus(false, e instanceof ApiError ? e : undefined);
        if (e instanceof ApiError && e.status === 401) return;
      }
      onStatus(false);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
