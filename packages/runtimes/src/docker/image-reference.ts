/**
 * Image references as the Docker CLI reads them: `[registry/]repository[:tag][@digest]`, where the
 * first path part is a registry only when it has a `.` or `:` or is `localhost`; otherwise the
 * image is on Docker Hub (`docker.io`, `library/` for single names).
 */

export interface ImageReference {
  /** Registry host[:port], `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path without the registry, e.g. `library/nginx`, `team/app`. */
  repository: string;
  tag?: string;
  /** `sha256:…` when the reference pins a digest. */
  digest?: string;
}

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

export function parseImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  const hasRegistry = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = hasRegistry ? first : DOCKER_HUB;
  let repository = hasRegistry ? rest.slice(slash + 1) : rest;
  if (DOCKER_HUB_ALIASES.has(registry)) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** Normalises a configured registry key (`https://index.docker.io/v1/`, `ghcr.io`, `host:5000/`). */
export function normaliseRegistry(server: string): string {
  const host = server
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** The credentials configured for the registry a reference points at, if any. */
export function credentialsFor<T>(
  registries: Record<string, T> | undefined,
  reference: ImageReference,
): { server: string; credentials: T } | undefined {
  for (const [server, credentials] of Object.entries(registries ?? {})) {
    if (normaliseRegistry(server) === reference.registry.toLowerCase()) return { server, credentials };
  }
  return undefined;
}

/**
 * The digest of a pulled image as recorded by the engine for the reference's repository
 * (`RepoDigests` entries are `registry/repository@sha256:…`, Docker Hub ones without `docker.io/`).
 */
export function repoDigestFor(
  reference: ImageReference,
  repoDigests: string[] | undefined,
): string | undefined {
  if (reference.digest !== undefined) return reference.digest;
  for (const entry of repoDigests ?? []) {
    const parsed = parseImageReference(entry);
    if (parsed.registry === reference.registry && parsed.repository === reference.repository)
      return parsed.digest;
  }
  return undefined;
}
