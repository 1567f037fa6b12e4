#!/usr/bin/env node
// chronicled: loads the config, starts the daemon, and stops it cleanly on SIGTERM/SIGINT
// (snapshot, DaemonStopped; shims keep running).
import { loadConfig } from './config.js';
import { Daemon } from './daemon.js';
import { isChronicleError } from './errors.js';
import { createLogger } from './log.js';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig({ argv: process.argv.slice(2) });
  } catch (e) {
    process.stderr.write(`chronicled: ${isChronicleError(e) ? `${e.code}: ${e.message}` : String(e)}\n`);
    return 2;
  }
  const logger = createLogger({ level: config.logLevel, destination: 2 });
  const daemon = await Daemon.start(config, logger);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'stopping');
      daemon.stop(`signal ${signal}`).then(resolve, (e: unknown) => {
        logger.error({ err: e }, 'stop failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`chronicled: ${isChronicleError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
