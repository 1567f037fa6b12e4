// The composition root: builds everything with explicit dependencies, in start order
// (log -> projection -> DaemonStarted -> services -> socket), and stops in reverse
// (socket -> DaemonStopped -> final snapshot -> log). Shims are never stopped here.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Config } from './config.js';
import type { NatsExporter } from './fleet/exporter.js';
import { EventLog } from './events/event-log.js';
import type { Logger } from './log.js';
import { Projector } from './projections/projector.js';
import { ContainerLocks } from './api/container-locks.js';
import { containerService } from './api/container-service.js';
import { daemonService, VERSION } from './api/daemon-service.js';
import { eventsService } from './api/events-service.js';
import { historyService } from './api/history-service.js';
import { archiveDirOf, logService } from './api/log-service.js';
import { preloadApiServer, startApiServer, type ApiServer } from './api/grpc-server.js';
import type { HandlerEnv } from './api/handler.js';
import { HttpServer } from './api/http-server.js';
import { Mutations } from './api/mutation.js';
import { ShimManager } from './api/shim-manager.js';
import { checkpointService } from './api/checkpoint-service.js';
import { taskService } from './api/task-service.js';
import { startContainerdServer, type ContainerdServer } from './api/containerd/index.js';
import { recover } from './replay/recover.js';
import { serviceClient } from './api/proto.js';
import { shimService } from './shim/proto.js';

export class Daemon {
  #ready = false;
  #stopped = false;
  #containerd: ContainerdServer | undefined;
  #exporter: NatsExporter | undefined;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly log: EventLog,
    readonly projector: Projector,
    readonly shims: ShimManager,
    private api: ApiServer | undefined,
    private metricsServer: Server | undefined,
  ) {}

  #web: HttpServer | undefined;

  static async start(config: Config, logger: Logger): Promise<Daemon> {
    // Milestones in ms since the process started, logged once serving: where start-up goes.
    const at: Record<string, number> = { loaded: Math.round(performance.now()) };
    await mkdir(config.root, { recursive: true, mode: 0o700 });
    await mkdir(config.state, { recursive: true, mode: 0o711 });
    const opening = EventLog.open({ path: join(config.root, 'log'), logger: logger.child({ module: 'log' }) });
    // While LevelDB opens on its own threads, this one builds the gRPC definitions that
    // recovery (the shims') and serving (chronicle.v1's) need next.
    shimService();
    serviceClient('Containers');
    const [log] = await Promise.all([opening, preloadApiServer()]);
    const broken = log.broken();
    if (broken) logger.error({ seq: broken.seq, reason: broken.reason }, 'the event log chain is broken: serving reads, refusing writes (DATA_LOSS) until repaired');
    at['logOpen'] = Math.round(performance.now());
    const projector = new Projector(log, { snapshotEvery: config.snapshotInterval, logger: logger.child({ module: 'projector' }) });
    await projector.start();
    at['replayed'] = Math.round(performance.now());
    logger.info({ head: log.head().seq, ...projector.loaded }, 'log replayed');
    if (!broken) {
      await log.append([{ type: 'DaemonStarted', ns: '', id: '', actor: 'daemon', data: { version: VERSION, pid: process.pid, root: config.root, state: config.state } }]);
    }
    const locks = new ContainerLocks();
    const shims = new ShimManager({ log, projector, locks, stateDir: config.state, runtimeBinary: config.runtimeBinary, logger: logger.child({ module: 'shims' }), probeTimeoutMs: config.probeTimeoutMs, poolSize: config.shimPool, poolMax: config.shimPoolMax, poolIdleMs: config.shimPoolIdleMs });
    // The socket opens only after recovery, as containerd's does.
    if (!broken) await recover({ log, projector, shims, logger: logger.child({ module: 'replay' }), budgetMs: config.recoveryBudgetMs });
    at['recovered'] = Math.round(performance.now());
    const daemon = new Daemon(config, logger, log, projector, shims, undefined, undefined);
    if (config.exportNats.length > 0) {
      // Loaded only when asked for: the NATS client is not part of every start-up.
      const { NatsExporter } = await import('./fleet/exporter.js');
      daemon.#exporter = await NatsExporter.start({
        log,
        node: config.nodeId,
        nats: { servers: config.exportNats, tlsCa: config.natsTlsCa, tlsCert: config.natsTlsCert, tlsKey: config.natsTlsKey, creds: config.natsCreds, user: config.natsUser, pass: config.natsPass, token: config.natsToken },
        stream: config.natsStream,
        replicas: config.natsReplicas,
        maxAgeS: config.natsMaxAgeS,
        deferMaxMs: config.exportDeferMs,
        logger: logger.child({ module: 'export' }),
      });
    }
    const env: HandlerEnv = {
      logger: logger.child({ module: 'api' }),
      actorOf: () => `uid:${process.getuid?.() ?? 0}`,
      ready: () => daemon.#ready,
      namespaceLimits: config.namespaceLimits,
      audit: async (fact) => void (await log.append([fact])),
    };
    const mutations = new Mutations(log, locks);
    daemon.api = await startApiServer(config.socket, {
      Containers: containerService({ env, projector, mutations, stateDir: config.state, defaultRuntime: config.runtime }),
      Tasks: taskService({ env, log, projector, mutations, shims }),
      Checkpoints: checkpointService({ env, projector, mutations, shims, root: config.root, stateDir: config.state, criu: config.criu, runtimeBinary: config.runtimeBinary }),
      Events: eventsService(env, log),
      Daemon: daemonService(env, config, log, projector, () => daemon.#exporter?.status()),
      History: historyService(env, log),
      Log: logService({ env, log, mutations, archiveDir: archiveDirOf(config.root) }),
    }, config.tlsAddress && config.tlsCert && config.tlsKey && config.tlsCa ? { address: config.tlsAddress, cert: config.tlsCert, key: config.tlsKey, ca: config.tlsCa } : undefined);
    if (config.containerdSocket) {
      daemon.#containerd = await startContainerdServer(config.containerdSocket, { env, log, projector, mutations, shims, stateDir: config.state, root: config.root, criu: config.criu });
    }
    if (config.metricsAddress) {
      // prom-client (and the OpenTelemetry API it loads) only when asked for: ~13 ms of CPU.
      const { Metrics } = await import('./api/metrics.js');
      const metrics = new Metrics(() => tasksByState(projector), () => log.head().seq, () => daemon.#exporter?.status().lag);
      log.committed$.subscribe(() => metrics.appends.inc());
      daemon.metricsServer = await metrics.listen(config.metricsAddress);
    }
    if (config.httpAddress) {
      // A static import on purpose: esbuild turns a dynamic import() into lazy-init wrappers
      // around every module the imported one shares with the daemon (zod, the projections),
      // which cost ~10 ms of CPU at every start (290 -> 300 ms median of 21), while the
      // web modules' own top level only declares schemas (no measurable cost). With --http
      // off nothing here runs: no server, no fold, no assets read.
      daemon.#web = await HttpServer.start({ address: config.httpAddress, token: config.httpToken, log, logger: logger.child({ module: 'web' }) });
    }
    daemon.#ready = true;
    shims.followDeferred();
    shims.startPool();
    at['serving'] = Math.round(performance.now());
    logger.info({ socket: config.socket, ...(config.containerdSocket ? { containerdSocket: config.containerdSocket } : {}), startupMs: at }, 'serving');
    return daemon;
  }

  /** Clean stop: close the socket, record DaemonStopped, snapshot, close the log. */
  async stop(reason: string): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#ready = false;
    await this.api?.close();
    await this.#containerd?.close();
    await this.#web?.close();
    await this.shims.close();
    await new Promise<void>((r) => (this.metricsServer ? this.metricsServer.close(() => r()) : r()));
    if (!this.log.broken()) {
      await this.log.append([{ type: 'DaemonStopped', ns: '', id: '', actor: 'daemon', data: { reason } }]).catch((e: unknown) => this.logger.warn({ err: e }, 'could not record DaemonStopped'));
    }
    // Export stops after its batch in flight (what is left goes on the next start).
    await this.#exporter?.close();
    await this.projector.close();
    await this.log.close();
    this.logger.info({ reason }, 'stopped');
  }
}

function tasksByState(projector: Projector): Record<string, number> {
  const counts: Record<string, number> = { created: 0, running: 0, paused: 0, exited: 0 };
  for (const c of Object.values(projector.state.containers)) if (c.task) counts[c.task.status] = (counts[c.task.status] ?? 0) + 1;
  return counts;
}
