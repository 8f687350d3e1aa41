import { matchDefinition } from '@paved/core';
import { describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCE_TYPES, builtinDrivers, defaultDefinitions } from './builtin-drivers.js';

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

  it('marks volumes stateful', () => {
    expect(defaultDefinitions().find((definition) => definition.type === 'volume')?.stateful).toBe(true);
  });
});
