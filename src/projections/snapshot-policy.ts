// How often the live projection is snapshotted (config's default; kept apart so that the
// config module does not load the projections).
/**
 * Snapshot every this many events unless configured. Time travel folds at most this many
 * events after the snapshot it starts from: at ~2.5 us per event read and folded here, 5,000
 * keeps StateAt's worst case near 15 ms, while a snapshot (the live state, written off the
 * append path) every 5,000 events costs little.
 */
export const DEFAULT_SNAPSHOT_EVERY = 5_000;
