// containerd's filter syntax, as its clients send it (`ctr events topic=="/tasks/exit"`,
// `ctr c ls labels.env==prod`): a request's filters are ORed; within one filter,
// comma-separated selectors are ANDed. A selector is a field path (dot-separated, parts
// optionally quoted) with an optional operator (==, !=, ~=) and value (quoted or bare).
// A selector without an operator asks that the field is present and non-empty.
import { ChronicleError } from '../../errors.js';

export interface Selector {
  path: string[];
  op: '' | '==' | '!=' | '~=';
  value: string;
  re?: RegExp;
}

export type Filter = Selector[];

/** Looks a field path up on an object; undefined when it is not there. */
export type Lookup = (path: readonly string[]) => string | undefined;

function unquote(s: string): string {
  if (s.length >= 2 && ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith('`') && s.endsWith('`')))) {
    return s.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return s;
}

/** Splits on `sep` outside quotes. */
function split(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      cur += ch;
      if (ch === '\\' && i + 1 < s.length) cur += s[++i];
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === '`') {
      quote = ch;
      cur += ch;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quote) throw new Error('unterminated quote');
  out.push(cur);
  return out;
}

export function parseFilter(raw: string, field = 'filters'): Filter {
  try {
    return split(raw, ',').map((sel): Selector => {
      const m = /^(.*?)(==|!=|~=)(.*)$/s.exec(sel.trim());
      const lhs = (m ? m[1]! : sel).trim();
      if (lhs === '') throw new Error('a selector needs a field');
      const path = split(lhs, '.').map((p) => unquote(p.trim()));
      if (!m) return { path, op: '', value: '' };
      const value = unquote(m[3]!.trim());
      const op = m[2] as Selector['op'];
      return op === '~=' ? { path, op, value, re: new RegExp(value) } : { path, op, value };
    });
  } catch (e) {
    throw new ChronicleError('INVALID_ARGUMENT', `invalid ${field}: ${e instanceof Error ? e.message : String(e)} in ${JSON.stringify(raw)}`, { field });
  }
}

export function parseFilters(raw: readonly string[], field = 'filters'): Filter[] {
  return raw.filter((f) => f.trim() !== '').map((f) => parseFilter(f, field));
}

function selects(s: Selector, lookup: Lookup): boolean {
  const v = lookup(s.path);
  switch (s.op) {
    case '':
      return v !== undefined && v !== '';
    case '==':
      return v === s.value;
    case '!=':
      return v !== s.value;
    case '~=':
      return v !== undefined && s.re!.test(v);
  }
}

/** No filters match everything; otherwise any filter whose selectors all match. */
export function matchesAny(filters: readonly Filter[], lookup: Lookup): boolean {
  return filters.length === 0 || filters.some((f) => f.every((s) => selects(s, lookup)));
}
