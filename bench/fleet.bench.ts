// npm run bench:fleet — fleet export to a real nats-server (JetStream, file storage) on
// loopback, in the same process as the log as in the daemon:
//   export_eps             a 100,000-event backlog drained into JetStream, events/s;
//   export_lag_p99_ms      commit -> JetStream acknowledgement, while 64 appenders run;
//   local_append_slowdown  append throughput of 64 closed-loop appenders with export on /
//                          off, alternating runs on fresh logs, medians (goal >= 0.9).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog, type Fact } from '../src/events/index.js';
import { NatsExporter } from '../src/fleet/exporter.js';
import { startNats } from '../test/support/nats.js';
import { median, percentile, print } from './support/stats.js';

const APPENDERS = 64;
const PER_RUN = Number(process.env['BENCH_FLEET_EVENTS'] ?? 40_000);
const BACKLOG = Number(process.env['BENCH_FLEET_BACKLOG'] ?? 100_000);
const ROUNDS = 3;
const dir = mkdtempSync(join(tmpdir(), 'chb-fleet-'));
const nats = await startNats(1);

const fact = (i: number): Fact => ({ type: 'TaskStarted', ns: 'bench', id: `c${i % 100}`, actor: 'uid:0', req: `r${i}`, data: { pid: 1000 + i } });

async function appendLoad(log: EventLog, total: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: APPENDERS }, async () => {
      while (next < total) await log.append([fact(next++)]);
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

async function exportedAll(x: NatsExporter, log: EventLog): Promise<void> {
  while (x.status().exportedSeq < log.head().seq) await new Promise((r) => setTimeout(r, 5));
}

let run = 0;
async function exporter(log: EventLog, lags?: number[]): Promise<NatsExporter> {
  return NatsExporter.start({
    log,
    node: `bench-${run}`,
    nats: { servers: [nats.servers[0]!.url] },
    stream: 'BENCH',
    replicas: 1,
    maxAgeS: 0,
    ...(lags ? { onAck: (committedAt, at) => lags.push(at - committedAt) } : {}),
  });
}

try {
  // Throughput with export off and on, alternating, each on a fresh log.
  const off: number[] = [];
  const on: number[] = [];
  const lags: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const withExport of [false, true]) {
      const log = await EventLog.open({ path: join(dir, `run-${++run}`) });
      const x = withExport ? await exporter(log, lags) : undefined;
      if (x) await exportedAll(x, log); // connected and caught up (DaemonStarted-free empty log)
      (withExport ? on : off).push(await appendLoad(log, PER_RUN));
      if (x) {
        await exportedAll(x, log);
        await x.close();
      }
      await log.close();
    }
  }
  print('append_eps_export_off', median(off));
  print('append_eps_export_on', median(on));
  print('local_append_slowdown', median(on) / median(off), 3);
  print('export_lag_p99_ms', percentile(lags, 99), 1);
  print('export_lag_median_ms', median(lags), 1);

  // A backlog written with export off, then drained.
  const log = await EventLog.open({ path: join(dir, 'backlog') });
  for (let i = 0; i < BACKLOG; i += 1000) await log.append(Array.from({ length: 1000 }, (_, j) => fact(i + j)));
  run++;
  const t0 = performance.now();
  const x = await exporter(log);
  await exportedAll(x, log);
  const ms = performance.now() - t0;
  await x.close();
  await log.close();
  print('export_backlog_events', BACKLOG);
  print('export_eps', BACKLOG / (ms / 1000));
} finally {
  await nats.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
