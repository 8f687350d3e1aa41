import type { TargetView } from '@paved/client';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { outputOption, renderList } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';

/** What a target connects to, in a few words. */
function describeTarget(target: TargetView): string | undefined {
  if (target.docker !== undefined) {
    const host =
      target.docker.host ??
      (target.docker.detectedHost === undefined ? undefined : `${target.docker.detectedHost} (detected)`);
    const registries = Object.keys(target.docker.registries);
    return [
      host ?? 'host auto-detected',
      ...(registries.length === 0 ? [] : [`registries ${registries.join(', ')}`]),
      ...(target.docker.nodeImage === undefined ? [] : [`node image ${target.docker.nodeImage}`]),
      ...(target.docker.sandboxImage === undefined ? [] : [`sandbox image ${target.docker.sandboxImage}`]),
    ].join('; ');
  }
  if (target.kubernetes !== undefined) {
    return [
      `context ${target.kubernetes.context ?? '(current)'}`,
      ...(target.kubernetes.namespacePrefix === undefined
        ? []
        : [`namespaces ${target.kubernetes.namespacePrefix}*`]),
    ].join('; ');
  }
  return undefined;
}

const TARGETS_VIEW: ListView<TargetView> = {
  columns: [
    { header: 'name', value: (target) => target.name },
    { header: 'type', value: (target) => target.type },
    {
      header: 'source',
      value: (target) => (target.builtIn ? 'built-in' : `applied v${target.version ?? '?'}`),
    },
    { header: 'available', value: (target) => target.available },
    { header: 'details', value: (target) => (target.available ? describeTarget(target) : target.reason) },
  ],
  empty: 'No targets. (Every server has the process target: is this a Paved server?)',
};

/** `paved targets list`. */
export function registerTargetsCommands(program: Command, context: CliContext): void {
  const targets = program
    .command('targets')
    .description('list the targets environments run on (process, docker, clusters)')
    .addHelpText(
      'after',
      `
Targets are built in (process always; docker when the server found a Docker or Podman engine) or
applied with paved apply (kind: Target). See docs/platform-configuration.md.

Examples:
  $ paved targets list
  $ paved targets list -o json`,
    );

  targets
    .command('list')
    .description('list targets: built in and applied, whether this server can deploy to each; secrets masked')
    .usage('[-o json|yaml|table]')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
AVAILABLE says whether the server can deploy to the target now; DETAILS then says what it connects
to, else why not (e.g. no kubernetes runtime exists yet). Registry passwords and kubeconfigs are
never shown, only where they were read from (-o json).

Examples:
  $ paved targets list
  $ paved targets list -o yaml`,
    )
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      context.io.stdout.write(renderList(options.output, await client.listTargets(), TARGETS_VIEW));
    });
}
