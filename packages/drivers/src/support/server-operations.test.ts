import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PavedError } from '@paved/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abortable,
  dumpFile,
  findExecutable,
  runDumpTool,
  serverStep,
  type ServerRef,
} from './server-operations.js';

const ref: ServerRef = {
  driver: 'postgres',
  server: 'PostgreSQL at db:5432',
  adminUser: 'paved',
  secrets: ['s3cret-admin'],
};

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'paved-server-operations-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('abortable', () => {
  it('rejects with the reason as soon as the signal aborts, and stops the work', async () => {
    const controller = new AbortController();
    let stopped = false;
    const pending = abortable(controller.signal, new Promise(() => undefined), () => {
      stopped = true;
    });
    const reason = new Error('cancelled');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(stopped).toBe(true);
  });

  it('settles with the work otherwise', async () => {
    await expect(abortable(new AbortController().signal, Promise.resolve(42), () => undefined)).resolves.toBe(
      42,
    );
  });
});

describe('serverStep', () => {
  const step = (seconds: number, signal = new AbortController().signal) => ({
    ref,
    signal,
    seconds,
    doing: 'create role "x"',
    stop: () => undefined,
    classify: () => 'privilege' as const,
    fix: (kind: string) => (kind === 'privilege' ? 'grant CREATEROLE' : undefined),
  });

  it('fails saying it timed out, naming the server and the inputs to raise', async () => {
    const error = (await serverStep(step(0.05), new Promise(() => undefined)).catch(
      (e: unknown) => e,
    )) as PavedError;
    expect(error).toBeInstanceOf(PavedError);
    expect(error.code).toBe('DRIVER_FAILED');
    expect(error.message).toMatch(/create role "x" on PostgreSQL at db:5432 timed out .*timeoutSeconds/);
  });

  it('turns a failure into an error naming the server, with the advice for its kind, secrets masked', async () => {
    const failure = Promise.reject(new Error('permission denied for s3cret-admin'));
    const error = (await serverStep(step(5), failure).catch((e: unknown) => e)) as PavedError;
    expect(error.message).toBe(
      'driver "postgres": admin user "paved" on PostgreSQL at db:5432 may not create role "x" (permission denied for ***): grant CREATEROLE',
    );
    expect(String((error.cause as Error).message)).not.toContain('s3cret-admin');
  });

  it("gives a statement's own advice only when the server answered, not when the connection was lost", async () => {
    const lost = { ...step(5), classify: () => 'unreachable' as const, fix: 'grant CREATEROLE' };
    const error = (await serverStep(
      lost,
      Promise.reject(new Error('Connection terminated unexpectedly')),
    ).catch((e: unknown) => e)) as PavedError;
    expect(error.message).toMatch(/cannot reach PostgreSQL at db:5432 .*inputs host and port/);
    expect(error.message).not.toContain('grant CREATEROLE');
    const refused = { ...lost, classify: () => 'privilege' as const };
    const denied = (await serverStep(refused, Promise.reject(new Error('permission denied'))).catch(
      (e: unknown) => e,
    )) as PavedError;
    expect(denied.message).toMatch(/: grant CREATEROLE$/);
  });

  it("rejects with the caller's reason when cancelled", async () => {
    const controller = new AbortController();
    const reason = new Error('deployment cancelled');
    const pending = serverStep(step(5, controller.signal), new Promise(() => undefined));
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });
});

describe('dump files and tools', () => {
  it('names dumps after the resource and the time, within file-name limits, in a private folder', async () => {
    const long = `paved_${'x'.repeat(240)}_abcdefghij`;
    const file = await dumpFile(join(dir, 'dumps'), long, 'definitions.json');
    expect(Buffer.byteLength(basename(file))).toBeLessThanOrEqual(255);
    expect(basename(file).startsWith('paved_xxx')).toBe(true);
    expect(basename(file)).toContain('_abcdefghij-');
    expect((await stat(join(dir, 'dumps'))).mode & 0o777).toBe(0o700);
    const again = await dumpFile(join(dir, 'dumps'), 'paved_db', 'dump');
    expect(again).toMatch(/paved_db-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.dump$/);
  });

  it('finds executables on the PATH', async () => {
    expect(await findExecutable(['no-such-tool-here', 'sh'])).toMatch(/\/sh$/);
    expect(await findExecutable(['no-such-tool-here'])).toBeUndefined();
  });

  it('reports a failed tool with its error output, secrets masked, and removes the partial file', async () => {
    const output = join(dir, 'partial.dump');
    await writeFile(output, 'half');
    const error = (await runDumpTool('sh', ['-c', 'echo "auth failed for s3cret-admin" >&2; exit 3'], {
      env: {},
      output,
      secrets: ref.secrets,
      signal: new AbortController().signal,
    }).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe('sh exited with 3: auth failed for ***');
    await expect(stat(output)).rejects.toThrow();
  });

  it('passes secrets through the environment only, and not the server’s own environment', async () => {
    process.env.PAVED_TEST_OWN_SECRET = 'not-for-children';
    const output = join(dir, 'env.txt');
    try {
      await runDumpTool('sh', ['-c', `printf '%s|%s' "$PGPASSWORD" "$PAVED_TEST_OWN_SECRET" > ${output}`], {
        env: { PGPASSWORD: 'given' },
        output,
        secrets: [],
        signal: new AbortController().signal,
      });
      expect(await readFile(output, 'utf8')).toBe('given|');
    } finally {
      delete process.env.PAVED_TEST_OWN_SECRET;
    }
  });

  it('kills the tool when cancelled', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = runDumpTool('sh', ['-c', 'sleep 30'], {
      env: {},
      output: join(dir, 'never.dump'),
      secrets: [],
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('cancelled')), 50);
    await expect(pending).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
