// The containerd API facade (DESIGN section 12): what the daemon composes.
export { startContainerdServer, type ContainerdServer } from './server.js';
export type { FacadeDeps } from './deps.js';
export { ACTOR_PREFIX } from './call.js';
