// Where a node's events go in JetStream (pure). Subjects are chronicle.<node>.<ns>.<type>:
// a namespace may hold dots, which NATS reads as token separators, so they are %-escaped
// ('%' itself too); daemon-wide events (ns '') use '_', which no namespace can be (they
// start with a letter or digit). The message id <node>:<seq> lets JetStream drop repeats.
export const SUBJECT_ROOT = 'chronicle';
export const NODES_BUCKET = 'chronicle-nodes';

export function nsToken(ns: string): string {
  return ns === '' ? '_' : ns.replace(/%/g, '%25').replace(/\./g, '%2E');
}

export function eventSubject(node: string, ns: string, type: string): string {
  return `${SUBJECT_ROOT}.${node}.${nsToken(ns)}.${type}`;
}

/** Every event of one node, or of every node. */
export function nodeFilter(node?: string): string {
  return `${SUBJECT_ROOT}.${node ?? '*'}.>`;
}

export function messageId(node: string, seq: number): string {
  return `${node}:${seq}`;
}

/** The node a subject belongs to, or undefined for a subject outside the layout. */
export function nodeOfSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length === 4 && parts[0] === SUBJECT_ROOT ? parts[1] : undefined;
}
