// What an operator reads when no worker serves a host queue (`<taskQueue>@<host>`): the CLI's refusal
// and a procedure's failed host step say the same. Pure, so workflows import it.

/** The host a host queue names (`atlas-ops@db1` → `db1`). */
export function hostOfQueue(queue: string): string {
  const at = queue.lastIndexOf('@');
  return at < 0 ? queue : queue.slice(at + 1);
}

export function unservedQueueMessage(queue: string): string {
  const host = hostOfQueue(queue);
  return `no worker serves ${queue}: start the atlas-ops worker on ${host} (ATLAS_HOST=${host}), or name a host whose worker runs`;
}
