/**
 * JSON with object keys sorted at every level, so equal values always give equal text: used to
 * compare params of shared resources and to hash rendered specs. `undefined` members are left out
 * as JSON.stringify does; byte arrays are written as base64 so binary file content hashes too.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(normalise(value)) ?? 'null';
}

function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : normalise(item)));
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) sorted[key] = normalise(member);
    }
    return sorted;
  }
  return value;
}
