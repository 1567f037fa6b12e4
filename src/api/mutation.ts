// The path of every mutating call (DESIGN section 6): validate -> lock the container ->
// decide + side effect (the body) -> append the facts and the audit record in ONE
// group-committed batch -> reply. A refused or failed call appends its audit record alone.
import type { EventLog } from '../events/event-log.js';
import type { Fact } from '../events/schemas.js';
import { auditId, completed, digestOf, refused, type CallContext } from './audit.js';
import type { ContainerLocks } from './container-locks.js';

export interface Outcome<R> {
  facts: Fact[];
  /** The reply, or how to build it once the facts are committed (and projected). */
  reply: R | (() => R);
}

export class Mutations {
  constructor(
    private readonly log: EventLog,
    private readonly locks: ContainerLocks,
  ) {}

  async run<Req extends { id: string }, R>(
    ctx: CallContext,
    raw: unknown,
    parse: (raw: unknown) => Req,
    body: (req: Req) => Promise<Outcome<R>>,
  ): Promise<R> {
    const digest = digestOf(raw);
    const id = ctx.nsError ? '' : auditId(typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined);
    try {
      if (ctx.nsError) throw ctx.nsError;
      const req = parse(raw);
      return await this.locks.with(`${ctx.ns}/${req.id}`, async () => {
        const { facts, reply } = await body(req);
        // Each fact names the request that caused it, so that an audit shows what a call did.
        const stamped = facts.map((f) => (f.req ? f : { ...f, req: ctx.req }));
        await this.log.append([...stamped, completed(ctx, req.id, digest)]);
        // The projection applies committed events before append resolves, so a reply built
        // now shows what the log says (times included), not what was asked.
        return typeof reply === 'function' ? (reply as () => R)() : reply;
      });
    } catch (e) {
      // If even the refusal cannot be recorded (a broken chain), the caller still gets the cause.
      await this.log.append([refused(ctx, id, digest, e)]).catch(() => undefined);
      throw e;
    }
  }
}
