/**
 * The image of the service-address containers (`service-address.ts`): the workload port forwarder
 * (`process/forwarder.ts`, the same script the process target and the host forwarders run) on a
 * Node runtime. No registry is needed: the image is built on the engine once per forwarder version,
 * either
 *
 * - `FROM` the image the target's `nodeImage` names (any image with Node 20+ on `PATH`), or,
 * - without one, `FROM scratch` with the server's own Node binary and the shared libraries `ldd`
 *   lists for it — which works when the engine runs Linux containers on this same machine (the
 *   usual single-host set-up); elsewhere set `nodeImage`.
 *
 * The tag carries a hash of the scripts and the base, so an upgrade of Paved builds a new image and
 * an unchanged one is reused (`localhost/paved-service-address:<hash>`).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PavedError } from '@paved/core';
import { contextTar } from './build-context.js';
import type { Engine } from './engine.js';
import { isNotFound } from './engine-errors.js';
import { LABEL } from './docker-labels.js';

export const SERVICE_ADDRESS_REPOSITORY = 'localhost/paved-service-address';

/** Where the forwarder's files live inside the image. */
export const FORWARDER_DIR = '/paved/forwarder';

/** The compiled scripts the forwarder needs: itself and the modules it imports. */
function forwarderFiles(): { dir: string; files: string[] } {
  const here = import.meta.url;
  // From TypeScript sources (tests) the compiled scripts are in the package's build output.
  const dir = fileURLToPath(new URL(here.endsWith('.ts') ? '../../dist/process/' : '../process/', here));
  if (!existsSync(join(dir, 'forwarder.js'))) {
    throw new PavedError(
      'INTERNAL',
      `the service-address image needs the compiled forwarder (${join(dir, 'forwarder.js')} is missing); run \`npm run build\` first`,
    );
  }
  return { dir, files: [...localImports(dir, 'forwarder.js')].sort() };
}

/**
 * `entry` and every module of `dir` it imports, directly or not: what the image must hold for the
 * script to start. Read from the compiled code, so a module the forwarder starts to use is never
 * left out of the image.
 */
function localImports(dir: string, entry: string): Set<string> {
  const found = new Set<string>();
  const visit = (file: string): void => {
    if (found.has(file)) return;
    found.add(file);
    const code = readFileSync(join(dir, file), 'utf8');
    for (const match of code.matchAll(/(?:from|import)\s*\(?\s*['"]\.\/([\w.-]+\.js)['"]/g)) {
      const imported = match[1];
      if (imported !== undefined && existsSync(join(dir, imported))) visit(imported);
    }
  };
  visit(entry);
  return found;
}

/** The shared libraries the dynamic linker loads for `binary`, as `ldd` resolves them. */
function librariesOf(binary: string): string[] {
  let output: string;
  try {
    output = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (error) {
    throw new PavedError(
      'TARGET_FAILED',
      `the service-address image is built from this server's own Node binary (${binary}), but \`ldd\` could not list its libraries (${error instanceof Error ? error.message : String(error)}); set the docker target's nodeImage to an image with Node 20+`,
    );
  }
  return [...output.matchAll(/(\/\S+)/g)].map((match) => match[1] ?? '').filter((path) => path !== '');
}

export interface ServiceAddressImageOptions {
  /** An image with Node 20+ to build on; absent: this server's own Node binary. */
  nodeImage?: string;
}

/** The recipe and the files of the build context, written into `dir`. */
function writeContext(dir: string, options: ServiceAddressImageOptions): void {
  const { dir: scripts, files } = forwarderFiles();
  const target = join(dir, 'forwarder');
  mkdirSync(target);
  for (const file of files) copyFileSync(join(scripts, file), join(target, file));
  writeFileSync(join(target, 'package.json'), '{ "type": "module" }\n');
  if (options.nodeImage !== undefined) {
    writeFileSync(
      join(dir, 'Containerfile'),
      `FROM ${options.nodeImage}\nCOPY forwarder/ ${FORWARDER_DIR}/\nENTRYPOINT ["node", "${FORWARDER_DIR}/forwarder.js"]\n`,
    );
    return;
  }
  const root = join(dir, 'rootfs');
  for (const path of [process.execPath, ...librariesOf(process.execPath)]) {
    const copy = join(root, path === process.execPath ? '/paved/node' : path);
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(path, copy);
  }
  mkdirSync(join(root, 'tmp'), { recursive: true });
  writeFileSync(
    join(dir, 'Containerfile'),
    `FROM scratch\nCOPY rootfs/ /\nCOPY forwarder/ ${FORWARDER_DIR}/\nENTRYPOINT ["/paved/node", "${FORWARDER_DIR}/forwarder.js"]\n`,
  );
}

/** The tag for these scripts on this base: a new Paved builds a new image. */
export function serviceAddressTag(options: ServiceAddressImageOptions): string {
  const { dir, files } = forwarderFiles();
  const hash = createHash('sha256');
  hash.update(options.nodeImage ?? `host node ${process.version} ${process.arch}`);
  for (const file of files) hash.update(file).update(readFileSync(join(dir, file)));
  return `${SERVICE_ADDRESS_REPOSITORY}:${hash.digest('hex').slice(0, 16)}`;
}

/** Builds the image unless the engine has it already; returns its tag. */
export async function ensureServiceAddressImage(
  engine: Engine,
  options: ServiceAddressImageOptions,
): Promise<string> {
  const tag = serviceAddressTag(options);
  try {
    await engine.docker.getImage(tag).inspect();
    return tag;
  } catch (error) {
    if (!isNotFound(error)) throw engine.error(`looking up image ${tag}`, error);
  }
  const dir = mkdtempSync(join(tmpdir(), 'paved-service-address-'));
  const output: string[] = [];
  let failure: string | undefined;
  try {
    writeContext(dir, options);
    const stream = await engine.call(`building the service-address image ${tag}`, () =>
      engine.docker.buildImage(contextTar(dir), {
        t: tag,
        dockerfile: 'Containerfile',
        rm: true,
        forcerm: true,
        // Shared by every target on the engine, like a base image: no target label, never removed.
        labels: { [LABEL.role]: 'service-address' },
      }),
    );
    await new Promise<void>((resolve, reject) => {
      engine.docker.modem.followProgress(
        stream,
        (error: Error | null) => (error === null ? resolve() : reject(error)),
        (event: { stream?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (event.stream !== undefined)
            output.push(...event.stream.split('\n').filter((line) => line !== ''));
          const message = event.errorDetail?.message ?? event.error;
          if (message !== undefined) failure = message.trim();
        },
      );
    });
  } catch (error) {
    failure ??= error instanceof Error ? error.message : String(error);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (failure === undefined) await removeOlderImages(engine, tag);
  if (failure !== undefined) {
    throw new PavedError(
      'TARGET_FAILED',
      `docker target "${engine.target}": building the service-address image ${tag} failed: ${failure}${options.nodeImage === undefined ? "; set the target's nodeImage to an image with Node 20+ if the engine cannot run this machine's Node binary" : ''}`,
      { details: { lastLogLines: output.slice(-20) } },
    );
  }
  return tag;
}

/**
 * Removes the images of earlier forwarder versions (an upgraded Paved built a new one). One that a
 * container still runs is in use and stays: the engine refuses, and that is fine.
 */
async function removeOlderImages(engine: Engine, keep: string): Promise<void> {
  const images = await engine.docker
    .listImages({ filters: { reference: [SERVICE_ADDRESS_REPOSITORY] } })
    .catch(() => []);
  for (const image of images) {
    if ((image.RepoTags ?? []).includes(keep)) continue;
    await engine.docker
      .getImage(image.Id)
      .remove()
      .catch(() => undefined);
  }
}
