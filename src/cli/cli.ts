/* eslint-disable no-console -- the CLI's job is to print */
// The chronicle CLI as a function of argv: finds the command, loads its module on use
// (grpc-js only comes in with commands that dial), and turns errors into exit codes.
import { splitCommand, UsageError } from './args.js';
import { makeCtx, type Command } from './context.js';
import { isChronicleError } from '../errors.js';

type Loader = () => Promise<Command>;

const COMMANDS: Readonly<Record<string, Loader>> = {
  run: async () => (await import('./commands/run.js')).run,
  create: async () => (await import('./commands/run.js')).create,
  start: async () => (await import('./commands/task.js')).start,
  ps: async () => (await import('./commands/container.js')).ps,
  inspect: async () => (await import('./commands/container.js')).inspect,
  pause: async () => (await import('./commands/task.js')).pause,
  resume: async () => (await import('./commands/task.js')).resume,
  kill: async () => (await import('./commands/task.js')).kill,
  exec: async () => (await import('./commands/task.js')).exec,
  logs: async () => (await import('./commands/task.js')).logs,
  rm: async () => (await import('./commands/container.js')).rm,
  wait: async () => (await import('./commands/task.js')).wait,
  checkpoint: async () => (await import('./commands/checkpoint.js')).checkpoint,
  checkpoints: async () => (await import('./commands/checkpoint.js')).checkpoints,
  restore: async () => (await import('./commands/checkpoint.js')).restore,
  events: async () => (await import('./commands/events.js')).events,
  info: async () => (await import('./commands/info.js')).info,
  daemon: async () => (await import('./commands/daemon.js')).daemon,
  state: async () => (await import('./commands/history.js')).state,
  history: async () => (await import('./commands/history.js')).history,
  diff: async () => (await import('./commands/history.js')).diff,
  audit: async () => (await import('./commands/history.js')).audit,
  verify: async () => (await import('./commands/history.js')).verify,
  replay: async () => (await import('./commands/history.js')).replay,
  log: async () => (await import('./commands/log.js')).log,
  fleet: async () => (await import('./commands/fleet.js')).fleet,
};

const ALIASES: Readonly<Record<string, string>> = { ls: 'ps', list: 'ps', delete: 'rm', remove: 'rm', unpause: 'resume' };

/** --help among a command's own flags (not inside the CMD after `--`). */
function wantsHelp(command: string, rest: readonly string[]): boolean {
  if (command === 'daemon') return rest[0] === '--help' || rest[0] === '-h';
  const end = rest.indexOf('--');
  const own = end < 0 ? rest : rest.slice(0, end);
  return own.includes('--help') || own[0] === '-h';
}

async function printHelp(command?: string, to: NodeJS.WriteStream = process.stdout): Promise<void> {
  const { GLOBAL_HELP, COMMAND_HELP } = await import('./usage.js');
  to.write((command && COMMAND_HELP[command]) || GLOBAL_HELP);
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const { globals, command: given, rest } = splitCommand(argv);
    if (given === undefined || given === 'help') {
      if (given === undefined && !globals.help) {
        // No command is a usage error: help on stderr, exit 2.
        await printHelp(undefined, process.stderr);
        return 2;
      }
      await printHelp(rest[0]);
      return 0;
    }
    const command = ALIASES[given] ?? given;
    const load = COMMANDS[command];
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(given)}`);
    if (globals.help || wantsHelp(command, rest)) {
      await printHelp(command);
      return 0;
    }
    const ctx = makeCtx(globals, process.env, process.getuid?.() ?? 0);
    return await (await load())(ctx, [...rest]);
  } catch (e) {
    return report(e);
  }
}

/** Prints an error as `chronicle: ...` and gives the exit code it deserves. */
export function report(e: unknown): number {
  if (e instanceof UsageError) {
    console.error(`chronicle: ${e.message}\nRun 'chronicle --help' for usage.`);
    return 2;
  }
  if (isChronicleError(e)) {
    const field = e.details['field'];
    const where = e.code === 'INVALID_ARGUMENT' && typeof field === 'string' ? ` (field ${field})` : '';
    console.error(`chronicle: ${e.code}: ${e.message}${where}`);
    return 1;
  }
  console.error(`chronicle: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
}

