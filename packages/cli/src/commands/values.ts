import type { Value, ValueChange, ValueInput, ValuesScope } from '@paved/client';
import { DNS_LABEL, PavedError } from '@paved/core';
import type { Problem } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { outputOption, renderList } from '../output.js';
import type { ListView, OutputFormat } from '../output.js';

/** Value keys are environment-variable names (docs/api.md). */
export const VALUE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** How a secret's value shows in a table: secrets are write-only and never printed. */
export const SECRET_MASK = '(secret)';

const KEY_RULE = 'keys are environment-variable names: letters, digits and "_", not starting with a digit';

export interface ValuesSetArguments {
  scope: ValuesScope;
  set: ValueInput[];
}

export interface ValuesUnsetArguments {
  scope: ValuesScope;
  unset: string[];
}

/**
 * `values set APP [ENV] KEY=VALUE…`: the argument after APP is ENV when it has no `=` (a
 * KEY=VALUE always has one, and an environment name never does); everything after that must be
 * KEY=VALUE, split at the first `=` so values may contain `=`. Every problem is reported at once.
 */
export function parseValuesSetArguments(
  app: string,
  args: readonly string[],
  secret: boolean,
): ValuesSetArguments {
  const problems: Problem[] = [];
  let env: string | undefined;
  let rest = args;
  if (args[0] !== undefined && !args[0].includes('=')) {
    env = args[0];
    rest = args.slice(1);
    if (!DNS_LABEL.test(env)) {
      problems.push({
        path: 'ENV',
        message: `"${env}" is not an environment name (the argument after APP is ENV when it has no "="); to set a value write ${VALUE_KEY.test(env) ? `${env}=VALUE` : 'KEY=VALUE'}`,
      });
    }
  }
  const set: ValueInput[] = [];
  const seen = new Set<string>();
  rest.forEach((arg, index) => {
    const position = `KEY=VALUE #${index + 1}`;
    const equals = arg.indexOf('=');
    if (equals === -1) {
      // The text may be a secret typed in the wrong place, so it is echoed only for plain values.
      problems.push({ path: position, message: `${secret ? 'this argument' : `"${arg}"`} is not KEY=VALUE` });
      return;
    }
    const key = arg.slice(0, equals);
    if (!VALUE_KEY.test(key)) {
      problems.push({ path: position, message: `"${key}" is not a valid key: ${KEY_RULE}` });
      return;
    }
    if (seen.has(key)) {
      problems.push({ path: position, message: `${key} is given more than once; give each key once` });
      return;
    }
    seen.add(key);
    set.push({ key, value: arg.slice(equals + 1), ...(secret ? { secret: true } : {}) });
  });
  if (rest.length === 0 && problems.length === 0) {
    problems.push({
      path: 'KEY=VALUE',
      message:
        env === undefined
          ? 'give at least one KEY=VALUE'
          : `"${env}" was taken as ENV (it has no "="); give at least one KEY=VALUE after it`,
    });
  }
  if (problems.length > 0) throw invalidArguments('paved values set', problems);
  return { scope: scopeOf(app, env), set };
}

/**
 * `values unset APP [ENV] KEY…`: with one name after APP it is a KEY of the app. With two or
 * more, the first is ENV when it is a valid environment name (lower-case letters, digits and
 * `-`), otherwise every name is a KEY of the app. So `unset shop staging DEBUG` unsets DEBUG in
 * staging, and `unset shop DEBUG LOG_LEVEL` unsets two keys of the app (upper-case or `_` never
 * make an environment name).
 */
export function parseValuesUnsetArguments(app: string, names: readonly string[]): ValuesUnsetArguments {
  let env: string | undefined;
  let keys = names;
  if (names.length >= 2 && DNS_LABEL.test(names[0]!)) {
    env = names[0];
    keys = names.slice(1);
  }
  const problems: Problem[] = [];
  keys.forEach((key, index) => {
    if (!VALUE_KEY.test(key)) {
      problems.push({ path: `KEY #${index + 1}`, message: `"${key}" is not a valid key: ${KEY_RULE}` });
    }
  });
  if (keys.length === 0) problems.push({ path: 'KEY', message: 'give at least one KEY' });
  if (problems.length > 0) throw invalidArguments('paved values unset', problems);
  return { scope: scopeOf(app, env), unset: [...new Set(keys)] };
}

function scopeOf(app: string, env: string | undefined): ValuesScope {
  return env === undefined ? { app } : { app, env };
}

function invalidArguments(command: string, problems: Problem[]): PavedError {
  if (problems.length === 1) {
    const [problem] = problems as [Problem];
    return new PavedError('INVALID_INPUT', `${command}: ${problem.path}: ${problem.message}`);
  }
  return PavedError.invalid(`${command}: ${problems.length} arguments are invalid`, problems);
}

/** Where a change went, as the confirmation says it. */
function describeScope(scope: ValuesScope): string {
  return scope.env === undefined ? `app "${scope.app}"` : `environment "${scope.env}" of app "${scope.app}"`;
}

/**
 * Drops the value of secrets. The server never sends one; this keeps it that way in the CLI's
 * output even if a server did.
 */
export function withoutSecretValues<T extends { secret: boolean; value?: string }>(items: readonly T[]): T[] {
  return items.map((item) => {
    if (!item.secret) return item;
    const { value: _value, ...rest } = item;
    return rest as T;
  });
}

export const VALUES_VIEW: ListView<Value> = {
  columns: [
    { header: 'key', value: (value) => value.key },
    { header: 'value', value: (value) => (value.secret ? SECRET_MASK : (value.value ?? '')) },
    { header: 'version', value: (value) => value.version },
    { header: 'updated', value: (value) => value.updatedAt },
    { header: 'updated by', value: (value) => value.updatedBy },
  ],
  empty: 'No values yet. Set one with: paved values set APP [ENV] KEY=VALUE',
};

export const HISTORY_VIEW: ListView<ValueChange> = {
  columns: [
    { header: 'version', value: (change) => change.version },
    { header: 'action', value: (change) => change.action },
    { header: 'key', value: (change) => change.key },
    {
      header: 'value',
      value: (change) =>
        change.action === 'unset' ? undefined : change.secret ? SECRET_MASK : (change.value ?? ''),
    },
    { header: 'actor', value: (change) => change.actor },
    { header: 'at', value: (change) => change.at },
  ],
  empty: 'No changes yet.',
};

/** The history with why a version was written, shown when some version says (e.g. a rollback). */
export const NOTED_HISTORY_VIEW: ListView<ValueChange> = {
  ...HISTORY_VIEW,
  columns: [...HISTORY_VIEW.columns, { header: 'note', value: (change) => change.note }],
};

const SCOPE_HELP = `
Values belong to an app (every environment sees them) or to one environment of it (overriding
the app's). ENV is optional everywhere:
  set APP [ENV] KEY=VALUE…  the argument after APP is ENV when it has no "=".
  unset APP [ENV] KEY…      one name after APP is a KEY of the app; with two or more, the first
                            is ENV if it is a valid environment name (lower-case letters, digits,
                            "-"), else they are all KEYs of the app.
  list APP [ENV], history APP [ENV]  the optional second argument is ENV.
Keys are environment-variable names (letters, digits and "_", not starting with a digit).
Secret values are write-only: no command ever prints them; they show as ${SECRET_MASK}.`;

/** `paved values set | unset | list | history`. */
export function registerValuesCommands(program: Command, context: CliContext): void {
  const values = program
    .command('values')
    .description('set, unset and list configuration values of an app or one of its environments')
    .addHelpText(
      'after',
      `${SCOPE_HELP}

Examples:
  $ paved values set shop LOG_LEVEL=info
  $ paved values set shop staging LOG_LEVEL=debug
  $ paved values set shop production API_KEY=s3cr3t --secret
  $ paved values unset shop staging LOG_LEVEL
  $ paved values list shop staging -o json
  $ paved values history shop`,
    );

  values
    .command('set')
    .description('set one or more values, all at once')
    .usage('APP [ENV] KEY=VALUE… [--secret]')
    .argument('<app>', 'name of the app')
    .argument('<args...>', 'optional ENV (has no "="), then one or more KEY=VALUE')
    .option('--secret', 'store the values as secrets: encrypted, write-only, never printed')
    .addHelpText(
      'after',
      `${SCOPE_HELP}

Exits 2 naming the argument if one is not KEY=VALUE or its key is invalid (nothing is set then),
3 if the app or environment does not exist.

Examples:
  $ paved values set shop LOG_LEVEL=info FEATURE_X=on
  $ paved values set shop staging DATABASE_POOL=10
  $ paved values set shop production API_KEY=s3cr3t --secret`,
    )
    .action(async (app: string, args: string[], options: { secret?: boolean }, command: Command) => {
      const parsed = parseValuesSetArguments(app, args, options.secret === true);
      const client = await context.client(command);
      const result = await client.changeValues(parsed.scope, { set: parsed.set });
      const keys = parsed.set.map((value) =>
        value.secret === true ? `${value.key} ${SECRET_MASK}` : value.key,
      );
      context.print(`Set ${keys.join(', ')} on ${describeScope(parsed.scope)} (version ${result.version}).`);
    });

  values
    .command('unset')
    .description('remove one or more values, all at once')
    .usage('APP [ENV] KEY…')
    .argument('<app>', 'name of the app')
    .argument('<names...>', 'optional ENV, then one or more KEY (see the rule below)')
    .addHelpText(
      'after',
      `${SCOPE_HELP}

Examples:
  $ paved values unset shop LOG_LEVEL
  $ paved values unset shop LOG_LEVEL FEATURE_X
  $ paved values unset shop staging DATABASE_POOL`,
    )
    .action(async (app: string, names: string[], _options: unknown, command: Command) => {
      const parsed = parseValuesUnsetArguments(app, names);
      const client = await context.client(command);
      const result = await client.changeValues(parsed.scope, { unset: parsed.unset });
      context.print(
        `Unset ${parsed.unset.join(', ')} on ${describeScope(parsed.scope)} (version ${result.version}).`,
      );
    });

  values
    .command('list')
    .description('list the values of an app or of one environment; secrets show as (secret)')
    .usage('APP [ENV] [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('[env]', 'name of the environment; without it, the values of the app')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Secret values are never printed, in any output format (JSON and YAML leave "value" out).

Examples:
  $ paved values list shop
  $ paved values list shop staging -o json`,
    )
    .action(
      async (app: string, env: string | undefined, options: { output: OutputFormat }, command: Command) => {
        const client = await context.client(command);
        const list = await client.listValues(scopeOf(app, env));
        context.print(renderList(options.output, withoutSecretValues(list.items), VALUES_VIEW));
      },
    );

  values
    .command('history')
    .description('list the changes to the values of an app or of one environment, newest first')
    .usage('APP [ENV] [-o json|yaml|table]')
    .argument('<app>', 'name of the app')
    .argument('[env]', 'name of the environment; without it, the history of the app')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  $ paved values history shop
  $ paved values history shop staging -o yaml`,
    )
    .action(
      async (app: string, env: string | undefined, options: { output: OutputFormat }, command: Command) => {
        const client = await context.client(command);
        const history = await client.valuesHistory(scopeOf(app, env));
        const view = history.some((change) => change.note !== undefined) ? NOTED_HISTORY_VIEW : HISTORY_VIEW;
        context.print(renderList(options.output, withoutSecretValues(history), view));
      },
    );
}
