// A warm-pool shim runs the code of its first Create once while it waits for work: zod
// compiles each schema's parser on its first use, V8 compiles functions lazily on their
// first call, and the process's first child spawn loads its own machinery. Done ahead of
// need, that is all off the path of the Create that takes the shim (measured: the shim
// then starts handling it ~10-20 ms sooner). Nothing here touches a container.
import { CreateRequest, ExecRequest, IdRequest, KillRequest } from './shim-requests.js';
import type { Supervisor } from './supervisor.js';
import { run } from './runtime.js';

export async function warmUp(sup: Supervisor, runtimeBinary: string): Promise<void> {
  const id = 'warm-up';
  CreateRequest.safeParse({ id, bundle: '/nonexistent', runtime: 'runc', args: [], env: ['A=1'], cwd: '/', stdin: '', stdout: '', stderr: '', runtimeBinary: '', runcRoot: '' });
  ExecRequest.safeParse({ id, execId: id, args: ['/bin/true'], env: [], cwd: '', stdin: '', stdout: '', stderr: '' });
  IdRequest.safeParse({ id, execId: '' });
  KillRequest.safeParse({ id, signal: 9, all: false, execId: '' });
  // The bundle check refuses it before any runtime is involved.
  await sup.create({ id, bundle: '/nonexistent/warm-up', runtime: 'runc', args: [], env: [], cwd: '', stdin: '', stdout: '', stderr: '', runtimeBinary: '', runcRoot: '' }).catch(() => undefined);
  await run(sup.reaper, runtimeBinary, ['--version']).catch(() => undefined);
}
