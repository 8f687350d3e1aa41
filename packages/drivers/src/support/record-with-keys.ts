import { z } from 'zod';

/**
 * A record whose keys must pass `check` (which returns what is wrong, or nothing). Zod reports a
 * bad record key only as "Invalid key in record"; this names the key and the rule.
 */
export function recordWithKeys<T extends z.ZodType>(check: (key: string) => string | undefined, value: T) {
  return z.record(z.string(), value).superRefine((record, context) => {
    for (const key of Object.keys(record)) {
      const problem = check(key);
      if (problem !== undefined) context.addIssue({ code: 'custom', path: [key], message: problem });
    }
  });
}
