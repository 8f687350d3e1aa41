import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createGzip } from 'node:zlib';
import { PavedError } from '@paved/core';
import ignore from 'ignore';
import { Header, Pax } from 'tar';
import type { HeaderData } from 'tar';

/** The server's default limit on an uploaded context, compressed (docs/api.md). */
export const DEFAULT_MAX_CONTEXT_BYTES = 50 * 1024 * 1024;

export interface PackContextOptions {
  /** Refuse a context whose gzip is larger than this; default {@link DEFAULT_MAX_CONTEXT_BYTES}. */
  maxBytes?: number;
  /** Named in error messages: `build context of workload "x" (DIR)`. */
  workload?: string;
  /** How DIR is shown in messages (e.g. relative to the cwd); the absolute path when absent. */
  displayDir?: string;
}

export interface PackedContext {
  /** `sha256:<hex>` of the uncompressed tar: the same files always give the same hash. */
  hash: string;
  /** The tar, gzip-compressed, as uploaded. */
  gzip: Buffer;
  /** Size of the uncompressed tar. */
  tarBytes: number;
  /** Paths of the files and directories in the tar, in tar order. */
  entries: string[];
  /** Which ignore file applied, if any. */
  ignoreFile?: '.dockerignore' | '.gitignore';
}

interface Entry {
  /** Relative, `/`-separated; directories end in `/`. */
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink';
  absolute: string;
  executable: boolean;
  linkpath?: string;
}

const BLOCK = 512;
/** Fixed so that packing the same files twice gives the same bytes, whenever and by whomever. */
const EPOCH = new Date(0);

/**
 * Packs a workload's build context the way the server expects it (docs/api.md, "build
 * contexts"): the folder's files less what `.dockerignore` (else `.gitignore`) excludes, and never
 * `.git`; a tar with entries sorted by path, modes 0644/0755 by the exec bit, no owners, times at
 * 0; hashed uncompressed, gzip-compressed for the upload. The bytes depend only on the files'
 * paths, contents and exec bits, so an unchanged folder gives an unchanged hash and the server
 * restarts nothing.
 *
 * Symbolic links stay links when they point inside the folder (made relative, so they still work
 * after unpacking elsewhere); a link out of the folder is refused, because the server cannot see
 * the CLI's disk and the image would silently differ from what the developer runs.
 *
 * @example
 * const { hash, gzip } = await packContext('examples/shop/frontend', { workload: 'frontend' });
 * if (!(await client.hasContext('shop', hash))) await client.uploadContext('shop', hash, gzip);
 */
export async function packContext(dir: string, options: PackContextOptions = {}): Promise<PackedContext> {
  const root = resolve(dir);
  const shown = options.displayDir ?? root;
  const what =
    options.workload === undefined
      ? `build context ${shown}`
      : `build context of workload "${options.workload}" (${shown})`;
  const rootStat = await lstat(root).catch((error: NodeJS.ErrnoException) => {
    throw new PavedError(
      'INVALID_INPUT',
      `${what} cannot be read (${error.code ?? String(error)}); check the path of the Score file or of --build`,
      { cause: error },
    );
  });
  if (!rootStat.isDirectory()) {
    throw new PavedError('INVALID_INPUT', `${what} is not a directory; --build needs a directory`);
  }

  const { matcher, file: ignoreFile } = await loadIgnore(root);
  const realRoot = await realpath(root);
  const entries: Entry[] = [];
  await walk(root, '', matcher, realRoot, entries, what);
  // Byte-wise order, not locale order: the same on every machine. A directory's `name/` sorts
  // before its contents, so extraction always meets a parent first.
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CONTEXT_BYTES;
  const hash = createHash('sha256');
  const gzip = createGzip({ level: 6 });
  const compressed: Buffer[] = [];
  let compressedBytes = 0;
  gzip.on('data', (chunk: Buffer) => {
    compressedBytes += chunk.length;
    // Past the limit only the count matters (for the message); keeping the bytes would let a
    // huge folder exhaust memory before the error is raised.
    if (compressedBytes <= maxBytes) compressed.push(chunk);
  });
  const finished = new Promise<void>((done, fail) => {
    gzip.on('end', done);
    gzip.on('error', fail);
  });
  let tarBytes = 0;
  const emit = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    tarBytes += chunk.length;
    if (!gzip.write(chunk)) await new Promise<void>((done) => gzip.once('drain', done));
  };

  for (const entry of entries) {
    const content = entry.type === 'File' ? await readFile(entry.absolute) : undefined;
    for (const block of headerBlocks(entry, content?.length ?? 0)) await emit(block);
    if (content !== undefined && content.length > 0) {
      await emit(content);
      const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
      if (padding > 0) await emit(Buffer.alloc(padding));
    }
  }
  // The end-of-archive marker: two zero blocks.
  await emit(Buffer.alloc(BLOCK * 2));
  gzip.end();
  await finished;

  if (compressedBytes > maxBytes) {
    const ignoreHint =
      ignoreFile === undefined
        ? `add what is not needed to ${join(shown, '.dockerignore')}`
        : `add what is not needed to ${join(shown, ignoreFile)}`;
    throw new PavedError(
      'PAYLOAD_TOO_LARGE',
      `${what} is ${formatBytes(compressedBytes)} compressed, over the limit of ${formatBytes(maxBytes)}: ${ignoreHint} (or raise --max-context-size if the server allows it)`,
      { details: { bytes: compressedBytes, limit: maxBytes } },
    );
  }

  return {
    hash: `sha256:${hash.digest('hex')}`,
    gzip: Buffer.concat(compressed),
    tarBytes,
    entries: entries.map((entry) => entry.path),
    ...(ignoreFile === undefined ? {} : { ignoreFile }),
  };
}

/** `1.5 MiB`, `300 KiB`, `12 B`: for messages. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 ? Math.round(value) : Math.round(value * 10) / 10} ${units[unit]}`;
}

/**
 * `.dockerignore` if the folder has one, else `.gitignore`, as the contracts say; both read with
 * gitignore syntax. Only the folder's own file counts: nested `.gitignore` files are not read,
 * as `docker build` does not read them either.
 */
async function loadIgnore(
  root: string,
): Promise<{ matcher: ReturnType<typeof ignore>; file?: '.dockerignore' | '.gitignore' }> {
  for (const file of ['.dockerignore', '.gitignore'] as const) {
    let text: string;
    try {
      text = await readFile(join(root, file), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new PavedError(
        'INVALID_INPUT',
        `${join(root, file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        { cause: error },
      );
    }
    return { matcher: ignore().add(text), file };
  }
  return { matcher: ignore() };
}

async function walk(
  root: string,
  prefix: string,
  matcher: ReturnType<typeof ignore>,
  realRoot: string,
  entries: Entry[],
  what: string,
): Promise<void> {
  const directory = join(root, prefix);
  const names = await readdir(directory);
  for (const name of names) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    // `.git` is history, not source: never part of an image, whatever the ignore file says.
    if (name === '.git') continue;
    const absolute = join(directory, name);
    const stat = await lstat(absolute);
    if (stat.isDirectory()) {
      if (matcher.ignores(`${path}/`)) continue;
      entries.push({ path: `${path}/`, type: 'Directory', absolute, executable: true });
      await walk(root, path, matcher, realRoot, entries, what);
    } else if (matcher.ignores(path)) {
      continue;
    } else if (stat.isFile()) {
      entries.push({ path, type: 'File', absolute, executable: (stat.mode & 0o111) !== 0 });
    } else if (stat.isSymbolicLink()) {
      entries.push(await linkEntry(path, absolute, realRoot, what));
    }
    // Sockets, FIFOs and devices cannot be part of an image; they are left out.
  }
}

async function linkEntry(path: string, absolute: string, realRoot: string, what: string): Promise<Entry> {
  const written = await readlink(absolute);
  let target: string;
  try {
    target = await realpath(absolute);
  } catch {
    throw new PavedError(
      'INVALID_INPUT',
      `${what}: the symbolic link ${path} → ${written} points to nothing; remove it or add it to the ignore file`,
    );
  }
  if (target !== realRoot && !target.startsWith(`${realRoot}${sep}`)) {
    throw new PavedError(
      'INVALID_INPUT',
      `${what}: the symbolic link ${path} → ${written} points outside the context; the server cannot read the CLI's disk, so copy the file into the folder, or add the link to the ignore file`,
    );
  }
  // Relative to the link's own folder, so the link works wherever the context is unpacked.
  const linkpath =
    relative(dirname(join(realRoot, path)), target)
      .split(sep)
      .join('/') || '.';
  return { path, type: 'SymbolicLink', absolute, executable: false, linkpath };
}

/** The 512-byte header of an entry, preceded by a PAX header when its path does not fit ustar. */
function headerBlocks(entry: Entry, size: number): Buffer[] {
  const data: HeaderData = {
    path: entry.path,
    type: entry.type,
    mode: entry.type === 'Directory' || entry.executable ? 0o755 : 0o644,
    size: entry.type === 'File' ? size : 0,
    mtime: EPOCH,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
  };
  const header = new Header(data);
  const block = Buffer.alloc(BLOCK);
  const needsPax = header.encode(block, 0);
  if (!needsPax) return [block];
  // Only what does not fit: the path and the link, with the same fixed time.
  const pax = new Pax({
    path: entry.path,
    mtime: EPOCH,
    ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
  }).encode();
  return [pax, block];
}
