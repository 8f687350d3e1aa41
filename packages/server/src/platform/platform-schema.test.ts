import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { PLATFORM_SCHEMA_FILE, platformFileDocumentSchema, platformJsonSchema } from './platform-schema.js';

const ROOT = new URL('../../../../', import.meta.url);

describe('the published paved.dev/v1 JSON schema', () => {
  it('is committed as generated: run "npm run schema" when this fails', async () => {
    const committed: unknown = JSON.parse(await readFile(new URL(PLATFORM_SCHEMA_FILE, ROOT), 'utf8'));
    expect(committed, `${PLATFORM_SCHEMA_FILE} is out of date: run "npm run schema" and commit it`).toEqual(
      platformJsonSchema(),
    );
  });

  it('describes files as written: secrets as references, without what the CLI adds', () => {
    const document = {
      apiVersion: 'paved.dev/v1',
      kind: 'ResourceDefinition',
      metadata: { name: 'dev-postgres' },
      spec: {
        type: 'postgres',
        driver: 'echo',
        inputs: { values: { port: 5432 }, secrets: { password: { env: 'PG_PASSWORD' } } },
        criteria: [{ env_type: 'development' }],
      },
    };
    expect(platformFileDocumentSchema.safeParse(document).success).toBe(true);
    const plain = { ...document, spec: { ...document.spec, inputs: { secrets: { password: 'hunter2' } } } };
    expect(platformFileDocumentSchema.safeParse(plain).success).toBe(false);
    expect(platformFileDocumentSchema.safeParse({ ...document, file: 'x.yaml' }).success).toBe(false);
    expect(
      platformFileDocumentSchema.safeParse({
        apiVersion: 'paved.dev/v1',
        kind: 'EnvironmentType',
        metadata: { name: 'qa' },
        spec: { position: 2, defaultTtl: '48h', requiresDeployer: true },
      }).success,
    ).toBe(true);
    const docker = {
      apiVersion: 'paved.dev/v1',
      kind: 'Target',
      metadata: { name: 'staging-docker' },
      spec: {
        type: 'docker',
        docker: { registries: { 'ghcr.io': { username: 'ci', password: { env: 'GHCR_TOKEN' } } } },
      },
    };
    expect(platformFileDocumentSchema.safeParse(docker).success).toBe(true);
    expect(
      platformFileDocumentSchema.safeParse({
        ...docker,
        spec: { type: 'docker', docker: { nodeImage: 'node:20', sandboxImage: 'busybox:1.36' } },
      }).success,
    ).toBe(true);
    const spaced = platformFileDocumentSchema.safeParse({
      ...docker,
      spec: { type: 'docker', docker: { nodeImage: 'node 20' } },
    });
    expect(spaced.success).toBe(false);
    expect(JSON.stringify(spaced.error?.issues)).toContain(
      'spec.docker.nodeImage must be an image reference without spaces',
    );
    expect(
      platformFileDocumentSchema.safeParse({
        ...docker,
        spec: {
          type: 'docker',
          docker: { registries: { 'ghcr.io': { username: 'ci', password: 'hunter2' } } },
        },
      }).success,
    ).toBe(false);
    expect(
      platformFileDocumentSchema.safeParse({
        ...docker,
        spec: { type: 'kubernetes', kubernetes: { context: 'x' } },
      }).success,
    ).toBe(false);
    expect(
      platformFileDocumentSchema.safeParse({
        ...docker,
        spec: { type: 'kubernetes', kubernetes: { kubeconfig: { file: './kubeconfig' } } },
      }).success,
    ).toBe(true);
    const schema = platformJsonSchema();
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(JSON.stringify(schema)).not.toMatch(/secretRefs|"line"/);
  });
});
