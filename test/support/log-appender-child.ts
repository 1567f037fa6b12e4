// Child process for test/integration/log-crash.test.ts. Opens the log at argv[2], prints
// `open <seq> <hash>` for the head it found, then runs 64 concurrent appenders in a loop
// and prints `ack <seq> <hash>` for every event as soon as its append resolves, i.e. once
// it is durable. It runs until it is killed (the parent uses SIGKILL); a watchdog ends it
// if the parent forgets.
import { EventLog, type Fact } from '../../src/events/index.js';

const APPENDERS = 64;
const WATCHDOG_MS = 30_000;

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: log-appender-child <log dir>\n');
  process.exit(2);
}

setTimeout(() => process.exit(3), WATCHDOG_MS);
// The parent went away: nothing left to report to.
process.stdout.on('error', () => process.exit(4));

function fact(appender: number, n: number): Fact {
  return n % 5 === 4
    ? { type: 'DaemonStopped', ns: '', id: '', actor: 'daemon', data: { reason: `a${appender} n${n}` } }
    : { type: 'TaskStarted', ns: 'default', id: `c${appender}`, actor: 'crash-test', data: { pid: n } };
}

const log = await EventLog.open({ path });
const head = log.head();
process.stdout.write(`open ${head.seq} ${head.hash}\n`);

async function appender(a: number): Promise<never> {
  for (let n = 0; ; ) {
    const size = 1 + ((a + n) % 3);
    const facts = Array.from({ length: size }, () => fact(a, n++));
    const events = await log.append(facts);
    process.stdout.write(events.map((e) => `ack ${e.seq} ${e.hash}\n`).join(''));
  }
}

try {
  await Promise.all(Array.from({ length: APPENDERS }, (_, a) => appender(a)));
} catch (e) {
  process.stderr.write(`append failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}
