/**
 * Provisioning 100 PostgreSQL databases through Paved's `postgres` driver (`provision`: an admin
 * connection per resource, the look-ups that make it idempotent, the SCRAM verifier computed
 * here, owner and login roles, the database, CONNECT revoked from PUBLIC) against the same
 * statements issued directly with `pg`, on the machine's PostgreSQL (127.0.0.1:5432), same run.
 * Two baselines: a connection per database, as the driver does, and one connection for all, the
 * least a hand-written script could do. The sides take turns in rounds of 25, so a slower or
 * busier moment of the server is shared. Everything made is dropped afterwards (not timed).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ProvisionRequest } from '../packages/core/src/index.js';
import { createPostgresDriver } from '../packages/drivers/src/postgres/postgres-driver.js';
import type { Benchmark, BenchReport } from './report.js';
import { round } from './report.js';

const DATABASES = 100;
const ROUND = 25;
const TARGET_RATIO = 1.5;
const ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };

/** The statements the driver runs for a new resource, written out by hand. */
async function provisionDirectly(client: pg.Client, base: string, password: string): Promise<void> {
  const owner = pg.escapeIdentifier(base);
  const login = pg.escapeIdentifier(`${base}_1`);
  await client.query(`CREATE ROLE ${owner} NOLOGIN`);
  await client.query(
    `CREATE ROLE ${login} WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT PASSWORD ${pg.escapeLiteral(password)}`,
  );
  await client.query(`GRANT ${owner} TO ${login}`);
  await client.query(`ALTER ROLE ${login} SET role = ${pg.escapeLiteral(base)}`);
  await client.query(`CREATE DATABASE ${owner} OWNER ${owner}`);
  await client.query(`REVOKE ALL ON DATABASE ${owner} FROM PUBLIC`);
}

async function connect(): Promise<pg.Client> {
  const client = new pg.Client(ADMIN);
  await client.connect();
  return client;
}

async function timed(work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

export const benchmark: Benchmark = {
  name: 'provision-postgres',
  async run(): Promise<BenchReport> {
    const run = randomBytes(3).toString('hex');
    const app = `bench-${run}`;
    const driver = createPostgresDriver();
    const request = (index: number): ProvisionRequest => ({
      resource: {
        uid: `postgres.default#db${index}`,
        type: 'postgres',
        class: 'default',
        id: `db${index}`,
        params: {},
        metadata: {},
      },
      context: {
        app,
        env: 'dev',
        envType: 'development',
        target: { name: 'process', kind: 'process' },
        network: {},
        values: {},
        dependencies: {},
      },
      inputs: { values: { host: ADMIN.host, port: ADMIN.port, adminUser: ADMIN.user }, secrets: {} },
    });
    const direct = (index: number): string => `paved_bench_${run}_direct_${index}`;
    const shared = (index: number): string => `paved_bench_${run}_shared_${index}`;
    const signal = new AbortController().signal;
    const times = { paved: 0, perConnection: 0, oneConnection: 0 };
    try {
      for (let start = 0; start < DATABASES; start += ROUND) {
        const indexes = Array.from({ length: ROUND }, (_, offset) => start + offset);
        times.paved += await timed(async () => {
          for (const index of indexes) await driver.provision(request(index), signal);
        });
        times.perConnection += await timed(async () => {
          for (const index of indexes) {
            const client = await connect();
            try {
              await provisionDirectly(client, direct(index), randomBytes(16).toString('hex'));
            } finally {
              await client.end();
            }
          }
        });
        times.oneConnection += await timed(async () => {
          const client = await connect();
          try {
            for (const index of indexes) {
              await provisionDirectly(client, shared(index), randomBytes(16).toString('hex'));
            }
          } finally {
            await client.end();
          }
        });
      }
    } finally {
      // Everything this run made, whichever side made it.
      const client = await connect();
      try {
        const start = `paved_bench_${run}_`;
        const paved = `paved_${app.replace(/-/g, '_')}_`;
        const databases = await client.query<{ datname: string }>(
          'SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR starts_with(datname, $2)',
          [start, paved],
        );
        for (const { datname } of databases.rows) {
          await client.query(`DROP DATABASE ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
        }
        // Logins before the owners they are members of.
        const roles = await client.query<{ rolname: string }>(
          'SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) OR starts_with(rolname, $2) ORDER BY rolname ~ $3 DESC',
          [start, paved, '_[12]$'],
        );
        for (const { rolname } of roles.rows) await client.query(`DROP ROLE ${pg.escapeIdentifier(rolname)}`);
      } finally {
        await client.end();
      }
    }
    const row = (side: string, ms: number) => ({
      side,
      'total (s)': round(ms / 1000, 2),
      'per database (ms)': round(ms / DATABASES, 1),
      'Paved ÷ this': side === "Paved's postgres driver" ? '1' : round(times.paved / ms, 2),
    });
    return {
      title: `Provisioning ${DATABASES} PostgreSQL databases (\`provision-postgres\`)`,
      method:
        `${DATABASES} databases with their owner and login roles, one after another, on the local PostgreSQL: through Paved's postgres driver, ` +
        'and with the same statements sent directly with pg over a connection per database and over one connection for all; ' +
        `the three take turns in rounds of ${ROUND}. Dropping them afterwards is not timed.`,
      rows: [
        row("Paved's postgres driver", times.paved),
        row('direct SQL, a connection per database', times.perConnection),
        row('direct SQL, one connection', times.oneConnection),
      ],
      notes: [
        `Target: Paved at most ${TARGET_RATIO}× the direct SQL. Paved also looks up what exists before each step (what makes a retry safe) and computes the SCRAM verifier itself, so the server never sees the password.`,
      ],
    };
  },
};
