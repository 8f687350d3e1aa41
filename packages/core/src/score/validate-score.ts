import type { Problem } from '../errors.js';
import { checkScoreRules } from './check-score-rules.js';
import type { Finding } from './finding.js';
import { formatJsonPath } from './json-path.js';
import { normaliseScore } from './normalise-score.js';
import { schemaFindings } from './schema-findings.js';
import { scoreSchema } from './score-schema.js';
import type { ScoreWorkload } from './types.js';
import { parseYaml } from './yaml-locator.js';
import type { YamlLocator } from './yaml-locator.js';

export interface ScoreValidationOptions {
  /** The file name put on every problem, as the user should see it. */
  file?: string;
}

export interface ScoreValidation {
  /** The normalised workload; present only when no problem is an error. */
  workload?: ScoreWorkload;
  /** Every problem found, errors and warnings, in file order. */
  problems: Problem[];
}

/**
 * Parses and validates a Score (`score.dev/v1b1`) file, reporting every problem at once with its
 * line, column and JSON path.
 *
 * @example
 * const { workload, problems } = validateScore(text, { file: 'score.yaml' });
 * for (const problem of problems) console.error(formatProblem(problem));
 * if (workload === undefined) process.exitCode = 2;
 */
export function validateScore(text: string, options: ScoreValidationOptions = {}): ScoreValidation {
  const parsed = parseYaml(text);
  const problems: Problem[] = parsed.problems.map((problem) => ({
    ...(options.file === undefined ? {} : { file: options.file }),
    line: problem.line,
    column: problem.column,
    path: '',
    message: problem.message,
    severity: problem.severity,
  }));
  // Broken syntax makes the data unreliable: report the syntax only, as compilers do.
  if (parsed.locator === undefined || parsed.syntaxFailed) {
    return { problems: sortProblems(dedupe(problems)) };
  }
  const result = validateData(parsed.value, options, parsed.locator);
  const all = sortProblems(dedupe([...problems, ...result.problems]));
  const failed = all.some((problem) => problem.severity === 'error');
  return result.workload === undefined || failed
    ? { problems: all }
    : { workload: result.workload, problems: all };
}

/**
 * Validates a Score workload that is already plain data (parsed JSON or YAML, a request body).
 * Problems carry JSON paths but no line or column.
 */
export function validateScoreObject(value: unknown, options: ScoreValidationOptions = {}): ScoreValidation {
  const result = validateData(value, options, undefined);
  return { ...result, problems: dedupe(result.problems) };
}

function validateData(
  value: unknown,
  options: ScoreValidationOptions,
  locator: YamlLocator | undefined,
): ScoreValidation {
  const parsed = scoreSchema.safeParse(value, { reportInput: true });
  const findings: Finding[] = [
    ...(parsed.success ? [] : schemaFindings(parsed.error.issues)),
    ...checkScoreRules(value),
  ];
  const problems = findings.map((finding) => toProblem(finding, options, locator));
  if (!parsed.success || problems.some((problem) => problem.severity === 'error')) return { problems };
  return { workload: normaliseScore(parsed.data), problems };
}

function toProblem(
  finding: Finding,
  options: ScoreValidationOptions,
  locator: YamlLocator | undefined,
): Problem {
  const position = locator?.locate(finding.path, finding.target);
  return {
    ...(options.file === undefined ? {} : { file: options.file }),
    ...(position === undefined ? {} : { line: position.line, column: position.column }),
    path: formatJsonPath(finding.path),
    message: finding.message,
    severity: finding.severity,
  };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = JSON.stringify([
      problem.line,
      problem.column,
      problem.path,
      problem.message,
      problem.severity,
    ]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortProblems(problems: Problem[]): Problem[] {
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort(
      (a, b) =>
        (a.problem.line ?? 0) - (b.problem.line ?? 0) ||
        (a.problem.column ?? 0) - (b.problem.column ?? 0) ||
        a.index - b.index,
    )
    .map(({ problem }) => problem);
}
