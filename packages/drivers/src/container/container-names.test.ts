import { DNS_LABEL } from '@paved/core';
import { describe, expect, it } from 'vitest';
import { checkContainerNames, containerNames } from './container-names.js';

const source = (id: string, app = 'shop', env = 'dev') => ({
  app,
  env,
  resource: { type: 'postgres', class: 'default', id },
});

describe('containerNames', () => {
  it('names container, volume and database after the resource, with a hash of its exact identity', () => {
    const names = containerNames(source('orders.db'));
    expect(names.container).toMatch(/^paved-shop-dev-orders-db-[0-9a-f]{10}$/);
    expect(names.volume).toBe(`${names.container}-data`);
    expect(names.database).toBe('orders_db');
    expect(containerNames(source('orders.db'))).toEqual(names);
  });

  it('turns hostile ids into DNS labels and plain identifiers, shortened, without collisions', () => {
    const hostile = [
      `a'; drop table users; --`,
      'a"b`c$(rm -rf /)',
      'Ωμέγα.数据库.🚀',
      `${'x'.repeat(199)}1`,
      `${'x'.repeat(199)}2`,
      'É',
      'e',
    ];
    const all = hostile.map((id) => containerNames(source(id)));
    for (const names of all) {
      expect(names.container).toMatch(DNS_LABEL);
      expect(names.volume.length).toBeLessThanOrEqual(63);
      expect(names.volume).toMatch(DNS_LABEL);
      expect(names.database).toMatch(/^[a-z0-9_]{1,63}$/);
      expect(checkContainerNames(names, 'uid')).toEqual(names);
    }
    expect(new Set(all.map((names) => names.container)).size).toBe(hostile.length);
  });

  it('tells apart environments whose readable parts coincide', () => {
    expect(containerNames(source('db', 'my-app', 'dev')).container).not.toBe(
      containerNames(source('db', 'my', 'app-dev')).container,
    );
  });

  it('refuses names in stored state that it does not make', () => {
    const names = containerNames(source('orders.db'));
    for (const edited of [
      { ...names, container: 'postgres' },
      { ...names, volume: 'other-volume' },
      { ...names, database: 'x"; drop' },
    ]) {
      expect(() => checkContainerNames(edited, 'postgres.default#orders.db')).toThrow(
        /stored state of resource "postgres.default#orders.db" names a container, volume or database Paved does not make/,
      );
    }
  });
});
