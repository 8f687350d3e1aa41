/**
 * Turning what dockerode throws into PavedErrors that say what failed and what to do. dockerode
 * reports engine answers as errors with `statusCode` and the engine's `json.message`, and
 * connection failures as Node socket errors (`ENOENT`, `ECONNREFUSED`, `EACCES`).
 */
import { PavedError } from '@paved/core';

interface EngineErrorShape {
  statusCode?: number;
  code?: string;
  json?: unknown;
  reason?: string;
  message?: string;
}

const CONNECTION_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ECONNRESET', 'ETIMEDOUT']);

export function engineStatus(error: unknown): number | undefined {
  return (error as EngineErrorShape | undefined)?.statusCode;
}

export function isNotFound(error: unknown): boolean {
  return engineStatus(error) === 404;
}

/** True when the engine could not be reached at all (no socket, refused, no permission). */
function isUnreachable(error: unknown): boolean {
  const code = (error as EngineErrorShape | undefined)?.code;
  return code !== undefined && CONNECTION_CODES.has(code) && engineStatus(error) === undefined;
}

/** The engine's own words: its JSON `message`, else the error's message, on one line. */
export function engineMessage(error: unknown): string {
  const shape = error as EngineErrorShape | undefined;
  const json = shape?.json;
  let message: string | undefined;
  if (
    typeof json === 'object' &&
    json !== null &&
    typeof (json as { message?: unknown }).message === 'string'
  ) {
    message = (json as { message: string }).message;
  } else if (typeof json === 'string' && json.trim() !== '') {
    message = json;
  }
  message ??= shape?.message ?? String(error);
  return message.replace(/\s+/g, ' ').trim();
}

/** The PavedError for an unreachable engine, naming the address and what to do. */
export function unreachableError(target: string, host: string, error: unknown): PavedError {
  const code = (error as EngineErrorShape | undefined)?.code ?? 'no answer';
  const hint =
    code === 'EACCES' || code === 'EPERM'
      ? 'give the server user access to the socket (e.g. the docker group)'
      : 'start Docker or `podman system service`, or point the target at the right socket (its host option or DOCKER_HOST)';
  return new PavedError(
    'UNAVAILABLE',
    `docker target "${target}": the container engine at ${host} cannot be reached (${code}); ${hint}`,
    { cause: error },
  );
}

/**
 * Wraps any engine failure: unreachable → UNAVAILABLE naming the address; a PavedError passes
 * through; anything else → TARGET_FAILED with `what` (e.g. `workload "web": creating container
 * "main"`) and the engine's message.
 */
export function engineError(target: string, host: string, what: string, error: unknown): PavedError {
  if (error instanceof PavedError) return error;
  if (isUnreachable(error)) {
    const unreachable = unreachableError(target, host, error);
    return new PavedError('UNAVAILABLE', `${what}: ${unreachable.message}`, { cause: error });
  }
  return new PavedError('TARGET_FAILED', `${what}: the container engine answered: ${engineMessage(error)}`, {
    cause: error,
  });
}
