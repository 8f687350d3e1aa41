import { describe, expect, it } from 'vitest';
import { credentialsFor, normaliseRegistry, parseImageReference, repoDigestFor } from './image-reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['team/app:v2', { registry: 'docker.io', repository: 'team/app', tag: 'v2' }],
    ['docker.io/team/app', { registry: 'docker.io', repository: 'team/app' }],
    ['index.docker.io/nginx', { registry: 'docker.io', repository: 'library/nginx' }],
    ['ghcr.io/org/app:1', { registry: 'ghcr.io', repository: 'org/app', tag: '1' }],
    ['127.0.0.1:5001/x/y@' + DIGEST, { registry: '127.0.0.1:5001', repository: 'x/y', digest: DIGEST }],
    ['localhost/busybox:paved', { registry: 'localhost', repository: 'busybox', tag: 'paved' }],
    ['host:5000/app:1@' + DIGEST, { registry: 'host:5000', repository: 'app', tag: '1', digest: DIGEST }],
  ])('%s', (reference, parsed) => {
    expect(parseImageReference(reference)).toEqual(parsed);
  });
});

describe('registry credentials and digests', () => {
  const registries = {
    'https://index.docker.io/v1/': { username: 'hub', password: 'p1' },
    '127.0.0.1:5001': { username: 'local', password: 'p2' },
    'GHCR.io/': { username: 'gh', password: 'p3' },
  };

  it('normalises configured server names', () => {
    expect(normaliseRegistry('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseRegistry('registry-1.docker.io')).toBe('docker.io');
    expect(normaliseRegistry('GHCR.io/')).toBe('ghcr.io');
    expect(normaliseRegistry('http://127.0.0.1:5001')).toBe('127.0.0.1:5001');
  });

  it('finds the credentials of the registry a reference points at', () => {
    expect(credentialsFor(registries, parseImageReference('nginx'))?.credentials.username).toBe('hub');
    expect(credentialsFor(registries, parseImageReference('127.0.0.1:5001/a/b:1'))).toEqual({
      server: '127.0.0.1:5001',
      credentials: { username: 'local', password: 'p2' },
    });
    expect(credentialsFor(registries, parseImageReference('ghcr.io/o/a'))?.credentials.username).toBe('gh');
    expect(credentialsFor(registries, parseImageReference('quay.io/o/a'))).toBeUndefined();
    expect(credentialsFor(undefined, parseImageReference('quay.io/o/a'))).toBeUndefined();
  });

  it('records the pinned digest, else the RepoDigests entry of the same repository', () => {
    const other = `sha256:${'b'.repeat(64)}`;
    expect(repoDigestFor(parseImageReference(`ghcr.io/o/a@${DIGEST}`), [`ghcr.io/o/a@${other}`])).toBe(
      DIGEST,
    );
    expect(
      repoDigestFor(parseImageReference('ghcr.io/o/a:1'), [
        `ghcr.io/o/other@${other}`,
        `ghcr.io/o/a@${DIGEST}`,
      ]),
    ).toBe(DIGEST);
    // Docker lists Docker Hub images without the registry.
    expect(repoDigestFor(parseImageReference('docker.io/library/nginx:1'), [`nginx@${DIGEST}`])).toBe(DIGEST);
    expect(repoDigestFor(parseImageReference('ghcr.io/o/a:1'), [])).toBeUndefined();
  });
});
