import { z } from 'zod';
import { SCORE_API_VERSION } from './types.js';

/**
 * The structural schema of `score.dev/v1b1`: types, required fields, patterns, ranges and unknown
 * fields. Rules that need more than one value (references, placeholders, `before`, the exactly-one
 * file content) live in check-score-rules.ts, which also runs when this schema fails, so one pass
 * reports everything.
 */

/** The fields each kind of mapping accepts, for "unknown field" messages; see {@link fieldsOf}. */
const KNOWN_FIELDS = new Map<string, { noun: string; fields: readonly string[] }>();

/**
 * Strict objects report unknown keys with their kind as the message; `schemaFindings` turns that
 * into one problem per key naming the fields the mapping accepts. Zod's issue carries no schema,
 * hence the indirection through a registry.
 */
function fields<Shape extends z.ZodRawShape>(
  kind: string,
  noun: string,
  shape: Shape,
  listed: readonly string[] = Object.keys(shape),
) {
  KNOWN_FIELDS.set(kind, { noun, fields: listed });
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? kind : undefined),
  });
}

/** The noun and accepted fields registered for a kind of mapping, when it is one. */
export function fieldsOf(kind: string): { noun: string; fields: readonly string[] } | undefined {
  return KNOWN_FIELDS.get(kind);
}

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

const RFC1123_LABEL = /^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/;
const label = (what: string) =>
  z.string().regex(RFC1123_LABEL, {
    error: (issue) =>
      `${show(issue.input)} is not a valid ${what} name: use 2 to 63 lowercase letters, digits or "-", starting and ending with a letter or digit`,
  });

const ANNOTATION_KEY =
  /^(([a-z0-9][a-z0-9-]{0,61}[a-z0-9])(\.[a-z0-9][a-z0-9-]{0,61}[a-z0-9])*\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,61}[A-Za-z0-9]$/;
const annotations = z.record(
  z
    .string()
    .max(316, { error: 'annotation keys are at most 316 characters: shorten the prefix or the name' })
    .regex(ANNOTATION_KEY, {
      error: (issue) =>
        `${show(issue.input)} is not a valid annotation key: write an optional DNS prefix and "/", then 2 to 63 letters, digits, ".", "_" or "-" starting and ending with a letter or digit, e.g. example.com/owner`,
    }),
  z.string(),
);

const port = (what: string) =>
  z
    .number()
    .int({ error: (issue) => `${what} must be a whole number from 1 to 65535, not ${show(issue.input)}` })
    .min(1, {
      error: (issue) => `${what} ${show(issue.input)} is out of range: use a number from 1 to 65535`,
    })
    .max(65535, {
      error: (issue) => `${what} ${show(issue.input)} is out of range: use a number from 1 to 65535`,
    });

const servicePort = fields('servicePort', 'service ports', {
  port: port('port'),
  protocol: z
    .enum(['TCP', 'UDP'], {
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `protocol is ${show(issue.input)}: write TCP or UDP (upper case)`,
    })
    .optional(),
  targetPort: port('targetPort').optional(),
});

const RESOURCE_TYPE = /^[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]$/;
const RESOURCE_ID = /^[a-z0-9]+(?:-+[a-z0-9]+)*(?:\.[a-z0-9]+(?:-+[a-z0-9]+)*)*$/;

const resource = fields('resource', 'resources', {
  type: z.string().regex(RESOURCE_TYPE, {
    error: (issue) =>
      `${show(issue.input)} is not a valid resource type: use 2 to 63 letters, digits or "-", starting and ending with a letter or digit, e.g. postgres`,
  }),
  class: z
    .string()
    .regex(RESOURCE_TYPE, {
      error: (issue) =>
        `${show(issue.input)} is not a valid resource class: use 2 to 63 letters, digits or "-", starting and ending with a letter or digit, e.g. large`,
    })
    .optional(),
  id: z
    .string()
    .max(63, { error: 'a resource id is at most 63 characters: shorten it' })
    .regex(RESOURCE_ID, {
      error: (issue) =>
        `${show(issue.input)} is not a valid resource id: use lowercase letters, digits and "-" in labels separated by ".", each starting and ending with a letter or digit, e.g. shared-db`,
    })
    .optional(),
  metadata: z.looseObject({ annotations: annotations.optional() }).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

const MEMORY = /^(0\.\d+|[1-9]\d*(\.\d+)?)(K|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const CPU = /^\d+(?:m|\.\d+)?$/;
const limits = (kind: string) =>
  fields(kind, 'container resource limits and requests', {
    memory: z
      .string()
      .regex(MEMORY, {
        error: (issue) =>
          `${show(issue.input)} is not a memory quantity: write bytes with an optional unit K, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei, e.g. 512Mi or 1.5Gi`,
      })
      .optional(),
    cpu: z
      .string()
      .regex(CPU, {
        error: (issue) =>
          `${show(issue.input)} is not a CPU quantity: write whole or decimal CPUs or millicpus, quoted, e.g. "0.5" or 250m`,
      })
      .optional(),
  });

const containerFile = fields(
  'containerFile',
  'files',
  {
    target: z
      .string()
      .min(1, { error: 'target is empty: give the path of the file in the container' })
      .optional(),
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, {
        error: (issue) =>
          `${show(issue.input)} is not an octal file mode: write three octal digits with an optional leading 0, quoted, e.g. "0644"`,
      })
      .optional(),
    source: z.string().min(1, { error: 'source is empty: give the path of the file to read' }).optional(),
    content: z.string().optional(),
    binaryContent: z.string().optional(),
    noExpand: z.boolean().optional(),
  },
  ['mode', 'source', 'content', 'binaryContent', 'noExpand'],
);

const containerVolume = fields(
  'containerVolume',
  'volumes',
  {
    source: z.string(),
    path: z.string().optional(),
    target: z.string().optional(),
    readOnly: z.boolean().optional(),
  },
  ['source', 'path', 'readOnly'],
);

const httpProbe = fields('httpProbe', 'httpGet probes', {
  host: z.string().min(1, { error: 'host is empty: give a host name or remove the field' }).optional(),
  scheme: z
    .enum(['HTTP', 'HTTPS'], {
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `scheme is ${show(issue.input)}: write HTTP or HTTPS (upper case)`,
    })
    .optional(),
  path: z.string(),
  port: port('probe port'),
  httpHeaders: z
    .array(
      fields('httpHeader', 'httpHeaders entries', {
        name: z.string().regex(/^[A-Za-z0-9_-]+$/, {
          error: (issue) =>
            `${show(issue.input)} is not a valid header name: use letters, digits, "_" or "-", e.g. X-Probe`,
        }),
        value: z.string().min(1, { error: 'the header value is empty: give a value or remove the header' }),
      }),
    )
    .optional(),
});

const probe = fields('containerProbe', 'probes', {
  httpGet: httpProbe.optional(),
  exec: fields('execProbe', 'exec probes', { command: z.array(z.string()) }).optional(),
});

const container = fields('container', 'containers', {
  image: z.string().min(1, {
    error: 'image is empty: give an image reference, or "." to build from the workload\'s context',
  }),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  variables: z
    .record(
      z.string().regex(/^[^=]+$/, {
        error: (issue) =>
          `${show(issue.input)} is not a valid variable name: it must be non-empty and contain no "=", e.g. DB_HOST`,
      }),
      z.string(),
    )
    .optional(),
  files: z.union([z.array(containerFile), z.record(z.string(), containerFile)]).optional(),
  volumes: z.union([z.array(containerVolume), z.record(z.string(), containerVolume)]).optional(),
  before: z
    .record(
      label('container'),
      fields('before', 'before entries', {
        ready: z.enum(['started', 'healthy', 'complete'], {
          error: (issue) =>
            issue.input === undefined
              ? undefined
              : `ready is ${show(issue.input)}: write started, healthy or complete`,
        }),
      }),
    )
    .optional(),
  resources: fields('containerResources', 'container resources', {
    limits: limits('limits').optional(),
    requests: limits('requests').optional(),
  }).optional(),
  livenessProbe: probe.optional(),
  readinessProbe: probe.optional(),
});

export const scoreSchema = fields('workload', 'workloads', {
  apiVersion: z.literal(SCORE_API_VERSION, {
    error: (issue) =>
      issue.input === undefined
        ? undefined
        : `apiVersion must be "${SCORE_API_VERSION}", not ${show(issue.input)}: Paved reads Score ${SCORE_API_VERSION} files`,
  }),
  metadata: z.looseObject({
    name: label('workload'),
    annotations: annotations.optional(),
  }),
  service: fields('service', 'service', {
    ports: z.record(label('port'), servicePort).optional(),
  }).optional(),
  containers: z.record(label('container'), container).refine((value) => Object.keys(value).length > 0, {
    error: 'containers is empty: declare at least one container, e.g. main: { image: . }',
  }),
  resources: z.record(label('resource'), resource).optional(),
});

/** The workload as the schema accepts it, before the deprecated list forms are normalised. */
export type ScoreDocument = z.infer<typeof scoreSchema>;
