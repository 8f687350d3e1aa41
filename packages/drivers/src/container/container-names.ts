/**
 * Names of a resource's dedicated server: the container (also its DNS alias in the environment's
 * network, what workloads connect to), its data volume, and the database inside.
 *
 * `paved-<app>-<env>-<resource>-<hash>`: the readable part sanitised to a DNS label and shortened,
 * the hash over the exact app, environment, type, class and id so that resources whose readable
 * parts coincide (after sanitising or shortening) never share a server.
 */
import { createHash } from 'node:crypto';
import { DNS_LABEL, PavedError } from '@paved/core';
import { sanitizeNamePart } from '../support/shared-names.js';

/** A DNS label's limit. */
const NAME_LIMIT = 63;
/** Hex characters of the hash: 40 bits. */
const HASH_LENGTH = 10;
/** `-data` on the volume. */
const VOLUME_SUFFIX = '-data';
/** PostgreSQL's identifier limit, which MariaDB's (64) and RabbitMQ's vhosts (255) also fit. */
const DATABASE_LIMIT = 63;

export interface ContainerNames {
  container: string;
  volume: string;
  /** The database (postgres, mysql) or virtual host (amqp) inside the server. */
  database: string;
}

export interface ContainerNameSource {
  app: string;
  env: string;
  resource: { type: string; class: string; id: string };
}

function dnsPart(text: string): string {
  return sanitizeNamePart(text).replace(/_/g, '-');
}

/**
 * @example
 * containerNames({ app: 'shop', env: 'dev', resource: { type: 'postgres', class: 'default', id: 'orders.db' } })
 * // { container: 'paved-shop-dev-orders-db-<hash>', volume: 'paved-shop-dev-orders-db-<hash>-data', database: 'orders_db' }
 */
export function containerNames(source: ContainerNameSource): ContainerNames {
  const { app, env, resource } = source;
  const hash = createHash('sha256')
    .update(JSON.stringify([app, env, resource.type, resource.class, resource.id]))
    .digest('hex')
    .slice(0, HASH_LENGTH);
  const room = NAME_LIMIT - VOLUME_SUFFIX.length - HASH_LENGTH - 1;
  const readable = ['paved', app, env, resource.id].map(dnsPart).join('-').slice(0, room).replace(/-+$/, '');
  const container = `${readable}-${hash}`;
  return {
    container,
    volume: `${container}${VOLUME_SUFFIX}`,
    database: sanitizeNamePart(resource.id).slice(0, DATABASE_LIMIT).replace(/_+$/, '') || 'x',
  };
}

/**
 * Checks names read back from stored driver state before they reach the engine: anything but a
 * name this module makes is refused, so edited state cannot point the driver at a foreign object.
 */
export function checkContainerNames(names: ContainerNames, uid: string): ContainerNames {
  const fits =
    names.container.startsWith('paved-') &&
    DNS_LABEL.test(names.container) &&
    names.volume === `${names.container}${VOLUME_SUFFIX}` &&
    /^[a-z0-9_]{1,63}$/.test(names.database);
  if (fits) return names;
  throw new PavedError(
    'INVALID_INPUT',
    `driver "container": the stored state of resource "${uid}" names a container, volume or database Paved does not make (${JSON.stringify(names)}): it was changed outside Paved; restore it`,
    { details: { uid } },
  );
}
