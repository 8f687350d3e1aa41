import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { formatJson, formatYaml, outputOption } from '../output.js';
import type { OutputFormat } from '../output.js';

/** What `POST /api/v1/admin/rotate-master-key` answers: key ids and counts, never a value. */
interface MasterKeyRotation {
  keyId: string;
  previousKeyId: string;
  rewrapped: Record<'values' | 'definitions' | 'targets' | 'resources' | 'deployments', number>;
  resumed: boolean;
}

const KIND_LABELS: Record<keyof MasterKeyRotation['rewrapped'], string> = {
  values: 'app and environment secrets',
  definitions: "resource definitions' secret inputs",
  targets: "targets' secrets",
  resources: "resources' secret outputs",
  deployments: "deployments' runtime specs",
};

/** `paved admin rotate-master-key`: operations on the server itself, for administrators. */
export function registerAdminCommands(program: Command, context: CliContext): void {
  const admin = program.command('admin').description('operate the server itself (administrators)');

  admin
    .command('rotate-master-key')
    .description('re-wrap every stored secret with a new master key and retire the old one')
    .usage('[-o json|yaml|table]')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
The server writes a new key beside <data-dir>/master.key (master.key.next), re-wraps the data key
of every sealed value in one transaction (app and environment secrets, definitions' secret inputs,
targets' secrets, resources' secret outputs, deployments' runtime specs), then replaces
master.key with the new key. A crash at any point is harmless: the server opens values under
either key and finishes the rotation when it starts again. Back up the new master.key afterwards;
other replicas need it too. Needs the administrator role.

Examples:
  $ paved admin rotate-master-key
  $ paved admin rotate-master-key -o json`,
    )
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const result = await client.request<MasterKeyRotation>('POST', '/api/v1/admin/rotate-master-key');
      if (options.output !== 'table') {
        context.print(options.output === 'json' ? formatJson(result) : formatYaml(result));
        return;
      }
      const total = Object.values(result.rewrapped).reduce((sum, count) => sum + count, 0);
      const lines = [
        `${result.resumed ? 'Finished an interrupted rotation' : 'Rotated the master key'}: ${result.previousKeyId} → ${result.keyId}; ${total} sealed value${total === 1 ? '' : 's'} re-wrapped.`,
        ...(Object.keys(KIND_LABELS) as (keyof typeof KIND_LABELS)[]).map(
          (kind) => `  ${KIND_LABELS[kind]}: ${result.rewrapped[kind]}`,
        ),
        'Back up the new master.key of the data directory; give it to every other replica of this server.',
      ];
      context.print(lines.join('\n'));
    });
}
