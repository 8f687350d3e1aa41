// The built `paved` CLI against a real server it started itself: apps, environments, values,
// whoami and score validate, with their outputs and exit codes, as a user would run them.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, assertBuilt, isolatedEnv, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';

const execFileAsync = promisify(execFile);

let root: string;
let dataDir: string;
let server: PavedServerProcess;
/** The environment every command runs with: the server's URL and data directory, nothing else. */
let env: NodeJS.ProcessEnv;

function paved(...args: string[]): Promise<PavedRun> {
  return runPaved(args, { env });
}

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-cli-'));
  dataDir = join(root, 'data');
  await mkdir(join(root, 'home'));
  const base = isolatedEnv(join(root, 'home'));
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', dataDir], {
    env: base,
  });
  env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: dataDir };
});

afterAll(async () => {
  await server?.stop();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('paved server', () => {
  it('says where it listens and where the credential file is, which names that URL', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect
      .poll(() => server.output())
      .toContain(`The administrator's credential is in ${join(dataDir, 'credentials.json')}`);
    const credentials = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8'));
    expect(credentials.url).toBe(server.url);
    expect((await stat(join(dataDir, 'credentials.json'))).mode & 0o777).toBe(0o600);
  });
});

describe('paved whoami and credentials', () => {
  it('uses the data directory’s credential for the server it names', async () => {
    const run = await paved('whoami');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Name:\s+admin$/m);
    expect(run.stdout).toContain(`Credential:  ${join(dataDir, 'credentials.json')}`);

    const json = JSON.parse((await paved('whoami', '-o', 'json')).stdout);
    expect(json).toMatchObject({ name: 'admin', kind: 'user' });
    expect(json.roles).toContainEqual({ role: 'administrator', scope: { kind: 'org' } });
  });

  it('exits 4 with a hint without any credential', async () => {
    const run = await runPaved(['whoami'], { env: { ...env, PAVED_DATA_DIR: join(root, 'empty') } });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`hint: no credential for ${server.url}`);
  });

  it('never sends a credential file to a server whose URL differs from the one in the file', async () => {
    // The same valid token, but in a file issued for another URL: if the CLI sent it, the real
    // server would accept it and whoami would succeed.
    const otherDir = join(root, 'other-data');
    await mkdir(otherDir);
    const { token } = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8'));
    await writeFile(join(otherDir, 'credentials.json'), JSON.stringify({ url: 'http://127.0.0.1:1', token }));

    const run = await runPaved(['whoami'], { env: { ...env, PAVED_DATA_DIR: otherDir } });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain(`is for http://127.0.0.1:1, not ${server.url}`);

    // …and PAVED_TOKEN, which the user set on purpose, is sent wherever they point it.
    const withToken = await runPaved(['whoami'], {
      env: { ...env, PAVED_DATA_DIR: otherDir, PAVED_TOKEN: token },
    });
    expect(withToken.code).toBe(0);
  });

  it('exits 4 for a token the server does not know', async () => {
    const run = await runPaved(['whoami'], { env: { ...env, PAVED_TOKEN: 'paved_not-a-real-token' } });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('hint: the token from PAVED_TOKEN was not accepted');
  });

  it('exits 6 with what to do when no server listens at the URL', async () => {
    const run = await runPaved(['apps', 'list'], { env: { ...env, PAVED_URL: 'http://127.0.0.1:1' } });
    expect(run.code).toBe(6);
    expect(run.stderr).toContain('cannot reach the Paved server at http://127.0.0.1:1');
  });
});

describe('paved apps', () => {
  it('creates, refuses a duplicate (5) and an invalid name (2), and shows apps', async () => {
    expect(await paved('apps', 'create', 'shop', '--team', 'payments')).toMatchObject({
      code: 0,
      stdout: 'Created app "shop" (team payments).\n',
    });
    expect((await paved('apps', 'create', 'shop')).code).toBe(5);

    const invalid = await paved('apps', 'create', 'Not_A_Label');
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^ {2}name: /m);

    const table = await paved('apps', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+TEAM\s+CREATED\s+CREATED BY$/m);
    expect(table.stdout).toMatch(/^shop\s+payments\s+\S+\s+admin$/m);

    const json = JSON.parse((await paved('apps', 'list', '-o', 'json')).stdout);
    expect(json).toEqual([expect.objectContaining({ name: 'shop', team: 'payments', createdBy: 'admin' })]);
    const yaml = parseYaml((await paved('apps', 'list', '-o', 'yaml')).stdout);
    expect(yaml).toEqual(json);

    expect((await paved('apps', 'get', 'shop')).stdout).toMatch(/^Team:\s+payments$/m);
    expect(JSON.parse((await paved('apps', 'get', 'shop', '-o', 'json')).stdout)).toEqual(json[0]);
  });

  it('exits 3 for an app that does not exist', async () => {
    expect((await paved('apps', 'get', 'nope')).code).toBe(3);
    expect((await paved('apps', 'delete', 'nope')).code).toBe(3);
  });

  it('exits 2 for a command line it cannot parse', async () => {
    expect((await paved('apps', 'list', '-o', 'xml')).code).toBe(2);
    expect((await paved('apps', 'frobnicate')).code).toBe(2);
    expect((await paved('envs', 'create', 'shop', 'dev')).code).toBe(2); // --type is required
  });
});

describe('paved envs', () => {
  it('creates environments, lists and shows them', async () => {
    expect(await paved('envs', 'create', 'shop', 'staging', '--type', 'staging')).toMatchObject({
      code: 0,
      stdout: 'Created environment "staging" of app "shop" (type staging, target process).\n',
    });
    const preview = await paved('envs', 'create', 'shop', 'pr-1', '--type', 'preview', '--ttl', '24h');
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain('expires ');
    expect((await paved('envs', 'create', 'shop', 'staging', '--type', 'staging')).code).toBe(5);

    const list = JSON.parse((await paved('envs', 'list', 'shop', '-o', 'json')).stdout);
    expect(list.map((item: { name: string }) => item.name).sort()).toEqual(['pr-1', 'staging']);
    expect((await paved('envs', 'list', 'shop')).stdout).toMatch(/^staging\s+staging\s+process\s+-\s/m);
    expect(parseYaml((await paved('envs', 'get', 'shop', 'pr-1', '-o', 'yaml')).stdout)).toMatchObject({
      app: 'shop',
      name: 'pr-1',
      type: 'preview',
    });
  });

  it('rejects what is invalid (2) or missing (3)', async () => {
    expect(
      (await paved('envs', 'create', 'shop', 'dev', '--type', 'development', '--ttl', 'soon')).code,
    ).toBe(2);
    expect((await paved('envs', 'create', 'shop', 'dev', '--type', 'no-such-type')).code).not.toBe(0);
    expect((await paved('envs', 'create', 'nope', 'dev', '--type', 'development')).code).toBe(3);
    expect((await paved('envs', 'get', 'shop', 'nope')).code).toBe(3);
  });

  it('deletes an environment; an app with environments cannot be deleted (5)', async () => {
    expect((await paved('apps', 'delete', 'shop')).code).toBe(5);
    expect(await paved('envs', 'delete', 'shop', 'pr-1', '--delete-data', '--wait')).toMatchObject({
      code: 0,
      stdout: 'Deleted environment "pr-1" of app "shop" and its data.\n',
    });
    expect((await paved('envs', 'get', 'shop', 'pr-1')).code).toBe(3);
  });
});

describe('paved values', () => {
  const SECRET = 'e2e-very-secret-value';

  it('sets values on the app and on an environment, secrets included', async () => {
    expect(await paved('values', 'set', 'shop', 'LOG_LEVEL=info', 'GREETING=a=b')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^Set LOG_LEVEL, GREETING on app "shop" \(version \d+\)\.\n$/),
    });
    expect((await paved('values', 'set', 'shop', 'staging', 'LOG_LEVEL=debug')).code).toBe(0);
    const secret = await paved('values', 'set', 'shop', 'staging', `API_KEY=${SECRET}`, '--secret');
    expect(secret.code).toBe(0);
    expect(secret.stdout + secret.stderr).not.toContain(SECRET);
  });

  it.each(['table', 'json', 'yaml'])('list -o %s never prints a secret', async (format) => {
    const run = await paved('values', 'list', 'shop', 'staging', '-o', format);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('API_KEY');
    expect(run.stdout).not.toContain(SECRET);
  });

  it('lists values with secrets masked, per scope', async () => {
    const staging = (await paved('values', 'list', 'shop', 'staging')).stdout;
    expect(staging).toMatch(/^API_KEY\s+\(secret\)\s/m);
    expect(staging).toMatch(/^LOG_LEVEL\s+debug\s/m);
    const app = JSON.parse((await paved('values', 'list', 'shop', '-o', 'json')).stdout);
    expect(app).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'LOG_LEVEL', value: 'info', secret: false }),
        expect.objectContaining({ key: 'GREETING', value: 'a=b' }),
      ]),
    );
  });

  it('shows the history without secrets', async () => {
    const run = await paved('values', 'history', 'shop', 'staging');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\bset\s+API_KEY\s+\(secret\)/);
    expect(run.stdout).not.toContain(SECRET);
    const json = JSON.parse((await paved('values', 'history', 'shop', 'staging', '-o', 'json')).stdout);
    expect(json.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(json)).not.toContain(SECRET);
  });

  it('unsets by the documented rule: two upper-case keys are both keys of the app', async () => {
    expect((await paved('values', 'unset', 'shop', 'LOG_LEVEL', 'GREETING')).stdout).toMatch(
      /^Unset LOG_LEVEL, GREETING on app "shop"/,
    );
    expect(JSON.parse((await paved('values', 'list', 'shop', '-o', 'json')).stdout)).toEqual([]);
    expect((await paved('values', 'unset', 'shop', 'staging', 'LOG_LEVEL')).stdout).toMatch(
      /^Unset LOG_LEVEL on environment "staging" of app "shop"/,
    );
    const staging = JSON.parse((await paved('values', 'list', 'shop', 'staging', '-o', 'json')).stdout);
    expect(staging.map((value: { key: string }) => value.key)).toEqual(['API_KEY']);
  });

  it('exits 2 naming a bad key, 3 for a missing app or environment', async () => {
    const bad = await paved('values', 'set', 'shop', '1BAD=x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"1BAD" is not a valid key');
    expect((await paved('values', 'set', 'nope', 'A=1')).code).toBe(3);
    expect((await paved('values', 'list', 'shop', 'nope')).code).toBe(3);
  });
});

describe('paved score validate (no server needed)', () => {
  it('exits 0 for a valid file and 2 listing every problem with its position', async () => {
    const dir = join(root, 'score');
    await mkdir(dir);
    await writeFile(
      join(dir, 'good.yaml'),
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n',
    );
    await writeFile(
      join(dir, 'bad.yaml'),
      'apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    imag: nginx\n',
    );
    const offline = { ...env, PAVED_URL: 'http://127.0.0.1:1' };

    const good = await runPaved(['score', 'validate', 'good.yaml'], { env: offline, cwd: dir });
    expect(good).toMatchObject({ code: 0, stdout: '1 file: valid\n' });

    const bad = await runPaved(['score', 'validate', 'good.yaml', 'bad.yaml'], { env: offline, cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/^bad\.yaml:6:5: containers\.main\.imag: unknown field "imag"/m);
    expect(bad.stdout).toMatch(/^bad\.yaml:\d+:\d+: containers\.main\.image: /m);
    expect(bad.stdout).toMatch(/^2 files: \d+ errors?$/m);

    const json = await runPaved(['score', 'validate', 'bad.yaml', '-o', 'json'], { env: offline, cwd: dir });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toContainEqual(
      expect.objectContaining({ file: 'bad.yaml', line: 6, column: 5, path: 'containers.main.imag' }),
    );
  });

  it('validates the example app', async () => {
    const run = await paved(
      'score',
      'validate',
      join(ROOT, 'examples/shop/catalog/score.yaml'),
      join(ROOT, 'examples/shop/orders/score.yaml'),
      join(ROOT, 'examples/shop/frontend/score.yaml'),
    );
    expect(run).toMatchObject({ code: 0, stdout: expect.stringContaining('3 files: valid') });
  });
});

describe('the installed command', () => {
  it('runs through node_modules/.bin/paved, as npx does', async () => {
    const { stdout } = await execFileAsync(join(ROOT, 'node_modules/.bin/paved'), ['--version'], { env });
    expect(stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = await runPaved(['--help'], { env });
    expect(help.stdout).toContain('Exit codes:');
  });

  it('stops the server cleanly on SIGTERM', async () => {
    const other = await startPavedServer(
      ['--port', '0', '--gateway-port', '0', '--data-dir', join(root, 'second')],
      { env },
    );
    // Right after the listening line, to catch a server that is not yet ready for the signal.
    expect(await other.stop()).toBe(0);
    expect(other.output()).toContain('Stopping Paved');
  });
});
