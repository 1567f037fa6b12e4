// Plain aligned tables (columns padded with spaces, two between), and the small value
// formatters the tables use. Pure, so the unit tests pin the layout.

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `12s ago`, `5m ago`, `3h ago`, `2d ago`; `-` for no time. */
export function ago(ms: number, now: number): string {
  if (!ms) return '-';
  const d = Math.max(0, now - ms);
  if (d < 60_000) return `${Math.floor(d / 1_000)}s ago`;
  if (d < 3_600_000) return `${Math.floor(d / 60_000)}m ago`;
  if (d < 86_400_000) return `${Math.floor(d / 3_600_000)}h ago`;
  return `${Math.floor(d / 86_400_000)}d ago`;
}

/** ms since epoch as RFC 3339 UTC with milliseconds; `-` for none. */
export function isoTime(ms: number): string {
  return ms ? new Date(ms).toISOString() : '-';
}

/** Key/value lines, keys padded: `version:  0.1.0`. */
export function keyValues(pairs: readonly (readonly [string, string])[]): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(w)}  ${v}`).join('\n') + '\n';
}
