/**
 * Keeps docs/drivers/write-your-own.md true: its definitions pass the drivers' input checks, and
 * its webhook receiver and command script work against the real drivers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProvisionRequest, ResourceRef } from '@paved/core';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { builtinDrivers } from '../builtin-drivers.js';
import { RUNTIME_EXTRAS_OUTPUT } from '../template/runtime-extras.js';
import { conformanceContext } from './describe-resource-driver.js';

const guide = await readFile(new URL('../../../../docs/drivers/write-your-own.md', import.meta.url), 'utf8');
const blocks = [...guide.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map(([, language, text]) => ({
  language: language ?? '',
  text: text ?? '',
}));

/** The code block whose first lines name `file`. */
function block(file: string): string {
  const found = blocks.find(({ text }) =>
    text
      .split('\n')
      .slice(0, 2)
      .some((line) => line.includes(file)),
  );
  if (found === undefined) throw new Error(`docs/drivers/write-your-own.md has no block for ${file}`);
  return found.text;
}

interface Definition {
  metadata: { name: string };
  spec: {
    type: string;
    driver: string;
    inputs: { values?: Record<string, unknown>; secrets?: Record<string, unknown> };
  };
}

/** The definition of a YAML block, secret references replaced by `secrets`. */
function definition(
  file: string,
  secrets: Record<string, string> = {},
): Definition & { inputs: ProvisionRequest['inputs'] } {
  const [document] = parseAllDocuments(block(file));
  const parsed = document?.toJS() as Definition;
  const refs = parsed.spec.inputs.secrets ?? {};
  return {
    ...parsed,
    inputs: {
      values: parsed.spec.inputs.values ?? {},
      secrets: Object.fromEntries(
        Object.keys(refs).map((key) => [key, secrets[key] ?? 'a-secret-long-enough-for-any-check']),
      ),
    },
  };
}

const dir = await mkdtemp(join(tmpdir(), 'paved-guide-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) child.kill();
  await rm(dir, { recursive: true, force: true });
});

const drivers = builtinDrivers();
const live = () => new AbortController().signal;
const resource = (type: string, params: Record<string, unknown> = {}): ResourceRef => ({
  uid: `${type}.default#orders.files`,
  type,
  class: 'default',
  id: 'orders.files',
  params,
  metadata: {},
});

describe('docs/drivers/write-your-own.md', () => {
  it('gives definitions every driver accepts', () => {
    const files = blocks
      .filter(({ language, text }) => language === 'yaml' && text.includes('kind: ResourceDefinition'))
      .map(({ text }) => /^# (\S+\.yaml)/.exec(text)?.[1]);
    expect(files).toEqual(['shared-postgres.yaml', 'buckets.yaml', 'scratch-dirs.yaml']);
    for (const file of files) {
      const { spec, inputs } = definition(file!);
      const driver = drivers.get(spec.driver);
      expect(driver, `${file}: driver ${spec.driver}`).toBeDefined();
      const parsed = driver!.inputs.safeParse({ ...inputs.values, ...inputs.secrets });
      expect(parsed.success, `${file}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    }
  });

  it('template: the shared-postgres definition computes its outputs, secrets and extras', async () => {
    const { inputs } = definition('shared-postgres.yaml', { password: 'pg-password' });
    const result = await drivers.get('template')!.provision(
      {
        resource: resource('postgres'),
        context: conformanceContext({ env: 'staging', envType: 'staging' }),
        inputs,
      },
      live(),
    );
    expect(result.outputs).toEqual({
      host: 'pg-staging.db.internal',
      port: 5432,
      name: 'shop_staging',
      database: 'shop_staging',
      [RUNTIME_EXTRAS_OUTPUT]: {
        files: {
          '/etc/app/database.json': { content: '{"host": "pg-staging.db.internal", "workload": "orders"}' },
        },
      },
    });
    expect(result.secrets).toEqual({
      username: 'shop',
      password: 'pg-password',
      uri: 'postgres://shop:pg-password@pg-staging.db.internal:5432/shop_staging',
    });
  });

  it('webhook: the bucket receiver provisions and deprovisions through the webhook driver', async () => {
    const signingSecret = 'guide-signing-secret-0123456789';
    const receiver = join(dir, 'bucket-receiver.mjs');
    await writeFile(receiver, block('bucket-receiver.mjs'));
    const child = spawn(process.execPath, [receiver], {
      env: { ...process.env, PORT: '0', PAVED_SIGNING_SECRET: signingSecret },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        const match = /listening on (\d+)/.exec(text);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`the receiver exited with ${code}`)));
    });
    const { inputs } = definition('buckets.yaml', { signingSecret });
    const values = { ...inputs.values, url: String(inputs.values.url).replace(':8090', `:${port}`) };
    const request: ProvisionRequest = {
      resource: resource('bucket', { region: 'eu-2' }),
      context: conformanceContext(),
      inputs: { values, secrets: inputs.secrets },
    };
    const webhook = drivers.get('webhook')!;
    const first = await webhook.provision(request, live());
    expect(first.outputs).toEqual({ bucket: 'shop-dev-orders-files', region: 'eu-2', plan: 'standard' });
    expect(first.secrets.accessKey).toMatch(/^[0-9a-f]{32}$/);
    expect(await webhook.provision({ ...request, previousState: first.state }, live())).toEqual(first);
    await expect(
      webhook.provision({ ...request, resource: resource('bucket', { region: 'mars' }) }, live()),
    ).rejects.toThrow('answered 400: region "mars" is not like eu-1');
    const deprovision = { ...request, state: first.state };
    await webhook.deprovision(deprovision, live());
    await webhook.deprovision(deprovision, live());
    await expect(
      webhook.provision(
        { ...request, inputs: { values, secrets: { signingSecret: 'not-the-receivers-secret' } } },
        live(),
      ),
    ).rejects.toThrow('answered 401: bad signature');
  });

  it('command: the directory provisioner creates and removes a directory through the command driver', async () => {
    const script = join(dir, 'dir-provisioner.mjs');
    await writeFile(script, block('dir-provisioner.mjs'), { mode: 0o755 });
    const base = join(dir, 'dirs');
    const { inputs } = definition('scratch-dirs.yaml');
    const values = { ...inputs.values, command: script, env: { BASE_DIR: base } };
    const lines: string[] = [];
    const command = drivers.get('command')!;
    const request: ProvisionRequest = {
      resource: resource('scratch-dir'),
      context: conformanceContext(),
      inputs: { values, secrets: {} },
      log: (line) => lines.push(line),
    };
    const result = await command.provision(request, live());
    const path = join(base, 'scratch-dir-default-orders-files');
    expect(result.outputs).toEqual({ path });
    expect(existsSync(path)).toBe(true);
    expect(lines).toContain(`dir-provisioner.mjs: directory ${path} is ready`);
    await command.deprovision({ ...request, state: result.state }, live());
    expect(existsSync(path)).toBe(false);
    expect(lines).toContain(`dir-provisioner.mjs: removed ${path}`);
  });
});
