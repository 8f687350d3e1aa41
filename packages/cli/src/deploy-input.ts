import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { DEFAULT_MAX_CONTEXT_BYTES, formatBytes, packContext } from '@paved/client';
import type { DeploymentRequest, DeploymentRequestWorkload, PavedClient } from '@paved/client';
import { PavedError, fileSources, validateScore } from '@paved/core';
import type { Problem, ScoreWorkload } from '@paved/core';

/** Names of workloads and containers: what Score and DNS allow, checked before anything is sent. */
const NAME = /^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$/i;

/**
 * `--image WORKLOAD=REF` and `--image WORKLOAD.CONTAINER=REF` as the request's `images` map. The
 * reference is everything after the first `=` (digests contain `:`; tags may too).
 *
 * @example
 * parseImageFlags(['web=ghcr.io/acme/web@sha256:abc', 'web.sidecar=envoy:1']);
 * // { web: 'ghcr.io/acme/web@sha256:abc', 'web.sidecar': 'envoy:1' }
 */
export function parseImageFlags(flags: readonly string[]): Record<string, string> {
  const images: Record<string, string> = {};
  for (const flag of flags) {
    const equals = flag.indexOf('=');
    const key = equals === -1 ? '' : flag.slice(0, equals);
    const ref = equals === -1 ? '' : flag.slice(equals + 1);
    const parts = key.split('.');
    if (ref === '' || parts.length > 2 || !parts.every((part) => NAME.test(part))) {
      throw new PavedError(
        'INVALID_INPUT',
        `--image "${flag}" is not WORKLOAD=REF or WORKLOAD.CONTAINER=REF, e.g. --image web=ghcr.io/acme/web@sha256:… or --image web.main=nginx:1.27`,
      );
    }
    if (images[key] !== undefined && images[key] !== ref) {
      throw new PavedError('INVALID_INPUT', `--image ${key} is given twice, as ${images[key]} and ${ref}`);
    }
    images[key] = ref;
  }
  return images;
}

/**
 * `--build WORKLOAD=DIR` as workload → directory (as written; resolved against the cwd later).
 *
 * @example
 * parseBuildFlags(['api=./services/api']); // { api: './services/api' }
 */
export function parseBuildFlags(flags: readonly string[]): Record<string, string> {
  const builds: Record<string, string> = {};
  for (const flag of flags) {
    const equals = flag.indexOf('=');
    const workload = equals === -1 ? '' : flag.slice(0, equals);
    const dir = equals === -1 ? '' : flag.slice(equals + 1);
    if (!NAME.test(workload) || dir === '') {
      throw new PavedError(
        'INVALID_INPUT',
        `--build "${flag}" is not WORKLOAD=DIR, e.g. --build api=./services/api`,
      );
    }
    if (builds[workload] !== undefined && builds[workload] !== dir) {
      throw new PavedError(
        'INVALID_INPUT',
        `--build ${workload} is given twice, as ${builds[workload]} and ${dir}`,
      );
    }
    builds[workload] = dir;
  }
  return builds;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * `--max-context-size`: bytes, or a number with KiB/MiB/GiB (K/M/G accepted).
 *
 * @example
 * parseSize('50MiB'); // 52428800
 */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const factor = match === null ? undefined : SIZE_UNITS[match[2]!.toLowerCase()];
  if (match === null || factor === undefined || Number(match[1]) <= 0) {
    throw new PavedError(
      'INVALID_INPUT',
      `--max-context-size "${text}" is not a size: give bytes or a number with KiB, MiB or GiB, e.g. 100MiB`,
    );
  }
  return Math.floor(Number(match[1]) * factor);
}

export interface DeployInputOptions {
  files: readonly string[];
  images: Record<string, string>;
  builds: Record<string, string>;
  cwd: string;
}

/** One build context to pack: a folder, and the containers whose `image: .` it builds. */
export interface ContextToPack {
  /** Absolute. */
  dir: string;
  /** As shown to the user: relative to the cwd. */
  displayDir: string;
  /** The workload it is for, for messages (the first, when several share a folder). */
  workload: string;
  /** `[workloadIndex, container]` pairs whose `contexts` entry gets the hash. */
  uses: Array<[number, string]>;
}

export interface DeployInput {
  request: DeploymentRequest;
  contexts: ContextToPack[];
}

/**
 * Reads and validates every Score file and what they need from the disk, before anything is sent:
 * all problems of all files come back at once (`INVALID_INPUT` with `details.problems`, exit 2), so
 * a deploy never uploads half of what it would need. Files read with `source:` are inlined
 * (relative to their Score file); the build contexts are returned to be packed, one per folder.
 *
 * @example
 * const { request, contexts } = await readDeployInput({ files, images: {}, builds: {}, cwd });
 */
export async function readDeployInput(options: DeployInputOptions): Promise<DeployInput> {
  const problems: Problem[] = [];
  const workloads: DeploymentRequestWorkload[] = [];
  const contexts = new Map<string, ContextToPack>();
  const seen = new Map<string, string>();
  const names = new Set<string>();

  for (const file of options.files) {
    const absolute = resolve(options.cwd, file);
    let score: string;
    try {
      score = await readFile(absolute, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      problems.push({ file, path: '', message: `cannot read the file (${code})`, severity: 'error' });
      continue;
    }
    const validation = validateScore(score, { file });
    const errors = validation.problems.filter((problem) => problem.severity !== 'warning');
    problems.push(...errors.map((problem) => ({ ...problem, file: problem.file ?? file })));
    const workload = validation.workload;
    if (workload === undefined || errors.length > 0) continue;

    const name = workload.metadata.name;
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      problems.push({
        file,
        path: 'metadata.name',
        message: `workload "${name}" is also defined in ${earlier}; each workload may be deployed from one file`,
        severity: 'error',
      });
      continue;
    }
    seen.set(name, file);
    names.add(name);

    const index = workloads.length;
    const sources = await readFileSources(workload, file, absolute, problems);
    workloads.push({ file, score, ...(sources === undefined ? {} : { fileSources: sources }) });

    const buildDir = options.builds[name];
    const dir = buildDir === undefined ? dirname(absolute) : resolve(options.cwd, buildDir);
    for (const [container, spec] of Object.entries(workload.containers)) {
      // An overridden image is not built, so its context is neither packed nor uploaded.
      if (
        spec.image !== '.' ||
        options.images[name] !== undefined ||
        options.images[`${name}.${container}`] !== undefined
      )
        continue;
      let entry = contexts.get(dir);
      if (entry === undefined) {
        entry = { dir, displayDir: relative(options.cwd, dir) || '.', workload: name, uses: [] };
        contexts.set(dir, entry);
      }
      entry.uses.push([index, container]);
    }
  }

  for (const workload of Object.keys(options.builds)) {
    if (!names.has(workload) && seen.size === options.files.length) {
      problems.push({
        path: '',
        message: `--build ${workload}=… names no workload of the given files (${[...names].join(', ') || 'none'})`,
        severity: 'error',
      });
    }
  }

  if (problems.length > 0) {
    const fileCount = new Set(problems.map((problem) => problem.file).filter(Boolean)).size;
    throw new PavedError(
      'INVALID_INPUT',
      `${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}${fileCount > 0 ? ` in ${fileCount} ${fileCount === 1 ? 'file' : 'files'}` : ''}; nothing was uploaded or deployed`,
      { details: { problems } },
    );
  }
  return {
    request: { workloads, ...(Object.keys(options.images).length === 0 ? {} : { images: options.images }) },
    contexts: [...contexts.values()],
  };
}

async function readFileSources(
  workload: ScoreWorkload,
  file: string,
  absolute: string,
  problems: Problem[],
): Promise<Record<string, string> | undefined> {
  const sources = fileSources(workload);
  if (sources.length === 0) return undefined;
  const contents: Record<string, string> = {};
  for (const source of sources) {
    try {
      contents[source] = await readFile(resolve(dirname(absolute), source), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      problems.push({
        file,
        path: sourcePath(workload, source),
        message: `cannot read ${source} (${code}); "source" is read relative to the Score file`,
        severity: 'error',
      });
    }
  }
  return contents;
}

/** The JSON path of the first file entry that reads `source`, to point the problem at it. */
function sourcePath(workload: ScoreWorkload, source: string): string {
  for (const [container, spec] of Object.entries(workload.containers)) {
    for (const [target, entry] of Object.entries(spec.files ?? {})) {
      if (entry.source === source) return `containers.${container}.files.${target}.source`;
    }
  }
  return 'containers';
}

export interface UploadReport {
  workload: string;
  displayDir: string;
  hash: string;
  bytes: number;
  uploaded: boolean;
}

/**
 * Packs each context, asks the server whether it has it, uploads it only when missing, and writes
 * the hashes into the request. Every context is packed before the first upload, so a context over
 * the limit fails the deploy before anything is sent.
 */
export async function uploadContexts(
  client: PavedClient,
  app: string,
  input: DeployInput,
  options: { maxBytes?: number; onReport?: (report: UploadReport) => void } = {},
): Promise<UploadReport[]> {
  const packed = [];
  for (const context of input.contexts) {
    packed.push({
      context,
      result: await packContext(context.dir, {
        workload: context.workload,
        displayDir: context.displayDir,
        maxBytes: options.maxBytes ?? DEFAULT_MAX_CONTEXT_BYTES,
      }),
    });
  }
  const reports: UploadReport[] = [];
  for (const { context, result } of packed) {
    const present = await client.hasContext(app, result.hash);
    if (!present) await client.uploadContext(app, result.hash, result.gzip);
    for (const [index, container] of context.uses) {
      const workload = input.request.workloads[index]!;
      workload.contexts = { ...workload.contexts, [container]: result.hash };
    }
    const report = {
      workload: context.workload,
      displayDir: context.displayDir,
      hash: result.hash,
      bytes: result.gzip.length,
      uploaded: !present,
    };
    reports.push(report);
    options.onReport?.(report);
  }
  return reports;
}

/** `Uploaded the context of frontend (examples/shop/frontend, 1.2 KiB, sha256:1a2b3c4d5e6f)`. */
export function describeUpload(report: UploadReport): string {
  const what = `the context of ${report.workload} (${report.displayDir}, ${formatBytes(report.bytes)}, ${report.hash.slice(0, 19)})`;
  return report.uploaded ? `Uploaded ${what}` : `The server already has ${what}`;
}
