/**
 * Where a container's secret arguments sit in the command line the process target runs
 * (`[...command, ...args]`), from the renderer's `secretArguments` (`command.<i>` / `args.<i>`).
 * The runtime uses it to keep their values off the disk and out of the supervisor's log; the
 * server uses it to hand them back when a supervisor must be started again (ADR 0015).
 */
import type { RenderedContainer } from '@paved/core';

export function secretArgvPositions(
  container: Pick<RenderedContainer, 'command' | 'args' | 'secretArguments'>,
): number[] {
  const commandLength = container.command?.length ?? 0;
  const argsLength = container.args?.length ?? 0;
  const positions = new Set<number>();
  for (const name of container.secretArguments ?? []) {
    const [kind, index] = name.split('.');
    const at = Number(index);
    if (!Number.isInteger(at) || at < 0) continue;
    if (kind === 'command' && at < commandLength) positions.add(at);
    else if (kind === 'args' && at < argsLength) positions.add(commandLength + at);
  }
  return [...positions].sort((a, b) => a - b);
}

/** The command line with each secret position's value replaced, for notes and messages. */
export function maskedArgv(argv: readonly string[], secret: readonly number[]): string[] {
  const hidden = new Set(secret);
  return argv.map((value, index) => (hidden.has(index) ? '(secret)' : value));
}
