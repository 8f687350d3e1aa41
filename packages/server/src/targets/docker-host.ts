/**
 * Where the built-in `docker` target finds a Docker Engine API (Docker's own daemon, or Podman's
 * `podman system service`), and what a configured `spec.docker.host` may look like.
 */
import { findDockerHost, usualDockerSockets } from '@paved/runtimes';

/** `unix:///absolute/path` or `tcp://host:port` (an IPv6 host in brackets). */
export const DOCKER_HOST_PATTERN = /^(unix:\/\/\/\S+|tcp:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):[0-9]{1,5})$/;

/** The socket paths looked at, in order, after `DOCKER_HOST` (the docker runtime's own list). */
export function dockerSocketCandidates(env: Readonly<Record<string, string | undefined>>): string[] {
  return usualDockerSockets(env);
}

/** How auto-detection looks, for messages: `DOCKER_HOST, /var/run/docker.sock, …`. */
export function describeDockerDetection(env: Readonly<Record<string, string | undefined>>): string {
  return ['DOCKER_HOST', ...dockerSocketCandidates(env)].join(', ');
}

/**
 * The Docker host found on this machine: `DOCKER_HOST` when set, else the first of the usual
 * socket paths that is a socket, as `unix://<path>`; undefined when there is none. The docker
 * runtime's own detection, so the server and the runtime never disagree.
 *
 * @example
 * detectDockerHost({ XDG_RUNTIME_DIR: '/run/user/1000' }); // 'unix:///run/user/1000/podman/podman.sock'
 */
export function detectDockerHost(
  env: Readonly<Record<string, string | undefined>> = process.env,
  isSocket?: (path: string) => boolean,
): string | undefined {
  return findDockerHost(env, isSocket);
}
