import { describe, expect, it } from 'vitest';
import { parsePort, serverOptions } from './server.js';

describe('serverOptions', () => {
  it('takes flags over environment variables, and leaves the rest to the server', () => {
    expect(serverOptions({}, '/data', {})).toEqual({ dataDir: '/data' });
    expect(
      serverOptions({ port: '8080', metricsPublic: true }, '/data', {
        PAVED_PORT: '9090',
        PAVED_HOST: '0.0.0.0',
        PAVED_DATABASE_URL: 'postgres://db/paved',
        PAVED_GATEWAY_PORT: '7081',
      }),
    ).toEqual({
      dataDir: '/data',
      host: '0.0.0.0',
      port: 8080,
      databaseUrl: 'postgres://db/paved',
      gatewayPort: 7081,
      metricsPublic: true,
    });
  });

  it('names the flag or variable a bad port came from', () => {
    expect(() => serverOptions({ port: 'http' }, '/d', {})).toThrow('--port "http" is not a port');
    expect(() => serverOptions({}, '/d', { PAVED_GATEWAY_PORT: '70000' })).toThrow(
      'PAVED_GATEWAY_PORT "70000" is not a port',
    );
  });
});

describe('parsePort', () => {
  it.each([
    ['0', 0],
    ['7070', 7070],
    ['65535', 65535],
  ])('%s → %i', (text, port) => {
    expect(parsePort(text, '--port')).toBe(port);
  });

  it.each(['-1', '65536', '1.5', '', ' 80', '0x10'])('rejects %j with exit 2', (text) => {
    expect(() => parsePort(text, '--port')).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', exitCode: 2 }),
    );
  });
});
