/**
 * Images by reference from a registry that wants credentials: the local `docker-registry` with
 * htpasswd authentication that `scripts/setup-test-env.sh` runs on 127.0.0.1:5001 (plain HTTP,
 * listed as insecure for the engine). The test pushes an image of its own there through the
 * Engine API, removes it from the engine, and deploys it by digest, so the runtime must pull it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnvironmentRef, RenderedWorkload, RuntimeEvent } from '@paved/core';
import { contextTar } from './build-context.js';
import { DockerRuntime } from './docker-runtime.js';
import {
  BUSYBOX_IMAGE,
  ownedObjects,
  TEST_DOCKER_HOST,
  TEST_REGISTRY,
  TEST_REGISTRY_PASSWORD,
  TEST_REGISTRY_USER,
  testDocker,
  uniqueTargetName,
} from './testing/test-engine.js';

const docker = testDocker();
const auth = { username: TEST_REGISTRY_USER, password: TEST_REGISTRY_PASSWORD, serveraddress: TEST_REGISTRY };
const basic = `Basic ${Buffer.from(`${TEST_REGISTRY_USER}:${TEST_REGISTRY_PASSWORD}`).toString('base64')}`;

interface Progress {
  status?: string;
  stream?: string;
  error?: string;
  aux?: { Digest?: string };
}

function follow(stream: NodeJS.ReadableStream): Promise<Progress[]> {
  return new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, output: Progress[]) =>
      error === null ? resolve(output) : reject(error),
    ),
  );
}

describe('DockerRuntime with an authenticating registry', () => {
  const target = uniqueTargetName('registry');
  const app = uniqueTargetName('reg');
  const repository = `paved-test/${uniqueTargetName('image')}`;
  const tag = `${TEST_REGISTRY}/${repository}:v1`;
  let digest = '';
  let byDigest = '';
  let counter = 0;
  const nextEnv = (): EnvironmentRef => ({ app, env: `r${(counter += 1)}` });

  const workload = (image: string): RenderedWorkload => ({
    name: 'web',
    deployment: 1,
    specHash: image,
    containers: {
      main: {
        image,
        command: ['sleep', '600'],
        variables: {},
        secretVariables: [],
        files: [],
        volumes: [],
        before: {},
      },
    },
    ports: {},
  });
  const runtimeWith = (password: string | undefined): DockerRuntime =>
    new DockerRuntime({
      name: target,
      host: TEST_DOCKER_HOST,
      readinessTimeoutMs: 8000,
      probeIntervalMs: 250,
      graceMs: 1000,
      ...(password === undefined
        ? {}
        : { registries: { [TEST_REGISTRY]: { username: TEST_REGISTRY_USER, password } } }),
    });
  const deploy = async (
    runtime: DockerRuntime,
    env: EnvironmentRef,
    image: string,
    events: RuntimeEvent[] = [],
  ) =>
    (
      await runtime.apply(
        await runtime.plan(env, [workload(image)]),
        (event) => events.push(event),
        new AbortController().signal,
      )
    ).workloads[0];
  /** Removes the pushed image from the engine, so that a deployment has to pull it. */
  const removeLocal = async (): Promise<void> => {
    const images = await docker.listImages({ filters: { reference: [`${TEST_REGISTRY}/${repository}`] } });
    for (const image of images)
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await expect(docker.getImage(byDigest).inspect()).rejects.toMatchObject({ statusCode: 404 });
  };

  beforeAll(async () => {
    // An image that exists nowhere else: a busybox layer with a file of its own.
    const dir = mkdtempSync(join(tmpdir(), 'paved-registry-image-'));
    writeFileSync(join(dir, 'Containerfile'), `FROM ${BUSYBOX_IMAGE}\nCOPY id /id\n`);
    writeFileSync(join(dir, 'id'), randomBytes(16).toString('hex'));
    await follow(await docker.buildImage(contextTar(dir), { t: tag, dockerfile: 'Containerfile' }));
    rmSync(dir, { recursive: true, force: true });
    const pushed = await follow(await docker.getImage(tag).push({ authconfig: auth }));
    const failed = pushed.find((event) => event.error !== undefined);
    expect(failed?.error).toBeUndefined();
    digest =
      /digest: (sha256:[0-9a-f]{64})/.exec(pushed.map((event) => event.status ?? '').join('\n'))?.[1] ?? '';
    expect(digest).toMatch(/^sha256:/);
    byDigest = `${TEST_REGISTRY}/${repository}@${digest}`;
    await removeLocal();
  });

  afterAll(async () => {
    if (digest === '') return;
    await removeLocal().catch(() => undefined);
    await fetch(`http://${TEST_REGISTRY}/v2/${repository}/manifests/${digest}`, {
      method: 'DELETE',
      headers: { authorization: basic },
    });
    expect(await ownedObjects(docker, target)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
      images: [],
    });
  });

  it('pulls an image by digest with the target credentials and records the digest', async () => {
    const runtime = runtimeWith(TEST_REGISTRY_PASSWORD);
    const env = nextEnv();
    try {
      const events: RuntimeEvent[] = [];
      const outcome = await deploy(runtime, env, byDigest, events);
      expect(outcome, JSON.stringify(outcome)).toMatchObject({
        ok: true,
        images: [{ container: 'main', reference: byDigest, digest }],
      });
      expect(events.filter((event) => event.type === 'image.pull').map((event) => event.message)).toEqual([
        `pulling ${byDigest} from ${TEST_REGISTRY} as ${TEST_REGISTRY_USER}`,
        `pulled ${byDigest}`,
      ]);
      expect((await runtime.status(env))[0]).toMatchObject({
        ready: true,
        containers: [{ image: byDigest, state: 'running' }],
      });
    } finally {
      await runtime.destroy(env);
      await runtime.close();
    }
  });

  it('fails clearly on a wrong password, naming the registry and never the password', async () => {
    await removeLocal();
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const runtime = runtimeWith(wrong);
    const env = nextEnv();
    try {
      const events: RuntimeEvent[] = [];
      const outcome = await deploy(runtime, env, byDigest, events);
      expect(outcome).toMatchObject({
        ok: false,
        error: expect.stringContaining(
          `workload "web" container "main": registry ${TEST_REGISTRY} refused to serve image "${byDigest}" with the credentials configured for it (user "${TEST_REGISTRY_USER}")`,
        ),
      });
      expect(JSON.stringify(outcome)).not.toContain(wrong);
      expect(JSON.stringify(events)).not.toContain(wrong);
      expect(await runtime.status(env)).toEqual([]);
    } finally {
      await runtime.destroy(env);
      await runtime.close();
    }
  });

  it('fails clearly without credentials, and on an image the registry does not have', async () => {
    const runtime = runtimeWith(undefined);
    const env = nextEnv();
    try {
      expect(await deploy(runtime, env, byDigest)).toMatchObject({
        ok: false,
        error: expect.stringContaining(
          `registry ${TEST_REGISTRY} refused to serve image "${byDigest}" without credentials; add credentials for "${TEST_REGISTRY}"`,
        ),
      });
      const withCredentials = runtimeWith(TEST_REGISTRY_PASSWORD);
      const missing = `${TEST_REGISTRY}/${repository}:no-such-tag`;
      try {
        expect(await deploy(withCredentials, env, missing)).toMatchObject({
          ok: false,
          error: expect.stringContaining(
            `workload "web" container "main": image "${missing}" does not exist in registry ${TEST_REGISTRY}`,
          ),
        });
      } finally {
        await withCredentials.close();
      }
    } finally {
      await runtime.destroy(env);
      await runtime.close();
    }
  });
});
