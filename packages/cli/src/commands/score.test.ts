import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import { summarise, validateScoreFiles } from './score.js';

const VALID = 'apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n';
const INVALID = 'apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    imag: nginx\n';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paved-score-'));
  await writeFile(join(dir, 'good.yaml'), VALID);
  await writeFile(join(dir, 'bad.yaml'), INVALID);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('summarise', () => {
  it('counts errors and warnings', () => {
    expect(summarise([], 1)).toBe('1 file: valid');
    expect(summarise([{ path: '', message: 'x', severity: 'warning' }], 2)).toBe(
      '2 files: 1 warning (valid)',
    );
    expect(
      summarise(
        [
          { path: '', message: 'x' },
          { path: '', message: 'y', severity: 'error' },
          { path: '', message: 'z', severity: 'warning' },
        ],
        1,
      ),
    ).toBe('1 file: 2 errors and 1 warning');
  });
});

describe('validateScoreFiles', () => {
  it('reports an unreadable file as a problem of that file and goes on', async () => {
    const problems = await validateScoreFiles(['missing.yaml', 'bad.yaml'], dir);
    expect(problems[0]).toEqual({
      file: 'missing.yaml',
      path: '',
      message: 'cannot read the file (ENOENT)',
      severity: 'error',
    });
    expect(problems.slice(1).every((problem) => problem.file === 'bad.yaml')).toBe(true);
  });
});

describe('paved score validate', () => {
  it('exits 0 for valid files, without a server', async () => {
    expect(await runCli(['score', 'validate', 'good.yaml'], { cwd: dir })).toEqual({
      code: 0,
      stdout: '1 file: valid\n',
      stderr: '',
    });
  });

  it('prints every problem as file:line:column: path: message and exits 2', async () => {
    const run = await runCli(['score', 'validate', 'good.yaml', 'bad.yaml'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^bad\.yaml:6:5: containers\.main\.imag: unknown field "imag"/m);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^2 files: \d+ errors?$/);
  });

  it('prints the problems array with -o json', async () => {
    const run = await runCli(['score', 'validate', 'bad.yaml', '-o', 'json'], { cwd: dir });
    expect(run.code).toBe(2);
    const problems = JSON.parse(run.stdout);
    expect(problems).toContainEqual(
      expect.objectContaining({
        file: 'bad.yaml',
        line: 6,
        column: 5,
        path: 'containers.main.imag',
        severity: 'error',
      }),
    );
  });
});
