// What the daemon (and tests) use of the shim.
export { spawnShim, addressFor, type SpawnShimOptions } from './spawn.js';
export { ShimClient, type PidReply, type ShimState, type ShimExit, type ShimFactMessage, type CreateArgs, type ShimCheckpoint } from './shim-client.js';
export { measureImage, digestOf, ImageFile, type ImageMeasure } from './checkpoint-image.js';
export { shimAddress, MAX_SOCKET_PATH } from './address.js';
export { Handshake, SHIM_VERSION } from './handshake.js';
