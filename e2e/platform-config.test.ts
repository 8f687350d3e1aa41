// examples/platform/ through the built CLI against a real server: applied, applied again to no
// change, exported, and the export applied to no change — the round trip git relies on.
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, assertBuilt, isolatedEnv, runPaved, startPavedServer } from './helpers/paved-cli.js';
import type { PavedRun, PavedServerProcess } from './helpers/paved-cli.js';

const EXAMPLES = join(ROOT, 'examples', 'platform');

/** The secret references of examples/platform/, given values only this test knows. */
const SECRETS: Record<string, string> = Object.fromEntries(
  ['DEV', 'STAGING', 'PRODUCTION'].flatMap((stage) => [
    [`PG_${stage}_PASSWORD`, `pw-${stage.toLowerCase()}-e2e-s3cret`],
    [`REDIS_${stage}_PASSWORD`, `pw-redis-${stage.toLowerCase()}-e2e-s3cret`],
  ]),
);

interface ApplyJson {
  created: number;
  updated: number;
  unchanged: number;
  items: { kind: string; name: string; action: string }[];
}

let root: string;
let server: PavedServerProcess;
let env: NodeJS.ProcessEnv;

function paved(...args: string[]): Promise<PavedRun> {
  return runPaved(args, { env, cwd: root });
}

async function applyJson(path: string): Promise<ApplyJson> {
  const run = await paved('apply', '-f', path, '-o', 'json');
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as ApplyJson;
}

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-platform-'));
  const dataDir = join(root, 'data');
  await mkdir(join(root, 'home'));
  const base = isolatedEnv(join(root, 'home'), SECRETS);
  server = await startPavedServer(['--port', '0', '--gateway-port', '0', '--data-dir', dataDir], {
    env: base,
  });
  env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: dataDir };
});

afterAll(async () => {
  await server?.stop();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('examples/platform/', () => {
  it('applies, re-applies to no change, and exports files that re-apply to no change', async () => {
    const first = await applyJson(EXAMPLES);
    // Targets come first: the environment types name them.
    expect(first.items.filter((item) => item.kind === 'Target')).toEqual([
      { kind: 'Target', name: 'docker', action: 'created' },
    ]);
    // The server seeds the four environment types; the examples give three a default target.
    expect(first.items.filter((item) => item.kind === 'EnvironmentType')).toEqual([
      { kind: 'EnvironmentType', name: 'development', action: 'updated' },
      { kind: 'EnvironmentType', name: 'preview', action: 'updated' },
      { kind: 'EnvironmentType', name: 'staging', action: 'updated' },
      { kind: 'EnvironmentType', name: 'production', action: 'unchanged' },
    ]);
    const definitions = first.items.filter((item) => item.kind === 'ResourceDefinition');
    expect(definitions.length).toBeGreaterThan(0);
    expect(definitions.every((item) => item.action === 'created')).toBe(true);
    // Access documents come last, in the same transaction.
    expect(first.items.slice(-2)).toEqual([
      { kind: 'Team', name: 'platform', action: 'created' },
      { kind: 'RoleBinding', name: 'platform-deploys-production', action: 'created' },
    ]);
    expect(first).toMatchObject({ created: definitions.length + 3, updated: 3, unchanged: 1 });

    const again = await applyJson(EXAMPLES);
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: first.items.length });
    expect(again.items.every((item) => item.action === 'unchanged')).toBe(true);
    expect(again.items.map((item) => `${item.kind}/${item.name}`)).toEqual(
      first.items.map((item) => `${item.kind}/${item.name}`),
    );

    const exported = await paved('export', '-o', 'exported');
    expect(exported.code).toBe(0);
    // Every secret was applied from a reference, so nothing had to be guessed.
    expect(exported.stderr).toBe('');
    const files = (await readdir(join(root, 'exported'), { recursive: true })).filter((file) =>
      file.endsWith('.yaml'),
    );
    const text = (
      await Promise.all(files.map((file) => readFile(join(root, 'exported', file), 'utf8')))
    ).join('\n');
    for (const value of Object.values(SECRETS).filter((value) => value.startsWith('pw-'))) {
      expect(text).not.toContain(value);
    }
    expect(text).toContain('env: PG_PRODUCTION_PASSWORD');

    expect(await readFile(join(root, 'exported', 'environment-types', 'preview.yaml'), 'utf8')).toContain(
      'defaultTtl: 72h',
    );
    // The applied docker target names no host (auto-detected), and the built-in process is no file.
    expect(await readFile(join(root, 'exported', 'targets', 'docker.yaml'), 'utf8')).toBe(
      'apiVersion: paved.dev/v1\nkind: Target\nmetadata:\n  name: docker\nspec:\n  type: docker\n',
    );
    expect(await readdir(join(root, 'exported', 'targets'))).toEqual(['docker.yaml']);

    // The export holds the server's users too (the first administrator, no password).
    expect(await readFile(join(root, 'exported', 'access', 'team-platform.yaml'), 'utf8')).toBe(
      'apiVersion: paved.dev/v1\nkind: Team\nmetadata:\n  name: platform\nspec:\n  description: The platform team\n  members: []\n',
    );
    const accessFiles = files.filter((file) => file.startsWith('access'));
    expect(accessFiles.some((file) => file.includes('user-'))).toBe(true);
    for (const file of accessFiles) {
      expect(await readFile(join(root, 'exported', file), 'utf8')).not.toMatch(/password|token/i);
    }

    const reapplied = await applyJson('exported');
    expect(reapplied).toMatchObject({ created: 0, updated: 0 });
    expect(reapplied.unchanged).toBeGreaterThan(first.items.length);
    expect(reapplied.items.every((item) => item.action === 'unchanged')).toBe(true);
  });

  it('lists the targets, the applied docker one beside the built-in process', async () => {
    const run = await paved('targets', 'list', '-o', 'json');
    expect(run.code).toBe(0);
    const targets = JSON.parse(run.stdout) as { name: string; type: string; builtIn: boolean }[];
    expect(targets.map(({ name, type, builtIn }) => ({ name, type, builtIn }))).toEqual([
      { name: 'docker', type: 'docker', builtIn: false },
      { name: 'process', type: 'process', builtIn: true },
    ]);
    const staging = await paved('envs', 'create', 'shop', 'staging', '--type', 'staging');
    expect(staging.code).toBe(3); // no such app yet: the target is not what fails
    expect((await paved('apps', 'create', 'shop')).code).toBe(0);
    expect(await paved('envs', 'create', 'shop', 'staging', '--type', 'staging')).toMatchObject({
      code: 0,
      stdout: 'Created environment "staging" of app "shop" (type staging, target docker).\n',
    });
    const nowhere = await paved('envs', 'create', 'shop', 'qa', '--type', 'staging', '--target', 'nowhere');
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain('target "nowhere" does not exist; the targets are docker, process');
  });

  it('lists the applied definitions with secrets by key name only', async () => {
    const run = await paved('resources', 'definitions', 'list', '-o', 'json');
    expect(run.code).toBe(0);
    for (const name of ['development-dns', 'production-dns', 'development-postgres', 'production-postgres']) {
      expect(run.stdout).toContain(`"${name}"`);
    }
    expect(run.stdout).not.toMatch(/e2e-s3cret/);
  });
});
