// Small statistics helpers shared by the benchmarks.

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Prints one `name: value` line (integers for big values, `digits` decimals otherwise). */
export function print(name: string, value: number, digits = 0): void {
  console.log(`${name}: ${digits === 0 ? Math.round(value) : value.toFixed(digits)}`);
}
