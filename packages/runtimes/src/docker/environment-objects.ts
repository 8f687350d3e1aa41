/**
 * The engine objects of an environment besides containers: its network, the named volumes of its
 * volume resources, and the images built for it. Each is created with the target's labels and
 * touched only when it carries them.
 */
import type Docker from 'dockerode';
import { PavedError, type EnvironmentRef, type RenderedWorkload } from '@paved/core';
import type { Instance } from './docker-instance.js';
import {
  describeOwner,
  environmentLabels,
  isOwned,
  LABEL,
  labelFilter,
  networkName,
} from './docker-labels.js';
import { engineStatus, isNotFound } from './engine-errors.js';
import type { Engine } from './engine.js';

/** The environment's network, created with the target's labels; a foreign one of that name is an error. */
export async function ensureNetwork(engine: Engine, env: EnvironmentRef): Promise<void> {
  const name = networkName(env);
  const where = `docker target "${engine.target}": network "${name}" of ${env.app}/${env.env}`;
  const check = (info: Docker.NetworkInspectInfo): void => {
    if (!isOwned(info.Labels, engine, env)) {
      throw new PavedError(
        'CONFLICT',
        `${where} already exists and does not belong to ${describeOwner(engine)} (its labels say otherwise, or there are none); Paved never touches it — remove or rename that network, or that environment in the other installation`,
      );
    }
  };
  try {
    check(await engine.docker.getNetwork(name).inspect());
    return;
  } catch (error) {
    if (!isNotFound(error)) throw engine.error(where, error);
  }
  try {
    await engine.docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: environmentLabels(engine, env),
    });
  } catch (error) {
    // Created meanwhile by a concurrent apply: fine if it is ours.
    if (engineStatus(error) !== 409) throw engine.error(`${where}: creating it`, error);
    check(await engine.call(where, () => engine.docker.getNetwork(name).inspect()));
  }
}

/** Removes the environment's network if it is the target's. */
export async function removeNetwork(engine: Engine, env: EnvironmentRef): Promise<void> {
  const name = networkName(env);
  const where = `docker target "${engine.target}": removing network "${name}"`;
  let info: Docker.NetworkInspectInfo;
  try {
    info = await engine.docker.getNetwork(name).inspect();
  } catch (error) {
    if (isNotFound(error)) return;
    throw engine.error(where, error);
  }
  if (!isOwned(info.Labels, engine, env)) return;
  await engine
    .call(where, () => engine.docker.getNetwork(name).remove())
    .catch((error: unknown) => {
      if (!isNotFound((error as PavedError).cause)) throw error;
    });
}

/**
 * The named volumes a workload mounts, created with the target's labels on first use. A volume of
 * that name the target does not own is an error: Paved does not mount what it does not own.
 */
export async function ensureVolumes(
  engine: Engine,
  env: EnvironmentRef,
  desired: RenderedWorkload,
): Promise<void> {
  const sources = new Set(
    Object.values(desired.containers).flatMap((container) =>
      container.volumes.map((volume) => volume.source),
    ),
  );
  for (const source of sources) {
    const where = `workload "${desired.name}": volume "${source}"`;
    try {
      const info = await engine.docker.getVolume(source).inspect();
      if (!isOwned(info.Labels, engine)) {
        throw new PavedError(
          'CONFLICT',
          `${where} already exists on the engine and does not belong to ${describeOwner(engine)} (its labels say otherwise, or there are none); Paved does not mount volumes it does not own — remove or rename it, or give the volume resource another name`,
        );
      }
      continue;
    } catch (error) {
      if (!isNotFound(error)) throw engine.error(where, error);
    }
    await engine.call(`${where}: creating it`, () =>
      engine.docker.createVolume({
        Name: source,
        Labels: { ...environmentLabels(engine, env), [LABEL.volume]: source },
      }),
    );
  }
}

/** Images built for a removed instance that its replacement (if any) no longer uses. */
export async function removeBuiltImages(
  engine: Engine,
  old: Instance,
  replacement?: Instance,
): Promise<void> {
  const kept = new Set([...(replacement?.images.values() ?? [])].map((image) => image.digest));
  for (const image of old.images.values()) {
    if (!image.reference.startsWith('paved/') || kept.has(image.digest)) continue;
    // Still used elsewhere (another instance, a rollback in flight): the engine refuses, and it stays.
    await engine.docker
      .getImage(image.digest)
      .remove({ force: false })
      .catch(() => undefined);
  }
}

// Podman 4 matches image and volume lists on one label filter only: the environment is checked here.

/** Removes the images built for the environment; one still used elsewhere stays. */
export async function removeEnvironmentImages(engine: Engine, env: EnvironmentRef): Promise<void> {
  const images = await engine.call(`removing the images built for ${env.app}/${env.env}`, () =>
    engine.docker.listImages({ filters: labelFilter({ [LABEL.target]: engine.target }) }),
  );
  for (const image of images.filter((candidate) => isOwned(candidate.Labels, engine, env))) {
    await engine.docker
      .getImage(image.Id)
      .remove({ force: false })
      .catch(() => undefined);
  }
}

/** Removes the named volumes created for the environment: its data (`--delete-data` only). */
export async function removeEnvironmentVolumes(engine: Engine, env: EnvironmentRef): Promise<void> {
  const where = `removing the volumes of ${env.app}/${env.env}`;
  const volumes = await engine.call(where, () =>
    engine.docker.listVolumes({ filters: labelFilter({ [LABEL.target]: engine.target }) }),
  );
  for (const volume of volumes.Volumes ?? []) {
    if (!isOwned(volume.Labels, engine, env)) continue;
    await engine.call(`${where}: volume "${volume.Name}"`, () =>
      engine.docker.getVolume(volume.Name).remove(),
    );
  }
}
