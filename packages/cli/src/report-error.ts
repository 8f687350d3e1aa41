import { PavedError, formatProblem } from '@paved/core';
import type { Problem } from '@paved/core';
import { CommanderError } from 'commander';
import type { CliContext } from './cli-context.js';

/** Exit code for a command line the parser rejected; the same as INVALID_INPUT's. */
const USAGE_EXIT = 2;
/** Exit code for anything that is not a PavedError: a bug. */
const INTERNAL_EXIT = 70;

/**
 * The CLI's one catch: prints what went wrong to stderr and returns the exit code, which for a
 * PavedError comes from the error table and nothing else.
 */
export function reportError(error: unknown, context: CliContext): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help/version the user asked for).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    return USAGE_EXIT;
  }
  if (error instanceof PavedError) {
    context.printError(`error: ${error.message}`);
    for (const problem of problemsOf(error)) context.printError(`  ${formatProblem(problem)}`);
    for (const hint of hintsFor(error, context)) context.printError(`hint: ${hint}`);
    if (debugging(context) && error.cause !== undefined)
      context.printError(`cause: ${describe(error.cause)}`);
    return error.exitCode;
  }
  context.printError(`error: ${error instanceof Error ? error.message : String(error)}`);
  context.printError(
    debugging(context) && error instanceof Error && error.stack !== undefined
      ? error.stack
      : 'hint: this is a bug in Paved; please report it with the command you ran (PAVED_DEBUG=1 prints the stack trace)',
  );
  return INTERNAL_EXIT;
}

/** `details.problems` as the contract shapes them; anything else in there is ignored. */
export function problemsOf(error: PavedError): Problem[] {
  const problems = error.details?.problems;
  if (!Array.isArray(problems)) return [];
  return problems.filter(
    (problem): problem is Problem =>
      typeof problem === 'object' &&
      problem !== null &&
      typeof (problem as Problem).message === 'string' &&
      typeof (problem as Problem).path === 'string',
  );
}

function hintsFor(error: PavedError, context: CliContext): string[] {
  const resolution = context.credential;
  if (error.code !== 'UNAUTHENTICATED' || resolution === undefined) return [];
  const found = resolution.credential;
  if (found !== undefined) {
    const from = found.source === 'PAVED_TOKEN' ? 'PAVED_TOKEN' : (found.file ?? found.source);
    return [
      `the token from ${from} was not accepted by ${resolution.serverUrl}; it may be revoked or expired`,
    ];
  }
  return [
    `no credential for ${resolution.serverUrl}: set PAVED_TOKEN, or point --data-dir (PAVED_DATA_DIR) at the server's data directory, whose credentials.json is used when its "url" is this server`,
    ...resolution.notes,
  ];
}

function debugging(context: CliContext): boolean {
  const value = context.io.env.PAVED_DEBUG;
  return value !== undefined && value !== '' && value !== '0';
}

function describe(cause: unknown): string {
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
}
