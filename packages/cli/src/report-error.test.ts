import { ERROR_CODES, PavedError } from '@paved/core';
import type { ErrorCode } from '@paved/core';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliContext } from './cli-context.js';
import { reportError } from './report-error.js';

function context(env: Record<string, string> = {}): { context: CliContext; stderr: () => string } {
  let stderr = '';
  const cli = new CliContext({
    stdout: { write: () => undefined },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: '/',
  });
  return { context: cli, stderr: () => stderr };
}

describe('reportError', () => {
  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('exits with the table’s code for %s', (code) => {
    const { context: cli, stderr } = context();
    expect(reportError(new PavedError(code, 'what went wrong'), cli)).toBe(ERROR_CODES[code].exit);
    expect(stderr()).toBe('error: what went wrong\n');
  });

  it('prints every problem of the details under the message', () => {
    const { context: cli, stderr } = context();
    const error = PavedError.invalid('2 problems', [
      { file: 'score.yaml', line: 3, column: 5, path: 'containers.web.image', message: 'is required' },
      { path: 'name', message: 'not a DNS label' },
    ]);
    expect(reportError(error, cli)).toBe(2);
    expect(stderr()).toBe(
      'error: 2 problems\n  score.yaml:3:5: containers.web.image: is required\n  name: not a DNS label\n',
    );
  });

  it('exits 70 with a hint for anything that is not a PavedError', () => {
    const { context: cli, stderr } = context();
    expect(reportError(new TypeError('x is undefined'), cli)).toBe(70);
    expect(stderr()).toContain('error: x is undefined\nhint: this is a bug in Paved');
  });

  it('prints the stack with PAVED_DEBUG', () => {
    const { context: cli, stderr } = context({ PAVED_DEBUG: '1' });
    reportError(new Error('boom'), cli);
    expect(stderr()).toContain('at ');
  });

  it('maps the parser’s errors to 2, and help and version to 0', () => {
    const { context: cli } = context();
    expect(reportError(new CommanderError(1, 'commander.unknownOption', 'x'), cli)).toBe(2);
    expect(reportError(new CommanderError(1, 'commander.help', 'x'), cli)).toBe(2);
    expect(reportError(new CommanderError(0, 'commander.helpDisplayed', 'x'), cli)).toBe(0);
    expect(reportError(new CommanderError(0, 'commander.version', 'x'), cli)).toBe(0);
  });

  it('explains a 401 by how the credential was looked for', () => {
    const { context: cli, stderr } = context();
    cli.credential = {
      serverUrl: 'http://127.0.0.1:7070',
      notes: ['/d/credentials.json is for http://127.0.0.1:9999, not http://127.0.0.1:7070; …'],
    };
    expect(reportError(new PavedError('UNAUTHENTICATED', 'a token is required'), cli)).toBe(4);
    expect(stderr()).toContain('hint: no credential for http://127.0.0.1:7070: set PAVED_TOKEN');
    expect(stderr()).toContain('hint: /d/credentials.json is for http://127.0.0.1:9999');

    const rejected = context();
    rejected.context.credential = {
      serverUrl: 'http://127.0.0.1:7070',
      credential: { token: 't', source: 'PAVED_TOKEN' },
      notes: [],
    };
    reportError(new PavedError('UNAUTHENTICATED', 'invalid token'), rejected.context);
    expect(rejected.stderr()).toContain('hint: the token from PAVED_TOKEN was not accepted');
  });
});
