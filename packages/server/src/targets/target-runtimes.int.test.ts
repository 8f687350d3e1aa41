import { randomBytes } from 'node:crypto';
import { PavedError, type Runtime } from '@paved/core';
import type { Store, TargetContent } from '@paved/store';
import { describeEachDatabase } from '@paved/store/testing/test-databases';
import { beforeEach, expect, it } from 'vitest';
import { SecretBox } from '../secrets/secret-box.js';
import { TargetRuntimes, type DockerTargetConfig, type TargetRuntimesOptions } from './target-runtimes.js';

/**
 * Stands in for the runtimes a factory makes: the resolver under test only creates, initialises
 * and closes them (the docker runtime has its own conformance tests against Podman).
 */
class RecordingRuntime implements Runtime {
  readonly kind = 'docker' as const;
  inits = 0;
  closes = 0;

  constructor(
    readonly config: DockerTargetConfig,
    readonly failInit?: Error,
  ) {}

  async init(): Promise<void> {
    this.inits += 1;
    if (this.failInit !== undefined) throw this.failInit;
  }

  async close(): Promise<void> {
    this.closes += 1;
  }

  plan(): never {
    throw new Error('not used by these tests');
  }
  apply(): never {
    throw new Error('not used by these tests');
  }
  status(): never {
    throw new Error('not used by these tests');
  }
  logs(): never {
    throw new Error('not used by these tests');
  }
  destroy(): never {
    throw new Error('not used by these tests');
  }
}

const processRuntime: Runtime = {
  kind: 'process',
  plan: () => Promise.reject(new Error('not used')),
  apply: () => Promise.reject(new Error('not used')),
  status: () => Promise.resolve([]),
  logs: () => (async function* () {})(),
  destroy: () => Promise.resolve(),
};

async function failure(work: Promise<unknown>): Promise<PavedError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof PavedError) return error;
    throw error;
  }
  throw new Error('expected a PavedError');
}

describeEachDatabase('target runtimes', (getStore) => {
  let secrets: SecretBox;
  let made: RecordingRuntime[];

  beforeEach(() => {
    secrets = new SecretBox(randomBytes(32));
    made = [];
  });

  const resolver = (options: Partial<TargetRuntimesOptions> = {}) =>
    new TargetRuntimes({
      store: getStore(),
      secrets,
      process: processRuntime,
      factories: {
        docker: (config) => {
          const runtime = new RecordingRuntime(config);
          made.push(runtime);
          return runtime;
        },
      },
      ...options,
    });

  async function applyDocker(
    store: Store,
    name: string,
    fingerprint: string,
    password = 'pw-1',
  ): Promise<void> {
    const content: TargetContent = {
      name,
      type: 'docker',
      settings: {
        registries: { '127.0.0.1:5001': { username: 'paved-test' } },
        nodeImage: 'registry.corp.example/node:20',
        sandboxImage: 'busybox:1.36',
      },
      secrets: { 'registries.127.0.0.1:5001.password': secrets.seal(password) },
      secretRefs: {},
    };
    await store.targets.put(content, fingerprint, 'alice');
  }

  it('has process always and docker when an engine was found, and applied targets beside them', async () => {
    expect(await resolver().names()).toEqual(['process']);
    const targets = resolver({ detectedDockerHost: 'unix:///run/paved-test/podman.sock' });
    await applyDocker(getStore(), 'staging', 'fp1');
    expect(await targets.names()).toEqual(['docker', 'process', 'staging']);
    expect(await targets.runtime('process')).toBe(processRuntime);
    expect(targets.availability((await targets.get('docker'))!)).toEqual({ available: true });
  });

  it('makes a docker runtime per target version, with the host found and the registry secrets opened, initialised once', async () => {
    const targets = resolver({ detectedDockerHost: 'unix:///run/paved-test/podman.sock' });
    await applyDocker(getStore(), 'staging', 'fp1');
    const first = await targets.runtime('staging');
    expect(await targets.runtime('staging')).toBe(first);
    expect(made).toHaveLength(1);
    expect(made[0]?.config).toEqual({
      name: 'staging',
      host: 'unix:///run/paved-test/podman.sock',
      registries: { '127.0.0.1:5001': { username: 'paved-test', password: 'pw-1' } },
      nodeImage: 'registry.corp.example/node:20',
      sandboxImage: 'busybox:1.36',
    });
    expect(made[0]?.inits).toBe(1);

    // A new version of the target gets a runtime of its own.
    await applyDocker(getStore(), 'staging', 'fp2', 'pw-2');
    const second = await targets.runtime('staging');
    expect(second).not.toBe(first);
    expect(made[1]?.config.registries['127.0.0.1:5001']?.password).toBe('pw-2');

    const builtIn = await targets.runtime('docker');
    expect((builtIn as RecordingRuntime).config).toEqual({
      name: 'docker',
      host: 'unix:///run/paved-test/podman.sock',
      registries: {},
    });

    await targets.close();
    expect(made.map((runtime) => runtime.closes)).toEqual([1, 1, 1]);
    const closed = await failure(targets.runtime('staging'));
    expect(closed.code).toBe('UNAVAILABLE');
    expect(await targets.runtime('process')).toBe(processRuntime);
  });

  it('does not keep a runtime that failed to start, and says which target could not be reached', async () => {
    let attempts = 0;
    const targets = resolver({
      factories: {
        docker: (config) => {
          attempts += 1;
          return new RecordingRuntime(
            config,
            attempts === 1 ? new Error('connect ENOENT /nowhere.sock') : undefined,
          );
        },
      },
    });
    await getStore().targets.put(
      {
        name: 'far',
        type: 'docker',
        settings: { host: 'unix:///nowhere.sock' },
        secrets: {},
        secretRefs: {},
      },
      'fp',
      'alice',
    );
    const error = await failure(targets.runtime('far'));
    expect(error.code).toBe('TARGET_FAILED');
    expect(error.message).toBe(
      'target "far" (docker at unix:///nowhere.sock) could not be reached: connect ENOENT /nowhere.sock; check that the engine runs, then deploy again',
    );
    expect(await targets.runtime('far')).toBeInstanceOf(RecordingRuntime);
    expect(attempts).toBe(2);
  });

  it('names what is missing for targets this server cannot run', async () => {
    const store = getStore();
    await applyDocker(store, 'staging', 'fp1');
    await store.targets.put(
      {
        name: 'prod-cluster',
        type: 'kubernetes',
        settings: {},
        secrets: { kubeconfig: secrets.seal('apiVersion: v1') },
        secretRefs: {},
      },
      'fp',
      'alice',
    );
    const unknown = await failure(resolver().runtime('nope'));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toBe(
      'target "nope" does not exist; the targets are process, prod-cluster, staging (paved targets list)',
    );

    const noHost = await failure(resolver().runtime('staging'));
    expect(noHost.code).toBe('UNAVAILABLE');
    expect(noHost.message).toMatch(
      /^the docker target is not available in this server: target "staging" names no host and no Docker or Podman engine was found at start \(looked at DOCKER_HOST, \/var\/run\/docker\.sock, /,
    );

    const noFactory = await failure(
      resolver({ factories: {}, detectedDockerHost: 'unix:///run/paved-test/podman.sock' }).runtime(
        'staging',
      ),
    );
    expect(noFactory.code).toBe('UNAVAILABLE');
    expect(noFactory.message).toBe(
      'the docker target is not available in this server: target "staging" needs the Docker runtime, which this server was started without; use another target (paved targets list)',
    );

    const cluster = await failure(resolver().runtime('prod-cluster'));
    expect(cluster.code).toBe('UNAVAILABLE');
    expect(cluster.message).toMatch(
      /^target "prod-cluster" is a kubernetes target, and this version of Paved has no kubernetes runtime yet/,
    );

    const withoutProcess = new TargetRuntimes({ store, secrets });
    expect((await failure(withoutProcess.runtime('process'))).message).toMatch(
      /^the process target is not available in this server: /,
    );
    expect(made).toEqual([]);
  });
});
