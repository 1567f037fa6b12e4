// containerd.services.containers.v1.Containers over chronicle's core. A container created
// here is a chronicle container (runtime runc, its bundle in the state dir) whose OCI spec
// is the one the client sent, kept in ContainerCreated so that it reads back as written.
import { createHash } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ChronicleError } from '../../errors.js';
import type { Fact } from '../../events/schemas.js';
import { decide } from '../../projections/decide.js';
import { findContainer, type ContainerView, type State } from '../../projections/state.js';
import { parseRequest } from '../requests.js';
import { notFound, serverStream, unary } from './call.js';
import type { FacadeDeps } from './deps.js';
import { matchesAny, parseFilters } from './filters.js';
import { anyJson, CreateContainerRequest, FiltersRequest, IdRequest, OciSpec, rawWithId, SPEC_TYPE_URL, UpdateContainerRequest } from './requests.js';
import { containerField, containerMessage } from './views.js';

const RUNC_RUNTIMES = new Set(['io.containerd.runc.v2', 'io.containerd.runc.v1', 'io.containerd.runtime.v1.linux']);

/** True if the namespace exists for a containerd client (created, or holding containers). */
export function namespaceKnown(state: State, ns: string): boolean {
  return state.namespaces[ns] !== undefined || Object.values(state.containers).some((c) => c.ns === ns);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export function containersService(deps: FacadeDeps): UntypedServiceImplementation {
  const { env, projector, mutations } = deps;

  const committed = async (ns: string, id: string) => {
    const c = findContainer(projector.state, ns, id);
    if (!c) throw new ChronicleError('INTERNAL', `container ${id} is not in the projection after its commit`);
    return { container: await containerMessage(c) };
  };

  const list = (ns: string, rawFilters: unknown): ContainerView[] => {
    const filters = parseFilters(parseRequest(FiltersRequest, rawFilters).filters);
    return Object.values(projector.state.containers)
      .filter((c) => c.ns === ns && matchesAny(filters, containerField(c)))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  };

  return {
    Create: unary(env, 'containerd.containers.Create', (raw, ctx) => {
      const container = typeof raw === 'object' && raw !== null ? (raw as { container?: unknown }).container : undefined;
      return mutations.run(ctx, rawWithId(container, 'id'), (r) => ({ ...parseRequest(CreateContainerRequest, { container: r }).container }), async (req) => {
        if (findContainer(projector.state, ctx.ns, req.id)) throw new ChronicleError('CONTAINER_EXISTS', `container "${req.id}": already exists`, { id: req.id });
        const runtimeName = req.runtime?.name || 'io.containerd.runc.v2';
        if (!RUNC_RUNTIMES.has(runtimeName)) {
          throw new ChronicleError('INVALID_ARGUMENT', `invalid container.runtime.name: ${runtimeName} is not supported (use io.containerd.runc.v2)`, { field: 'container.runtime.name' });
        }
        if (!req.spec) throw new ChronicleError('INVALID_ARGUMENT', 'invalid container.spec: an OCI spec is required', { field: 'container.spec' });
        const specText = Buffer.from(req.spec.value).toString('utf8');
        const spec = anyJson(OciSpec, req.spec, SPEC_TYPE_URL, 'container.spec');
        if (!(await exists(spec.root.path))) throw new ChronicleError('INVALID_ARGUMENT', `invalid container.spec.root.path: ${spec.root.path} does not exist`, { field: 'container.spec.root.path' });
        const bundle = join(deps.stateDir, 'bundles', ctx.ns, req.id);
        const options = req.runtime?.options;
        const d = decide(
          projector.state,
          {
            type: 'CreateContainer',
            ns: ctx.ns,
            id: req.id,
            spec: {
              runtime: 'runc',
              bundle,
              rootfs: spec.root.path,
              args: spec.process?.args ?? [],
              env: spec.process?.env ?? [],
              cwd: spec.process?.cwd || '/',
              labels: req.labels,
              containerd: {
                spec: specText,
                runtimeName,
                ...(options ? { runtimeOptions: { typeUrl: options.type_url, value: Buffer.from(options.value).toString('base64') } } : {}),
                image: req.image,
                snapshotter: req.snapshotter,
                snapshotKey: req.snapshot_key,
              },
            },
          },
          ctx.actor,
        );
        if (!d.ok) throw d.error;
        // The bundle's config.json is the client's spec, with a cgroups path unique to this
        // daemon's container: runc's (or containerd's) default would be shared with any other
        // runtime on the host that runs the same namespace/id.
        const cgroupsPath = `/chronicle/${ctx.ns}/${req.id}-${createHash('sha256').update(bundle).digest('hex').slice(0, 12)}`;
        await mkdir(bundle, { recursive: true, mode: 0o711 });
        await writeFile(join(bundle, 'config.json'), JSON.stringify({ ...spec, linux: { ...(spec.linux ?? {}), cgroupsPath } }));
        // A namespace comes into being with its first container, as in containerd.
        const facts: Fact[] = namespaceKnown(projector.state, ctx.ns) ? d.facts : [{ type: 'NamespaceCreated', ns: ctx.ns, id: '', actor: ctx.actor, data: { labels: {} } }, ...d.facts];
        return { facts, reply: () => committed(ctx.ns, req.id) };
      });
    }),

    Get: unary(env, 'containerd.containers.Get', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(IdRequest, raw);
      const c = findContainer(projector.state, ctx.ns, req.id);
      if (!c) throw notFound.container(ctx.ns, req.id);
      return { container: await containerMessage(c) };
    }),

    List: unary(env, 'containerd.containers.List', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      return { containers: await Promise.all(list(ctx.ns, raw).map(containerMessage)) };
    }),

    ListStream: serverStream(env, 'containerd.containers.ListStream', async (raw, ctx, write) => {
      if (ctx.nsError) throw ctx.nsError;
      for (const c of list(ctx.ns, raw)) await write({ container: await containerMessage(c) });
    }) as (call: ServerWritableStream<unknown, unknown>) => void,

    Update: unary(env, 'containerd.containers.Update', (raw, ctx) => {
      const container = typeof raw === 'object' && raw !== null ? (raw as { container?: unknown }).container : undefined;
      return mutations.run(ctx, rawWithId(container, 'id'), (r) => {
        const req = parseRequest(UpdateContainerRequest, { container: r, update_mask: (raw as { update_mask?: unknown }).update_mask ?? null });
        return { ...req, id: req.container.id };
      }, async (req) => {
        const c = findContainer(projector.state, ctx.ns, req.id);
        if (!c) throw notFound.container(ctx.ns, req.id);
        const paths = req.update_mask?.paths ?? [];
        let labels: Record<string, string>;
        if (paths.length === 0 || paths.includes('labels')) labels = req.container.labels;
        else {
          labels = { ...c.labels };
          for (const p of paths) {
            if (!p.startsWith('labels.')) throw new ChronicleError('INVALID_ARGUMENT', `invalid update_mask: cannot update ${p} (only labels)`, { field: 'update_mask' });
            const k = p.slice('labels.'.length);
            const v = req.container.labels[k];
            if (v === undefined || v === '') delete labels[k];
            else labels[k] = v;
          }
        }
        const d = decide(projector.state, { type: 'UpdateContainer', ns: ctx.ns, id: req.id, labels }, ctx.actor);
        if (!d.ok) throw d.error;
        return { facts: d.facts, reply: () => committed(ctx.ns, req.id) };
      });
    }),

    Delete: unary(env, 'containerd.containers.Delete', (raw, ctx) =>
      mutations.run(ctx, raw, (r) => parseRequest(IdRequest, r), async (req) => {
        if (!findContainer(projector.state, ctx.ns, req.id)) throw notFound.container(ctx.ns, req.id);
        const d = decide(projector.state, { type: 'DeleteContainer', ns: ctx.ns, id: req.id }, ctx.actor);
        if (!d.ok) throw d.error;
        const c = d.container!;
        // Only a bundle the daemon wrote is removed.
        if (c.bundle.startsWith(join(deps.stateDir, 'bundles') + '/')) await rm(c.bundle, { recursive: true, force: true });
        return { facts: d.facts, reply: {} };
      }),
    ),
  };
}
