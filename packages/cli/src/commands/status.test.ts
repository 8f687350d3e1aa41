import { describe, expect, it } from 'vitest';
import { formatStatus } from './status.js';

describe('paved status table', () => {
  it('adds a line for each container that restarted or failed a check, and none for healthy ones', () => {
    const text = formatStatus({
      app: 'shop',
      env: 'dev',
      deployment: 4,
      workloads: [
        {
          name: 'web',
          state: 'ready',
          ready: true,
          endpoints: ['http://web-dev-shop.localhost:7080/'],
          containers: [
            { name: 'migrate', state: 'completed', restarts: 0, exitCode: 0 },
            {
              name: 'main',
              state: 'running',
              restarts: 2,
              exitCode: 137,
              probeFailures: 3,
              lastProbeFailure: {
                probe: 'liveness http://127.0.0.1:41000/alive',
                status: 'HTTP 500',
                at: '2026-11-26T14:00:00.000Z',
              },
            },
          ],
        },
      ],
    });
    expect(text).toContain('shop/dev runs deployment 4');
    expect(text).toContain(
      'web/main: 2 restarts, last exit code 137, last probe failure 2026-11-26T14:00:00.000Z: liveness http://127.0.0.1:41000/alive: HTTP 500',
    );
    expect(text).not.toContain('web/migrate');
  });
});
