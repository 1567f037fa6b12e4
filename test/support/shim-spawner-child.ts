// A spawner in its own process: starts a shim, creates and starts one runc container in the
// bundle the test wrote, prints what it made as one JSON line, then idles until it is killed
// (the test SIGKILLs it, so it makes nothing that would need cleaning up on exit).
import { ShimClient, spawnShim } from '../../src/shim/index.js';

const [stateDir, runcRoot, bundleDir] = process.argv.slice(2);
if (!stateDir || !runcRoot || !bundleDir) throw new Error('usage: shim-spawner-child STATE RUNCROOT BUNDLE');
const hello = await spawnShim({ stateDir, ns: 'test', id: 'survivor', runcRoot });
const client = new ShimClient(hello.address);
const { pid } = await client.create({ id: 'c1', bundle: bundleDir, runtime: 'runc' });
await client.start('c1');
process.stdout.write(`${JSON.stringify({ address: hello.address, shimPid: hello.pid, containerPid: pid })}\n`);
setInterval(() => undefined, 1000);
