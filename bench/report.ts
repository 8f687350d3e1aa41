/** What one benchmark returns; `bench/run.ts` prints every report as a Markdown section. */
export interface BenchReport {
  title: string;
  /** How the numbers were obtained, in a sentence or two. */
  method: string;
  rows: Record<string, string | number>[];
  notes?: string[];
}

export interface Benchmark {
  name: string;
  run(): Promise<BenchReport>;
}

/** Peak resident memory while `work` runs, sampled every few milliseconds. */
export async function measure<T>(
  work: () => Promise<T> | T,
): Promise<{ result: T; ms: number; peakRssMb: number; heapDeltaMb: number }> {
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const start = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - start;
    peak = Math.max(peak, process.memoryUsage().rss);
    const heapDeltaMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    return { result, ms, peakRssMb: peak / 2 ** 20, heapDeltaMb };
  } finally {
    clearInterval(timer);
  }
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
