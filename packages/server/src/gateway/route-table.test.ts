import type { GatewayRoute } from '@paved/store';
import { describe, expect, it } from 'vitest';
import { RouteTable, hostWithoutPort } from './route-table.js';

const route = (host: string, path: string, upstream: string): GatewayRoute => ({
  app: 'shop',
  env: 'dev',
  workload: 'w',
  host,
  path,
  upstream,
});

describe('RouteTable', () => {
  const table = new RouteTable([
    route('shop.localhost', '/', 'a'),
    route('shop.localhost', '/api', 'b'),
    route('shop.localhost', '/api/orders/', 'c'),
    route('other.localhost', '/x', 'd'),
  ]);

  it('picks the longest matching path prefix on a segment boundary', () => {
    expect(table.match('shop.localhost', '/')?.upstream).toBe('a');
    expect(table.match('shop.localhost', '/api')?.upstream).toBe('b');
    expect(table.match('shop.localhost', '/api/users')?.upstream).toBe('b');
    expect(table.match('shop.localhost', '/apiary')?.upstream).toBe('a');
    expect(table.match('shop.localhost', '/api/orders/1')?.upstream).toBe('c');
  });

  it('matches the host without its port, ignoring case', () => {
    expect(table.match('SHOP.localhost:7080', '/api')?.upstream).toBe('b');
    expect(table.match('other.localhost', '/y')).toBeUndefined();
    expect(table.match('nobody.localhost', '/')).toBeUndefined();
  });

  it('strips ports from host headers', () => {
    expect(hostWithoutPort('a.localhost:80')).toBe('a.localhost');
    expect(hostWithoutPort('[::1]:80')).toBe('[::1]');
    expect(hostWithoutPort('a.localhost')).toBe('a.localhost');
  });
});
