import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProbe, describeProbe } from './probe-check.js';

describe('checkProbe', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((request, response) => {
      response.statusCode = request.url === '/ok' ? 200 : request.url === '/moved' ? 302 : 503;
      response.end(request.headers['x-probe'] ?? '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('passes an HTTP probe on 2xx and 3xx and reports the status otherwise', async () => {
    const probe = (path: string) => ({
      kind: 'http' as const,
      url: `http://127.0.0.1:${port}${path}`,
      headers: { 'x-probe': '1' },
    });
    expect(await checkProbe(probe('/ok'))).toEqual({ ok: true, status: 'HTTP 200' });
    expect(await checkProbe(probe('/moved'))).toEqual({ ok: true, status: 'HTTP 302' });
    expect(await checkProbe(probe('/down'))).toEqual({ ok: false, status: 'HTTP 503' });
    expect(describeProbe(probe('/ok'))).toBe(`http://127.0.0.1:${port}/ok`);
  });

  it('reports a refused connection', async () => {
    const result = await checkProbe({ kind: 'tcp', host: '127.0.0.1', port: 1 });
    expect(result.ok).toBe(false);
    expect(result.status).toContain('ECONNREFUSED');
    expect((await checkProbe({ kind: 'tcp', host: '127.0.0.1', port })).ok).toBe(true);
  });

  it('passes an exec probe on exit code 0 only', async () => {
    const exec = (code: number) => ({
      kind: 'exec' as const,
      command: ['sh', '-c', `exit ${code}`],
      cwd: '/',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(await checkProbe(exec(0))).toEqual({ ok: true, status: 'exit code 0' });
    expect(await checkProbe(exec(4))).toEqual({ ok: false, status: 'exit code 4' });
    expect((await checkProbe({ ...exec(0), command: ['no-such-command-anywhere'] })).status).toContain(
      'ENOENT',
    );
    expect(await checkProbe({ ...exec(0), command: ['sleep', '5'] }, 200)).toEqual({
      ok: false,
      status: 'timed out after 200 ms',
    });
  });
});
