import type { Deployment, DeploymentEvent } from '@paved/client';
import { describe, expect, it } from 'vitest';
import { DeploymentProgress, formatEventLine, formatOutcome } from './progress.js';

function event(seq: number, fields: Partial<DeploymentEvent>): DeploymentEvent {
  return { seq, time: `2026-01-01T08:31:0${seq}Z`, level: 'info', type: 'x', message: '', ...fields };
}

const events = [
  event(1, { type: 'step.started', step: 'validate', message: 'validate started' }),
  event(2, { type: 'step.succeeded', step: 'validate', message: 'validate succeeded' }),
  event(3, { type: 'workload.starting', workload: 'frontend', message: 'starting' }),
  event(4, {
    type: 'probe.failed',
    level: 'warn',
    workload: 'frontend',
    message: 'GET /healthz: ECONNREFUSED',
  }),
  event(5, { type: 'workload.ready', workload: 'frontend', message: 'ready' }),
];

function finished(status: Deployment['status'], error?: string): Deployment {
  return {
    app: 'shop',
    env: 'dev',
    number: 3,
    status,
    setId: 's',
    actor: 'admin',
    createdAt: '2026-01-01T08:31:00Z',
    startedAt: '2026-01-01T08:31:01Z',
    finishedAt: '2026-01-01T08:31:13Z',
    steps: [
      { name: 'validate', status: 'succeeded' },
      { name: 'apply', status: status === 'failed' ? 'failed' : 'succeeded' },
    ],
    ...(error === undefined ? {} : { error }),
  };
}

describe('formatEventLine', () => {
  it('prints the time, the workload or step, the level and the message', () => {
    expect(events.map(formatEventLine)).toEqual([
      '08:31:01 validate started',
      '08:31:02 validate succeeded',
      '08:31:03 frontend: starting',
      '08:31:04 frontend: warning: GET /healthz: ECONNREFUSED',
      '08:31:05 frontend: ready',
    ]);
  });

  it('names the step when the message does not, and nothing when there is no scope', () => {
    expect(formatEventLine(event(1, { type: 'x', step: 'provision', message: '3 resources' }))).toBe(
      '08:31:01 provision: 3 resources',
    );
    expect(formatEventLine(event(1, { type: 'deployment.queued', message: 'queued' }))).toBe(
      '08:31:01 queued',
    );
  });

  it('tracks steps named only in the message, and leaves resources out of the block', () => {
    const progress = new DeploymentProgress({ write: () => undefined, isTTY: true }, 'shop', 'dev', 1);
    progress.event(event(1, { type: 'step.succeeded', message: 'provision succeeded in 8 ms' }));
    progress.event(
      event(2, { type: 'resource.provisioning', workload: 'dns.default#web.dns', message: 'provisioning' }),
    );
    expect(progress.block()).toEqual(['Deployment 1 of shop/dev [····✓····] provision succeeded']);
  });
});

describe('DeploymentProgress', () => {
  it('prints one plain line per event and the outcome when not on a terminal', () => {
    let out = '';
    const progress = new DeploymentProgress({ write: (text: string) => (out += text) }, 'shop', 'dev', 3);
    for (const item of events) progress.event(item);
    progress.finish(finished('succeeded'));
    expect(out).toBe(
      [
        'Following Deployment 3 of shop/dev…',
        ...events.map(formatEventLine),
        'Deployment 3 of shop/dev succeeded in 12s.',
        '',
      ].join('\n'),
    );
    expect(out).not.toContain('\u001b');
  });

  it('redraws a compact block on a terminal and keeps warnings above it', () => {
    let out = '';
    const progress = new DeploymentProgress(
      { write: (text: string) => (out += text), isTTY: true, columns: 200 },
      'shop',
      'dev',
      3,
    );
    for (const item of events) progress.event(item);
    expect(progress.block()).toEqual([
      'Deployment 3 of shop/dev [✓········] validate succeeded',
      '  frontend  ready     ready',
    ]);
    // The block was drawn once (1 line), then moved over (1, 2, 2, 2 lines up) on each event.
    const ESC = String.fromCharCode(27);
    expect(out.match(new RegExp(`${ESC}\\[(\\d+)F`, 'g'))).toEqual([
      '\u001b[1F',
      '\u001b[1F',
      '\u001b[2F',
      '\u001b[2F',
    ]);
    expect(out).toContain('08:31:04 frontend: warning: GET /healthz: ECONNREFUSED\n');
    progress.finish(finished('failed', 'frontend never became ready'));
    expect(out.endsWith('Deployment 3 of shop/dev failed in step apply in 12s.\n')).toBe(true);
  });

  it('cuts lines to the terminal width so that redrawing stays in place', () => {
    let out = '';
    const progress = new DeploymentProgress(
      { write: (text: string) => (out += text), isTTY: true, columns: 40 },
      'shop',
      'dev',
      3,
    );
    progress.event(event(1, { type: 'workload.starting', workload: 'w', message: 'x'.repeat(100) }));
    for (const line of out.split('\n')) expect(line.length).toBeLessThan(40);
  });
});

describe('formatOutcome', () => {
  it('says how a deployment ended', () => {
    expect(formatOutcome(finished('cancelled'))).toBe(
      'Deployment 3 of shop/dev was cancelled; the environment runs what it ran before.',
    );
  });
});

describe('DeploymentProgress on a terminal of unknown size', () => {
  it('assumes 80 columns instead of cutting every line', () => {
    let out = '';
    const progress = new DeploymentProgress(
      { write: (text: string) => (out += text), isTTY: true, columns: 0 },
      'shop',
      'dev',
      3,
    );
    progress.event(
      event(1, { type: 'workload.ready', workload: 'web', message: 'ready on 127.0.0.1:20012' }),
    );
    expect(out).toContain('  web  ready     ready on 127.0.0.1:20012\n');
  });
});
