import { createHash } from 'node:crypto';
import { stableStringify } from '../request/stable-stringify.js';
import type { RenderedWorkload } from '../runtime.js';

/**
 * The content hash of a rendered workload: everything that affects the running instance, and
 * nothing that does not (the deployment number), so an unchanged deploy restarts nothing.
 */
export function specHash(workload: Omit<RenderedWorkload, 'specHash' | 'deployment'>): string {
  const { name, containers, ports } = workload;
  return `sha256:${createHash('sha256').update(stableStringify({ name, containers, ports })).digest('hex')}`;
}
