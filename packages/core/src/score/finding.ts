import type { JsonPathSegment } from './json-path.js';
import type { LocateTarget } from './yaml-locator.js';

/**
 * A problem found in the data before it is given a file position: the schema and rule layers work
 * on plain data and leave locating to the YAML layer, so an already-parsed object can be checked too.
 */
export interface Finding {
  path: JsonPathSegment[];
  message: string;
  severity: 'error' | 'warning';
  /** What the position should point at; a missing key is always reported at its parent. */
  target: LocateTarget;
}
