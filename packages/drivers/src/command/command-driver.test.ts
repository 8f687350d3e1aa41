import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildResourceGraph,
  PavedError,
  provisionGraph,
  requestResources,
  resolveDefinitions,
  type ProvisionContext,
  type ProvisionRequest,
  type ResourceDefinition,
  type ScoreWorkload,
} from '@paved/core';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { builtinDrivers } from '../builtin-drivers.js';
import { conformanceContext, describeResourceDriver } from '../testing/describe-resource-driver.js';
import { createCommandDriver, resolveExecutable } from './command-driver.js';

const dir = await mkdtemp(join(tmpdir(), 'paved-command-test-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function script(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text, { mode: 0o755 });
  return path;
}

/**
 * A provisioner written for score-compose's `cmd://` contract and nothing else: it reads the input
 * object on stdin and prints resource_outputs, resource_state and shared_state on stdout. It keeps
 * its generated password in resource_state and counts provisionings in shared_state.
 */
const scoreProvisioner = await script(
  'score-provisioner.mjs',
  `#!/usr/bin/env node
import { randomBytes } from 'node:crypto';

let raw = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (raw += chunk));
process.stdin.on('end', () => {
  const input = JSON.parse(raw);
  const state = input.resource_state ?? {};
  const shared = input.shared_state ?? {};
  const password = state.password ?? randomBytes(12).toString('hex');
  const service = input.workload_services?.[input.source_workload];
  process.stderr.write('provisioning ' + input.resource_uid + ' for ' + input.source_workload + '\\n');
  const output = {
    resource_outputs: {
      host: 'db-' + input.compose_project_name,
      port: 5432,
      username: input.resource_id.replace(/[^a-z0-9]/g, '_'),
      password,
      type: input.resource_type,
      class: input.resource_class,
      size: input.resource_params?.size ?? 'small',
      team: input.resource_metadata?.annotations?.team ?? null,
      caller: service ? service.ServiceName + ':' + service.ports.http.port : null,
    },
    resource_state: { password },
    shared_state: { provisioned: (shared.provisioned ?? 0) + 1, [input.resource_uid]: true },
  };
  process.stdout.write(JSON.stringify(output));
});
`,
);

/** Sleeps in every mode, with a child of its own, so a kill must reach the whole process group. */
const sleeper = await script(
  'sleeper.sh',
  `#!/bin/sh
sleep 60 &
echo $! > "$PID_FILE"
echo "sleeping" >&2
sleep 60
`,
);
const garbage = await script(
  'garbage.sh',
  `#!/bin/sh\ncat >/dev/null\necho "oops: $PAVED_ACTION" >&2\necho "bananas with $API_TOKEN"\n`,
);

const baseInputs = { values: { command: scoreProvisioner, secretOutputs: ['password'] }, secrets: {} };

describeResourceDriver('command', () => createCommandDriver(), {
  inputs: baseInputs,
  params: { size: 'large' },
  resource: { metadata: { annotations: { team: 'payments' } } },
  malformed: { values: { command: 'relative/script.sh' }, secrets: {} },
  malformedResult: { inputs: { values: { command: garbage }, secrets: {} } },
  timeout: {
    inputs: {
      values: {
        command: sleeper,
        deprovisionArgs: [],
        timeoutSeconds: 0.5,
        env: { PID_FILE: join(dir, 'timeout.pid') },
      },
      secrets: {},
    },
    withinMs: 4_000,
  },
  cancel: {
    inputs: {
      values: { command: sleeper, deprovisionArgs: [], env: { PID_FILE: join(dir, 'cancel.pid') } },
      secrets: {},
    },
  },
  check: (outputs, secrets) => {
    expect(outputs).toEqual({
      host: 'db-shop-dev',
      port: 5432,
      username: 'orders_command',
      type: 'command',
      class: 'default',
      size: 'large',
      team: 'payments',
      caller: '127.0.0.1:41234',
    });
    expect(secrets.password).toMatch(/^[0-9a-f]{24}$/);
  },
});

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  // A killed child nobody has reaped yet is a zombie: dead, just not collected.
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

describe('command driver', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
  });

  const resource = {
    uid: 'postgres.default#orders.db',
    type: 'postgres',
    class: 'default',
    id: 'orders.db',
    params: { size: 'medium' },
    metadata: {},
  };
  const request = (
    values: Record<string, unknown>,
    options: {
      secrets?: Record<string, string>;
      previousState?: unknown;
      shared?: Map<string, unknown>;
      uid?: string;
    } = {},
  ): ProvisionRequest => ({
    resource:
      options.uid === undefined
        ? resource
        : { ...resource, uid: options.uid, id: options.uid.split('#')[1]! },
    context: conformanceContext(),
    inputs: { values, secrets: options.secrets ?? {} },
    log: (line) => lines.push(line),
    ...(options.previousState === undefined ? {} : { previousState: options.previousState }),
    ...(options.shared === undefined ? {} : { shared: options.shared }),
  });
  const live = () => new AbortController().signal;
  const failure = async (promise: Promise<unknown>): Promise<PavedError> => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PavedError);
    return error as PavedError;
  };

  it('runs a score-compose cmd:// provisioner unchanged: outputs, secret outputs, resource and shared state', async () => {
    const first = await createCommandDriver().provision(
      request({ command: scoreProvisioner, secretOutputs: ['password'] }),
      live(),
    );
    expect(first.outputs).toMatchObject({
      host: 'db-shop-dev',
      username: 'orders_db',
      size: 'medium',
      caller: '127.0.0.1:41234',
    });
    expect(first.outputs).not.toHaveProperty('password');
    const { password } = first.secrets;
    expect(first.state).toEqual({
      resourceState: { password },
      sharedState: { provisioned: 1, 'postgres.default#orders.db': true },
    });
    expect(lines).toContain('score-provisioner.mjs: provisioning postgres.default#orders.db for orders');
    const again = await createCommandDriver().provision(
      request({ command: scoreProvisioner, secretOutputs: ['password'] }, { previousState: first.state }),
      live(),
    );
    expect(again.secrets.password).toBe(password);
    expect(again.state).toMatchObject({ sharedState: { provisioned: 2 } });
  });

  it('writes exactly the cmd:// input on stdin and gives the command a clean environment', async () => {
    const capture = join(dir, 'stdin.json');
    const envCapture = join(dir, 'env.txt');
    const recorder = await script(
      'recorder.sh',
      `#!/bin/sh\ncat > "${capture}"\nenv > "${envCapture}"\necho '{}'\n`,
    );
    process.env.PAVED_TEST_SERVER_SECRET = 'server-only';
    try {
      await createCommandDriver().provision(
        request(
          { command: recorder, env: { REGION: 'eu-1' } },
          {
            secrets: { API_TOKEN: 'token-token-1' },
            previousState: { resourceState: { a: 1 }, sharedState: { b: 2 } },
          },
        ),
        live(),
      );
    } finally {
      delete process.env.PAVED_TEST_SERVER_SECRET;
    }
    const input = JSON.parse(await readFile(capture, 'utf8'));
    expect(input).toEqual({
      resource_uid: 'postgres.default#orders.db',
      resource_type: 'postgres',
      resource_class: 'default',
      resource_id: 'orders.db',
      resource_params: { size: 'medium' },
      resource_metadata: {},
      source_workload: 'orders',
      workload_services: {
        orders: {
          ServiceName: '127.0.0.1',
          service_name: '127.0.0.1',
          ports: {
            http: { name: 'http', port: 41234, target_port: 8080, protocol: 'TCP' },
            '8080': { name: 'http', port: 41234, target_port: 8080, protocol: 'TCP' },
          },
        },
      },
      resource_state: { a: 1 },
      shared_state: { b: 2 },
      compose_project_name: 'shop-dev',
      mount_directory_path: expect.stringContaining('paved-command-'),
    });
    const env = await readFile(envCapture, 'utf8');
    expect(env).toContain('PAVED_ACTION=provision\n');
    expect(env).toContain('PAVED_RESOURCE_UID=postgres.default#orders.db\n');
    expect(env).toContain('REGION=eu-1\n');
    expect(env).toContain('API_TOKEN=token-token-1\n');
    expect(env).toContain(`PATH=${process.env.PATH}\n`);
    expect(env).not.toContain('PAVED_TEST_SERVER_SECRET');
  });

  it('reports a non-zero exit with the command path, the exit code and the stderr tail, secrets masked', async () => {
    const failing = await script(
      'failing.sh',
      `#!/bin/sh\ncat >/dev/null\nfor i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "step $i" >&2; done\necho "cannot log in with $API_TOKEN" >&2\nexit 3\n`,
    );
    const error = await failure(
      createCommandDriver().provision(
        request({ command: failing }, { secrets: { API_TOKEN: 'token-token-2' } }),
        live(),
      ),
    );
    expect(error.code).toBe('DRIVER_FAILED');
    expect(error.message).toContain(
      `command "${failing}" for resource "postgres.default#orders.db" exited with code 3`,
    );
    expect(error.message).toContain('last stderr lines: step 4 | step 5');
    expect(error.message).toContain('step 12 | cannot log in with ***');
    expect(error.message).not.toContain('step 3 |');
    expect(error.message).not.toContain('token-token-2');
    expect(lines).toContain('failing.sh: cannot log in with ***');
  });

  it('masks the secret outputs of the last run in the lines it relays', async () => {
    const chatty = await script(
      'chatty.sh',
      `#!/bin/sh\ncat >/dev/null\necho "rotating from old-password-1" >&2\necho '{}'\n`,
    );
    await createCommandDriver().provision(
      { ...request({ command: chatty }), previousSecrets: { password: 'old-password-1' } },
      live(),
    );
    expect(lines).toContain('chatty.sh: rotating from ***');
  });

  it('reports stdout that is not the contract’s JSON without showing it', async () => {
    const error = await failure(
      createCommandDriver().provision(
        request({ command: garbage }, { secrets: { API_TOKEN: 'token-token-3' } }),
        live(),
      ),
    );
    expect(error.message).toContain(`command "${garbage}"`);
    expect(error.message).toMatch(
      /printed \d+ bytes on stdout that are not JSON \(SyntaxError\); last stderr lines: oops: provision: print exactly one JSON object/,
    );
    expect(error.message).not.toContain('bananas');
    const shape = await script(
      'shape.sh',
      `#!/bin/sh\ncat >/dev/null\necho '{"resource_outputs": [], "outputs": {}}'\n`,
    );
    const shapeError = await failure(createCommandDriver().provision(request({ command: shape }), live()));
    expect(shapeError.message).toContain(
      'printed JSON that breaks the cmd:// output contract: resource_outputs:',
    );
    expect(shapeError.message).toContain('Unrecognized key: "outputs"');
    const silent = await script('silent.sh', `#!/bin/sh\ncat >/dev/null\n`);
    await expect(createCommandDriver().provision(request({ command: silent }), live())).rejects.toThrow(
      /printed nothing on stdout/,
    );
  });

  it('kills the whole process group on timeout', async () => {
    const pidFile = join(dir, 'group.pid');
    const started = Date.now();
    const error = await failure(
      createCommandDriver().provision(
        request({ command: sleeper, timeoutSeconds: 0.5, env: { PID_FILE: pidFile } }),
        live(),
      ),
    );
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(error.message).toContain(
      `command "${sleeper}" for resource "postgres.default#orders.db" timed out after 0.5 s (input timeoutSeconds) and its process group was killed; last stderr lines: sleeping`,
    );
    const child = Number(await readFile(pidFile, 'utf8'));
    expect(child).toBeGreaterThan(0);
    expect(isGone(child)).toBe(true);
  });

  it('kills the whole process group when cancelled, rejecting with the reason', async () => {
    const pidFile = join(dir, 'cancelled.pid');
    const controller = new AbortController();
    const reason = new Error('deployment cancelled');
    setTimeout(() => controller.abort(reason), 300);
    await expect(
      createCommandDriver().provision(
        request({ command: sleeper, env: { PID_FILE: pidFile } }),
        controller.signal,
      ),
    ).rejects.toBe(reason);
    expect(isGone(Number(await readFile(pidFile, 'utf8')))).toBe(true);
  });

  it('shares shared_state between the resources of one run, one command at a time, nulls deleting keys', async () => {
    const log = join(dir, 'overlap.log');
    const sharer = await script(
      'sharer.mjs',
      `#!/usr/bin/env node
import { appendFileSync } from 'node:fs';
let raw = '';
process.stdin.on('data', (chunk) => (raw += chunk));
process.stdin.on('end', () => {
  const input = JSON.parse(raw);
  appendFileSync(${JSON.stringify(log)}, 'start ' + input.resource_uid + '\\n');
  setTimeout(() => {
    appendFileSync(${JSON.stringify(log)}, 'end ' + input.resource_uid + '\\n');
    const seen = Object.keys(input.shared_state).sort().join(',');
    process.stdout.write(JSON.stringify({
      resource_outputs: { seen },
      shared_state: { [input.resource_id]: true, network: { name: 'net', uses: (input.shared_state.network?.uses ?? 0) + 1 }, temporary: input.resource_id === 'a' ? 1 : null },
    }));
  }, 200);
});
`,
    );
    const shared = new Map<string, unknown>();
    const driver = createCommandDriver();
    const [a, b] = await Promise.all([
      driver.provision(request({ command: sharer }, { shared, uid: 'x.default#a' }), live()),
      driver.provision(request({ command: sharer }, { shared, uid: 'x.default#b' }), live()),
    ]);
    expect(a.outputs).toEqual({ seen: '' });
    expect(b.outputs).toEqual({ seen: 'a,network,temporary' });
    expect(b.state).toMatchObject({ sharedState: { a: true, b: true, network: { name: 'net', uses: 2 } } });
    expect(b.state).not.toHaveProperty('sharedState.temporary');
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual([
      'start x.default#a',
      'end x.default#a',
      'start x.default#b',
      'end x.default#b',
    ]);
    // Another run starts from nothing but what each resource recorded.
    const next = await driver.provision(
      request({ command: sharer }, { shared: new Map(), uid: 'x.default#a', previousState: a.state }),
      live(),
    );
    expect(next.outputs).toEqual({ seen: 'a,network,temporary' });
  });

  it('deprovisions by running the command with deprovisionArgs and PAVED_ACTION=deprovision, or not at all', async () => {
    const capture = join(dir, 'deprovision.txt');
    const tool = await script(
      'tool.sh',
      `#!/bin/sh\necho "$PAVED_ACTION $* $(cat)" > "${capture}"\n[ "$PAVED_ACTION" = provision ] && echo '{"resource_state": {"id": 7}}'\nexit 0\n`,
    );
    const driver = createCommandDriver();
    const values = { command: tool, args: ['create'], deprovisionArgs: ['delete', '--force'] };
    const result = await driver.provision(request(values), live());
    expect(await readFile(capture, 'utf8')).toMatch(/^provision create \{/);
    await driver.deprovision(
      {
        ...request(values),
        state: result.state,
        context: {
          app: 'shop',
          env: 'dev',
          envType: 'development',
          target: { name: 'process', kind: 'process' },
        },
      },
      live(),
    );
    const seen = await readFile(capture, 'utf8');
    expect(seen).toMatch(/^deprovision delete --force \{/);
    expect(JSON.parse(seen.slice(seen.indexOf('{')))).toMatchObject({
      resource_state: { id: 7 },
      workload_services: {},
    });

    await writeFile(capture, 'untouched');
    await driver.deprovision(
      { ...request({ command: tool }), state: result.state, context: conformanceContext() },
      live(),
    );
    expect(await readFile(capture, 'utf8')).toBe('untouched');
    expect(lines).toContain('tool.sh is not run to deprovision: the definition gives no deprovisionArgs');
  });

  it('refuses inputs it cannot use, naming what to do', async () => {
    const driver = createCommandDriver();
    await expect(driver.provision(request({ command: 'bin/tool' }), live())).rejects.toThrow(
      /relative path.*give an absolute path/,
    );
    await expect(
      driver.provision(request({ command: scoreProvisioner, TOKEN: 'x' }), live()),
    ).rejects.toThrow(/unknown inputs TOKEN: .*put environment variables under values.env, or under secrets/);
    await expect(
      driver.provision(request({ command: scoreProvisioner }, { secrets: { 'not-a-name': 'x' } }), live()),
    ).rejects.toThrow(/secret inputs not-a-name are passed as environment variables/);
    await expect(driver.provision(request({ command: join(dir, 'missing.sh') }), live())).rejects.toThrow(
      /missing.sh" for resource .* could not start \(ENOENT/,
    );
    const notExecutable = join(dir, 'plain.txt');
    await writeFile(notExecutable, 'x', { mode: 0o644 });
    await expect(driver.provision(request({ command: notExecutable }), live())).rejects.toThrow(
      /could not start \(EACCES/,
    );
    await expect(
      driver.provision(request({ command: scoreProvisioner, secretOutputs: ['token'] }), live()),
    ).rejects.toThrow(/did not return token, which secretOutputs lists; it returned host, port/);
  });

  it('resolves score-compose style cmd:// URIs', () => {
    expect(resolveExecutable('cmd:///opt/provisioners/db.sh')).toBe('/opt/provisioners/db.sh');
    expect(resolveExecutable('cmd://python3')).toBe('python3');
    expect(resolveExecutable('cmd://~/bin/db.sh')).toMatch(/\/bin\/db\.sh$/);
    expect(() => resolveExecutable('cmd://./db.sh')).toThrow(/relative path/);
  });

  it('notes the score-compose-only outputs it ignores', async () => {
    const compose = await script(
      'compose.sh',
      `#!/bin/sh\ncat >/dev/null\necho '{"resource_outputs": {"a": 1}, "compose_services": {"db": {"image": "postgres"}}, "relative_file_contents": {"x": "y"}}'\n`,
    );
    const result = await createCommandDriver().provision(request({ command: compose }), live());
    expect(result.outputs).toEqual({ a: 1 });
    expect(lines).toContain(
      'compose.sh returned relative_file_contents, compose_services, which only score-compose uses; Paved ignores them',
    );
  });
});

describe('command and template drivers in a deployment', () => {
  it('provision through provisionGraph: one shared_state per run, and a template over a command resource', async () => {
    const workload: ScoreWorkload = {
      apiVersion: 'score.dev/v1b1',
      metadata: { name: 'orders' },
      containers: { main: { image: 'orders:1' } },
      resources: {
        db: { type: 'postgres' },
        cache: { type: 'redis' },
        dsn: { type: 'dsn', params: { host: '${resources.db.host}', port: '${resources.db.port}' } },
      },
    };
    const definition = (
      type: string,
      driver: string,
      values: Record<string, unknown>,
    ): ResourceDefinition => ({
      name: `${type}-${driver}`,
      version: 1,
      type,
      driver,
      inputs: { values, secrets: {} },
      criteria: [],
    });
    const definitions = [
      definition('postgres', 'command', { command: scoreProvisioner, secretOutputs: ['password'] }),
      definition('redis', 'command', { command: scoreProvisioner, secretOutputs: ['password'] }),
      definition('dsn', 'template', {
        outputs: { url: 'postgres://${params.host}:${params.port}/${context.app}' },
      }),
    ];
    const context: Omit<ProvisionContext, 'workload' | 'dependencies'> = {
      ...conformanceContext(),
    };
    const requests = requestResources([workload]);
    const resolved = resolveDefinitions(definitions, requests.nodes, context).definitions;
    const graph = buildResourceGraph(requests, [workload], { definitions: resolved });
    const { resources } = await provisionGraph(graph, {
      drivers: builtinDrivers(),
      definitions: resolved,
      context,
    });
    const db = resources.get('postgres.default#orders.db')!;
    const cache = resources.get('redis.default#orders.cache')!;
    const counts = [db, cache].map(
      (resource) => (resource.state as { sharedState: { provisioned: number } }).sharedState.provisioned,
    );
    expect(counts.sort()).toEqual([1, 2]);
    expect(resources.get('dsn.default#orders.dsn')?.outputs).toEqual({
      url: 'postgres://db-shop-dev:5432/shop',
    });
  });
});
