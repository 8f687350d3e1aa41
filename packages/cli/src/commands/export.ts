import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type {
  EnvironmentType,
  PavedClient,
  ResourceDefinitionView,
  RoleBindingView,
  SecretReference,
  Team,
  TargetView,
  User,
} from '@paved/client';
import { PavedError } from '@paved/core';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { CliContext } from '../cli-context.js';

export interface ExportedDocument {
  name: string;
  /** The YAML text of one document. */
  yaml: string;
  /** Secret inputs applied without a reference: exported as `{ env: KEY }`, to be checked. */
  guessed: string[];
}

/**
 * A definition as the document `paved apply` reads, with secret references in place of values.
 * Defaults are left out (empty values and criteria, `stateful: false`), as the server treats them
 * as absent, so applying the export changes nothing.
 */
export function exportDefinition(definition: ResourceDefinitionView): ExportedDocument {
  const refs = definition.inputs.secretRefs ?? {};
  const guessed = definition.inputs.secretKeys.filter((key) => !Object.hasOwn(refs, key));
  const secrets: Record<string, SecretReference> = Object.fromEntries(
    definition.inputs.secretKeys.map((key) => [key, refs[key] ?? { env: key }]),
  );
  const inputs = {
    ...(Object.keys(definition.inputs.values).length === 0 ? {} : { values: definition.inputs.values }),
    ...(Object.keys(secrets).length === 0 ? {} : { secrets }),
  };
  const document = {
    apiVersion: 'paved.dev/v1',
    kind: 'ResourceDefinition',
    metadata: { name: definition.name },
    spec: {
      type: definition.type,
      ...(definition.class === undefined ? {} : { class: definition.class }),
      driver: definition.driver,
      ...(Object.keys(inputs).length === 0 ? {} : { inputs }),
      ...(definition.criteria.length === 0 ? {} : { criteria: definition.criteria }),
      ...(definition.stateful ? { stateful: true } : {}),
    },
  };
  return { name: definition.name, yaml: stringify(document), guessed };
}

/**
 * An environment type as the document `paved apply` reads. Defaults are left out (no
 * description, TTL or target; `requiresDeployer: false`), which the server reads as the same.
 */
export function exportEnvironmentType(envType: EnvironmentType): ExportedDocument {
  const document = {
    apiVersion: 'paved.dev/v1',
    kind: 'EnvironmentType',
    metadata: { name: envType.name },
    spec: {
      position: envType.position,
      ...(envType.description === undefined ? {} : { description: envType.description }),
      ...(envType.defaultTtl === undefined ? {} : { defaultTtl: envType.defaultTtl }),
      ...(envType.defaultTarget === undefined ? {} : { defaultTarget: envType.defaultTarget }),
      ...(envType.requiresDeployer ? { requiresDeployer: true } : {}),
    },
  };
  return { name: envType.name, yaml: stringify(document), guessed: [] };
}

/**
 * An applied target as the document `paved apply` reads, secrets as the references they were
 * applied with. Defaults are left out (no host: auto-detected; no registries). Built-in targets
 * are not configuration and are not exported.
 */
export function exportTarget(target: TargetView): ExportedDocument {
  const guessed: string[] = [];
  const reference = (ref: SecretReference | undefined, path: string, guess: string): SecretReference => {
    if (ref !== undefined) return ref;
    guessed.push(path);
    return { env: guess };
  };
  const spec: Record<string, unknown> = { type: target.type };
  if (target.type === 'docker' && target.docker !== undefined) {
    const registries = Object.entries(target.docker.registries);
    const docker = {
      ...(target.docker.host === undefined ? {} : { host: target.docker.host }),
      ...(registries.length === 0
        ? {}
        : {
            registries: Object.fromEntries(
              registries.map(([server, { username, passwordRef }]) => [
                server,
                {
                  username,
                  password: reference(
                    passwordRef,
                    `spec.docker.registries.${server}.password`,
                    `${target.name}_${server}_PASSWORD`.toUpperCase().replace(/[^A-Z0-9_]/g, '_'),
                  ),
                },
              ]),
            ),
          }),
      ...(target.docker.nodeImage === undefined ? {} : { nodeImage: target.docker.nodeImage }),
      ...(target.docker.sandboxImage === undefined ? {} : { sandboxImage: target.docker.sandboxImage }),
    };
    if (Object.keys(docker).length > 0) spec.docker = docker;
  }
  if (target.type === 'kubernetes' && target.kubernetes !== undefined) {
    const { kubeconfigRef, context, namespacePrefix } = target.kubernetes;
    spec.kubernetes = {
      kubeconfig: reference(
        kubeconfigRef,
        'spec.kubernetes.kubeconfig',
        `${target.name}_KUBECONFIG`.toUpperCase().replace(/[^A-Z0-9_]/g, '_'),
      ),
      ...(context === undefined ? {} : { context }),
      ...(namespacePrefix === undefined ? {} : { namespacePrefix }),
    };
  }
  const document = { apiVersion: 'paved.dev/v1', kind: 'Target', metadata: { name: target.name }, spec };
  return { name: target.name, yaml: stringify(document), guessed };
}

/** One access document written back: its kind decides the file name under `access/`. */
export interface ExportedAccessDocument extends ExportedDocument {
  kind: 'User' | 'Team' | 'RoleBinding';
}

/**
 * Users, service accounts, teams and role bindings as the documents `paved apply` reads, such
 * that applying them changes nothing:
 *
 * - a principal holding exactly one organisation role gets it as `spec.role` (which a `User`
 *   document makes its only one); with several, each is a `RoleBinding` instead, since a
 *   `spec.role` would revoke the others;
 * - a team lists its exact `members`;
 * - every other grant is a `RoleBinding`, named after what it binds (grants have no names).
 *
 * Passwords and tokens are never exported: files hold none (`paved users set-password`).
 */
export function exportAccess(
  users: readonly User[],
  teams: readonly Team[],
  bindings: readonly RoleBindingView[],
): { documents: ExportedAccessDocument[]; skipped: RoleBindingView[] } {
  const orgRoles = new Map<string, string[]>();
  for (const binding of bindings) {
    if (binding.scope.kind !== 'org') continue;
    orgRoles.set(binding.subject, [...(orgRoles.get(binding.subject) ?? []), binding.role]);
  }
  const asRole = new Set<string>();
  const documents: ExportedAccessDocument[] = [];
  for (const user of [...users].sort((a, b) => a.name.localeCompare(b.name))) {
    const subject = `${user.kind}:${user.name}`;
    const roles = orgRoles.get(subject) ?? [];
    const role = roles.length === 1 ? roles[0] : undefined;
    if (role !== undefined) asRole.add(`${subject}/${role}`);
    const spec = {
      ...(user.kind === 'service-account' ? { serviceAccount: true } : {}),
      ...(user.app === undefined ? {} : { app: user.app }),
      ...(role === undefined ? {} : { role }),
      ...(user.disabled ? { disabled: true } : {}),
    };
    const document = {
      apiVersion: 'paved.dev/v1',
      kind: 'User',
      metadata: { name: user.name },
      ...(Object.keys(spec).length === 0 ? {} : { spec }),
    };
    documents.push({ kind: 'User', name: user.name, yaml: stringify(document), guessed: [] });
  }
  for (const team of [...teams].sort((a, b) => a.name.localeCompare(b.name))) {
    const document = {
      apiVersion: 'paved.dev/v1',
      kind: 'Team',
      metadata: { name: team.name },
      spec: {
        ...(team.description === undefined ? {} : { description: team.description }),
        members: [...(team.members ?? [])].sort(),
      },
    };
    documents.push({ kind: 'Team', name: team.name, yaml: stringify(document), guessed: [] });
  }
  const skipped: RoleBindingView[] = [];
  const named = new Set<string>();
  for (const binding of bindings) {
    if (asRole.has(`${binding.subject}/${binding.role}`) && binding.scope.kind === 'org') continue;
    // A grant to a principal since deleted shows its id: nothing a file could name.
    if (!/^(user|service-account|team):./.test(binding.subject)) {
      skipped.push(binding);
      continue;
    }
    const name = bindingName(binding);
    if (named.has(name)) continue;
    named.add(name);
    const document = {
      apiVersion: 'paved.dev/v1',
      kind: 'RoleBinding',
      metadata: { name },
      spec: {
        role: binding.role,
        subject: binding.subject,
        ...(binding.scope.kind === 'app' ? { app: binding.scope.app } : {}),
        ...(binding.scope.kind === 'env-type' ? { envType: binding.scope.envType } : {}),
      },
    };
    documents.push({ kind: 'RoleBinding', name, yaml: stringify(document), guessed: [] });
  }
  return { documents, skipped };
}

/** `team-web-developer-app-shop`: what it binds, within the 128 characters a name may have. */
function bindingName(binding: RoleBindingView): string {
  const scope =
    binding.scope.kind === 'org'
      ? 'org'
      : binding.scope.kind === 'app'
        ? `app-${binding.scope.app}`
        : `env-type-${binding.scope.envType}`;
  const name = `${binding.subject.replace(':', '-')}-${binding.role}-${scope}`;
  if (name.length <= 128) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 119)}-${hash}`;
}

/**
 * The access documents of the server, or none with a warning when the caller may not read them
 * (users and role bindings need `users.manage`): the rest of the export is still useful.
 */
async function readAccess(
  client: PavedClient,
  warn: (message: string) => void,
): Promise<ExportedAccessDocument[]> {
  try {
    const users = await client.listUsers();
    const teams = await Promise.all((await client.listTeams()).map((team) => client.getTeam(team.name)));
    const bindings = await client.listRoleBindings();
    const { documents, skipped } = exportAccess(users, teams, bindings);
    for (const binding of skipped) {
      warn(
        `warning: role binding ${binding.role} of ${binding.subject} names no user, service account or team; not exported`,
      );
    }
    return documents;
  } catch (error) {
    if (error instanceof PavedError && error.code === 'FORBIDDEN') {
      warn(
        'warning: users, teams and role bindings are not exported: reading them needs the administrator role',
      );
      return [];
    }
    throw error;
  }
}

/** Users, teams and role bindings go to `<DIR>/access/<kind>-<name>.yaml`. */
export const ACCESS_DIRECTORY = 'access';

/** Targets go to `<DIR>/targets/<name>.yaml`, apart from definitions of the same name. */
export const TARGETS_DIRECTORY = 'targets';

/**
 * Environment types go to a subdirectory: a definition and an environment type may share a name,
 * and names cannot contain "/", so `<DIR>/environment-types/<name>.yaml` never collides with a
 * definition's `<DIR>/<name>.yaml`. `paved apply` searches directories recursively.
 */
export const ENVIRONMENT_TYPES_DIRECTORY = 'environment-types';

/** `paved export [-o DIR]`. */
export function registerExportCommand(program: Command, context: CliContext): void {
  program
    .command('export')
    .description(
      'write the platform configuration (and users, teams, role bindings) back out as YAML, secret references instead of values',
    )
    .usage('[-o DIR]')
    .option(
      '-o, --output <dir>',
      'write one file per document, e.g. <DIR>/<name>.yaml for a definition; without it, print every document',
    )
    .addHelpText(
      'after',
      `
Environment types are written to <DIR>/environment-types/<name>.yaml, applied targets to
<DIR>/targets/<name>.yaml (built-in targets are not configuration and are left out), and users,
service accounts, teams and role bindings to <DIR>/access/<kind>-<name>.yaml (administrators
only; others get a warning; passwords and tokens are never exported). The files
re-apply to no change. Secrets are written as the references they were applied with
({ env: NAME } or { file: PATH }, as written), never as values; a secret applied without a
reference is written as { env: NAME } with a warning.

Examples:
  $ paved export -o platform/
  $ paved export > platform.yaml`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const client = await context.client(command);
      const targets = (await client.listTargets()).filter((target) => !target.builtIn).map(exportTarget);
      const envTypes = (await client.listEnvTypes()).map(exportEnvironmentType);
      const exported = (await client.listDefinitions()).map(exportDefinition);
      for (const document of exported) {
        for (const key of document.guessed) {
          context.printError(
            `warning: resource definition "${document.name}": secret "${key}" has no recorded reference; exported as { env: ${key} }`,
          );
        }
      }
      const access = await readAccess(client, (message) => context.printError(message));
      for (const document of targets) {
        for (const path of document.guessed) {
          context.printError(
            `warning: target "${document.name}": ${path} has no recorded reference; exported as an { env: … } reference to check`,
          );
        }
      }
      if (options.output === undefined) {
        context.io.stdout.write(
          [...targets, ...envTypes, ...exported, ...access].map((document) => document.yaml).join('---\n'),
        );
        return;
      }
      const directory = resolve(context.io.cwd, options.output);
      await mkdir(directory, { recursive: true });
      for (const document of exported) {
        await writeFile(join(directory, `${document.name}.yaml`), document.yaml);
      }
      if (envTypes.length > 0) await mkdir(join(directory, ENVIRONMENT_TYPES_DIRECTORY), { recursive: true });
      for (const document of envTypes) {
        await writeFile(join(directory, ENVIRONMENT_TYPES_DIRECTORY, `${document.name}.yaml`), document.yaml);
      }
      if (targets.length > 0) await mkdir(join(directory, TARGETS_DIRECTORY), { recursive: true });
      for (const document of targets) {
        await writeFile(join(directory, TARGETS_DIRECTORY, `${document.name}.yaml`), document.yaml);
      }
      if (access.length > 0) await mkdir(join(directory, ACCESS_DIRECTORY), { recursive: true });
      for (const document of access) {
        await writeFile(
          join(directory, ACCESS_DIRECTORY, `${document.kind.toLowerCase()}-${document.name}.yaml`),
          document.yaml,
        );
      }
      const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
      const count = (kind: ExportedAccessDocument['kind']) =>
        access.filter((document) => document.kind === kind).length;
      context.print(
        `Exported ${plural(exported.length, 'resource definition')}, ${plural(envTypes.length, 'environment type')}, ${plural(targets.length, 'target')}, ${plural(count('User'), 'user')}, ${plural(count('Team'), 'team')} and ${plural(count('RoleBinding'), 'role binding')} to ${options.output}.`,
      );
    });
}
