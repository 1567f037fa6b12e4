// containerd.services.leases.v1.Leases: ctr takes a lease around Containers.Create and
// checkpoints so that containerd's garbage collector spares what it makes. chronicle has no
// content store to collect, so leases are kept in memory only, to answer as containerd does
// (Create must return a lease: ctr dereferences it). They are not facts: nothing is leased.
import { randomBytes } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import * as z from 'zod';
import { ChronicleError } from '../../errors.js';
import { parseRequest } from '../requests.js';
import { unary } from './call.js';
import type { FacadeDeps } from './deps.js';
import { Labels } from './requests.js';
import { timestamp, type TimestampMessage } from './wire.js';

const LeaseId = z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.+=-]{0,75}$/, 'must be a lease id')]);
const CreateLease = z.object({ id: LeaseId, labels: Labels });
const DeleteLease = z.object({ id: LeaseId, sync: z.boolean() });

interface Lease {
  id: string;
  created_at: TimestampMessage;
  labels: Record<string, string>;
}

/** At most this many live leases per namespace (a client that never deletes cannot grow it without end). */
const MAX_LEASES = 4096;

export function leasesService(deps: FacadeDeps): UntypedServiceImplementation {
  const { env } = deps;
  const byNs = new Map<string, Map<string, Lease>>();
  const of = (ns: string): Map<string, Lease> => {
    let m = byNs.get(ns);
    if (!m) byNs.set(ns, (m = new Map<string, Lease>()));
    return m;
  };
  return {
    Create: unary(env, 'containerd.leases.Create', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(CreateLease, raw);
      const leases = of(ctx.ns);
      const id = req.id || `${Date.now()}-${randomBytes(6).toString('base64url')}`;
      if (leases.has(id)) throw new ChronicleError('ALREADY_EXISTS', `lease "${id}": already exists`, { id });
      if (leases.size >= MAX_LEASES) leases.delete(leases.keys().next().value!);
      const lease = { id, created_at: timestamp(Date.now()), labels: req.labels };
      leases.set(id, lease);
      return { lease };
    }),
    Delete: unary(env, 'containerd.leases.Delete', async (raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      const req = parseRequest(DeleteLease, raw);
      if (!of(ctx.ns).delete(req.id)) throw new ChronicleError('NOT_FOUND', `lease "${req.id}": not found`, { id: req.id });
      return {};
    }),
    List: unary(env, 'containerd.leases.List', async (_raw, ctx) => {
      if (ctx.nsError) throw ctx.nsError;
      return { leases: [...of(ctx.ns).values()] };
    }),
  };
}
