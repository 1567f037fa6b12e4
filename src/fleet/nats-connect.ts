// One way to reach NATS for the exporter and the fleet CLI: servers, TLS and credentials
// from the config (or CLI flags), reconnecting for ever (an outage is waited out, and the
// exporter resumes from its cursor).
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';

export interface NatsOptions {
  servers: readonly string[];
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  creds?: string | undefined;
  user?: string | undefined;
  pass?: string | undefined;
  token?: string | undefined;
  name?: string;
}

export async function connectNats(o: NatsOptions, opts: { waitOnFirstConnect?: boolean } = {}): Promise<NatsConnection> {
  const tls = o.tlsCa || o.tlsCert ? { ...(o.tlsCa ? { caFile: o.tlsCa } : {}), ...(o.tlsCert ? { certFile: o.tlsCert } : {}), ...(o.tlsKey ? { keyFile: o.tlsKey } : {}) } : undefined;
  return connect({
    servers: [...o.servers],
    ...(o.name ? { name: o.name } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // Without this the client builds two Error objects (stack traces and all) per request,
    // which was a third of the exporter's CPU per event here.
    noAsyncTraces: true,
    // The exporter starts even while NATS is down and catches up once it is back.
    waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
    ...(tls ? { tls } : {}),
    ...(o.creds ? { authenticator: credsAuthenticator(readFileSync(o.creds)) } : {}),
    ...(o.user ? { user: o.user, pass: o.pass ?? '' } : {}),
    ...(o.token ? { token: o.token } : {}),
  });
}
