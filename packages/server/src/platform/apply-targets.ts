/**
 * `kind: Target` documents of `paved apply`: where environments run. Checked with the other
 * documents of the request (nothing is stored unless every document is valid), then written with
 * `store.targets.put` in the same transaction, secrets sealed as definitions' secret inputs are.
 */
import type { Problem } from '@paved/core';
import type { SecretReference, Store, TargetContent, TargetType } from '@paved/store';
import { z } from 'zod';
import { zodProblems } from '../http/zod-problems.js';
import { targetFingerprint } from '../secrets/content-fingerprints.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { DOCKER_HOST_PATTERN } from '../targets/docker-host.js';
import {
  KUBECONFIG_PATH,
  PROCESS_TARGET,
  registryPasswordPath,
  type DockerSettings,
  type KubernetesSettings,
} from '../targets/target-settings.js';
import type { ApplyAction } from './apply-definitions.js';

export const TARGET_KIND = 'Target';

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME_RULE =
  '1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit';
/** A registry server as image references name it: a host name or address, maybe with a port. */
const REGISTRY_SERVER = /^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:]+\])(:[0-9]{1,5})?$/;

/** An image reference a docker target runs: no spaces, as the engine takes it. */
function imageName(field: string) {
  return z
    .string()
    .regex(/^[^\s]+$/, {
      error: `spec.docker.${field} must be an image reference without spaces, e.g. node:20`,
    })
    .optional();
}

/**
 * `spec` of a Target, with `secret` the shape a secret takes: a string when the CLI sends it
 * resolved, a reference (`{env}`/`{file}`) in a file.
 */
export function targetSpecSchema<Secret extends z.ZodType>(secret: Secret) {
  const docker = z
    .strictObject({
      host: z
        .string()
        .regex(DOCKER_HOST_PATTERN, {
          error: 'spec.docker.host must be unix:///PATH or tcp://HOST:PORT; leave it out to auto-detect',
        })
        .optional()
        .meta({
          description:
            'The Docker Engine API (Docker or Podman): `unix:///path` or `tcp://host:port`. Absent: auto-detected (DOCKER_HOST, then /var/run/docker.sock, /run/podman/podman.sock, $XDG_RUNTIME_DIR/podman/podman.sock).',
        }),
      registries: z
        .record(
          z.string().regex(REGISTRY_SERVER, {
            error: 'a registry is named by its server, e.g. ghcr.io or 127.0.0.1:5001',
          }),
          z.strictObject({
            username: z
              .string({ error: 'username is required' })
              .min(1, { error: 'username must not be empty' }),
            password: secret,
          }),
        )
        .optional()
        .meta({
          description: 'Credentials per registry server (`ghcr.io`, `127.0.0.1:5001`) for pulling images.',
        }),
      nodeImage: imageName('nodeImage').meta({
        description:
          "An image with Node.js 20+ on its PATH that each workload's service address is built on. Absent: the Paved server's own Node binary and its libraries, which runs on an engine of the same CPU architecture.",
      }),
      sandboxImage: imageName('sandboxImage').meta({
        description:
          "The image of the container holding the network namespace of a workload with several containers; it must have `sleep`. Absent: the workload's first container image.",
      }),
    })
    .meta({ description: 'Settings of a docker target.' });
  const kubernetes = z
    .strictObject(
      {
        kubeconfig: secret,
        context: z
          .string()
          .min(1)
          .optional()
          .meta({ description: 'The kubeconfig context; default: its current one.' }),
        namespacePrefix: z
          .string()
          .regex(/^[a-z0-9]([a-z0-9-]{0,29}[a-z0-9-])?$/, {
            error: 'spec.kubernetes.namespacePrefix must be 1 to 31 lower-case letters, digits and hyphens',
          })
          .optional()
          .meta({ description: 'Prefix of the namespaces Paved creates, e.g. `paved-`.' }),
      },
      {
        error: (issue) =>
          issue.input === undefined
            ? 'spec.kubernetes is required for a kubernetes target: at least { kubeconfig: { file: PATH } }'
            : undefined,
      },
    )
    .meta({ description: 'Settings of a kubernetes target (no kubernetes runtime exists yet).' });
  const typeError = { error: 'spec.type must be process, docker or kubernetes' };
  /** Names the fields a target of the type has when the spec has others (a section of another type). */
  const fieldsOf = (type: string, fields: string) => ({
    error: (issue: z.core.$ZodRawIssue) =>
      issue.code === 'unrecognized_keys'
        ? `a ${type} target's spec has no ${issue.keys.map((key) => `"${key}"`).join(', ')}: its fields are ${fields}`
        : undefined,
  });
  return z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('process', typeError) }, fieldsOf('process', 'type')),
      z.strictObject(
        { type: z.literal('docker', typeError), docker: docker.optional() },
        fieldsOf('docker', 'type, docker'),
      ),
      z.strictObject(
        {
          type: z.literal('kubernetes', typeError),
          kubernetes: kubernetes.meta({ description: 'Required: at least the kubeconfig.' }),
        },
        fieldsOf('kubernetes', 'type, kubernetes'),
      ),
    ],
    typeError,
  );
}

/** One Target document as the CLI sends it: secrets resolved, file and line added for problems. */
export const targetDocumentSchema = z.strictObject({
  file: z.string().meta({ description: 'The file the document came from, for problems.' }),
  line: z.number().int().positive().optional().meta({ description: 'The line the document starts at.' }),
  secretRefs: z
    .record(
      z.string(),
      z.union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })]),
    )
    .optional()
    .meta({
      description:
        'Where the CLI read each secret, by its path within the type section (`registries.<server>.password`, `kubeconfig`).',
    }),
  apiVersion: z.literal('paved.dev/v1', { error: 'apiVersion must be paved.dev/v1' }),
  kind: z.literal(TARGET_KIND),
  metadata: z.strictObject({
    name: z
      .string({ error: 'metadata.name is required' })
      .regex(NAME, { error: `metadata.name must be ${NAME_RULE}` }),
  }),
  spec: targetSpecSchema(
    z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? 'a secret is required here: write a reference, { env: VARIABLE } or { file: PATH }'
            : 'a resolved secret must be a string',
      })
      .min(1, { error: 'a secret must not be empty' }),
  ),
});

export type TargetDocument = z.output<typeof targetDocumentSchema>;

/** A checked target, secrets still in plain text. */
export interface CheckedTarget {
  document: TargetDocument;
  name: string;
  type: TargetType;
  settings: Record<string, unknown>;
  secrets: Record<string, string>;
  secretRefs: Record<string, SecretReference>;
}

/**
 * The target a document describes, or its problems (unlocated: the caller adds file and line).
 */
export function checkTargetDocument(
  raw: unknown,
): CheckedTarget | { problems: Omit<Problem, 'file' | 'line'>[] } {
  const parsed = targetDocumentSchema.safeParse(raw);
  if (!parsed.success) return { problems: zodProblems(parsed.error.issues) };
  const document = parsed.data;
  const name = document.metadata.name;
  const problems: Omit<Problem, 'file' | 'line'>[] = [];
  if (name === PROCESS_TARGET) {
    problems.push({
      path: 'metadata.name',
      message: `target "${PROCESS_TARGET}" is built into every server and cannot be configured; give this target another name`,
    });
  }
  const { settings, secrets } = split(document.spec);
  const secretRefs = document.secretRefs ?? {};
  for (const path of Object.keys(secretRefs)) {
    if (!Object.hasOwn(secrets, path)) {
      problems.push({
        path: `secretRefs.${path}`,
        message: `a reference for "${path}", which is no secret of this target`,
      });
    }
  }
  if (problems.length > 0) return { problems };
  return { document, name, type: document.spec.type, settings, secrets, secretRefs };
}

/** The type's settings without secrets, and the secrets by path. */
function split(spec: TargetDocument['spec']): {
  settings: Record<string, unknown>;
  secrets: Record<string, string>;
} {
  switch (spec.type) {
    case 'process':
      return { settings: {}, secrets: {} };
    case 'docker': {
      const registries = Object.entries(spec.docker?.registries ?? {});
      const settings: DockerSettings = {
        ...(spec.docker?.host === undefined ? {} : { host: spec.docker.host }),
        ...(spec.docker?.nodeImage === undefined ? {} : { nodeImage: spec.docker.nodeImage }),
        ...(spec.docker?.sandboxImage === undefined ? {} : { sandboxImage: spec.docker.sandboxImage }),
        // Left out when empty, so `registries: {}` and none are the same content.
        ...(registries.length === 0
          ? {}
          : {
              registries: Object.fromEntries(
                registries.map(([server, { username }]) => [server, { username }]),
              ),
            }),
      };
      return {
        settings: { ...settings },
        secrets: Object.fromEntries(
          registries.map(([server, { password }]) => [registryPasswordPath(server), password]),
        ),
      };
    }
    case 'kubernetes': {
      const { kubeconfig, context, namespacePrefix } = spec.kubernetes;
      const settings: KubernetesSettings = {
        ...(context === undefined ? {} : { context }),
        ...(namespacePrefix === undefined ? {} : { namespacePrefix }),
      };
      return { settings: { ...settings }, secrets: { [KUBECONFIG_PATH]: kubeconfig } };
    }
  }
}

/** Writes one target, secrets sealed; `unchanged` when its content (secrets included) is the same. */
export async function putTarget(
  store: Store,
  target: CheckedTarget,
  secrets: SecretBox,
  actor: string,
): Promise<ApplyAction> {
  const content: TargetContent = {
    name: target.name,
    type: target.type,
    settings: target.settings,
    secretRefs: target.secretRefs,
    secrets: Object.fromEntries(
      Object.entries(target.secrets).map(([path, value]) => [path, secrets.seal(value)]),
    ),
  };
  const fingerprint = targetFingerprint(secrets, target);
  const { action } = await store.targets.put(content, fingerprint, actor);
  return action;
}
