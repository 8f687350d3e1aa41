/**
 * Builds a build context the way the CLI sends it: a tar with entries sorted by path, modes
 * normalised to 0644/0755, no owners or times, so the same files always give the same bytes; the
 * hash is `sha256:<hex>` of the uncompressed tar. Test-only (excluded from the build); the CLI keeps
 * its own copy of the same rules.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';

export interface ContextTarball {
  hash: string;
  /** The uncompressed tar. */
  tar: Buffer;
  /** What is uploaded. */
  gzip: Buffer;
}

/** Packs the folder `dir` (every file, sorted; modes as on disk, so `contextOf` sets them). */
export async function packContext(dir: string): Promise<ContextTarball> {
  const paths = (await walk(dir)).map((path) => relative(dir, path)).sort();
  const chunks: Buffer[] = [];
  const stream = create(
    {
      cwd: dir,
      portable: true,
      noMtime: true,
      noDirRecurse: true,
    },
    paths,
  );
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  const tar = Buffer.concat(chunks);
  return { hash: `sha256:${createHash('sha256').update(tar).digest('hex')}`, tar, gzip: gzipSync(tar) };
}

/** Writes `files` (path → content) into a fresh folder and packs it. */
export async function contextOf(files: Record<string, string>): Promise<ContextTarball> {
  const dir = await mkdtemp(join(tmpdir(), 'paved-context-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      const target = join(dir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
      await chmod(target, 0o644);
    }
    return await packContext(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function walk(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir)) {
    const path = join(dir, entry);
    const info = await stat(path);
    if (info.isDirectory()) found.push(...(await walk(path)));
    else found.push(path);
  }
  return found;
}

/**
 * A tar holding one entry exactly as given, bypassing every safety of the `tar` package: for
 * testing that the server refuses path traversal, absolute paths and links leaving the context.
 */
export function rawTarball(entry: {
  path: string;
  content?: string;
  type?: 'file' | 'symlink' | 'hardlink' | 'chardev';
  linkpath?: string;
}): ContextTarball {
  const content = Buffer.from(entry.content ?? '');
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number): void => {
    header.write(text.slice(0, length), offset, 'utf8');
  };
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`;
  put(entry.path, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  const type = entry.type ?? 'file';
  put(octal(type === 'file' ? content.length : 0, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  header.fill(' ', 148, 156);
  put({ file: '0', hardlink: '1', symlink: '2', chardev: '3' }[type], 156, 1);
  put(entry.linkpath ?? '', 157, 100);
  put('ustar\u000000', 257, 8);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const body = type === 'file' ? content : Buffer.alloc(0);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  const tar = Buffer.concat([header, body, padding, Buffer.alloc(1024)]);
  return { hash: `sha256:${createHash('sha256').update(tar).digest('hex')}`, tar, gzip: gzipSync(tar) };
}
