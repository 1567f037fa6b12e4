// The web UI's HTTP server (`chronicled --http [HOST:]PORT`, off by default): the page's
// static files, built into dist/web by `npm run build` and read once at start, and the
// History endpoints of http-history.ts. Reads only: nothing here appends to the log.
//
// Who may call: a configured bearer token is required on every /api request (config.ts
// refuses a non-loopback bind without one). Without a token the server is loopback only,
// and it also refuses a Host header that is not a loopback name, so a web page on another
// origin cannot read the history through DNS rebinding. The static files hold no data.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChronicleError, isChronicleError, type ErrorCode } from '../errors.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../log.js';
import { isLoopback, parseHttpAddress } from './http-address.js';
import { historyRoutes } from './http-history.js';
import type { ErrorWire } from './http-wire.js';

/** dist/web, from dist/src/api/http-server.js or from the bundle in dist/src/bin/. */
export const WEB_ASSETS_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  CONTAINER_NOT_FOUND: 404,
  CONTAINER_EXISTS: 409,
  ALREADY_EXISTS: 409,
  TASK_STATE: 409,
  FAILED_PRECONDITION: 412,
  PERMISSION_DENIED: 403,
  SHIM_UNAVAILABLE: 503,
  UNAVAILABLE: 503,
  CHAIN_BROKEN: 500,
  DEADLINE_EXCEEDED: 504,
  RUNTIME_FAILED: 500,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

// Scripts only from the daemon; inline style attributes are allowed (the timeline places
// thousands of spans with style="left:…", and every text in them is escaped).
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

interface Asset {
  type: string;
  body: Buffer;
}

export interface HttpServerOptions {
  address: string;
  token?: string | undefined;
  log: EventLog;
  logger: Logger;
  assetsDir?: string;
}

export class HttpServer {
  private constructor(
    private readonly server: Server,
    /** One controller per request in progress: close() ends open streams through them. */
    private readonly open: Set<AbortController>,
    readonly url: string,
  ) {}

  static async start(opts: HttpServerOptions): Promise<HttpServer> {
    const addr = parseHttpAddress(opts.address);
    if (!addr) throw new ChronicleError('INVALID_ARGUMENT', `invalid httpAddress: ${opts.address}`, { field: 'httpAddress' });
    if (!opts.token && !isLoopback(addr.host)) throw new ChronicleError('INVALID_ARGUMENT', 'invalid httpToken: required for a non-loopback httpAddress', { field: 'httpToken' });
    const assets = await loadAssets(opts.assetsDir ?? WEB_ASSETS_DIR, opts.logger);
    const routes = historyRoutes(opts.log);
    const tokenDigest = opts.token ? digest(opts.token) : undefined;
    const open = new Set<AbortController>();
    // The first page load would fold the whole history: do it now, off the request path.
    const warm = new AbortController();
    open.add(warm);
    routes.warm(warm.signal).then(
      () => open.delete(warm),
      (e: unknown) => {
        open.delete(warm);
        if (!warm.signal.aborted) opts.logger.warn({ err: e }, 'could not fold the timeline overview ahead of time');
      },
    );
    const server = createServer((req, res) => {
      const abort = new AbortController();
      open.add(abort);
      res.once('close', () => {
        abort.abort();
        open.delete(abort);
      });
      handle(req, res, abort.signal).catch((e: unknown) => sendError(res, e, opts.logger, req.url ?? ''));
    });

    const handle = async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', ...SECURITY_HEADERS }).end();
        return;
      }
      if (!tokenDigest && !isLoopback(hostName(req.headers.host ?? ''))) {
        throw new ChronicleError('PERMISSION_DENIED', 'this server answers to loopback names only (configure httpToken to serve others)', { field: 'host' });
      }
      const url = new URL(req.url ?? '/', 'http://chronicle.invalid');
      if (!url.pathname.startsWith('/api/')) {
        const asset = assets.get(url.pathname === '/' ? '/index.html' : url.pathname);
        if (!asset) throw new ChronicleError('NOT_FOUND', `no such page: ${url.pathname}`);
        res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
        res.end(req.method === 'HEAD' ? undefined : asset.body);
        return;
      }
      if (tokenDigest && !authorized(req.headers.authorization, tokenDigest)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="chronicle"', 'content-type': 'application/json', ...SECURITY_HEADERS });
        res.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'a bearer token is required' } } satisfies ErrorWire));
        return;
      }
      if (url.pathname === '/api/events') {
        const last = req.headers['last-event-id'];
        await routes.events(url.searchParams, typeof last === 'string' ? last : undefined, res, signal);
        return;
      }
      const route = routes.json[url.pathname];
      if (!route) throw new ChronicleError('NOT_FOUND', `no such endpoint: ${url.pathname}`);
      const body = JSON.stringify(await route(url.searchParams, signal));
      if (signal.aborted) return;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...SECURITY_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : body);
    };

    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(addr.port, addr.host, resolve));
    const bound = server.address() as AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    const self = new HttpServer(server, open, `http://${host}:${bound.port}/`);
    opts.logger.info({ url: self.url, token: Boolean(tokenDigest) }, 'web UI serving');
    return self;
  }

  /** Ends every open stream and stops listening. */
  async close(): Promise<void> {
    for (const a of this.open) a.abort();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time: the digests of the expected and the presented token are compared. */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), expected);
}

/** The host name of a Host header ("[::1]:8080" -> "::1", "localhost:80" -> "localhost"). */
function hostName(host: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(host) ?? /^([^:]+)(?::\d+)?$/.exec(host);
  return m?.[1] ?? '';
}

function sendError(res: ServerResponse, e: unknown, logger: Logger, url: string): void {
  let err: ChronicleError;
  if (isChronicleError(e)) err = e;
  else {
    const req = randomUUID();
    logger.error({ err: e, req, url }, 'web request failed');
    err = new ChronicleError('INTERNAL', `internal error (request ${req})`);
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  const field = typeof err.details['field'] === 'string' ? err.details['field'] : undefined;
  const body: ErrorWire = { error: { code: err.code, message: err.message, ...(field !== undefined ? { field } : {}) } };
  res.writeHead(HTTP_STATUS[err.code], { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS }).end(JSON.stringify(body));
}

/** The built page: every file under `dir`, by URL path. Missing assets leave a page that says so. */
async function loadAssets(dir: string, logger: Logger): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>();
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name).slice(dir.length));
  } catch {
    names = [];
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type) out.set(`/${name.split('\\').join('/')}`, { type, body: await readFile(join(dir, name)) });
  }
  if (!out.has('/index.html')) {
    logger.warn({ dir }, 'web UI assets are missing (npm run build makes them): serving the API only');
    out.set('/index.html', { type: TYPES['.html']!, body: Buffer.from('<!doctype html><title>chronicle</title><p>The web UI was not built: run <code>npm run build</code>.</p>') });
  }
  return out;
}
