/**
 * What the docker target's tests share: the engine they talk to (Podman's Docker API socket that
 * `scripts/setup-test-env.sh` starts), a build context for the conformance server, and a listing
 * of everything a target owns on the engine, to prove that tests leave nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { writeConformanceContext } from '../../testing/conformance-server.js';
import { contextTar } from '../build-context.js';
import { dockerConnection } from '../docker-host.js';
import { LABEL } from '../docker-labels.js';

export const TEST_DOCKER_HOST = process.env.PAVED_TEST_DOCKER_HOST ?? 'unix:///run/paved-test/podman.sock';
/** Built by scripts/setup-container-engine.sh from the host's node binary. */
export const NODE_IMAGE = 'localhost/node-local:20';
export const BUSYBOX_IMAGE = 'localhost/busybox:paved';
export const TEST_REGISTRY = '127.0.0.1:5001';
export const TEST_REGISTRY_USER = 'paved-test';
export const TEST_REGISTRY_PASSWORD = 'paved-test-password';

export function testDocker(): Docker {
  return new Docker(dockerConnection(TEST_DOCKER_HOST));
}

/**
 * An image whose container runs and never listens on anything (busybox `sleep`): a server that
 * does not accept connections however long one waits, for timeout tests that must not depend on
 * how fast a real server starts on this machine.
 */
export async function silentImage(docker: Docker): Promise<string> {
  const tag = 'localhost/paved-test-silent:1';
  const found = await docker
    .getImage(tag)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (found) return tag;
  const dir = mkdtempSync(join(tmpdir(), 'paved-silent-image-'));
  try {
    writeFileSync(join(dir, 'Containerfile'), `FROM ${BUSYBOX_IMAGE}\nCMD ["sleep", "3600"]\n`);
    const stream = await docker.buildImage(contextTar(dir), { t: tag, dockerfile: 'Containerfile' });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => {
        const failed = output?.find((event) => event.error !== undefined)?.error;
        if (error !== null || failed !== undefined) reject(error ?? new Error(failed));
        else resolve();
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tag;
}

/** A target name no other test run uses, so parallel runs never see each other's objects. */
export function uniqueTargetName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** The conformance server plus a Containerfile that runs it on the local Node image. */
export function writeConformanceImageContext(dir: string): { dir: string; hash: string } {
  writeConformanceContext(dir);
  writeFileSync(
    join(dir, 'Containerfile'),
    `FROM ${NODE_IMAGE}\nCOPY server.mjs /app/server.mjs\nWORKDIR /app\nCMD ["node", "server.mjs"]\n`,
  );
  return { dir, hash: contextHash(dir) };
}

/** A content hash of a flat context folder, standing in for the CLI's upload hash. */
export function contextHash(dir: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(dir).sort())
    hash
      .update(name)
      .update('\0')
      .update(readFileSync(join(dir, name)));
  return hash.digest('hex');
}

/** Names of every container, network, volume and image the target owns on the engine. */
export async function ownedObjects(
  docker: Docker,
  target: string,
): Promise<{ containers: string[]; networks: string[]; volumes: string[]; images: string[] }> {
  const filters = { label: [`${LABEL.target}=${target}`] };
  const [containers, networks, volumes, images] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
    docker.listImages({ filters }),
  ]);
  return {
    containers: containers.map((container) => container.Names[0] ?? container.Id),
    networks: networks.map((network) => network.Name),
    volumes: (volumes.Volumes ?? []).map((volume) => volume.Name),
    images: images.map((image) => image.RepoTags?.[0] ?? image.Id),
  };
}

/** Kills (SIGKILL) every container of a workload, as a crash while the server is down would. */
export async function killWorkload(
  docker: Docker,
  target: string,
  app: string,
  env: string,
  workload: string,
): Promise<void> {
  const list = await docker.listContainers({
    filters: {
      label: [
        `${LABEL.target}=${target}`,
        `${LABEL.app}=${app}`,
        `${LABEL.env}=${env}`,
        `${LABEL.workload}=${workload}`,
      ],
    },
  });
  await Promise.all(list.map((info) => docker.getContainer(info.Id).kill({ signal: 'SIGKILL' })));
  for (const info of list) {
    for (let i = 0; i < 50; i += 1) {
      const state = await docker.getContainer(info.Id).inspect();
      if (!state.State.Running) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
