import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatProblem, validateScore } from '@paved/core';
import type { Problem } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { formatJson, formatYaml, outputOption } from '../output.js';
import type { OutputFormat } from '../output.js';

/** Exit code when a Score file has an error: INVALID_INPUT's. */
const INVALID_EXIT = 2;

/**
 * Validates Score files locally: every problem of every file, with its position. Reading a file
 * that is not there is a problem of that file too, so one bad path does not hide the others.
 */
export async function validateScoreFiles(files: readonly string[], cwd: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(resolve(cwd, file), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      problems.push({ file, path: '', message: `cannot read the file (${code})`, severity: 'error' });
      continue;
    }
    for (const problem of validateScore(text, { file }).problems) {
      problems.push({ ...problem, file: problem.file ?? file, severity: problem.severity ?? 'error' });
    }
  }
  return problems;
}

/** `3 errors and 1 warning in 2 files`, or `2 files are valid`. */
export function summarise(problems: readonly Problem[], fileCount: number): string {
  const errors = problems.filter((problem) => problem.severity !== 'warning').length;
  const warnings = problems.length - errors;
  const files = `${fileCount} ${fileCount === 1 ? 'file' : 'files'}`;
  if (problems.length === 0) return `${files}: valid`;
  const parts = [];
  if (errors > 0) parts.push(`${errors} ${errors === 1 ? 'error' : 'errors'}`);
  if (warnings > 0) parts.push(`${warnings} ${warnings === 1 ? 'warning' : 'warnings'}`);
  return `${files}: ${parts.join(' and ')}${errors === 0 ? ' (valid)' : ''}`;
}

/** `paved score validate FILES…`. */
export function registerScoreCommands(program: Command, context: CliContext): void {
  const score = program
    .command('score')
    .description('work with Score files (score.dev/v1b1) locally, without a server')
    .addHelpText(
      'after',
      `
Examples:
  $ paved score validate score.yaml
  $ paved score validate services/*/score.yaml -o json`,
    );

  score
    .command('validate')
    .description('check Score files and print every problem as file:line:column: path: message')
    .usage('FILES… [-o json|yaml|table]')
    .argument('<files...>', 'Score files to check')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Prints every error and warning of every file, then a summary (-o json and -o yaml print the
problems array instead). Exits 2 if any file has an error, 0 if there are only warnings or
nothing. Needs no server.

Examples:
  $ paved score validate score.yaml
  $ paved score validate api/score.yaml worker/score.yaml
  $ paved score validate score.yaml -o json | jq '.[] | select(.severity == "error")'`,
    )
    .action(async (files: string[], options: { output: OutputFormat }) => {
      const problems = await validateScoreFiles(files, context.io.cwd);
      switch (options.output) {
        case 'json':
          context.print(formatJson(problems));
          break;
        case 'yaml':
          context.print(formatYaml(problems));
          break;
        case 'table':
          for (const problem of problems) context.print(formatProblem(problem));
          context.print(summarise(problems, files.length));
          break;
      }
      if (problems.some((problem) => problem.severity !== 'warning')) context.exitCode = INVALID_EXIT;
    });
}
