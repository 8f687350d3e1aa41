import type { Deployment, EnvironmentStatus } from '@paved/client';
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing/run-cli.js';
import type { FakeRequest } from '../testing/run-cli.js';

const OPTIONS = ['--url', 'http://paved.test'];
const ENV = { PAVED_TOKEN: 't' };

const failed: Deployment = {
  app: 'shop',
  env: 'dev',
  number: 2,
  status: 'failed',
  setId: 'set-1',
  message: 'try',
  actor: 'admin',
  createdAt: '2026-01-01T00:00:00Z',
  startedAt: '2026-01-01T00:00:01Z',
  finishedAt: '2026-01-01T00:00:04Z',
  steps: [
    {
      name: 'validate',
      status: 'succeeded',
      startedAt: '2026-01-01T00:00:01Z',
      finishedAt: '2026-01-01T00:00:01.200Z',
    },
    {
      name: 'apply',
      status: 'failed',
      startedAt: '2026-01-01T00:00:02Z',
      finishedAt: '2026-01-01T00:00:04Z',
      error: 'web never became ready',
    },
  ],
  error: 'web never became ready: HTTP 503\nlast log lines:\n  boom',
};

describe('paved deployments', () => {
  it('lists deployments newest first with how long they took', async () => {
    const run = await runCli(['deployments', 'list', 'shop', 'dev', ...OPTIONS], {
      env: ENV,
      answer: () => ({ body: { items: [failed], next: null } }),
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'NUMBER  STATUS  MESSAGE  ACTOR  CREATED               TOOK\n2       failed  try      admin  2026-01-01T00:00:00Z  3.0s\n',
    );
  });

  it('shows one deployment with its steps, their timings and the whole error', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['deployments', 'get', 'shop', 'dev', '2', ...OPTIONS], {
      env: ENV,
      answer: () => ({ body: failed }),
      requests,
    });
    expect(run.code).toBe(0);
    expect(requests[0]!.path).toBe('/api/v1/apps/shop/envs/dev/deployments/2');
    expect(run.stdout).toContain('Status:      failed');
    expect(run.stdout).toContain('validate  succeeded  2026-01-01T00:00:01Z  0.2s');
    expect(run.stdout).toContain('apply     failed     2026-01-01T00:00:02Z  2.0s  web never became ready');
    expect(run.stdout).toContain('Error:\n  web never became ready: HTTP 503\n  last log lines:\n    boom\n');
  });

  it('refuses a number that is not one before asking the server', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['deployments', 'cancel', 'shop', 'dev', 'latest', ...OPTIONS], {
      env: ENV,
      answer: () => ({ body: failed }),
      requests,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('"latest" is not a deployment number');
    expect(requests).toEqual([]);
  });

  it('cancels a deployment', async () => {
    const requests: FakeRequest[] = [];
    const run = await runCli(['deployments', 'cancel', 'shop', 'dev', '3', ...OPTIONS], {
      env: ENV,
      answer: () => ({ body: { ...failed, number: 3, status: 'cancelled' } }),
      requests,
    });
    expect(run).toMatchObject({ code: 0, stdout: 'Cancelled deployment 3 of shop/dev.\n' });
    expect(`${requests[0]!.method} ${requests[0]!.path}`).toBe(
      'POST /api/v1/apps/shop/envs/dev/deployments/3/cancel',
    );
  });
});

describe('paved status', () => {
  const status: EnvironmentStatus = {
    app: 'shop',
    env: 'dev',
    deployment: 2,
    workloads: [
      {
        name: 'frontend',
        state: 'ready',
        ready: true,
        endpoints: ['http://frontend-dev-shop.localhost:7080/'],
        containers: [{ name: 'main', state: 'running', restarts: 1 }],
      },
      { name: 'orders', state: 'starting', ready: false, endpoints: [], containers: [] },
    ],
  };

  it('prints one row per workload', async () => {
    const run = await runCli(['status', 'shop', 'dev', ...OPTIONS], {
      env: ENV,
      answer: () => ({ body: status }),
    });
    expect(run.stdout).toBe(
      [
        'shop/dev runs deployment 2',
        'WORKLOAD  STATE     READY  RESTARTS  ENDPOINTS',
        'frontend  ready     yes    1         http://frontend-dev-shop.localhost:7080/',
        'orders    starting  no     0         -',
        '',
        'frontend/main: 1 restart',
        '',
      ].join('\n'),
    );
    const json = await runCli(['status', 'shop', 'dev', '-o', 'json', ...OPTIONS], {
      env: ENV,
      answer: () => ({ body: status }),
    });
    expect(JSON.parse(json.stdout)).toEqual(status);
  });
});

describe('paved logs', () => {
  it('prints the lines, with timestamps when asked, passing the filters on', async () => {
    const lines = [
      {
        time: '2026-01-01T00:00:00Z',
        container: 'main',
        stream: 'stdout',
        line: 'frontend listening on 4000',
      },
      { time: '2026-01-01T00:00:01Z', container: 'main', stream: 'stderr', line: 'oops' },
    ];
    const requests: FakeRequest[] = [];
    const answer = () => ({ text: lines.map((line) => JSON.stringify(line)).join('\n') + '\n' });
    const plain = await runCli(['logs', 'shop', 'dev', 'frontend', ...OPTIONS], {
      env: ENV,
      answer,
      requests,
    });
    expect(plain.stdout).toBe('frontend listening on 4000\noops\n');
    const stamped = await runCli(
      [
        'logs',
        'shop',
        'dev',
        'frontend',
        '--timestamps',
        '--since',
        '10m',
        '--container',
        'main',
        '--tail',
        '5',
        ...OPTIONS,
      ],
      { env: ENV, answer, requests },
    );
    expect(stamped.stdout).toBe(
      '2026-01-01T00:00:00Z main stdout: frontend listening on 4000\n2026-01-01T00:00:01Z main stderr: oops\n',
    );
    expect(requests.map((request) => request.path)).toEqual([
      '/api/v1/apps/shop/envs/dev/workloads/frontend/logs',
      '/api/v1/apps/shop/envs/dev/workloads/frontend/logs?container=main&since=10m&tail=5',
    ]);
  });

  it('refuses a --since that is not a duration', async () => {
    const run = await runCli(['logs', 'shop', 'dev', 'frontend', '--since', 'yesterday', ...OPTIONS], {
      env: ENV,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--since "yesterday" is not a duration');
  });
});
