// The daemon's configuration: defaults < config file < environment < flags, validated by
// one zod schema (a bad value is an error naming the field). Paths must be absolute.
import { accessSync, constants, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { ChronicleError, invalidArgument } from './errors.js';
import { DEFAULT_SNAPSHOT_EVERY } from './projections/snapshot-policy.js';
import { DEFAULT_DEFER_MAX_MS } from './fleet/write-pressure.js';
import { isLoopback, parseHttpAddress } from './api/http-address.js';

const AbsPath = z.string().refine((p) => isAbsolute(p), 'must be an absolute path');
/** A node id is one NATS subject token: no dots, wildcards or spaces. */
export const NodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

const ConfigShape = z.object({
  root: AbsPath,
  state: AbsPath,
  socket: AbsPath,
  runtime: z.enum(['runc', 'process']),
  runtimeBinary: z.string().min(1),
  /** The CRIU 4 binary runc runs for checkpoint/restore (scripts/install-criu.sh installs this wrapper). */
  criu: z.string().min(1),
  snapshotInterval: z.number().int().positive(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  /** Optional Prometheus metrics listener, host:port. */
  metricsAddress: z.string().regex(/^[^:]+:\d+$/, 'must be host:port').optional(),
  /** Per-shim deadline for recovery probes, and the overall recovery budget. */
  probeTimeoutMs: z.number().int().positive(),
  // 0: serve at once and verify every shim while serving.
  recoveryBudgetMs: z.number().int().nonnegative(),
  /** Warm shims kept spawned ahead of need (0 disables the pool). */
  shimPool: z.number().int().min(0).max(64),
  /** Idle shims kept for reuse after their container's Delete (the pool may grow to this under load, then shrinks back to shimPool when idle). */
  shimPoolMax: z.number().int().min(0).max(256),
  /** How long the pool may go unused before the idle shims beyond shimPool are shut down. */
  shimPoolIdleMs: z.number().int().positive(),
  /** Optional TCP listener with mutual TLS (TLS 1.3, client certificates from `tlsCa` required). */
  tlsAddress: z.string().regex(/^[^:]+:\d+$/, 'must be host:port').optional(),
  tlsCert: AbsPath.optional(),
  tlsKey: AbsPath.optional(),
  tlsCa: AbsPath.optional(),
  /** Optional second listener serving containerd 1.6's gRPC API (for unmodified `ctr`). */
  containerdSocket: AbsPath.optional(),
  /** Optional web UI and its JSON/SSE endpoints: "PORT" (loopback), "HOST:PORT" or "[IPV6]:PORT". */
  httpAddress: z.string().refine((a) => parseHttpAddress(a) !== undefined, 'must be PORT, HOST:PORT or [IPV6]:PORT').optional(),
  /** Bearer token the web endpoints require (mandatory when httpAddress is not loopback). Config file or env only: flags show in ps. */
  httpToken: z.string().min(16, 'must be at least 16 characters').max(512).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
  /** Identities (cert:CN or uid:N) confined to the namespaces listed; others are unlimited. */
  namespaceLimits: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
  /** Fleet export: NATS servers (nats://host:port) whose JetStream receives every committed event. */
  exportNats: z.array(z.string().regex(/^(nats|tls):\/\/[^\s,]+$|^[^\s,:/]+:\d+$/, 'must be nats://host:port, tls://host:port or host:port')).default([]),
  /** This node's name in the fleet: a NATS subject token. */
  nodeId: NodeId,
  natsStream: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, _ or -'),
  natsReplicas: z.number().int().min(1).max(5),
  /** How long the stream keeps events, in seconds (0: for ever). */
  natsMaxAgeS: z.number().int().nonnegative(),
  /** Longest time fleet export steps aside for a burst of local writes (0: never). */
  exportDeferMs: z.number().int().nonnegative(),
  natsTlsCa: AbsPath.optional(),
  natsTlsCert: AbsPath.optional(),
  natsTlsKey: AbsPath.optional(),
  /** A NATS credentials file (JWT + nkey seed), or a user and password, or a token. */
  natsCreds: AbsPath.optional(),
  natsUser: z.string().min(1).optional(),
  natsPass: z.string().min(1).optional(),
  natsToken: z.string().min(1).optional(),
});
export const Config = ConfigShape.refine((c) => !c.tlsAddress || (c.tlsCert && c.tlsKey && c.tlsCa), { path: ['tlsAddress'], message: 'needs tlsCert, tlsKey and tlsCa' }).refine(
  (c) => !c.natsTlsCert === !c.natsTlsKey,
  { path: ['natsTlsCert'], message: 'natsTlsCert and natsTlsKey go together' },
).refine(
  (c) => !c.httpAddress || c.httpToken !== undefined || isLoopback(parseHttpAddress(c.httpAddress)?.host ?? ''),
  { path: ['httpToken'], message: 'is required when httpAddress is not a loopback address' },
);
export type Config = z.infer<typeof Config>;

const FileConfig = ConfigShape.partial().strict();

export interface ConfigSources {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  uid?: number;
}

/** True if `name` is an executable on PATH (or an executable absolute path). */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = isAbsolute(name) ? [name] : (env['PATH'] ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function defaults(env: NodeJS.ProcessEnv, uid: number): Config {
  const asRoot = uid === 0;
  const root = asRoot ? '/var/lib/chronicle' : join(env['XDG_DATA_HOME'] ?? join(env['HOME'] ?? tmpdir(), '.local/share'), 'chronicle');
  const state = asRoot ? '/run/chronicle' : join(env['XDG_RUNTIME_DIR'] ?? join(tmpdir(), `chronicle-${uid}`), 'chronicle');
  const runc = asRoot ? onPath('runc', env) : undefined;
  return {
    root,
    state,
    socket: join(state, 'chronicle.sock'),
    runtime: runc ? 'runc' : 'process',
    runtimeBinary: runc ?? 'runc',
    criu: '/opt/chronicle/criu/bin/criu',
    snapshotInterval: DEFAULT_SNAPSHOT_EVERY,
    logLevel: 'info',
    probeTimeoutMs: 2_000,
    recoveryBudgetMs: 10_000,
    shimPool: 2,
    shimPoolMax: 8,
    shimPoolIdleMs: 30_000,
    namespaceLimits: {},
    exportNats: [],
    nodeId: (hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'node'),
    natsStream: 'CHRONICLE',
    natsReplicas: 1,
    natsMaxAgeS: 0,
    exportDeferMs: DEFAULT_DEFER_MAX_MS,
  };
}

const FLAGS = {
  config: { type: 'string' },
  root: { type: 'string' },
  state: { type: 'string' },
  socket: { type: 'string' },
  runtime: { type: 'string' },
  'runtime-binary': { type: 'string' },
  criu: { type: 'string' },
  'snapshot-interval': { type: 'string' },
  'log-level': { type: 'string' },
  'metrics-address': { type: 'string' },
  'shim-pool': { type: 'string' },
  'shim-pool-max': { type: 'string' },
  'shim-pool-idle-ms': { type: 'string' },
  'probe-timeout-ms': { type: 'string' },
  'recovery-budget-ms': { type: 'string' },
  'tls-address': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'containerd-socket': { type: 'string' },
  'export-nats': { type: 'string' },
  'node-id': { type: 'string' },
  'nats-stream': { type: 'string' },
  'nats-replicas': { type: 'string' },
  'nats-max-age-s': { type: 'string' },
  'export-defer-ms': { type: 'string' },
  'nats-tls-ca': { type: 'string' },
  'nats-tls-cert': { type: 'string' },
  'nats-tls-key': { type: 'string' },
  'nats-creds': { type: 'string' },
  'nats-user': { type: 'string' },
  'nats-pass': { type: 'string' },
  'nats-token': { type: 'string' },
  http: { type: 'string' },
} as const;

const ENV: Record<string, keyof Config> = {
  CHRONICLE_ROOT: 'root',
  CHRONICLE_STATE: 'state',
  CHRONICLE_SOCKET: 'socket',
  CHRONICLE_RUNTIME: 'runtime',
  CHRONICLE_RUNTIME_BINARY: 'runtimeBinary',
  CHRONICLE_CRIU: 'criu',
  CHRONICLE_SNAPSHOT_INTERVAL: 'snapshotInterval',
  CHRONICLE_LOG_LEVEL: 'logLevel',
  CHRONICLE_METRICS_ADDRESS: 'metricsAddress',
  CHRONICLE_SHIM_POOL: 'shimPool',
  CHRONICLE_SHIM_POOL_MAX: 'shimPoolMax',
  CHRONICLE_SHIM_POOL_IDLE_MS: 'shimPoolIdleMs',
  CHRONICLE_PROBE_TIMEOUT_MS: 'probeTimeoutMs',
  CHRONICLE_RECOVERY_BUDGET_MS: 'recoveryBudgetMs',
  CHRONICLE_TLS_ADDRESS: 'tlsAddress',
  CHRONICLE_TLS_CERT: 'tlsCert',
  CHRONICLE_TLS_KEY: 'tlsKey',
  CHRONICLE_TLS_CA: 'tlsCa',
  CHRONICLE_CONTAINERD_SOCKET: 'containerdSocket',
  CHRONICLE_EXPORT_NATS: 'exportNats',
  CHRONICLE_NODE_ID: 'nodeId',
  CHRONICLE_NATS_STREAM: 'natsStream',
  CHRONICLE_NATS_REPLICAS: 'natsReplicas',
  CHRONICLE_NATS_MAX_AGE_S: 'natsMaxAgeS',
  CHRONICLE_EXPORT_DEFER_MS: 'exportDeferMs',
  CHRONICLE_NATS_TLS_CA: 'natsTlsCa',
  CHRONICLE_NATS_TLS_CERT: 'natsTlsCert',
  CHRONICLE_NATS_TLS_KEY: 'natsTlsKey',
  CHRONICLE_NATS_CREDS: 'natsCreds',
  CHRONICLE_NATS_USER: 'natsUser',
  CHRONICLE_NATS_PASS: 'natsPass',
  CHRONICLE_NATS_TOKEN: 'natsToken',
  CHRONICLE_HTTP: 'httpAddress',
  CHRONICLE_HTTP_TOKEN: 'httpToken',
};

const NUMERIC = new Set<keyof Config>(['snapshotInterval', 'probeTimeoutMs', 'recoveryBudgetMs', 'shimPool', 'shimPoolMax', 'shimPoolIdleMs', 'natsReplicas', 'natsMaxAgeS', 'exportDeferMs']);
/** Comma-separated lists on the command line and in the environment. */
const LISTS = new Set<keyof Config>(['exportNats']);

function coerce(key: keyof Config, v: string): unknown {
  if (LISTS.has(key)) return v.split(',').map((x) => x.trim()).filter(Boolean);
  return NUMERIC.has(key) && /^\d+$/.test(v) ? Number(v) : v;
}

export function loadConfig(src: ConfigSources = {}): Config {
  const env = src.env ?? process.env;
  const uid = src.uid ?? process.getuid?.() ?? 0;
  let parsed;
  try {
    parsed = parseArgs({ args: [...(src.argv ?? [])], options: FLAGS, strict: true, allowPositionals: false });
  } catch (e) {
    throw new ChronicleError('INVALID_ARGUMENT', e instanceof Error ? e.message : String(e), { field: 'argv' });
  }
  const flags = parsed.values;
  const base = defaults(env, uid);
  const merged: Record<string, unknown> = { ...base };

  let socketExplicit = flags.socket !== undefined || (env['CHRONICLE_SOCKET'] ?? '') !== '';
  const file = flags.config ?? env['CHRONICLE_CONFIG'];
  if (file) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ChronicleError('INVALID_ARGUMENT', `config file ${file}: ${e instanceof Error ? e.message : String(e)}`, { field: 'config' });
    }
    const fromFile = FileConfig.safeParse(raw);
    if (!fromFile.success) throw invalidArgument(fromFile.error.issues, 'config');
    Object.assign(merged, fromFile.data);
    if (fromFile.data.socket !== undefined) socketExplicit = true;
  }
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') merged[key] = coerce(key, v);
  }
  const flagMap: Record<string, keyof Config> = {
    root: 'root',
    state: 'state',
    socket: 'socket',
    runtime: 'runtime',
    'runtime-binary': 'runtimeBinary',
    criu: 'criu',
    'snapshot-interval': 'snapshotInterval',
    'log-level': 'logLevel',
    'metrics-address': 'metricsAddress',
    'shim-pool': 'shimPool',
    'shim-pool-max': 'shimPoolMax',
    'shim-pool-idle-ms': 'shimPoolIdleMs',
    'probe-timeout-ms': 'probeTimeoutMs',
    'recovery-budget-ms': 'recoveryBudgetMs',
    'tls-address': 'tlsAddress',
    'tls-cert': 'tlsCert',
    'tls-key': 'tlsKey',
    'tls-ca': 'tlsCa',
    'containerd-socket': 'containerdSocket',
    'export-nats': 'exportNats',
    'node-id': 'nodeId',
    'nats-stream': 'natsStream',
    'nats-replicas': 'natsReplicas',
    'nats-max-age-s': 'natsMaxAgeS',
    'export-defer-ms': 'exportDeferMs',
    'nats-tls-ca': 'natsTlsCa',
    'nats-tls-cert': 'natsTlsCert',
    'nats-tls-key': 'natsTlsKey',
    'nats-creds': 'natsCreds',
    'nats-user': 'natsUser',
    'nats-pass': 'natsPass',
    'nats-token': 'natsToken',
    http: 'httpAddress',
  };
  for (const [flag, key] of Object.entries(flagMap)) {
    const v = (flags as Record<string, string | undefined>)[flag];
    if (v !== undefined) merged[key] = coerce(key, v);
  }
  // The socket follows the state dir unless it was set on its own.
  if (!socketExplicit && merged['state'] !== base.state && typeof merged['state'] === 'string') merged['socket'] = join(merged['state'], 'chronicle.sock');

  const result = Config.safeParse(merged);
  if (!result.success) throw invalidArgument(result.error.issues, 'config');
  return result.data;
}
