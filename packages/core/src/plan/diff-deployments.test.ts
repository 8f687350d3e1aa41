import { describe, expect, it } from 'vitest';
import type { RenderedContainer, RenderedWorkload } from '../runtime.js';
import { diffDeployments, formatDeploymentDiff, type DiffableDeployment } from './diff-deployments.js';
import { SECRET_MASK } from './diff-workload.js';

const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;

function container(overrides: Partial<RenderedContainer> = {}): RenderedContainer {
  return {
    image: '.',
    context: { dir: '/work/ctx', hash: HASH_A },
    variables: { NAME: 'web', API_KEY: SECRET_MASK },
    secretVariables: ['API_KEY'],
    files: [],
    volumes: [],
    before: {},
    ...overrides,
  };
}

function rendered(
  name: string,
  overrides: Partial<RenderedContainer> = {},
  extra: Partial<RenderedWorkload> & { images?: unknown[] } = {},
): RenderedWorkload & { images?: unknown[] } {
  return {
    name,
    deployment: 1,
    specHash: 'h',
    containers: { main: container(overrides) },
    ports: { http: { port: 8080, targetPort: 8080, protocol: 'TCP' } },
    ...extra,
  };
}

function scoreWorkload(name: string, overrides: Partial<DiffableDeployment['workloads'][number]> = {}) {
  return {
    name,
    score: `metadata:\n  name: ${name}\n`,
    contexts: { main: HASH_A },
    fileSources: {},
    images: {},
    ...overrides,
  };
}

function resourceNode(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    kind: 'resource',
    type: id.split('.')[0],
    class: 'default',
    resId: id.split('#')[1],
    shared: false,
    claims: [],
    params: {},
    metadata: {},
    references: {},
    definition: { name: 'dev-postgres', version: 1 },
    driver: 'postgres',
    ...overrides,
  };
}

function deployment(overrides: Partial<DiffableDeployment> = {}): DiffableDeployment {
  return {
    app: 'shop',
    env: 'dev',
    number: 7,
    setId: HASH_A,
    workloads: [scoreWorkload('web')],
    rendered: [rendered('web')],
    graph: { nodes: [resourceNode('postgres.default#web.db')], edges: [] },
    ...overrides,
  };
}

describe('diffDeployments', () => {
  it('says two equal records are identical, and prints so', () => {
    const diff = diffDeployments(deployment(), deployment({ number: 9 }));
    expect(diff).toMatchObject({ identical: true, sameSet: true, workloads: [], resources: [], notes: [] });
    expect(formatDeploymentDiff(diff)).toContain('No differences in workloads or resources.');
  });

  it('finds workloads added and removed', () => {
    const diff = diffDeployments(
      deployment(),
      deployment({
        number: 9,
        setId: HASH_B,
        workloads: [scoreWorkload('api')],
        rendered: [rendered('api')],
      }),
    );
    expect(diff.workloads).toEqual([
      { name: 'api', change: 'added', changes: [] },
      { name: 'web', change: 'removed', changes: [] },
    ]);
    expect(diff.sameSet).toBe(false);
    const text = formatDeploymentDiff(diff);
    expect(text).toContain('+ workload api (added)');
    expect(text).toContain('- workload web (removed)');
  });

  it('reports code, Score file, image overrides and file sources of a changed workload', () => {
    const diff = diffDeployments(
      deployment(),
      deployment({
        number: 9,
        workloads: [
          scoreWorkload('web', {
            score: 'metadata:\n  name: web\n# changed\n',
            contexts: { main: HASH_B },
            images: { sidecar: 'redis:7' },
            fileSources: { './nginx.conf': 'listen 80;' },
          }),
        ],
        rendered: [rendered('web', { context: { dir: '/work/other', hash: HASH_B } })],
      }),
    );
    const [web] = diff.workloads;
    expect(web?.change).toBe('changed');
    const fields = web?.changes.map((item) => item.field);
    expect(fields).toEqual(['code.main', 'score', 'imageOverrides.sidecar', 'fileSources../nginx.conf']);
    expect(web?.changes[0]).toEqual({ field: 'code.main', before: HASH_A, after: HASH_B });
    expect(web?.changes[1]?.before).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(web?.changes[3]).toEqual({ field: 'fileSources../nginx.conf', after: '10 bytes' });
    expect(formatDeploymentDiff(diff)).toContain(
      '~ workload web: code.main sha256:aaaaaaaaaaaa… → sha256:bbbbbbbbbbbb… (code changed)',
    );
  });

  it('reports image references and digests as the target recorded them', () => {
    const image = (digest: string) => [
      { container: 'main', reference: 'localhost/web:1', digest: `sha256:${digest.repeat(64)}` },
    ];
    const diff = diffDeployments(
      deployment({ rendered: [rendered('web', {}, { images: image('1') })] }),
      deployment({ number: 9, rendered: [rendered('web', {}, { images: image('2') })] }),
    );
    expect(diff.workloads[0]?.changes).toEqual([
      {
        field: 'images.main',
        before: `localhost/web:1@sha256:${'1'.repeat(64)}`,
        after: `localhost/web:1@sha256:${'2'.repeat(64)}`,
      },
    ]);
    expect(formatDeploymentDiff(diff)).toContain(
      '~ workload web: images.main localhost/web:1@sha256:111111111111… → localhost/web:1@sha256:222222222222…',
    );
  });

  it('reports rendered variables, files, ports and limits', () => {
    const diff = diffDeployments(
      deployment(),
      deployment({
        number: 9,
        rendered: [
          rendered(
            'web',
            {
              variables: { NAME: 'web2', API_KEY: SECRET_MASK },
              files: [{ target: '/etc/app.conf', content: 'a=1' }],
              limits: { memory: '256Mi' },
            },
            { ports: { http: { port: 9090, targetPort: 8080, protocol: 'TCP' } } },
          ),
        ],
      }),
    );
    expect(diff.workloads[0]?.changes).toEqual([
      { field: 'containers.main.variables.NAME', before: 'web', after: 'web2' },
      { field: 'containers.main.files./etc/app.conf', after: '"a=1"' },
      { field: 'containers.main.limits', after: '{"memory":"256Mi"}' },
      {
        field: 'ports.http',
        before: '{"port":8080,"protocol":"TCP","targetPort":8080}',
        after: '{"port":9090,"protocol":"TCP","targetPort":8080}',
      },
    ]);
  });

  it('never reveals a secret: masked values compare equal, and added or removed keys show only the mask', () => {
    // What a record would hold if a value ever slipped through unmasked must not leak either.
    const before = deployment({
      rendered: [rendered('web', { variables: { NAME: 'web', API_KEY: 'old-secret-value' } })],
    });
    const after = deployment({
      number: 9,
      rendered: [
        rendered('web', {
          variables: { NAME: 'web', API_KEY: 'new-secret-value', TOKEN: 'token-secret-value' },
          secretVariables: ['API_KEY', 'TOKEN'],
          files: [{ target: '/run/secret', content: SECRET_MASK, secret: true }],
        }),
      ],
    });
    const diff = diffDeployments(before, after);
    const text = `${JSON.stringify(diff)}\n${formatDeploymentDiff(diff)}`;
    expect(text).not.toMatch(/secret-value/);
    expect(diff.workloads[0]?.changes).toEqual([
      { field: 'containers.main.variables.API_KEY', before: SECRET_MASK, after: SECRET_MASK },
      { field: 'containers.main.variables.TOKEN', after: SECRET_MASK },
      { field: 'containers.main.files./run/secret', after: SECRET_MASK },
    ]);

    // Both masked, as the server stores them: no change is claimed.
    const masked = diffDeployments(deployment(), deployment({ number: 9 }));
    expect(masked.identical).toBe(true);
  });

  it('finds resources added, removed and with a new definition version, driver or params', () => {
    const diff = diffDeployments(
      deployment({
        graph: {
          nodes: [
            resourceNode('postgres.default#web.db'),
            resourceNode('redis.default#web.cache', { driver: 'redis' }),
            { id: 'workload:web', kind: 'workload', workload: 'web' },
          ],
          edges: [],
        },
      }),
      deployment({
        number: 9,
        graph: {
          nodes: [
            resourceNode('postgres.default#web.db', {
              definition: { name: 'dev-postgres', version: 2 },
              params: { version: 16 },
            }),
            resourceNode('dns.default#web.dns', { driver: 'dns' }),
          ],
          edges: [],
        },
      }),
    );
    expect(diff.resources).toEqual([
      { uid: 'dns.default#web.dns', change: 'added', changes: [] },
      {
        uid: 'postgres.default#web.db',
        change: 'changed',
        changes: [
          { field: 'definition', before: 'dev-postgres v1', after: 'dev-postgres v2' },
          { field: 'params', after: '{"version":16}' },
        ],
      },
      { uid: 'redis.default#web.cache', change: 'removed', changes: [] },
    ]);
    const text = formatDeploymentDiff(diff);
    expect(text).toContain('+ resource dns.default#web.dns (added)');
    expect(text).toContain(
      '~ resource postgres.default#web.db: definition dev-postgres v1 → dev-postgres v2',
    );
  });

  it('compares across environments and says what it could not compare', () => {
    const diff = diffDeployments(
      deployment({ env: 'staging', number: 12 }),
      deployment({ env: 'production', number: 4, rendered: undefined, graph: undefined }),
    );
    expect(diff.from).toEqual({ app: 'shop', env: 'staging', number: 12, setId: HASH_A });
    expect(diff.to.env).toBe('production');
    expect(diff.identical).toBe(true);
    expect(diff.notes).toEqual([
      expect.stringMatching(/^deployment 4 of shop\/production has no rendered spec/),
      expect.stringMatching(/^deployment 4 of shop\/production has no resource graph/),
    ]);
    expect(formatDeploymentDiff(diff)).toMatch(/^From deployment 12 of shop\/staging/);
  });
});
