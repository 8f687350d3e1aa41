/**
 * Where the Docker Engine API answers: a unix socket (Docker's, or Podman's `podman system service`)
 * or a plain TCP address. Configuration wins, then `DOCKER_HOST`, then the usual socket paths.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { PavedError } from '@paved/core';
import type { DockerOptions } from 'dockerode';

/** The socket paths tried, in order, when neither configuration nor `DOCKER_HOST` names one. */
export function usualDockerSockets(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const sockets = ['/var/run/docker.sock', '/run/podman/podman.sock'];
  if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== '') {
    sockets.push(join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
  }
  return sockets;
}

/**
 * The engine address to use when a target names none: `DOCKER_HOST`, else the first of the usual
 * Docker and Podman sockets that exists; undefined when there is none (no `docker` target then).
 *
 * @example
 * const host = findDockerHost(); // 'unix:///var/run/docker.sock'
 * if (host !== undefined) runtimes.set('docker', new DockerRuntime({ name: 'docker', host }));
 */
export function findDockerHost(
  env: Readonly<Record<string, string | undefined>> = process.env,
  isSocket: (path: string) => boolean = socketExists,
): string | undefined {
  const configured = env.DOCKER_HOST?.trim();
  if (configured !== undefined && configured !== '') return configured;
  const found = usualDockerSockets(env).find((path) => isSocket(path));
  return found === undefined ? undefined : `unix://${found}`;
}

/** dockerode connection options for `unix:///path` or `tcp://host:port` (no TLS). */
export function dockerConnection(host: string): DockerOptions {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (socketPath.startsWith('/')) return { socketPath };
  } else if (host.startsWith('/')) {
    return { socketPath: host };
  } else if (host.startsWith('tcp://') || host.startsWith('http://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    if (url.hostname !== '' && url.pathname === '/') {
      return { protocol: 'http', host: url.hostname, port: Number(url.port === '' ? 2375 : url.port) };
    }
  }
  throw new PavedError(
    'INVALID_INPUT',
    `docker target: engine address "${host}" is not understood; use unix:///path/to/docker.sock or tcp://host:port (TLS connections are not supported; use a unix socket or an SSH tunnel)`,
  );
}

function socketExists(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}
