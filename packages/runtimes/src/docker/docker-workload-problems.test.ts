import { describe, expect, it } from 'vitest';
import { UNKNOWN_OUTPUT, type RenderedContainer, type RenderedWorkload } from '@paved/core';
import { dockerWorkloadProblems, startOrder } from './docker-workload-problems.js';

const container = (extra: Partial<RenderedContainer> = {}): RenderedContainer => ({
  image: 'nginx:1',
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

describe('dockerWorkloadProblems', () => {
  it('lets a plan mount a volume whose name is known only after provisioning', () => {
    const planned = container({ volumes: [{ source: UNKNOWN_OUTPUT, target: '/data', readOnly: false }] });
    expect(dockerWorkloadProblems([workload({ main: planned })])).toEqual([]);
  });

  it('accepts registry images, built images with a context, UDP ports and limits', () => {
    expect(
      dockerWorkloadProblems([
        workload(
          {
            main: container({ limits: { memory: '256Mi', cpu: '500m' } }),
            built: container({ image: '.', context: { dir: '/ctx', hash: 'h' } }),
          },
          { ports: { dns: { port: 53, targetPort: 53, protocol: 'UDP' } } },
        ),
      ]),
    ).toEqual([]);
  });

  it('reports every problem at once, each naming workload, container and what to do', () => {
    const problems = dockerWorkloadProblems([
      workload(
        {
          main: container({
            image: '.',
            before: { ghost: { ready: 'started' } },
            volumes: [
              { source: 'bad name', target: '/data', readOnly: false },
              { source: 'ok', target: '/sub', path: 'inner', readOnly: false },
            ],
            limits: { memory: 'lots' },
          }),
        },
        { ports: { dns: { port: 53, targetPort: 53, protocol: 'UDP', hostPort: 5353 } } },
      ),
      workload({}, { name: 'Bad_Name' }),
    ]);
    expect(problems.map((problem) => problem.message)).toEqual([
      'workload "web" container "main" uses image "." but no build context was uploaded; deploy with the Score file\'s folder or --build web=DIR',
      'workload "web" container "main" waits for container "ghost", which the workload does not have',
      'workload "web" container "main" mounts volume "bad name", which is not a valid engine volume name; use letters, digits, "_", "." and "-"',
      'workload "web" container "main" mounts the sub-path "inner" of volume "ok": the docker target mounts whole volumes only; mount the volume and use the sub-directory in the app',
      'workload "web" container "main": "lots" is not a memory quantity (e.g. 512Mi)',
      'workload "web" port "dns" is UDP with a host port: the docker target forwards host ports for TCP only',
      'workload name "Bad_Name" is not a DNS label; rename the workload',
    ]);
    expect(problems[0]?.path).toBe('web.containers.main.image');
  });

  it('reports containers waiting for each other in a cycle', () => {
    const problems = dockerWorkloadProblems([
      workload({
        a: container({ before: { b: { ready: 'started' } } }),
        b: container({ before: { a: { ready: 'complete' } } }),
      }),
    ]);
    expect(problems).toEqual([
      {
        path: 'web.containers',
        message: expect.stringContaining('wait for each other in a cycle (a → b → a)'),
      },
    ]);
  });
});

describe('startOrder', () => {
  it('starts every container after those it waits for, else in the Score file order', () => {
    expect(
      startOrder(
        workload({
          main: container({ before: { init: { ready: 'complete' }, side: { ready: 'healthy' } } }),
          side: container(),
          init: container({ before: { side: { ready: 'started' } } }),
          extra: container(),
        }),
      ),
    ).toEqual({ order: ['side', 'init', 'main', 'extra'] });
  });
});
