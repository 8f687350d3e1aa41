import type { ScoreWorkload } from './types.js';

const ABSOLUTE = /^([A-Za-z]:)?[\\/]/;

/**
 * The relative `source` paths of a workload's files, in order of appearance and without
 * duplicates: the files a CLI must read (relative to the Score file) and inline as content before
 * sending the workload to a server, which cannot see the user's disk. Absolute sources are left out;
 * validation warns about them.
 */
export function fileSources(workload: ScoreWorkload): string[] {
  const sources = new Set<string>();
  for (const container of Object.values(workload.containers)) {
    for (const file of Object.values(container.files ?? {})) {
      if (file.source !== undefined && !ABSOLUTE.test(file.source)) sources.add(file.source);
    }
  }
  return [...sources];
}
