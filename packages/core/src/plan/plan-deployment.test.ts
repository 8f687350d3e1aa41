import { describe, expect, it } from 'vitest';
import { UNKNOWN_OUTPUT, type ResourceOutputs } from '../render/expand-template.js';
import { renderWorkloads } from '../render/render-workloads.js';
import { scoreWorkload } from '../request/testing/score-workload.js';
import type { RenderedContainer, RenderedWorkload } from '../runtime.js';
import { diffWorkload, SECRET_MASK } from './diff-workload.js';
import { planDeployment, type PlannedResourceState } from './plan-deployment.js';

function container(overrides: Partial<RenderedContainer> = {}): RenderedContainer {
  return {
    image: 'web:1',
    variables: {},
    secretVariables: [],
    files: [],
    volumes: [],
    before: {},
    ...overrides,
  };
}

function workload(
  name: string,
  specHash: string,
  containers: Record<string, RenderedContainer> = { main: container() },
): RenderedWorkload {
  return { name, deployment: 2, specHash, containers, ports: {} };
}

describe('planDeployment', () => {
  it('creates, updates, keeps unchanged and, with prune only, deletes', () => {
    const desired = [workload('new', 'h1'), workload('same', 'h2'), workload('changed', 'h3')];
    const current = [
      { name: 'same', specHash: 'h2' },
      { name: 'changed', specHash: 'old' },
      { name: 'gone', specHash: 'h4' },
    ];
    const kept = planDeployment(desired, current);
    expect(kept.workloads.map((item) => [item.name, item.action])).toEqual([
      ['new', 'create'],
      ['same', 'unchanged'],
      ['changed', 'update'],
      ['gone', 'unchanged'],
    ]);
    expect(kept.workloads[3]?.reason).toMatch(/--prune removes it/);
    const pruned = planDeployment(desired, current, { prune: true });
    expect(pruned.workloads[3]).toMatchObject({
      name: 'gone',
      action: 'delete',
      reason: 'not in the deployment',
    });
    expect(pruned.summary).toBe('workloads: 1 to create, 1 to update, 1 to delete, 1 unchanged');
    expect(pruned.isEmpty).toBe(false);
  });

  it('is empty when nothing changes', () => {
    const plan = planDeployment([workload('web', 'h')], [{ name: 'web', specHash: 'h' }]);
    expect(plan.isEmpty).toBe(true);
    expect(plan.summary).toBe('no changes (workloads: 1 unchanged)');
  });

  it('diffs fields, masking secret variables and secret files', () => {
    const before = workload('web', 'a', {
      main: container({
        variables: { KEEP: '1', CHANGE: 'a', GONE: 'x', PASSWORD: 'old' },
        secretVariables: ['PASSWORD'],
        files: [
          { target: '/etc/s', content: 'pw=old', secret: true },
          { target: '/etc/c', content: 'abc' },
        ],
        limits: { memory: '128Mi' },
      }),
      sidecar: container({ image: 'proxy' }),
    });
    const after = workload('web', 'b', {
      main: container({
        image: 'web:2',
        variables: { KEEP: '1', CHANGE: 'b', ADDED: 'y', PASSWORD: 'new' },
        secretVariables: ['PASSWORD'],
        files: [
          { target: '/etc/s', content: 'pw=new', secret: true },
          { target: '/etc/c', content: 'abd' },
        ],
        limits: { memory: '256Mi' },
      }),
    });
    after.ports = { http: { port: 80, targetPort: 8080, protocol: 'TCP' } };
    const plan = planDeployment([after], [{ name: 'web', specHash: 'a', spec: before }]);
    expect(plan.workloads[0]?.changes).toEqual([
      { field: 'containers.main.image', before: 'web:1', after: 'web:2' },
      { field: 'containers.main.variables.ADDED', after: 'y' },
      { field: 'containers.main.variables.CHANGE', before: 'a', after: 'b' },
      { field: 'containers.main.variables.GONE', before: 'x' },
      { field: 'containers.main.variables.PASSWORD', before: SECRET_MASK, after: SECRET_MASK },
      { field: 'containers.main.files./etc/c', before: '"abc"', after: '"abd"' },
      {
        field: 'containers.main.files./etc/s',
        before: SECRET_MASK,
        after: `${SECRET_MASK}, content changed`,
      },
      { field: 'containers.main.limits', before: '{"memory":"128Mi"}', after: '{"memory":"256Mi"}' },
      { field: 'containers.sidecar', before: 'container' },
      { field: 'ports.http', after: '{"port":80,"protocol":"TCP","targetPort":8080}' },
    ]);
    expect(JSON.stringify(plan)).not.toMatch(/old|new/);
  });

  it('plans resources: create, update on definition or params, keep, delete, detach stateful', () => {
    const resource = (uid: string, extra: Partial<PlannedResourceState> = {}): PlannedResourceState => ({
      uid,
      type: uid.split('.')[0]!,
      definition: { name: 'd', version: 1 },
      params: {},
      stateful: false,
      ...extra,
    });
    const plan = planDeployment([], [], {
      resources: {
        desired: [
          resource('dns.default#a'),
          resource('route.default#a', { params: { host: 'x' } }),
          resource('postgres.default#a', { definition: { name: 'd', version: 2 } }),
          resource('service.default#a'),
        ],
        current: [
          resource('route.default#a', { params: { host: 'y' } }),
          resource('postgres.default#a'),
          resource('service.default#a'),
          resource('volume.default#old', { stateful: true }),
          resource('dns.default#old'),
        ],
      },
    });
    expect(plan.resources.map((item) => [item.uid, item.action])).toEqual([
      ['dns.default#a', 'create'],
      ['route.default#a', 'update'],
      ['postgres.default#a', 'update'],
      ['service.default#a', 'unchanged'],
      ['volume.default#old', 'detach'],
      ['dns.default#old', 'delete'],
    ]);
    expect(plan.resources[2]?.reason).toBe('definition "d" v1 → "d" v2');
    expect(plan.summary).toBe('resources: 1 to create, 2 to update, 1 to delete, 1 to detach, 1 unchanged');
  });

  it('shows every rendered field of a new workload: secrets masked, unknown outputs marked', () => {
    const db: ResourceOutputs = {
      uid: 'postgres.default#web.db',
      type: 'postgres',
      outputs: { host: UNKNOWN_OUTPUT },
      secrets: { password: UNKNOWN_OUTPUT },
    };
    const cache: ResourceOutputs = {
      uid: 'redis.default#web.cache',
      type: 'redis',
      outputs: { host: 'cache.internal' },
      secrets: { password: 'hunter22' },
    };
    const [web] = renderWorkloads(
      [
        scoreWorkload('web', {
          ports: { http: { port: 80, targetPort: 8080 } },
          containers: {
            main: {
              image: 'web:1',
              command: ['serve'],
              args: ['--cache-password=${resources.cache.password}', '--verbose'],
              variables: {
                DB_HOST: '${resources.db.host}',
                DB_PASSWORD: '${resources.db.password}',
                CACHE_URL: 'redis://:${resources.cache.password}@${resources.cache.host}',
                MODE: 'fast',
              },
              files: { '/etc/cache.conf': { content: 'password=${resources.cache.password}' } },
              resources: { limits: { memory: '128Mi', cpu: '500m' } },
            },
          },
          resources: { db: { type: 'postgres' }, cache: { type: 'redis' } },
        }),
      ],
      {
        deployment: 1,
        outputs: new Map([
          [
            'web',
            new Map([
              ['db', db],
              ['cache', cache],
            ]),
          ],
        ]),
      },
    );
    const plan = planDeployment([web!], []);
    expect(plan.workloads[0]).toMatchObject({ name: 'web', action: 'create' });
    expect(plan.workloads[0]?.changes).toEqual([
      { field: 'containers.main', after: 'container' },
      { field: 'containers.main.image', after: 'web:1' },
      { field: 'containers.main.command', after: '["serve"]' },
      { field: 'containers.main.args', after: `["${SECRET_MASK}","--verbose"]` },
      { field: 'containers.main.variables.CACHE_URL', after: SECRET_MASK },
      { field: 'containers.main.variables.DB_HOST', after: UNKNOWN_OUTPUT },
      { field: 'containers.main.variables.DB_PASSWORD', after: `${SECRET_MASK}, ${UNKNOWN_OUTPUT}` },
      { field: 'containers.main.variables.MODE', after: 'fast' },
      { field: 'containers.main.files./etc/cache.conf', after: SECRET_MASK },
      { field: 'containers.main.limits', after: '{"cpu":"500m","memory":"128Mi"}' },
      { field: 'ports.http', after: '{"port":80,"protocol":"TCP","targetPort":8080}' },
    ]);
    expect(JSON.stringify(plan)).not.toContain('hunter22');
  });

  it('diffs every field of a rendered container and port: none can change unseen', () => {
    const full: RenderedContainer = container({
      image: 'web:1',
      context: { dir: '/ctx/a', hash: 'sha256:a' },
      command: ['node'],
      args: ['a.js'],
      secretArguments: [],
      variables: { A: '1' },
      secretVariables: [],
      files: [{ target: '/f', content: 'x' }],
      volumes: [{ target: '/data', source: 'v1', readOnly: false }],
      before: { db: { ready: 'started' } },
      limits: { memory: '1Gi' },
      requests: { memory: '1Gi' },
      readinessProbe: { httpGet: { port: 80, path: '/' } },
      livenessProbe: { httpGet: { port: 80, path: '/' } },
    });
    const changed: { [K in keyof RenderedContainer]-?: RenderedContainer[K] } = {
      image: 'web:2',
      context: { dir: '/ctx/a', hash: 'sha256:b' },
      command: ['deno'],
      args: ['b.js'],
      // Marking an argument secret changes what shows, not the spec: shown as masked.
      secretArguments: ['args.0'],
      variables: { A: '2' },
      // Marking a variable secret makes its value show as masked.
      secretVariables: ['A'],
      files: [{ target: '/f', content: 'y' }],
      volumes: [{ target: '/data', source: 'v2', readOnly: false }],
      before: { db: { ready: 'healthy' } },
      limits: { memory: '2Gi' },
      requests: { memory: '2Gi' },
      readinessProbe: { httpGet: { port: 81, path: '/' } },
      livenessProbe: { httpGet: { port: 81, path: '/' } },
    };
    for (const key of Object.keys(changed) as (keyof RenderedContainer)[]) {
      const before = workload('web', 'a', { main: full });
      const after = workload('web', 'b', { main: { ...full, [key]: changed[key] } });
      expect(diffWorkload(before, after), `a change of ${key}`).not.toEqual([]);
    }
    const port = { port: 80, targetPort: 8080, protocol: 'TCP' as const, hostPort: 20001 };
    const changedPort: { [K in keyof typeof port]-?: unknown } = {
      port: 81,
      targetPort: 8081,
      protocol: 'UDP',
      hostPort: 20002,
    };
    for (const key of Object.keys(changedPort) as (keyof typeof port)[]) {
      const before = { ...workload('web', 'a'), ports: { http: port } };
      const after = { ...workload('web', 'b'), ports: { http: { ...port, [key]: changedPort[key] } } };
      expect(diffWorkload(before, after), `a change of ports.http.${key}`).not.toEqual([]);
    }
  });

  it('says a secret argument changed without showing it', () => {
    const before = workload('web', 'a', {
      main: container({ args: ['--password=one', '-v'], secretArguments: ['args.0'] }),
    });
    const after = workload('web', 'b', {
      main: container({ args: ['--password=two', '-v'], secretArguments: ['args.0'] }),
    });
    const plan = planDeployment([after], [{ name: 'web', specHash: 'a', spec: before }]);
    expect(plan.workloads[0]?.changes).toEqual([
      {
        field: 'containers.main.args',
        before: `["${SECRET_MASK}","-v"]`,
        after: `["${SECRET_MASK}","-v"], a secret argument changed`,
      },
    ]);
    expect(JSON.stringify(plan)).not.toMatch(/one|two/);
  });

  it('shows short text files as they are, longer and binary ones by size and hash', () => {
    const long = 'x'.repeat(100);
    const before = workload('web', 'a', {
      main: container({
        files: [
          { target: '/short', content: 'a=1', mode: '0600' },
          { target: '/long', content: long },
          { target: '/bin', content: Uint8Array.from([1, 2, 3]) },
        ],
      }),
    });
    const after = workload('web', 'b', {
      main: container({
        files: [
          { target: '/short', content: 'a=2', mode: '0600' },
          { target: '/long', content: `${long}y` },
          { target: '/bin', content: Uint8Array.from([1, 2, 4]) },
        ],
      }),
    });
    const changes = diffWorkload(before, after);
    expect(changes).toEqual([
      {
        field: 'containers.main.files./bin',
        before: expect.stringMatching(/^3 bytes, sha256:[0-9a-f]{12}…$/),
        after: expect.stringMatching(/^3 bytes, sha256:[0-9a-f]{12}…$/),
      },
      {
        field: 'containers.main.files./long',
        before: expect.stringMatching(/^100 bytes, sha256:[0-9a-f]{12}…$/),
        after: expect.stringMatching(/^101 bytes, sha256:[0-9a-f]{12}…$/),
      },
      { field: 'containers.main.files./short', before: '"a=1", mode 0600', after: '"a=2", mode 0600' },
    ]);
    expect(changes[0]?.before).not.toBe(changes[0]?.after);
  });

  it('says which workloads a partial deploy keeps without being given', () => {
    const plan = planDeployment(
      [workload('web', 'h1'), workload('worker', 'h2'), workload('cron', 'new')],
      [
        { name: 'web', specHash: 'h1' },
        { name: 'worker', specHash: 'h2' },
        { name: 'cron', specHash: 'old' },
      ],
      { prune: true, kept: ['worker', 'cron'] },
    );
    expect(plan.workloads.map((item) => [item.name, item.action, item.reason])).toEqual([
      ['web', 'unchanged', 'spec unchanged'],
      ['worker', 'unchanged', 'not given, kept as it runs; --prune removes it'],
      ['cron', 'update', 'not given, but what it uses changed'],
    ]);
  });
});
