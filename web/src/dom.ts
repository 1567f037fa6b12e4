// Small DOM helpers: escaping for the HTML the views build as strings, and time formats.

const ESC: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

export function must<T extends Element>(root: ParentNode, selector: string): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new TypeError(`missing ${selector}`);
  return el;
}

/** 2026-12-01 03:12:07.123 in local time (what a person debugging "03:12" reads). */
export function formatTime(ts: number): string {
  if (!ts) return '—';
  const d = new Date(ts);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Axis labels: the clock, with ms when the range is short. */
export function formatTick(ts: number, rangeMs: number): string {
  const full = formatTime(ts);
  return rangeMs < 10_000 ? full.slice(11) : rangeMs < 86_400_000 ? full.slice(11, 19) : full.slice(5, 16);
}

export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
