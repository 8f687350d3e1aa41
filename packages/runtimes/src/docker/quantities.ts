/**
 * Score resource quantities (Kubernetes notation, already checked by the Score validator) as the
 * Engine API wants them: memory in bytes, CPU in billionths of a CPU (`NanoCpus`).
 */

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** `512Mi` → 536870912; undefined for anything that is not a memory quantity. */
export function memoryBytes(quantity: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|K|M|G|T|P|E)?$/.exec(quantity.trim());
  if (match === null) return undefined;
  const factor = MEMORY_UNITS[match[2] ?? ''];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

/** `250m` → 250000000, `"1.5"` → 1500000000; undefined for anything else. */
export function nanoCpus(quantity: string): number | undefined {
  const text = quantity.trim();
  const milli = /^(\d+)m$/.exec(text);
  if (milli !== null) return Number(milli[1]) * 1e6;
  if (!/^\d+(?:\.\d+)?$/.test(text)) return undefined;
  return Math.round(Number(text) * 1e9);
}
