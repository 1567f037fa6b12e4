// containerd.services.version.v1 and introspection.v1: what this server is and which of
// containerd's plugins it stands in for. The version says containerd 1.6's API as served by
// chronicle (ctr warns of a mismatch on stderr, which is true).
import { createHash } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { VERSION } from '../daemon-service.js';
import { parseRequest } from '../requests.js';
import { unary } from './call.js';
import type { FacadeDeps } from './deps.js';
import { matchesAny, parseFilters } from './filters.js';
import { FiltersRequest } from './requests.js';
import { RUNC_RUNTIME } from './views.js';

export const API_VERSION = '1.6.20';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

interface Plugin {
  type: string;
  id: string;
  requires: string[];
  platforms: { os: string; architecture: string; variant: string }[];
  exports: Record<string, string>;
  capabilities: string[];
  init_err: null;
}

function plugins(): Plugin[] {
  const platform = { os: process.platform, architecture: ARCH[process.arch] ?? process.arch, variant: '' };
  const grpc = (id: string): Plugin => ({ type: 'io.containerd.grpc.v1', id, requires: ['io.containerd.service.v1'], platforms: [], exports: {}, capabilities: [], init_err: null });
  return [
    { type: 'io.containerd.runtime.v2', id: 'task', requires: [], platforms: [platform], exports: { runtime: RUNC_RUNTIME }, capabilities: [], init_err: null },
    ...['containers', 'events', 'introspection', 'leases', 'namespaces', 'tasks', 'version'].map(grpc),
  ];
}

export function infoServices(deps: FacadeDeps): { Version: UntypedServiceImplementation; Introspection: UntypedServiceImplementation } {
  const { env } = deps;
  const hex = createHash('sha256').update(`chronicle:${deps.root}`).digest('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return {
    Version: {
      Version: unary(env, 'containerd.version.Version', async () => ({ version: `${API_VERSION}+chronicle.${VERSION}`, revision: `chronicle-${VERSION}` })),
    },
    Introspection: {
      Plugins: unary(env, 'containerd.introspection.Plugins', async (raw) => {
        const filters = parseFilters(parseRequest(FiltersRequest, raw).filters);
        return {
          plugins: plugins().filter((p) =>
            matchesAny(filters, (path) => {
              const [f, ...rest] = path;
              if (f === 'type' || f === 'id') return p[f];
              if (f === 'platforms') return p.platforms.map((x) => `${x.os}/${x.architecture}`).join(',');
              if (f === 'capabilities') return p.capabilities.join(',');
              if (f === 'exports') return p.exports[rest.join('.')];
              return undefined;
            }),
          ),
        };
      }),
      Server: unary(env, 'containerd.introspection.Server', async () => ({ uuid })),
    },
  };
}
