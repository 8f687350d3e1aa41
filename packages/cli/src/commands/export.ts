import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EnvironmentType, ResourceDefinitionView, SecretReference } from '@paved/client';
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
 * Environment types go to a subdirectory: a definition and an environment type may share a name,
 * and names cannot contain "/", so `<DIR>/environment-types/<name>.yaml` never collides with a
 * definition's `<DIR>/<name>.yaml`. `paved apply` searches directories recursively.
 */
export const ENVIRONMENT_TYPES_DIRECTORY = 'environment-types';

/** `paved export [-o DIR]`. */
export function registerExportCommand(program: Command, context: CliContext): void {
  program
    .command('export')
    .description('write the platform configuration back out as YAML, secret references instead of values')
    .usage('[-o DIR]')
    .option(
      '-o, --output <dir>',
      'write one file per definition, <DIR>/<name>.yaml; without it, print every document',
    )
    .addHelpText(
      'after',
      `
Environment types are written to <DIR>/environment-types/<name>.yaml. The files re-apply to no change. Secrets are written as the references they were applied with
({ env: NAME } or { file: PATH }, as written), never as values; a secret applied without a
reference is written as { env: KEY } with a warning.

Examples:
  $ paved export -o platform/
  $ paved export > platform.yaml`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const client = await context.client(command);
      const envTypes = (await client.listEnvTypes()).map(exportEnvironmentType);
      const exported = (await client.listDefinitions()).map(exportDefinition);
      for (const document of exported) {
        for (const key of document.guessed) {
          context.printError(
            `warning: resource definition "${document.name}": secret "${key}" has no recorded reference; exported as { env: ${key} }`,
          );
        }
      }
      if (options.output === undefined) {
        context.io.stdout.write([...envTypes, ...exported].map((document) => document.yaml).join('---\n'));
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
      context.print(
        `Exported ${exported.length} resource definition${exported.length === 1 ? '' : 's'} and ${envTypes.length} environment type${envTypes.length === 1 ? '' : 's'} to ${options.output}.`,
      );
    });
}
