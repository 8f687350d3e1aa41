import { PavedError } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';

interface LogsFlags {
  container?: string;
  follow?: boolean;
  since?: string;
  tail?: string;
  timestamps?: boolean;
}

/** `10s`, `5m`, `2h`, `1d`: the duration forms the rest of the CLI takes. */
export function checkDuration(text: string, flag: string): string {
  if (!/^\d+[smhd]$/.test(text)) {
    throw new PavedError('INVALID_INPUT', `${flag} "${text}" is not a duration: use <n>s|m|h|d, e.g. 10m`);
  }
  return text;
}

/** `paved logs APP ENV WORKLOAD`. */
export function registerLogsCommand(program: Command, context: CliContext): void {
  program
    .command('logs')
    .description("print a workload's log lines (stdout and stderr of its containers)")
    .usage('APP ENV WORKLOAD [--container NAME] [--follow] [--since DURATION] [--tail N] [--timestamps]')
    .argument('<app>', 'name of the app')
    .argument('<env>', 'name of the environment')
    .argument('<workload>', 'name of the workload')
    .option('--container <name>', 'only this container (default: all of them)')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--since <duration>', 'only lines from the last <n>s|m|h|d, e.g. 10m')
    .option('--tail <n>', 'only the last N lines (before following)')
    .option('--timestamps', 'start each line with its time and container')
    .addHelpText(
      'after',
      `
Lines print as the workload wrote them; with --timestamps each starts with its time, container
and stream. Ctrl-C stops --follow (exit 0). Exits 3 if there is no such app, environment,
workload or container.

Examples:
  $ paved logs shop dev frontend
  $ paved logs shop dev frontend --follow
  $ paved logs shop dev orders --since 10m --container main
  $ paved logs shop dev catalog --tail 50 --timestamps`,
    )
    .action(async (app: string, env: string, workload: string, flags: LogsFlags, command: Command) => {
      const since = flags.since === undefined ? undefined : checkDuration(flags.since, '--since');
      let tail: number | undefined;
      if (flags.tail !== undefined) {
        if (!/^\d{1,9}$/.test(flags.tail)) {
          throw new PavedError('INVALID_INPUT', `--tail "${flags.tail}" is not a number of lines`);
        }
        tail = Number(flags.tail);
      }
      const client = await context.client(command);
      // Ctrl-C ends the stream cleanly (exit 0) instead of killing the process mid-line.
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      try {
        for await (const line of client.logs(app, env, workload, {
          ...(flags.container === undefined ? {} : { container: flags.container }),
          ...(since === undefined ? {} : { since }),
          ...(tail === undefined ? {} : { tail }),
          follow: flags.follow === true,
          signal: controller.signal,
        })) {
          context.print(
            flags.timestamps === true
              ? `${line.time} ${line.container} ${line.stream}: ${line.line}`
              : line.line,
          );
        }
      } finally {
        process.off('SIGINT', stop);
      }
    });
}
