import type { ResourceDefinition, ResourceDriver } from '@paved/core';
import { createAmqpDriver } from './amqp/amqp-driver.js';
import { createCommandDriver } from './command/command-driver.js';
import { createContainerDriver } from './container/container-driver.js';
import { CONTAINER_IMAGES, type ContainerServerType } from './container/container-servers.js';
import { createDnsDriver } from './dns/dns-driver.js';
import { createEchoDriver } from './echo/echo-driver.js';
import { createEnvironmentDriver } from './environment/environment-driver.js';
import { createMysqlDriver } from './mysql/mysql-driver.js';
import { createPostgresDriver } from './postgres/postgres-driver.js';
import { createRedisDriver } from './redis/redis-driver.js';
import { createRouteDriver } from './route/route-driver.js';
import { createServicePortDriver } from './service-port/service-port-driver.js';
import { createServiceDriver } from './service/service-driver.js';
import { createTemplateDriver } from './template/template-driver.js';
import { createVolumeDriver } from './volume/volume-driver.js';
import { createWebhookDriver } from './webhook/webhook-driver.js';

/** Every built-in driver, by id: the registry the server starts with. */
export function builtinDrivers(): Map<string, ResourceDriver> {
  const drivers = [
    createEchoDriver(),
    createServiceDriver(),
    createServicePortDriver(),
    createDnsDriver(),
    createRouteDriver(),
    createVolumeDriver(),
    createEnvironmentDriver(),
    createPostgresDriver(),
    createMysqlDriver(),
    createRedisDriver(),
    createAmqpDriver(),
    createTemplateDriver(),
    createWebhookDriver(),
    createCommandDriver(),
    createContainerDriver(),
  ];
  return new Map(drivers.map((driver) => [driver.id, driver]));
}

/** The resource types every target supports out of the box, each provisioned by its namesake driver. */
export const BUILTIN_RESOURCE_TYPES = [
  'service',
  'service-port',
  'dns',
  'route',
  'volume',
  'environment',
] as const;

/**
 * The stateful types that get a server of their own (driver `container`) by default on docker
 * targets, as score-compose does; on other targets they need a definition.
 */
export const CONTAINER_DEFAULT_TYPES = [
  'postgres',
  'mysql',
  'redis',
  'amqp',
] as const satisfies readonly ContainerServerType[];

/**
 * The fallback definitions: the built-in types on every target, and dedicated server containers
 * on docker targets. They match every app and environment (class `default`) and give way to any
 * matching definition the platform team applies.
 */
export function defaultDefinitions(): ResourceDefinition[] {
  return [...builtinTypeDefinitions(), ...containerDefinitions()];
}

function containerDefinitions(): ResourceDefinition[] {
  return CONTAINER_DEFAULT_TYPES.map((type) => ({
    name: `default-${type}`,
    version: 1,
    type,
    driver: 'container',
    inputs: { values: { image: CONTAINER_IMAGES[type] }, secrets: {} },
    criteria: [],
    fallback: true,
    stateful: true,
    targetKinds: ['docker'],
  }));
}

function builtinTypeDefinitions(): ResourceDefinition[] {
  return BUILTIN_RESOURCE_TYPES.map((type) => ({
    name: `default-${type}`,
    version: 1,
    type,
    driver: type,
    inputs: { values: {}, secrets: {} },
    criteria: [],
    fallback: true,
    ...(type === 'volume' ? { stateful: true } : {}),
  }));
}
