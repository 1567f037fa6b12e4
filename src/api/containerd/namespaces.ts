// containerd.services.namespaces.v1.Namespaces. A namespace exists once created
// (NamespaceCreated) or once it holds a container, as in containerd; only an empty one may
// be deleted. Calls are filed (lock, audit) under the namespace they name.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import * as z from 'zod';
import { ChronicleError } from '../../errors.js';
import { Id } from '../../events/schemas.js';
import type { State } from '../../projections/state.js';
import type { CallContext } from '../audit.js';
import type { HandlerEnv } from '../handler.js';
import { parseRequest } from '../requests.js';
import { ACTOR_PREFIX, notFound, unary, unimplemented } from './call.js';
import { namespaceKnown } from './containers.js';
import type { FacadeDeps } from './deps.js';
import { NamespaceMessage } from './requests.js';

const NameRequest = z.object({ name: Id });

function names(state: State): string[] {
  const all = new Set(Object.keys(state.namespaces));
  for (const c of Object.values(state.containers)) all.add(c.ns);
  return [...all].sort();
}

function namespaceMessage(state: State, name: string): { name: string; labels: Record<string, string> } {
  return { name, labels: state.namespaces[name]?.labels ?? {} };
}

/** The namespaces a confined caller may see and use (undefined: all). */
function allowedFor(env: HandlerEnv, ctx: CallContext): readonly string[] | undefined {
  return env.namespaceLimits?.[ctx.actor.slice(ACTOR_PREFIX.length)];
}

/**
 * The call's context moved to the namespace it names (the header names the caller's); a
 * confined caller naming a namespace outside its own is refused (audited by the mutation).
 */
function about(env: HandlerEnv, ctx: CallContext, raw: unknown, pick: (raw: unknown) => unknown): CallContext {
  const name = Id.safeParse(pick(raw));
  if (!name.success) return ctx;
  const allowed = allowedFor(env, ctx);
  // The namespace named is what the call acts on: the header's does not matter here.
  const { nsError, ...rest } = ctx;
  if (allowed && !allowed.includes(name.data)) {
    return { ...rest, ns: name.data, nsError: new ChronicleError('PERMISSION_DENIED', `${ctx.actor} may not use namespace ${name.data}`, { field: 'name' }) };
  }
  return nsError?.code === 'INVALID_ARGUMENT' ? { ...rest, ns: name.data, nsError } : { ...rest, ns: name.data };
}

export function namespacesService(deps: FacadeDeps): UntypedServiceImplementation {
  const { env, projector, mutations } = deps;
  const nested = (raw: unknown): unknown => (typeof raw === 'object' && raw !== null ? (raw as { namespace?: { name?: unknown } }).namespace?.name : undefined);
  const flat = (raw: unknown): unknown => (typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined);

  return {
    List: unary(env, 'containerd.namespaces.List', async (_raw, ctx) => {
      const allowed = allowedFor(env, ctx);
      return { namespaces: names(projector.state).filter((n) => !allowed || allowed.includes(n)).map((n) => namespaceMessage(projector.state, n)) };
    }),

    Get: unary(env, 'containerd.namespaces.Get', async (raw, ctx) => {
      const req = parseRequest(NameRequest, raw);
      const allowed = allowedFor(env, ctx);
      if (!namespaceKnown(projector.state, req.name) || (allowed && !allowed.includes(req.name))) throw notFound.namespace(req.name);
      return { namespace: namespaceMessage(projector.state, req.name) };
    }),

    Create: unary(env, 'containerd.namespaces.Create', (raw, ctx) =>
      mutations.run(
        about(env, ctx, raw, nested),
        { id: '', ...(typeof raw === 'object' && raw !== null ? raw : {}) },
        (r) => ({ ...parseRequest(z.object({ namespace: NamespaceMessage }), r).namespace, id: '' }),
        async (req) => {
          if (namespaceKnown(projector.state, req.name)) throw new ChronicleError('ALREADY_EXISTS', `namespace "${req.name}": already exists`, { ns: req.name });
          return {
            facts: [{ type: 'NamespaceCreated', ns: req.name, id: '', actor: ctx.actor, data: { labels: req.labels } }],
            reply: () => ({ namespace: namespaceMessage(projector.state, req.name) }),
          };
        },
      ),
    ),

    Update: unary(env, 'containerd.namespaces.Update', async () => {
      throw unimplemented('namespace label updates');
    }),

    Delete: unary(env, 'containerd.namespaces.Delete', (raw, ctx) =>
      mutations.run(
        about(env, ctx, raw, flat),
        { id: '', ...(typeof raw === 'object' && raw !== null ? raw : {}) },
        (r) => ({ ...parseRequest(NameRequest, r), id: '' }),
        async (req) => {
          if (!namespaceKnown(projector.state, req.name)) throw notFound.namespace(req.name);
          if (Object.values(projector.state.containers).some((c) => c.ns === req.name)) {
            throw new ChronicleError('FAILED_PRECONDITION', `namespace "${req.name}" must be empty, but it still has containers: failed precondition`, { ns: req.name });
          }
          return { facts: [{ type: 'NamespaceDeleted', ns: req.name, id: '', actor: ctx.actor, data: {} }], reply: {} };
        },
      ),
    ),
  };
}
