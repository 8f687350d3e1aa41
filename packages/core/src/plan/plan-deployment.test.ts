import { describe, expect, it } from 'vitest';
import type { RenderedContainer, RenderedWorkload } from '../runtime.js';
import { SECRET_MASK } from './diff-workload.js';
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
      { field: 'containers.main.files./etc/c', before: '3 bytes', after: '3 bytes, content changed' },
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
});
