/**
 * Reads platform configuration for `paved apply`: YAML documents from files or directories
 * (definitions, environment types, targets, users, teams, role bindings),
 * each with its file and line, and resolves secret references locally — the operator has the
 * secrets, the server only ever receives their values to encrypt (docs/platform-configuration.md).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { PlatformDocument, SecretReference } from '@paved/client';
import { PavedError, type Problem } from '@paved/core';
import {
  isMap,
  isScalar,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
  type YAMLMap,
} from 'yaml';

export interface ReadOptions {
  cwd: string;
  env: Record<string, string | undefined>;
}

const YAML_FILE = /\.ya?ml$/i;

/**
 * The documents of every `.yaml`/`.yml` file given (directories are searched recursively, in
 * name order), secrets resolved.
 * @throws PavedError INVALID_INPUT listing every problem in every file, each with file and line.
 */
export async function readPlatformDocuments(
  paths: readonly string[],
  options: ReadOptions,
): Promise<PlatformDocument[]> {
  const files: string[] = [];
  const problems: Problem[] = [];
  for (const path of paths) {
    const absolute = resolve(options.cwd, path);
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined) problems.push({ file: path, path: '', message: 'no such file or directory' });
    else if (info.isDirectory()) files.push(...(await yamlFilesUnder(absolute)));
    else files.push(absolute);
  }
  if (files.length === 0 && problems.length === 0) {
    problems.push({ file: paths.join(', '), path: '', message: 'no .yaml or .yml files found' });
  }
  const documents: PlatformDocument[] = [];
  for (const file of files) {
    const shown = displayPath(file, options.cwd);
    const text = await readFile(file, 'utf8');
    const read = await readDocuments(text, shown, dirname(file), options.env);
    documents.push(...read.documents);
    problems.push(...read.problems);
  }
  if (problems.length > 0) {
    throw PavedError.invalid(
      `${problems.length === 1 ? 'a problem' : `${problems.length} problems`} in the configuration, nothing was applied`,
      problems,
    );
  }
  return documents;
}

/** The documents of one file's text; `file` names it in problems, `baseDir` anchors `file:` secrets. */
export async function readDocuments(
  text: string,
  file: string,
  baseDir: string,
  env: Record<string, string | undefined>,
): Promise<{ documents: PlatformDocument[]; problems: Problem[] }> {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: true });
  const problems: Problem[] = [];
  const documents: PlatformDocument[] = [];
  const lineOf = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;
  for (const document of Array.isArray(parsed) ? parsed : []) {
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        problems.push({
          file,
          ...located(lineOf(error.pos[0])),
          path: '',
          message: error.message.split('\n')[0] ?? error.message,
        });
      }
      continue;
    }
    const contents = document.contents;
    if (contents === null) continue; // an empty document, e.g. after a trailing `---`
    const line = lineOf(contents.range?.[0]);
    if (!isMap(contents)) {
      problems.push({
        file,
        ...located(line),
        path: '',
        message: 'a document must be a mapping with apiVersion, kind, metadata and spec',
      });
      continue;
    }
    const value = document.toJS() as Record<string, unknown>;
    if (value.kind === 'User' && document.hasIn(['spec', 'password'])) {
      // Never sent to the server: a password in a file is a password in git.
      const node = document.getIn(['spec', 'password'], true) as Node | undefined;
      problems.push({
        file,
        ...located(lineOf(node?.range?.[0]) ?? line),
        path: 'spec.password',
        message:
          'passwords are not part of files, where they would end up in git; remove spec.password and set it with paved users set-password',
      });
      continue;
    }
    const secrets = await resolveSecrets(document, file, baseDir, env, lineOf);
    problems.push(...secrets.problems);
    for (const { path, value: resolved } of secrets.resolved) setIn(value, path, resolved);
    documents.push({
      ...value,
      file,
      ...located(line),
      ...(Object.keys(secrets.refs).length === 0 ? {} : { secretRefs: secrets.refs }),
    } as PlatformDocument);
  }
  return { documents, problems };
}

/** One place a document keeps a secret: its path in the YAML, and its key in `secretRefs`. */
interface SecretSite {
  path: string[];
  /** The key of `secretRefs`: the input name of a definition, the path within a target's type section. */
  key: string;
  /** How problems name it: `secret "password"`, `secret spec.docker.registries.ghcr.io.password`. */
  label: string;
  /** Where its key is written, for the line of a secret with no value. */
  keyOffset: number | undefined;
}

/**
 * Where a document keeps secrets: a definition every entry of `spec.inputs.secrets`; a target
 * the password of each registry of `spec.docker.registries` and `spec.kubernetes.kubeconfig`.
 */
function secretSites(
  document: Document,
  lineOf: (offset: number | undefined) => number | undefined,
  file: string,
): {
  sites: SecretSite[];
  problems: Problem[];
} {
  const kind = document.get('kind');
  const sites: SecretSite[] = [];
  if (kind === 'Target') {
    const registries = document.getIn(['spec', 'docker', 'registries'], true) as Node | undefined;
    if (isMap(registries)) {
      for (const pair of registries.items) {
        const server = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (!isMap(pair.value) || !pair.value.has('password')) continue; // the server names what is missing
        sites.push({
          path: ['spec', 'docker', 'registries', server, 'password'],
          key: `registries.${server}.password`,
          label: `secret spec.docker.registries.${server}.password`,
          keyOffset: keyOffset(pair.value, 'password'),
        });
      }
    }
    const kubernetes = document.getIn(['spec', 'kubernetes'], true) as Node | undefined;
    if (isMap(kubernetes) && kubernetes.has('kubeconfig')) {
      sites.push({
        keyOffset: keyOffset(kubernetes, 'kubeconfig'),
        path: ['spec', 'kubernetes', 'kubeconfig'],
        key: 'kubeconfig',
        label: 'secret spec.kubernetes.kubeconfig',
      });
    }
    return { sites, problems: [] };
  }
  const node = document.getIn(['spec', 'inputs', 'secrets'], true) as Node | undefined;
  if (node === undefined || node === null) return { sites, problems: [] };
  if (!isMap(node)) {
    return {
      sites,
      problems: [
        {
          file,
          ...located(lineOf(node.range?.[0])),
          path: 'spec.inputs.secrets',
          message: 'secrets must be a mapping of KEY: { env: NAME } or KEY: { file: PATH }',
        },
      ],
    };
  }
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    sites.push({
      path: ['spec', 'inputs', 'secrets', key],
      key,
      label: `secret "${key}"`,
      keyOffset: isScalar(pair.key) ? pair.key.range?.[0] : undefined,
    });
  }
  return { sites, problems: [] };
}

/**
 * Every secret reference of a document (`{ env: NAME }` or `{ file: PATH }`) → its value. Problems
 * name the secret and what to write, never a value: a plain-text secret is refused without
 * echoing it.
 */
async function resolveSecrets(
  document: Document,
  file: string,
  baseDir: string,
  env: Record<string, string | undefined>,
  lineOf: (offset: number | undefined) => number | undefined,
): Promise<{
  resolved: { path: string[]; value: string }[];
  refs: Record<string, SecretReference>;
  problems: Problem[];
}> {
  const { sites, problems } = secretSites(document, lineOf, file);
  const resolved: { path: string[]; value: string }[] = [];
  const refs: Record<string, SecretReference> = {};
  for (const site of sites) {
    const reference = document.getIn(site.path, true) as Node | null | undefined;
    const name = site.path[site.path.length - 1] ?? site.key;
    const where = {
      file,
      ...located(lineOf(reference?.range?.[0] ?? site.keyOffset)),
      path: site.path.join('.'),
    };
    const instead = `write ${name}: { env: VARIABLE } to read it from an environment variable, or ${name}: { file: PATH } to read it from a file`;
    if (!isMap(reference)) {
      problems.push({
        ...where,
        message: `${site.label} is given in plain text, which would put it in the file (and in git); ${instead}`,
      });
      continue;
    }
    const fields = Object.fromEntries(
      reference.items.map((item) => [
        isScalar(item.key) ? String(item.key.value) : String(item.key),
        isScalar(item.value) ? item.value.value : undefined,
      ]),
    );
    const names = Object.keys(fields);
    if (
      names.length !== 1 ||
      (names[0] !== 'env' && names[0] !== 'file') ||
      typeof fields[names[0]] !== 'string' ||
      fields[names[0]] === ''
    ) {
      problems.push({
        ...where,
        message: `${site.label} must be exactly one of { env: VARIABLE } or { file: PATH }; ${instead}`,
      });
      continue;
    }
    if (names[0] === 'env') {
      const variable = fields.env as string;
      refs[site.key] = { env: variable };
      const value = env[variable];
      if (value === undefined) {
        problems.push({
          ...where,
          message: `${site.label} reads environment variable ${variable}, which is not set; set it and apply again`,
        });
      } else resolved.push({ path: site.path, value });
      continue;
    }
    const path = fields.file as string;
    refs[site.key] = { file: path };
    const absolute = isAbsolute(path) ? path : join(baseDir, path);
    try {
      // A trailing newline is how editors end files, not part of the secret.
      resolved.push({ path: site.path, value: (await readFile(absolute, 'utf8')).replace(/\r?\n$/, '') });
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
      problems.push({
        ...where,
        message: `${site.label} reads file ${path} (relative to the YAML file), which ${reason}`,
      });
    }
  }
  return { resolved, refs, problems };
}

/** Where the key `key` of a mapping is written. */
function keyOffset(map: YAMLMap, key: string): number | undefined {
  const pair = map.items.find((item) => isScalar(item.key) && item.key.value === key);
  return pair !== undefined && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
}

/** Sets `value` at `path` of a plain object made by `toJS()`, where every step exists. */
function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

async function yamlFilesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of [...entries].sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await yamlFilesUnder(path)));
    else if (entry.isFile() && YAML_FILE.test(entry.name)) files.push(path);
  }
  return files;
}

function displayPath(file: string, cwd: string): string {
  const shown = relative(cwd, file);
  return shown === '' || shown.startsWith('..') ? file : shown;
}

function located(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}
