/**
 * What the shared-server drivers do alike: cancellable operations, errors that name the server and
 * the definition input to fix, and dumps written by the server's own dump tool.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PavedError } from '@paved/core';
import { redact } from './shared-credentials.js';

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it is aborted, calling
 * `onAbort` to stop the work (close the connection, kill the process).
 */
export async function abortable<T>(signal: AbortSignal, work: Promise<T>, onAbort: () => void): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    onAbort();
    throw signal.reason;
  }
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => {
      onAbort();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', stop, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

/** Which server a driver talks to, for error messages: `PostgreSQL at 127.0.0.1:5432`. */
export interface ServerRef {
  driver: string;
  server: string;
  adminUser: string;
  /** Secrets that must not appear in any message (admin password, generated passwords). */
  secrets: readonly (string | undefined)[];
}

function plainCause(error: unknown, secrets: ServerRef['secrets']): Error {
  // Never attach the client library's error itself: some carry the statement they ran.
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const plain = new Error(redact(message, secrets));
  if (typeof code === 'string' || typeof code === 'number') Object.assign(plain, { code });
  return plain;
}

export type ServerFailureKind = 'unreachable' | 'timeout' | 'authentication' | 'privilege' | 'failed';

/**
 * A DRIVER_FAILED error: what went wrong, on which server, and what to change. The client's own
 * message is kept (redacted) as the reason; secrets never appear.
 */
export function serverFailure(
  ref: ServerRef,
  kind: ServerFailureKind,
  doing: string,
  error: unknown,
  fix?: string,
): PavedError {
  const reason = redact(error instanceof Error ? error.message : String(error), ref.secrets);
  const what = {
    unreachable: `cannot reach ${ref.server} (${reason})`,
    timeout: `${doing} on ${ref.server} timed out (${reason})`,
    authentication: `${ref.server} refused admin user "${ref.adminUser}" (${reason})`,
    privilege: `admin user "${ref.adminUser}" on ${ref.server} may not ${doing} (${reason})`,
    failed: `${doing} on ${ref.server} failed (${reason})`,
  }[kind];
  const advice =
    fix ??
    {
      unreachable:
        "check the definition's inputs host and port, and that the server runs and is reachable from the Paved server",
      timeout:
        "check the definition's inputs host and port and that the server answers, or raise its input connectTimeoutSeconds or timeoutSeconds",
      authentication:
        "check the definition's inputs adminUser and adminPassword (the password a secret input)",
      privilege: "give the admin user the privilege, or set the definition's adminUser to one that has it",
      failed: 'see the reason; the next deploy retries and finishes the work',
    }[kind];
  return new PavedError('DRIVER_FAILED', `driver "${ref.driver}": ${what}: ${advice}`, {
    cause: plainCause(error, ref.secrets),
    details: { driver: ref.driver, server: ref.server, kind },
  });
}

/**
 * One step against a server (connecting, a statement, a request): cancelled with the caller's
 * signal (rejecting with its reason), limited to `seconds`, and failing with a clear error.
 * `stop` ends the work (closes the connection) when either fires.
 */
export async function serverStep<T>(
  step: {
    ref: ServerRef;
    signal: AbortSignal;
    seconds: number;
    doing: string;
    stop: () => void;
    classify: (error: unknown) => ServerFailureKind;
    /**
     * What to do, when the generic advice for the kind of failure is not enough. A string is the
     * statement's own advice (a privilege to grant, objects to drop): it applies when the server
     * answered with a refusal or an error, not when the connection was lost or the admin refused,
     * where the generic advice (host and port, credentials) is the right one.
     */
    fix?: string | ((kind: ServerFailureKind) => string | undefined) | undefined;
  },
  work: Promise<T>,
): Promise<T> {
  const timeout = AbortSignal.timeout(step.seconds * 1000);
  try {
    return await abortable(AbortSignal.any([step.signal, timeout]), work, step.stop);
  } catch (error) {
    if (step.signal.aborted) throw step.signal.reason;
    if (timeout.aborted) {
      throw serverFailure(step.ref, 'timeout', step.doing, new Error(`no answer within ${step.seconds} s`));
    }
    const kind = step.classify(error);
    const fix =
      typeof step.fix === 'function'
        ? step.fix(kind)
        : kind === 'privilege' || kind === 'failed'
          ? step.fix
          : undefined;
    throw serverFailure(step.ref, kind, step.doing, error, fix);
  }
}

/** Where dumps go when neither the request nor the driver's options name a directory. */
export function defaultDumpDir(): string {
  return join(tmpdir(), 'paved-dumps');
}

/**
 * A new file name for a dump of `name` in `dir` (created, mode 0700), stamped with the time so a
 * second dump never overwrites the first. Long names are shortened keeping their ends.
 */
export async function dumpFile(dir: string, name: string, extension: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  // File names stop at 255 bytes; a long name keeps its start and its end (the hash).
  const short = name.length <= 150 ? name : `${name.slice(0, 120)}-${name.slice(-20)}`;
  return join(dir, `${short}-${stamp}.${extension}`);
}

/** The first of `candidates` found on the PATH, or undefined. */
export async function findExecutable(candidates: readonly string[]): Promise<string | undefined> {
  const folders = (process.env.PATH ?? '').split(delimiter).filter((folder) => folder !== '');
  for (const candidate of candidates) {
    for (const folder of folders) {
      const path = join(folder, candidate);
      try {
        await access(path, constants.X_OK);
        return path;
      } catch {
        // not in this folder
      }
    }
  }
  return undefined;
}

/**
 * Runs a dump tool with a minimal environment. Secrets go through `env` (never the arguments,
 * which every user of the machine can read); its standard error, redacted, becomes the error when
 * it fails. A failed or aborted dump removes the partial file.
 */
export async function runDumpTool(
  command: string,
  args: readonly string[],
  options: {
    env: Record<string, string>;
    output: string;
    secrets: ServerRef['secrets'];
    signal: AbortSignal;
  },
): Promise<void> {
  options.signal.throwIfAborted();
  // Only what the tool needs: the Paved server's own environment may hold secrets of its own.
  const inherited = Object.fromEntries(
    ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR']
      .map((key) => [key, process.env[key]] as const)
      .filter((entry): entry is readonly [string, string] => entry[1] !== undefined),
  );
  const child = spawn(command, args, {
    env: { ...inherited, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 16_384) stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  try {
    const code = await abortable(options.signal, exited, () => child.kill('SIGKILL'));
    if (code !== 0) {
      throw new Error(`${command} exited with ${code}: ${redact(stderr.trim(), options.secrets)}`);
    }
  } catch (error) {
    await rm(options.output, { force: true });
    throw error;
  }
}
