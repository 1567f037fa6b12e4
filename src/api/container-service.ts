// chronicle.v1.Containers: create (from a bundle, or a rootfs plus a process from which the
// daemon writes the OCI spec), get, list by labels, update labels, delete.
import { createHash } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ChronicleError } from '../errors.js';
import type { Projector } from '../projections/projector.js';
import { decide } from '../projections/decide.js';
import { findContainer, type ContainerView, type TaskView } from '../projections/state.js';
import { unary, type HandlerEnv } from './handler.js';
import type { TaskWire } from './http-wire.js';
import type { Mutations } from './mutation.js';
import { ociSpec } from './oci-spec.js';
import {
  CreateContainerRequest,
  DeleteContainerRequest,
  GetContainerRequest,
  ListContainersRequest,
  parseRequest,
  UpdateContainerRequest,
} from './requests.js';

export interface ContainerServiceDeps {
  env: HandlerEnv;
  projector: Projector;
  mutations: Mutations;
  stateDir: string;
  defaultRuntime: 'runc' | 'process';
}

/** A task's status fields as chronicle.v1.Task carries them (and the web page shows them). */
export function taskStatus(t: TaskView): TaskWire {
  return {
    status: t.status,
    pid: t.pid,
    exitCode: t.exitCode ?? 0,
    exitSignal: t.exitSignal ?? '',
    exitedAt: t.exitedAt ?? 0,
    exitReason: t.exitReason ?? '',
    startedAt: t.startedAt ?? 0,
    restoredFrom: t.restoredFrom ?? '',
  };
}

export function taskMessage(c: ContainerView, t: TaskView): Record<string, unknown> {
  return {
    id: c.id,
    namespace: c.ns,
    ...taskStatus(t),
    shimAddress: t.shim.address,
    shimPid: t.shim.pid,
    stdout: t.stdio.stdout,
    stderr: t.stdio.stderr,
  };
}

export function containerMessage(c: ContainerView): Record<string, unknown> {
  return {
    id: c.id,
    namespace: c.ns,
    runtime: c.runtime,
    bundle: c.bundle,
    rootfs: c.rootfs ?? '',
    args: c.args,
    env: c.env,
    cwd: c.cwd,
    labels: c.labels,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    checkpoints: c.checkpoints.map((v) => ({ checkpointId: v.checkpointId, namespace: c.ns, containerId: c.id, imagePath: v.imagePath, bytes: v.bytes, digest: v.digest, leftRunning: v.leftRunning, createdAt: v.ts, seq: v.seq })),
    ...(c.task ? { task: taskMessage(c, c.task) } : {}),
  };
}

function labelMatch(labels: Record<string, string>, filter: string): boolean {
  const i = filter.indexOf('=');
  if (i < 0) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, i)] === filter.slice(i + 1);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export function containerService(deps: ContainerServiceDeps): UntypedServiceImplementation {
  const { env, projector, mutations } = deps;
  return {
    Create: unary(env, 'containers.Create', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(CreateContainerRequest, r), async (req) => {
        const runtime = req.runtime === '' ? deps.defaultRuntime : req.runtime;
        if (runtime === 'runc' && req.bundle === '' && req.rootfs === '') {
          throw new ChronicleError('INVALID_ARGUMENT', 'invalid rootfs: runc needs a bundle or a rootfs', { field: 'rootfs' });
        }
        const bundle = req.bundle !== '' ? req.bundle : join(deps.stateDir, 'bundles', ctx.ns, req.id);
        const spec = { runtime, bundle, ...(req.rootfs !== '' ? { rootfs: req.rootfs } : {}), args: req.args, env: req.env, cwd: req.cwd || '/', labels: req.labels };
        const d = decide(projector.state, { type: 'CreateContainer', ns: ctx.ns, id: req.id, spec }, ctx.actor);
        if (!d.ok) throw d.error;
        if (req.bundle !== '') {
          if (!(await exists(join(req.bundle, 'config.json')))) throw new ChronicleError('INVALID_ARGUMENT', 'invalid bundle: no config.json in it', { field: 'bundle' });
        } else {
          if (req.rootfs !== '' && !(await exists(req.rootfs))) throw new ChronicleError('INVALID_ARGUMENT', 'invalid rootfs: no such directory', { field: 'rootfs' });
          // The daemon owns bundles it writes; they live in the volatile state dir.
          await mkdir(bundle, { recursive: true, mode: 0o711 });
          if (runtime === 'runc') {
            const cgroup = `/chronicle/${ctx.ns}/${req.id}-${createHash('sha256').update(bundle).digest('hex').slice(0, 12)}`;
            await writeFile(join(bundle, 'config.json'), JSON.stringify(ociSpec(req.rootfs, { args: req.args, env: req.env, cwd: req.cwd || '/' }, req.id, cgroup), null, 2));
          }
        }
        return { facts: d.facts, reply: () => committedView(projector, ctx.ns, req.id) };
      }),
    ),
    Get: unary(env, 'containers.Get', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(GetContainerRequest, raw);
      const c = findContainer(projector.state, ctx.ns, req.id);
      if (!c) throw new ChronicleError('CONTAINER_NOT_FOUND', `container ${req.id} not found`, { id: req.id });
      return containerMessage(c);
    }),
    List: unary(env, 'containers.List', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(ListContainersRequest, raw);
      const containers = Object.values(projector.state.containers)
        .filter((c) => c.ns === ctx.ns && req.labelFilters.every((f) => labelMatch(c.labels, f)))
        .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
        .map(containerMessage);
      return { containers };
    }),
    Update: unary(env, 'containers.Update', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(UpdateContainerRequest, r), async (req) => {
        const d = decide(projector.state, { type: 'UpdateContainer', ns: ctx.ns, id: req.id, labels: req.labels }, ctx.actor);
        if (!d.ok) throw d.error;
        return { facts: d.facts, reply: () => committedView(projector, ctx.ns, req.id) };
      }),
    ),
    Delete: unary(env, 'containers.Delete', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(DeleteContainerRequest, r), async (req) => {
        const d = decide(projector.state, { type: 'DeleteContainer', ns: ctx.ns, id: req.id }, ctx.actor);
        if (!d.ok) throw d.error;
        const c = d.container!;
        // Only a bundle the daemon wrote is removed; a user's bundle dir is theirs.
        if (c.bundle.startsWith(join(deps.stateDir, 'bundles') + '/')) await rm(c.bundle, { recursive: true, force: true });
        return { facts: d.facts, reply: {} };
      }),
    ),
  };
}

/** The container as the projection holds it after the call's facts were committed. */
function committedView(projector: Projector, ns: string, id: string): Record<string, unknown> {
  const c = findContainer(projector.state, ns, id);
  if (!c) throw new ChronicleError('INTERNAL', `container ${id} is not in the projection after its commit`);
  return containerMessage(c);
}
