import { describe, expect, it } from 'vitest';
import { gatewayOptions } from './gateway.js';
import { serverOptions } from './server.js';

describe('gatewayOptions', () => {
  it('takes flags over environment variables; the port variable is the server’s --gateway-port one', () => {
    expect(gatewayOptions({}, '/data', {})).toEqual({ dataDir: '/data' });
    expect(
      gatewayOptions({ port: '8080' }, '/data', {
        PAVED_GATEWAY_PORT: '9090',
        PAVED_GATEWAY_HOST: '0.0.0.0',
        PAVED_DATABASE_URL: 'postgres://db/paved',
      }),
    ).toEqual({ dataDir: '/data', host: '0.0.0.0', port: 8080, databaseUrl: 'postgres://db/paved' });
    expect(gatewayOptions({}, '/data', { PAVED_GATEWAY_PORT: '9090' })).toMatchObject({ port: 9090 });
  });

  it('names the flag or variable a bad port came from', () => {
    expect(() => gatewayOptions({ port: 'web' }, '/d', {})).toThrow('--port "web" is not a port');
    expect(() => gatewayOptions({}, '/d', { PAVED_GATEWAY_PORT: '-1' })).toThrow(
      'PAVED_GATEWAY_PORT "-1" is not a port',
    );
  });
});

describe('serverOptions with a separate gateway', () => {
  it('asks for one by flag or by PAVED_SEPARATE_GATEWAY=1', () => {
    expect(serverOptions({ separateGateway: true }, '/d', {})).toMatchObject({ gateway: 'separate' });
    expect(serverOptions({}, '/d', { PAVED_SEPARATE_GATEWAY: '1' })).toMatchObject({ gateway: 'separate' });
    expect(serverOptions({}, '/d', {})).not.toHaveProperty('gateway');
  });
});
