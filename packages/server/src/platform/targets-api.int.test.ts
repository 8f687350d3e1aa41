import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, expect, it } from 'vitest';
import { SecretBox } from '../secrets/secret-box.js';
import { createTestServer, type TestServer } from '../testing/test-server.js';

const PODMAN = 'unix:///run/paved-test/podman.sock';

function target(name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}, line = 1) {
  return {
    file: 'platform/targets.yaml',
    line,
    apiVersion: 'paved.dev/v1',
    kind: 'Target',
    metadata: { name },
    spec,
    ...extra,
  };
}

/** A docker target with one registry whose password the CLI read from REGISTRY_PASSWORD. */
function staging(password = 'registry-s3cret', line = 1) {
  return target(
    'staging-docker',
    {
      type: 'docker',
      docker: {
        host: 'tcp://10.0.0.5:2375',
        registries: { '127.0.0.1:5001': { username: 'paved-test', password } },
        nodeImage: 'registry.corp.example/node:20',
      },
    },
    { secretRefs: { 'registries.127.0.0.1:5001.password': { env: 'REGISTRY_PASSWORD' } } },
    line,
  );
}

function cluster(line = 1) {
  return target(
    'prod-cluster',
    {
      type: 'kubernetes',
      kubernetes: { kubeconfig: 'apiVersion: v1\nkind: Config # kube-s3cret', context: 'prod' },
    },
    { secretRefs: { kubeconfig: { file: './kubeconfig' } } },
    line,
  );
}

function envType(name: string, spec: Record<string, unknown>, line = 1) {
  return {
    file: 'platform/env-types.yaml',
    line,
    apiVersion: 'paved.dev/v1',
    kind: 'EnvironmentType',
    metadata: { name },
    spec,
  };
}

describeEachDatabase('targets through apply', (getStore, _engine, getClock) => {
  let server: TestServer;
  let token: string;
  const call = (method: string, path: string, body?: unknown) =>
    server.request(method, path, { token, body });

  beforeEach(async () => {
    server = createTestServer(getStore(), getClock(), { dockerHost: PODMAN });
    ({ token } = await server.principal('alice', { administrator: true }));
  });

  it('creates targets with an environment type naming one, changes nothing on the same documents, and updates a changed secret', async () => {
    const documents = [
      envType('staging', { position: 2, defaultTarget: 'staging-docker' }),
      staging(),
      cluster(),
    ];
    const first = await call('POST', '/api/v1/apply', { documents });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      created: 2,
      updated: 1,
      unchanged: 0,
      items: [
        { kind: 'Target', name: 'staging-docker', action: 'created' },
        { kind: 'Target', name: 'prod-cluster', action: 'created' },
        { kind: 'EnvironmentType', name: 'staging', action: 'updated' },
      ],
    });
    const again = await call('POST', '/api/v1/apply', { documents });
    expect(again.body).toMatchObject({ created: 0, updated: 0, unchanged: 3 });
    // Empty registries are the default spelt out: the same content.
    const spelt = await call('POST', '/api/v1/apply', {
      documents: [
        target('plain', { type: 'docker' }),
        target('plain-2', { type: 'docker', docker: { registries: {} } }),
      ],
    });
    expect(spelt.body).toMatchObject({ created: 2 });
    const plainAgain = await call('POST', '/api/v1/apply', {
      documents: [
        target('plain', { type: 'docker', docker: { registries: {} } }),
        target('plain-2', { type: 'docker' }),
      ],
    });
    expect(plainAgain.body).toMatchObject({ unchanged: 2 });

    // A changed secret is a change, though no answer shows it.
    const changed = await call('POST', '/api/v1/apply', { documents: [staging('rotated-s3cret')] });
    expect(changed.body).toMatchObject({ updated: 1 });

    const list = await call('GET', '/api/v1/targets');
    expect(list.status).toBe(200);
    const byName = new Map(
      (list.body.items as { name: string }[]).map((item) => [item.name, item as Record<string, unknown>]),
    );
    expect([...byName.keys()]).toEqual([
      'docker',
      'plain',
      'plain-2',
      'process',
      'prod-cluster',
      'staging-docker',
    ]);
    expect(byName.get('process')).toEqual({
      name: 'process',
      type: 'process',
      builtIn: true,
      available: false,
      reason: expect.stringContaining('the process target is not available in this server'),
    });
    expect(byName.get('docker')).toEqual({
      name: 'docker',
      type: 'docker',
      builtIn: true,
      available: false,
      reason: expect.stringMatching(/^the docker target is not available in this server: /),
      docker: { detectedHost: PODMAN, registries: {} },
    });
    expect(byName.get('staging-docker')).toEqual({
      name: 'staging-docker',
      type: 'docker',
      builtIn: false,
      version: 2,
      available: false,
      reason: expect.stringContaining('the docker target is not available in this server'),
      docker: {
        host: 'tcp://10.0.0.5:2375',
        registries: {
          '127.0.0.1:5001': {
            username: 'paved-test',
            password: '(secret)',
            passwordRef: { env: 'REGISTRY_PASSWORD' },
          },
        },
        nodeImage: 'registry.corp.example/node:20',
      },
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'alice',
    });
    expect(byName.get('prod-cluster')).toMatchObject({
      type: 'kubernetes',
      version: 1,
      available: false,
      reason: expect.stringContaining('no kubernetes runtime yet'),
      kubernetes: { kubeconfig: '(secret)', kubeconfigRef: { file: './kubeconfig' }, context: 'prod' },
    });
    expect((await call('GET', '/api/v1/env-types/staging')).body.defaultTarget).toBe('staging-docker');

    // Secrets are sealed at rest and never leave in the clear.
    const stored = await server.store.targets.get('staging-docker');
    expect(SecretBox.isSealed(stored?.secrets['registries.127.0.0.1:5001.password'] ?? '')).toBe(true);
    expect(server.context.secrets.open(stored?.secrets['registries.127.0.0.1:5001.password'] ?? '')).toBe(
      'rotated-s3cret',
    );
    expect(server.responses.join('\n')).not.toMatch(/s3cret/);
    expect(server.log.text).not.toMatch(/s3cret/);
  });

  it('replaces the built-in docker target by applying one of that name', async () => {
    await call('POST', '/api/v1/apply', {
      documents: [target('docker', { type: 'docker', docker: { host: 'tcp://127.0.0.1:2375' } })],
    });
    const items = (await call('GET', '/api/v1/targets')).body.items as Record<string, unknown>[];
    expect(items.filter((item) => item.name === 'docker')).toEqual([
      expect.objectContaining({
        builtIn: false,
        version: 1,
        docker: { host: 'tcp://127.0.0.1:2375', registries: {} },
      }),
    ]);
  });

  it('reports every problem of targets with the other documents at once, and stores nothing', async () => {
    const envTypesBefore = await server.store.envTypes.list();
    const response = await call('POST', '/api/v1/apply', {
      documents: [
        target('process', { type: 'process' }, {}, 1),
        target('bad-host', { type: 'docker', docker: { host: 'http://docker:2375', colour: 'red' } }, {}, 10),
        target('bad-type', { type: 'nomad' }, {}, 20),
        target('mixed', { type: 'kubernetes', docker: {} }, {}, 30),
        target(
          'no-password',
          { type: 'docker', docker: { registries: { 'ghcr.io': { username: 'me' } } } },
          {},
          40,
        ),
        target('stray-ref', { type: 'docker' }, { secretRefs: { kubeconfig: { env: 'X' } } }, 50),
        staging('registry-s3cret', 60),
        staging('registry-s3cret', 70),
        envType('qa', { position: 2, defaultTarget: 'nowhere' }, 80),
        envType('staging', { position: 2, defaultTarget: 'staging-docker' }, 90),
      ],
    });
    expect(response.status).toBe(400);
    const problems = response.body.error.details.problems as {
      file: string;
      line: number;
      path: string;
      message: string;
    }[];
    const at = (line: number, path: string) =>
      problems.find((problem) => problem.line === line && problem.path === path)?.message;
    expect(at(1, 'metadata.name')).toBe(
      'target "process" is built into every server and cannot be configured; give this target another name',
    );
    expect(at(10, 'spec.docker.host')).toBe(
      'spec.docker.host must be unix:///PATH or tcp://HOST:PORT; leave it out to auto-detect',
    );
    expect(at(10, 'spec.docker')).toMatch(/colour/);
    expect(at(20, 'spec.type')).toBe('spec.type must be process, docker or kubernetes');
    expect(at(30, 'spec')).toBe(
      'a kubernetes target\'s spec has no "docker": its fields are type, kubernetes',
    );
    expect(at(30, 'spec.kubernetes')).toMatch(/^spec.kubernetes is required for a kubernetes target/);
    expect(at(40, 'spec.docker.registries["ghcr.io"].password')).toBe(
      'a secret is required here: write a reference, { env: VARIABLE } or { file: PATH }',
    );
    expect(problems).toHaveLength(10);
    expect(at(50, 'secretRefs.kubeconfig')).toBe(
      'a reference for "kubeconfig", which is no secret of this target',
    );
    expect(at(70, 'metadata.name')).toMatch(/"staging-docker" is also defined in platform\/targets\.yaml:60/);
    expect(at(80, 'spec.defaultTarget')).toMatch(
      /^target "nowhere" does not exist; the targets are docker, process, staging-docker: /,
    );
    // staging-docker is defined in the same apply: a valid default target.
    expect(problems.some((problem) => problem.line === 90)).toBe(false);
    expect(problems.every((problem) => problem.file.startsWith('platform/'))).toBe(true);
    expect(response.text).not.toMatch(/s3cret/);
    expect(await server.store.targets.list()).toEqual([]);
    expect(await server.store.envTypes.list()).toEqual(envTypesBefore);
  });

  it('creates environments on existing targets only, listing them otherwise', async () => {
    await call('POST', '/api/v1/apps', { name: 'shop' });
    await call('POST', '/api/v1/apply', { documents: [cluster()] });
    const onCluster = await call('POST', '/api/v1/apps/shop/envs', {
      name: 'prod',
      type: 'production',
      target: 'prod-cluster',
    });
    expect(onCluster.status).toBe(201);
    expect(onCluster.body.target).toBe('prod-cluster');
    const unknown = await call('POST', '/api/v1/apps/shop/envs', {
      name: 'qa',
      type: 'staging',
      target: 'k8s',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.problems).toEqual([
      {
        path: 'target',
        message:
          'target "k8s" does not exist; the targets are docker, process, prod-cluster (paved targets list; a Target is added with paved apply)',
      },
    ]);
    expect((await server.store.environments.list('shop')).items.map((env) => env.name)).toEqual(['prod']);
  });

  it('lists targets only to callers who may read platform configuration', async () => {
    expect((await server.request('GET', '/api/v1/targets')).status).toBe(401);
    const { token: nobody } = await server.principal('bob');
    const forbidden = await server.request('GET', '/api/v1/targets', { token: nobody });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.details.permission).toBe('definitions.read');
  });
});
