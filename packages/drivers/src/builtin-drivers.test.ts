import { matchDefinition } from '@paved/core';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_RESOURCE_TYPES,
  builtinDrivers,
  CONTAINER_DEFAULT_TYPES,
  defaultDefinitions,
} from './builtin-drivers.js';

describe('builtinDrivers and defaultDefinitions', () => {
  it('has a driver for every default definition, and echo, template, webhook, command and the shared-server ones', () => {
    const drivers = builtinDrivers();
    expect([...drivers.keys()].sort()).toEqual(
      [
        ...BUILTIN_RESOURCE_TYPES,
        'echo',
        'template',
        'webhook',
        'command',
        'postgres',
        'mysql',
        'redis',
        'amqp',
        'container',
      ].sort(),
    );
    for (const definition of defaultDefinitions()) expect(drivers.has(definition.driver)).toBe(true);
  });

  it('matches every built-in type anywhere, and gives way to an applied definition', () => {
    const context = { app: 'shop', env: 'dev', envType: 'development' };
    for (const type of BUILTIN_RESOURCE_TYPES) {
      expect(
        matchDefinition(defaultDefinitions(), { type, class: 'default', id: 'a.b' }, context).winner?.name,
      ).toBe(`default-${type}`);
    }
    const custom = {
      ...defaultDefinitions()[2]!,
      name: 'corp-dns',
      fallback: false,
      inputs: { values: { baseDomain: 'corp.example' }, secrets: {} },
    };
    expect(
      matchDefinition(
        [...defaultDefinitions(), custom],
        { type: 'dns', class: 'default', id: 'a.b' },
        context,
      ).winner?.name,
    ).toBe('corp-dns');
  });

  it('runs postgres, mysql, redis and amqp in containers of their own on docker targets only, from the official images', () => {
    const images = { postgres: 'postgres:15', mysql: 'mariadb:10.11', redis: 'redis:7', amqp: 'rabbitmq:3' };
    for (const type of CONTAINER_DEFAULT_TYPES) {
      const request = { type, class: 'default', id: 'orders.db' };
      const docker = matchDefinition(defaultDefinitions(), request, {
        app: 'shop',
        env: 'dev',
        envType: 'development',
        targetKind: 'docker',
      });
      expect(docker.winner).toMatchObject({
        name: `default-${type}`,
        driver: 'container',
        stateful: true,
        inputs: { values: { image: images[type] } },
      });
      const processTarget = matchDefinition(defaultDefinitions(), request, {
        app: 'shop',
        env: 'dev',
        envType: 'development',
        targetKind: 'process',
      });
      expect(processTarget.winner).toBeUndefined();
      expect(processTarget.candidates[0]?.reason).toBe(
        'only for environments on docker targets; it runs on a process target',
      );
    }
  });

  it('marks volumes stateful', () => {
    expect(defaultDefinitions().find((definition) => definition.type === 'volume')?.stateful).toBe(true);
  });
});
