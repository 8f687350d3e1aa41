import { PavedError } from '@paved/core';
import type { Selectable } from 'kysely';
import type { PortAllocationTable } from './database.js';
import { constraintViolation } from './database-errors.js';
import { lockEnvironment } from './lock-environment.js';
import type { RepositoryContext } from './repository-context.js';
import { retryOnRace } from './retry-on-race.js';
import type { PortAllocation, PortAllocationRepository } from './store.js';

/** The highest TCP port. */
const MAX_PORT = 65535;

export class KyselyPortAllocationRepository implements PortAllocationRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  /**
   * Returns the allocations of `wanted` in its order (each pair once). `isFree` is asked in
   * port order, only about ports no allocation holds, and may be asked again about the same port
   * when a race with another environment's allocation makes the whole allocation start over.
   * `startAt` (within the range) is where the search begins, wrapping round to `range.from`:
   * servers that share a host but not a store (several installations, parallel test servers)
   * then rarely race for the same free port between the check and the bind.
   */
  async allocate(
    app: string,
    env: string,
    wanted: { workload: string; port: string }[],
    range: { from: number; to: number },
    isFree?: (port: number) => Promise<boolean>,
    startAt: number = range.from,
  ): Promise<PortAllocation[]> {
    checkRange(range);
    const order = scanOrder(range, startAt);
    const pairs = unique(wanted);
    try {
      return await retryOnRace(this.#context, async ({ db, dialect }) => {
        // Allocations of one environment take turns on PostgreSQL; allocations of different
        // environments that pick the same host port collide on its unique key and start over.
        await lockEnvironment(db, dialect, app, env);
        const existing = await db
          .selectFrom('port_allocations')
          .selectAll()
          .where('app', '=', app)
          .where('env', '=', env)
          .execute();
        const byKey = new Map(existing.map((row) => [key(row), toAllocation(row)]));
        const missing = pairs.filter((pair) => !byKey.has(key(pair)));
        if (missing.length > 0) {
          const taken = new Set(
            (
              await db
                .selectFrom('port_allocations')
                .select('host_port')
                .where('host_port', '>=', range.from)
                .where('host_port', '<=', range.to)
                .execute()
            ).map((row) => Number(row.host_port)),
          );
          let next = 0;
          for (const pair of missing) {
            let hostPort: number | undefined;
            for (; next < order.length && hostPort === undefined; next += 1) {
              const candidate = order[next] as number;
              if (taken.has(candidate)) continue;
              if (isFree === undefined || (await isFree(candidate))) hostPort = candidate;
            }
            if (hostPort === undefined) throw exhausted(app, env, pair, range, taken.size);
            const row: Selectable<PortAllocationTable> = { app, env, ...pair, host_port: hostPort };
            await db.insertInto('port_allocations').values(row).execute();
            byKey.set(key(pair), toAllocation(row));
          }
        }
        return pairs.map((pair) => byKey.get(key(pair)) as PortAllocation);
      });
    } catch (error) {
      // Left only inside a caller's transaction, which cannot be retried.
      if (constraintViolation(error) === 'unique') {
        throw new PavedError(
          'CONFLICT',
          `a host port picked for environment "${env}" of app "${app}" was taken by a concurrent allocation: try again`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  async list(app: string, env: string): Promise<PortAllocation[]> {
    const rows = await this.#context.db
      .selectFrom('port_allocations')
      .selectAll()
      .where('app', '=', app)
      .where('env', '=', env)
      .orderBy('workload')
      .orderBy('port')
      .execute();
    return rows.map(toAllocation);
  }

  async release(app: string, env: string, workload?: string): Promise<void> {
    await this.#context.db
      .deleteFrom('port_allocations')
      .where('app', '=', app)
      .where('env', '=', env)
      .$if(workload !== undefined, (query) => query.where('workload', '=', workload ?? ''))
      .execute();
  }
}

function checkRange(range: { from: number; to: number }): void {
  const valid = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= MAX_PORT;
  if (!valid(range.from) || !valid(range.to) || range.from > range.to) {
    throw new PavedError(
      'INVALID_INPUT',
      `host port range ${range.from}-${range.to} is invalid: give whole numbers from 1 to ${MAX_PORT}, the first not above the second`,
    );
  }
}

function exhausted(
  app: string,
  env: string,
  pair: { workload: string; port: string },
  range: { from: number; to: number },
  allocated: number,
): PavedError {
  return new PavedError(
    'CONFLICT',
    `no free host port for port "${pair.port}" of workload "${pair.workload}" in environment "${env}" of app "${app}": ` +
      `the range ${range.from}-${range.to} is used up (${allocated} allocated by environments, the rest in use on the host). ` +
      'Delete environments no longer needed, or widen the host port range.',
    { details: { workload: pair.workload, port: pair.port, from: range.from, to: range.to } },
  );
}

/** Every port of the range once, from `startAt` to the end and then from the start. */
function scanOrder(range: { from: number; to: number }, startAt: number): number[] {
  const first =
    Number.isInteger(startAt) && startAt >= range.from && startAt <= range.to ? startAt : range.from;
  const order: number[] = [];
  for (let port = first; port <= range.to; port += 1) order.push(port);
  for (let port = range.from; port < first; port += 1) order.push(port);
  return order;
}

function unique(wanted: { workload: string; port: string }[]): { workload: string; port: string }[] {
  const seen = new Map<string, { workload: string; port: string }>();
  for (const pair of wanted) {
    if (!seen.has(key(pair))) seen.set(key(pair), { workload: pair.workload, port: pair.port });
  }
  return [...seen.values()];
}

/** A map key for a (workload, port) pair; JSON because either part may hold any character. */
function key(pair: { workload: string; port: string }): string {
  return JSON.stringify([pair.workload, pair.port]);
}

function toAllocation(row: Selectable<PortAllocationTable>): PortAllocation {
  return {
    app: row.app,
    env: row.env,
    workload: row.workload,
    port: row.port,
    hostPort: Number(row.host_port),
  };
}
