// chronicle.v1.Checkpoints: CRIU checkpoints of runc tasks, each a durable fact.
// Create: validate -> lock -> decide -> shim dumps (runc checkpoint) -> manifest ->
// TaskCheckpointed (+ TaskExited when the dump stopped the task) -> reply.
// Restore: the checkpoint is found in the projection (the log), its image checked against
// the digest the log holds, then a shim restores it (runc restore) into the container
// named (made from the manifest when new): ContainerCreated? + TaskCreated + TaskRestored.
// A failed restore leaves nothing: the shim spawned for it is retired, the bundle removed.
import { createHash, randomBytes } from 'node:crypto';
import { access, constants, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { onPath } from '../config.js';
import { crashPoint } from '../crash-points.js';
import { ChronicleError } from '../errors.js';
import type { Fact } from '../events/schemas.js';
import { decide } from '../projections/decide.js';
import type { Projector } from '../projections/projector.js';
import { findContainer, type CheckpointRecord, type ContainerView, type State } from '../projections/state.js';
import { measureImage } from '../shim/index.js';
import type { CallContext } from './audit.js';
import { IMAGE_DIR, ociForRestore, readManifest, readOciConfig, WORK_DIR, writeManifest } from './checkpoint-manifest.js';
import { taskMessage } from './container-service.js';
import { unary, type HandlerEnv } from './handler.js';
import type { Mutations } from './mutation.js';
import { CreateCheckpointRequest, DeleteCheckpointRequest, ListCheckpointsRequest, parseRequest, RestoreRequest } from './requests.js';
import type { ShimManager } from './shim-manager.js';

export interface CheckpointServiceDeps {
  env: HandlerEnv;
  projector: Projector;
  mutations: Mutations;
  shims: ShimManager;
  /** Persistent root: images under <root>/checkpoints/. */
  root: string;
  /** Volatile state dir: bundles of restored containers, CRIU's restore work dirs. */
  stateDir: string;
  /** The CRIU binary (or wrapper) runc runs. */
  criu: string;
  runtimeBinary: string;
}

export function checkpointMessage(r: CheckpointRecord): Record<string, unknown> {
  return {
    checkpointId: r.checkpointId,
    namespace: r.ns,
    containerId: r.containerId,
    imagePath: r.imagePath,
    bytes: r.bytes,
    digest: r.digest,
    leftRunning: r.leftRunning,
    paused: r.paused,
    durationMs: r.durationMs,
    parent: r.parent ?? '',
    createdAt: r.ts,
    seq: r.seq,
  };
}

/** The checkpoints of a namespace (optionally of one container), oldest first. */
export function checkpointsIn(state: State, ns: string, containerId = ''): CheckpointRecord[] {
  return Object.values(state.checkpoints)
    .filter((r) => r.ns === ns && (containerId === '' || r.containerId === containerId))
    .sort((a, b) => a.seq - b.seq);
}

/** Resolves once process `pid` is gone (or after `ms`): a retired shim exits just after its reply. */
async function gone(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function checkpointService(deps: CheckpointServiceDeps): UntypedServiceImplementation {
  const { env, projector, mutations, shims } = deps;
  const decided = (ctx: CallContext, cmd: Parameters<typeof decide>[1]) => {
    const d = decide(projector.state, cmd, ctx.actor);
    if (!d.ok) throw d.error;
    return d;
  };

  /** CRIU must be there before runc is asked (runc's own error would not say what to do). */
  const needCriu = async (): Promise<string> => {
    const path = onPath(deps.criu);
    const ok = path !== undefined && (await access(path, constants.X_OK).then(() => true, () => false));
    if (!ok) {
      throw new ChronicleError('FAILED_PRECONDITION', `CRIU is not installed at ${deps.criu}: run scripts/install-criu.sh (CRIU 4 in /opt/chronicle/criu), or point --criu / CHRONICLE_CRIU at a CRIU 4 binary`, { criu: deps.criu });
    }
    return path;
  };

  const shimOf = (c: ContainerView) => shims.clientOf(c.task!);

  const restore = (raw: unknown, ctx: CallContext) =>
    mutations.run(
      ctx,
      raw,
      (r) => {
        const req = parseRequest(RestoreRequest, r);
        const cp = projector.state.checkpoints[req.checkpointId];
        return { ...req, id: req.id || (cp?.ns === ctx.ns ? cp.containerId : '') };
      },
      async (req) => {
        const d = decided(ctx, { type: 'RestoreTask', ns: ctx.ns, id: req.id, checkpointId: req.checkpointId });
        const cp = projector.state.checkpoints[req.checkpointId]!;
        const imagePath = join(cp.imagePath, IMAGE_DIR);
        // Checked against the log's digest, not the manifest's: both travel with the image. The
        // hashing runs while the bundle and the shim are made ready; runc only starts after it.
        const measured = measureImage(imagePath).catch(() => undefined);
        const [criu, manifest] = await Promise.all([needCriu(), readManifest(cp.imagePath, cp.checkpointId)]);
        const checkImage = async (): Promise<void> => {
          const now = await measured;
          if (!now || now.digest !== cp.digest) {
            throw new ChronicleError(
              'FAILED_PRECONDITION',
              `checkpoint ${cp.checkpointId} is corrupted: ${now ? `its image files (sha256 ${now.digest.slice(0, 12)}…) do not match the digest recorded when it was taken (${cp.digest.slice(0, 12)}…)` : `${imagePath} cannot be read`}; nothing was restored`,
              { checkpointId: cp.checkpointId },
            );
          }
        };
        const facts: Fact[] = [];
        let c = d.container;
        let bundle: string;
        let wroteBundle = false;
        if (!c) {
          // A new container, made from the manifest, in a bundle the daemon owns.
          bundle = join(deps.stateDir, 'bundles', ctx.ns, req.id);
          const spec = { ...manifest.container, bundle };
          const created = decided(ctx, { type: 'CreateContainer', ns: ctx.ns, id: req.id, spec });
          facts.push(...created.facts);
          c = { ns: ctx.ns, id: req.id, ...spec, rootfs: spec.rootfs ?? null, createdAt: 0, updatedAt: 0, task: null, checkpoints: [] };
        } else {
          bundle = c.bundle;
          if (c.runtime !== 'runc') throw new ChronicleError('FAILED_PRECONDITION', `cannot restore into ${c.id}: it uses the ${c.runtime} runtime`, { id: c.id });
        }
        const config = join(bundle, 'config.json');
        if (!(await access(config).then(() => true, () => false))) {
          const cgroup = `/chronicle/${ctx.ns}/${req.id}-${createHash('sha256').update(`${bundle}\0${cp.checkpointId}`).digest('hex').slice(0, 12)}`;
          await mkdir(bundle, { recursive: true, mode: 0o711 });
          await writeFile(config, JSON.stringify(ociForRestore(manifest.oci, cgroup), null, 2));
          wroteBundle = true;
        }
        let restored;
        let shim;
        try {
          shim = await shims.ensure(ctx, c);
          await checkImage();
          restored = await shim.client.restore({ id: req.id, bundle, imagePath, workPath: join(deps.stateDir, 'criu', ctx.ns, req.id), criu, runcRoot: shims.runcRootFor(ctx.ns) });
        } catch (e) {
          // Nothing half-made stays: the shim spawned for this restore goes, so does the bundle.
          if (shim?.ready) {
            await shims.retire(shim.address, `restore of ${req.id} failed`).catch(() => undefined);
            await gone(shim.pid, 5_000);
          }
          if (wroteBundle) await rm(bundle, { recursive: true, force: true });
          throw e;
        }
        crashPoint('restore.after-restore');
        if (shim.ready) facts.push(shim.ready);
        facts.push(
          {
            type: 'TaskCreated',
            ns: ctx.ns,
            id: req.id,
            actor: ctx.actor,
            data: { pid: restored.pid, shim: { address: shim.address, pid: shim.pid }, bundle, stdio: { stdout: restored.stdout, stderr: restored.stderr } },
          },
          { type: 'TaskRestored', ns: ctx.ns, id: req.id, actor: ctx.actor, data: { checkpointId: cp.checkpointId, pid: restored.pid } },
        );
        return {
          facts,
          reply: () => {
            const after = findContainer(projector.state, ctx.ns, req.id);
            return { task: after?.task ? taskMessage(after, after.task) : undefined };
          },
        };
      },
    );

  return {
    Create: unary(env, 'checkpoints.Create', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(CreateCheckpointRequest, r), async (req) => {
        const checkpointId = req.name || `${req.id.slice(0, 60)}-${randomBytes(4).toString('hex')}`;
        const c = decided(ctx, { type: 'CheckpointTask', ns: ctx.ns, id: req.id, checkpointId }).container!;
        const t = c.task!;
        const criu = await needCriu();
        const oci = await readOciConfig(c.bundle);
        const dir = join(deps.root, 'checkpoints', checkpointId);
        // A dir the log does not name is a leftover (a crash before the append): replace it.
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const imagePath = join(dir, IMAGE_DIR);
        let cp;
        try {
          cp = await shimOf(c).checkpoint({ id: c.id, imagePath, workPath: join(dir, WORK_DIR), leaveRunning: req.leaveRunning, criu });
        } catch (e) {
          // The task keeps running; CRIU's log (named in the error) stays in <dir>/work.
          await rm(imagePath, { recursive: true, force: true });
          throw e;
        }
        crashPoint('checkpoint.after-dump');
        const paused = t.status === 'paused';
        const parent = t.restoredFrom;
        await writeManifest(dir, {
          version: 1,
          checkpointId,
          ns: c.ns,
          containerId: c.id,
          createdAt: Date.now(),
          runtime: 'runc',
          runtimeBinary: deps.runtimeBinary,
          container: { runtime: c.runtime, bundle: c.bundle, ...(c.rootfs ? { rootfs: c.rootfs } : {}), args: c.args, env: c.env, cwd: c.cwd, labels: c.labels },
          oci,
          bytes: cp.bytes,
          digest: cp.digest,
          files: cp.files,
          parent,
          leftRunning: cp.leftRunning,
          paused,
        });
        const facts: Fact[] = [
          {
            type: 'TaskCheckpointed',
            ns: ctx.ns,
            id: c.id,
            actor: ctx.actor,
            data: { checkpointId, imagePath: dir, bytes: cp.bytes, digest: cp.digest, leftRunning: cp.leftRunning, durationMs: Math.round(cp.durationMs * 1000) / 1000, paused, ...(parent ? { parent } : {}) },
          },
        ];
        if (cp.exited && cp.exit) {
          facts.push({ type: 'TaskExited', ns: ctx.ns, id: c.id, actor: ctx.actor, data: { pid: cp.pid, exitCode: cp.exit.exitCode, signal: cp.exit.signal || null, exitedAt: cp.exit.exitedAt, reason: 'checkpointed' } });
        }
        return {
          facts,
          reply: () => {
            const r = projector.state.checkpoints[checkpointId];
            if (!r) throw new ChronicleError('INTERNAL', `checkpoint ${checkpointId} is not in the projection after its commit`);
            return checkpointMessage(r);
          },
        };
      }),
    ),

    List: unary(env, 'checkpoints.List', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(ListCheckpointsRequest, raw);
      return { checkpoints: checkpointsIn(projector.state, ctx.ns, req.id).map(checkpointMessage) };
    }),

    Delete: unary(env, 'checkpoints.Delete', (raw, ctx) =>
      mutations.run(
        ctx,
        raw,
        (r) => {
          const req = parseRequest(DeleteCheckpointRequest, r);
          // Serialised with the calls on the container it was taken of.
          const cp = projector.state.checkpoints[req.checkpointId];
          return { ...req, id: cp?.ns === ctx.ns ? cp.containerId : '' };
        },
        async (req) => {
          const d = decided(ctx, { type: 'RemoveCheckpoint', ns: ctx.ns, id: req.id, checkpointId: req.checkpointId });
          const cp = projector.state.checkpoints[req.checkpointId]!;
          await rm(cp.imagePath, { recursive: true, force: true });
          return { facts: d.facts, reply: {} };
        },
      ),
    ),

    Restore: unary(env, 'checkpoints.Restore', (raw, ctx) => restore(raw, ctx)),
  };
}
