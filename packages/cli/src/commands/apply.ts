import type { ApplyResult } from '@paved/client';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { formatJson, formatYaml, outputOption } from '../output.js';
import type { OutputFormat } from '../output.js';
import { readPlatformDocuments } from '../platform-config.js';

/** `Applied 3 documents: 1 created, 1 updated, 1 unchanged.` then one line per document. */
export function formatApplyResult(result: ApplyResult): string {
  const total = result.items.length;
  const lines = [
    `Applied ${total} document${total === 1 ? '' : 's'}: ${result.created} created, ${result.updated} updated, ${result.unchanged} unchanged.`,
    ...result.items.map((item) => `  ${item.kind}/${item.name} ${item.action}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** `paved apply -f FILE|DIR…`. */
export function registerApplyCommand(program: Command, context: CliContext): void {
  program
    .command('apply')
    .description(
      'create or update platform configuration (resource definitions, environment types, targets, users, teams, role bindings) from YAML files',
    )
    .usage('-f FILE|DIR [-f FILE|DIR…] [-o json|yaml|table]')
    .requiredOption(
      '-f, --file <path>',
      'a YAML file, or a directory searched for .yaml/.yml files; repeatable',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Every document is checked before anything is stored; every problem in every file is reported at
once with its file and line, and then nothing is applied. Applying the same files again changes
nothing. Documents are of kind ResourceDefinition, EnvironmentType, Target, User, Team or
RoleBinding; all of them are written in one transaction. Users, teams and role bindings need the
administrator role. Files never hold passwords (set them with paved users set-password). Secrets
(definition inputs, registry passwords, kubeconfigs) must be references, resolved here and sent to
the server to be encrypted:
  secrets: { password: { env: PG_PASSWORD } }      from an environment variable
  secrets: { password: { file: ./pg-password } }   from a file, relative to the YAML file
See docs/platform-configuration.md for the document shapes.

Exits 2 naming file and line when a document is invalid.

Examples:
  $ paved apply -f examples/platform/
  $ paved apply -f postgres.yaml -o json`,
    )
    .action(async (options: { file: string[]; output: OutputFormat }, command: Command) => {
      const documents = await readPlatformDocuments(options.file, {
        cwd: context.io.cwd,
        env: context.io.env,
      });
      const client = await context.client(command);
      const result = await client.apply(documents);
      context.io.stdout.write(
        options.output === 'json'
          ? formatJson(result)
          : options.output === 'yaml'
            ? formatYaml(result)
            : formatApplyResult(result),
      );
    });
}
