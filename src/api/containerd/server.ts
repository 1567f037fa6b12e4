// The containerd API listener: containerd 1.6's gRPC services (as the unmodified `ctr`
// uses them) on their own unix socket, mode 0600, over the daemon's core. Off unless the
// daemon is given --containerd-socket.
import { rm } from 'node:fs/promises';
import { Server } from '@grpc/grpc-js';
import { bindUnixSocket } from '../unix-listen.js';
import { containersService } from './containers.js';
import type { FacadeDeps } from './deps.js';
import { eventsService } from './events.js';
import { infoServices } from './info.js';
import { leasesService } from './leases.js';
import { namespacesService } from './namespaces.js';
import { containerdService, loadContainerdProtos } from './proto.js';
import { tasksService } from './tasks.js';

export interface ContainerdServer {
  socket: string;
  close(): Promise<void>;
}

export async function startContainerdServer(socket: string, deps: FacadeDeps): Promise<ContainerdServer> {
  // ctr sends and accepts up to 16 MiB.
  const server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.max_send_message_length': 16 * 1024 * 1024 });
  await loadContainerdProtos();
  const info = infoServices(deps);
  server.addService(containerdService('Version'), info.Version);
  server.addService(containerdService('Introspection'), info.Introspection);
  server.addService(containerdService('Namespaces'), namespacesService(deps));
  server.addService(containerdService('Leases'), leasesService(deps));
  server.addService(containerdService('Containers'), containersService(deps));
  server.addService(containerdService('Tasks'), tasksService(deps));
  server.addService(containerdService('Events'), eventsService(deps));

  await bindUnixSocket(server, socket);
  return {
    socket,
    close: async () => {
      await new Promise<void>((resolve) => {
        // Subscribers never end on their own: give calls in flight a moment, then cut.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await rm(socket, { force: true });
    },
  };
}
