// chronicle.v1.Daemon: Info — who this daemon is, where its files are, and what the last
// recovery found (the DaemonRecovered event, from the projection).
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Config } from '../config.js';
import type { EventLog } from '../events/event-log.js';
import type { ExportStatus } from '../fleet/exporter.js';
import type { Projector } from '../projections/projector.js';
import { unary, type HandlerEnv } from './handler.js';

export const VERSION = '0.1.0';

export function daemonService(env: HandlerEnv, config: Config, log: EventLog, projector: Projector, exportStatus: () => ExportStatus | undefined = () => undefined): UntypedServiceImplementation {
  return {
    Info: unary(env, 'daemon.Info', async () => {
      const s = projector.state;
      const containers = Object.values(s.containers);
      return {
        version: VERSION,
        pid: process.pid,
        root: config.root,
        state: config.state,
        socket: config.socket,
        defaultRuntime: config.runtime,
        headSeq: log.head().seq,
        lastRecoveryJson: s.daemon.recovered ? JSON.stringify(s.daemon.recovered) : '',
        containers: containers.length,
        tasksRunning: containers.filter((c) => c.task?.status === 'running').length,
        exportJson: JSON.stringify(exportStatus() ?? null).replace(/^null$/, ''),
      };
    }),
  };
}
