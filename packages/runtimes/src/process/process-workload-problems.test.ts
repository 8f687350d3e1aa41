import { describe, expect, it } from 'vitest';
import { UNKNOWN_OUTPUT, type RenderedContainer, type RenderedWorkload } from '@paved/core';
import { processWorkloadProblems } from './process-workload-problems.js';

const container = (extra: Partial<RenderedContainer> = {}): RenderedContainer => ({
  image: '.',
  context: { dir: '/ctx', hash: 'h' },
  command: ['node', 'server.js'],
  variables: {},
  secretVariables: [],
  files: [],
  volumes: [],
  before: {},
  ...extra,
});
const workload = (
  containers: Record<string, RenderedContainer>,
  extra: Partial<RenderedWorkload> = {},
): RenderedWorkload => ({
  name: 'web',
  deployment: 1,
  specHash: 'h',
  containers,
  ports: {},
  ...extra,
});

describe('processWorkloadProblems', () => {
  it('lets a plan mount a volume whose name is known only after provisioning', () => {
    const planned = container({ volumes: [{ source: UNKNOWN_OUTPUT, target: '/data', readOnly: false }] });
    expect(processWorkloadProblems([workload({ main: planned })])).toEqual([]);
  });

  it('accepts a context-built container with a command', () => {
    expect(processWorkloadProblems([workload({ main: container() })])).toEqual([]);
  });

  it('names a target that runs registry images', () => {
    const [problem] = processWorkloadProblems([
      workload({ main: container({ image: 'nginx:1', context: undefined }) }),
    ]);
    expect(problem).toMatchObject({ path: 'web.containers.main.image' });
    expect(problem?.message).toBe(
      'workload "web" container "main" uses image "nginx:1" from a registry: the process target runs only image "." (built from the uploaded context); deploy it to a target that runs images, such as "docker"',
    );
  });

  it('reports every problem at once', () => {
    const problems = processWorkloadProblems([
      workload(
        {
          a: container({ command: undefined, before: { ghost: { ready: 'started' } } }),
          b: container({ before: { c: { ready: 'started' } } }),
          c: container({
            before: { b: { ready: 'healthy' } },
            volumes: [{ source: '../etc', target: '/x', readOnly: false }],
          }),
        },
        { ports: { dns: { port: 53, targetPort: 53, protocol: 'UDP' } } },
      ),
    ]);
    expect(problems.map((problem) => problem.path)).toEqual([
      'web.containers.a.command',
      'web.containers.a.before.ghost',
      'web.containers.c.volumes./x',
      'web.service.ports.dns.protocol',
      'web.containers',
    ]);
    expect(problems.at(-1)?.message).toContain('b → c → b');
  });
});
