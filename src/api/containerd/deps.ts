// What every facade service is built from: the same core objects chronicle.v1 uses.
import type { EventLog } from '../../events/event-log.js';
import type { Projector } from '../../projections/projector.js';
import type { HandlerEnv } from '../handler.js';
import type { Mutations } from '../mutation.js';
import type { ShimManager } from '../shim-manager.js';

export interface FacadeDeps {
  env: HandlerEnv;
  log: EventLog;
  projector: Projector;
  mutations: Mutations;
  shims: ShimManager;
  stateDir: string;
  /** The daemon's persistent root (the server's uuid is derived from it). */
  root: string;
  /** The CRIU binary runc runs for checkpoints (--criu). */
  criu: string;
}
