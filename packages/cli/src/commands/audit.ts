import type { AuditEntry, AuditFilter } from '@paved/client';
import { PavedError } from '@paved/core';
import { Option, type Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { formatJson, formatYaml, outputOption, renderList } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';

const ENTRIES_VIEW: ListView<AuditEntry> = {
  columns: [
    { header: 'seq', value: (entry) => entry.seq },
    { header: 'at', value: (entry) => entry.at },
    { header: 'actor', value: (entry) => entry.actorName ?? `(${entry.actorKind})` },
    { header: 'action', value: (entry) => entry.action },
    { header: 'object', value: (entry) => entry.object },
    { header: 'outcome', value: (entry) => entry.outcome },
    { header: 'status', value: (entry) => entry.status },
    { header: 'from', value: (entry) => entry.remoteAddress },
  ],
  empty: 'No audit entries match.',
};

interface FilterOptions {
  since?: string;
  until?: string;
  actor?: string;
  app?: string;
  action?: string;
  outcome?: AuditFilter['outcome'];
}

function filterOf(options: FilterOptions): AuditFilter {
  return {
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
    ...(options.actor === undefined ? {} : { actor: options.actor }),
    ...(options.app === undefined ? {} : { app: options.app }),
    ...(options.action === undefined ? {} : { action: options.action }),
    ...(options.outcome === undefined ? {} : { outcome: options.outcome }),
  };
}

function filterOptions(command: Command): Command {
  return command
    .option(
      '--since <time>',
      'entries from this time on: an ISO timestamp, or a duration back from now such as 24h',
    )
    .option('--until <time>', 'entries before this time, in the same forms')
    .option('--actor <name>', 'entries of this user or service account')
    .option('--app <app>', "entries about this app (alone, an app's owners may read them)")
    .option('--action <action>', 'entries of this action, e.g. "POST /api/v1/apps"')
    .addOption(
      new Option('--outcome <outcome>', 'only this outcome').choices(['succeeded', 'denied', 'failed']),
    );
}

/** `paved audit list | export | verify`. */
export function registerAuditCommands(program: Command, context: CliContext): void {
  const audit = program
    .command('audit')
    .description('read, export and verify the audit log')
    .addHelpText(
      'after',
      `
Every request that changes something, and every refused one, is recorded: who (user or service
account, and the token), what, on which object, when, from which address, the outcome, and a
SHA-256 of the request payload (secret values replaced first). Entries are hash-chained: each
entry's hash covers the one before, so "paved audit verify" finds any edited, removed or slipped-in
entry. Reading the log needs the administrator role; an app's owners read the app's entries
(--app).

Examples:
  $ paved audit list --since 24h
  $ paved audit list --actor alice --app shop -o json
  $ paved audit export --since 2026-01-01T00:00:00Z > audit.jsonl
  $ paved audit verify`,
    );

  filterOptions(
    audit
      .command('list')
      .description('list audit entries, newest first')
      .usage(
        '[--since TIME] [--until TIME] [--actor NAME] [--app APP] [--action ACTION] [--outcome OUTCOME] [--limit N] [-o json|yaml|table]',
      ),
  )
    .option('--limit <n>', 'at most this many entries (default 100)', (value) => {
      const limit = Number(value);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new PavedError('INVALID_INPUT', `--limit must be a whole number from 1, not "${value}"`);
      }
      return limit;
    })
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ paved audit list --since 24h
  $ paved audit list --actor alice --app shop -o json
  $ paved audit list --outcome denied --limit 20`,
    )
    .action(async (options: FilterOptions & { limit?: number; output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const limit = options.limit ?? 100;
      const entries: AuditEntry[] = [];
      for await (const page of client.auditPages(filterOf(options), { limit: Math.min(limit, 500) })) {
        entries.push(...page.items);
        if (entries.length >= limit) break;
      }
      context.print(renderList(options.output, entries.slice(0, limit), ENTRIES_VIEW));
    });

  filterOptions(
    audit
      .command('export')
      .description('write audit entries as JSON lines, oldest first, to standard output')
      .usage(
        '[--since TIME] [--until TIME] [--actor NAME] [--app APP] [--action ACTION] [--outcome OUTCOME]',
      ),
  )
    .addHelpText(
      'after',
      `
One JSON object per line, every field of every entry (hashes included), so a copy kept elsewhere
can be checked against the server's chain later.

Examples:
  $ paved audit export > audit-$(date +%F).jsonl
  $ paved audit export --app shop --since 720h | jq -c 'select(.outcome == "denied")'`,
    )
    .action(async (options: FilterOptions, command: Command) => {
      const client = await context.client(command);
      for await (const page of client.auditPages({ ...filterOf(options), order: 'asc' }, { limit: 500 })) {
        if (page.items.length > 0)
          context.io.stdout.write(page.items.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
      }
    });

  audit
    .command('verify')
    .description("check the audit log's hash chain from the first entry to the last")
    .usage('[-o json|yaml|table]')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Recomputes every entry's hash. Exits 0 when the chain is whole, 5 when an entry was changed,
removed or added behind Paved's back, naming the first one. Keep the printed head hash somewhere
else: it proves later that nothing before it changed.

Examples:
  $ paved audit verify
  $ paved audit verify -o json`,
    )
    .action(async (options: { output: OutputFormat }, command: Command) => {
      const client = await context.client(command);
      const result = await client.verifyAudit();
      if (options.output !== 'table') {
        context.print(options.output === 'json' ? formatJson(result) : formatYaml(result));
        if (!result.ok) context.exitCode = 5;
        return;
      }
      if (result.ok) {
        context.print(
          `The audit log is intact: ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'}, head #${result.head.seq} ${result.head.hash}.`,
        );
        return;
      }
      throw new PavedError(
        'CONFLICT',
        `the audit log is broken at entry ${result.broken?.seq ?? '?'}: ${result.broken?.reason ?? 'unknown reason'} (${result.entries} entries before it check out)`,
        { details: { ...result } },
      );
    });
}
