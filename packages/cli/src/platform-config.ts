/**
 * Reads platform configuration for `paved apply`: YAML documents from files or directories,
 * each with its file and line, and resolves secret references locally — the operator has the
 * secrets, the server only ever receives their values to encrypt (docs/platform-configuration.md).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { PlatformDocument, SecretReference } from '@paved/client';
import { PavedError, type Problem } from '@paved/core';
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';

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
    const secrets = await resolveSecrets(document, file, baseDir, env, lineOf);
    problems.push(...secrets.problems);
    if (secrets.resolved !== undefined) {
      const spec = value.spec as { inputs: { secrets: unknown } };
      spec.inputs.secrets = secrets.resolved;
    }
    documents.push({
      ...value,
      file,
      ...located(line),
      ...(secrets.refs === undefined || Object.keys(secrets.refs).length === 0
        ? {}
        : { secretRefs: secrets.refs }),
    } as PlatformDocument);
  }
  return { documents, problems };
}

/**
 * `spec.inputs.secrets: { KEY: { env: NAME } | { file: PATH } }` → `{ KEY: value }`. Problems
 * name the key and what to write, never a value: a plain-text secret is refused without echoing it.
 */
async function resolveSecrets(
  document: Document,
  file: string,
  baseDir: string,
  env: Record<string, string | undefined>,
  lineOf: (offset: number | undefined) => number | undefined,
): Promise<{
  resolved?: Record<string, string>;
  refs?: Record<string, SecretReference>;
  problems: Problem[];
}> {
  const node = document.getIn(['spec', 'inputs', 'secrets'], true) as Node | undefined;
  if (node === undefined || node === null) return { problems: [] };
  if (!isMap(node)) {
    return {
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
  const problems: Problem[] = [];
  const resolved: Record<string, string> = {};
  const refs: Record<string, SecretReference> = {};
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const reference = pair.value as Node | null;
    const where = {
      file,
      ...located(lineOf(reference?.range?.[0] ?? (isScalar(pair.key) ? pair.key.range?.[0] : undefined))),
      path: `spec.inputs.secrets.${key}`,
    };
    const instead = `write ${key}: { env: VARIABLE } to read it from an environment variable, or ${key}: { file: PATH } to read it from a file`;
    if (!isMap(reference)) {
      problems.push({
        ...where,
        message: `secret "${key}" is given in plain text, which would put it in the file (and in git); ${instead}`,
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
        message: `secret "${key}" must be exactly one of { env: VARIABLE } or { file: PATH }; ${instead}`,
      });
      continue;
    }
    if (names[0] === 'env') {
      const variable = fields.env as string;
      refs[key] = { env: variable };
      const value = env[variable];
      if (value === undefined) {
        problems.push({
          ...where,
          message: `secret "${key}" reads environment variable ${variable}, which is not set; set it and apply again`,
        });
      } else resolved[key] = value;
      continue;
    }
    const path = fields.file as string;
    refs[key] = { file: path };
    const absolute = isAbsolute(path) ? path : join(baseDir, path);
    try {
      // A trailing newline is how editors end files, not part of the secret.
      resolved[key] = (await readFile(absolute, 'utf8')).replace(/\r?\n$/, '');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
      problems.push({
        ...where,
        message: `secret "${key}" reads file ${path} (relative to the YAML file), which ${reason}`,
      });
    }
  }
  return { resolved, refs, problems };
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
