// What every command receives: the resolved global options, a lazily loaded client (so
// `--help`, usage errors and `daemon` never load grpc-js), and where to print.
import { resolveGlobals, type GlobalOptions, type GlobalValues } from './args.js';
import type { CliClient } from './client.js';

export interface Ctx {
  globals: GlobalOptions;
  client: () => Promise<CliClient>;
  stdout: (s: string | Uint8Array) => void;
  stderr: (s: string | Uint8Array) => void;
  /** This context with global flags given after the command name on top. */
  with: (values: GlobalValues) => Ctx;
}

export type Command = (ctx: Ctx, argv: string[]) => Promise<number>;

export function makeCtx(raw: GlobalValues, env: NodeJS.ProcessEnv, uid: number): Ctx {
  const globals = resolveGlobals(raw, env, uid);
  let client: Promise<CliClient> | undefined;
  return {
    globals,
    client: () =>
      (client ??= import('./client.js').then(
        ({ CliClient }) => new CliClient({ socket: globals.socket, namespace: globals.namespace, timeoutMs: globals.timeoutMs, timeoutExplicit: globals.timeoutExplicit }),
      )),
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    with: (values) => {
      const given = Object.fromEntries(Object.entries(values).filter(([k, v]) => v !== undefined && k !== 'help'));
      return Object.keys(given).length ? makeCtx({ ...raw, ...given }, env, uid) : makeCtx(raw, env, uid);
    },
  };
}

export function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}
