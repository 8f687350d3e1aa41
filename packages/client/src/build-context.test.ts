import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PavedError } from '@paved/core';
import { Parser } from 'tar';
import type { ReadEntry } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatBytes, packContext } from './build-context.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'paved-context-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function write(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

interface ListedEntry {
  path: string;
  type: string;
  mode: number | undefined;
  uid: number | undefined;
  mtime: number | undefined;
  linkpath?: string;
}

/** The entries of a tar as a real tar reader sees them. */
async function list(tar: Buffer): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      entries.push({
        path: entry.path,
        type: entry.type,
        mode: entry.mode,
        uid: entry.uid,
        mtime: entry.mtime?.getTime(),
        ...(entry.linkpath ? { linkpath: entry.linkpath } : {}),
      });
      entry.resume();
    },
  });
  await new Promise<void>((done, fail) => {
    parser.on('end', done);
    parser.on('error', fail);
    parser.end(tar);
  });
  return entries;
}

describe('packContext', () => {
  it('gives the same bytes and hash for the same files created in another order', async () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    await write(a, { 'server.js': 'x', 'lib/util.js': 'u', 'package.json': '{}' });
    await write(b, { 'package.json': '{}', 'lib/util.js': 'u', 'server.js': 'x' });
    const packedA = await packContext(a);
    const packedB = await packContext(b);
    expect(packedA.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(packedB.hash).toBe(packedA.hash);
    expect(gunzipSync(packedB.gzip).equals(gunzipSync(packedA.gzip))).toBe(true);
    expect(packedA.entries).toEqual(['lib/', 'lib/util.js', 'package.json', 'server.js']);
  });

  it('changes the hash when one byte or the exec bit changes', async () => {
    await write(root, { 'server.js': 'console.log(1)' });
    const before = await packContext(root);
    await writeFile(join(root, 'server.js'), 'console.log(2)');
    const changed = await packContext(root);
    expect(changed.hash).not.toBe(before.hash);
    await chmod(join(root, 'server.js'), 0o755);
    expect((await packContext(root)).hash).not.toBe(changed.hash);
  });

  it('writes portable headers: no owners, time 0, modes 0644 and 0755', async () => {
    await write(root, { 'run.sh': '#!/bin/sh', 'data/a.txt': 'a' });
    await chmod(join(root, 'run.sh'), 0o700);
    await chmod(join(root, 'data/a.txt'), 0o600);
    const packed = await packContext(root);
    const tar = gunzipSync(packed.gzip);
    expect(tar.length).toBe(packed.tarBytes);
    const entries = await list(tar);
    expect(entries).toEqual([
      { path: 'data/', type: 'Directory', mode: 0o755, uid: 0, mtime: 0 },
      { path: 'data/a.txt', type: 'File', mode: 0o644, uid: 0, mtime: 0 },
      { path: 'run.sh', type: 'File', mode: 0o755, uid: 0, mtime: 0 },
    ]);
    expect(tar.includes(Buffer.from(process.env.USER ?? 'root'))).toBe(false);
  });

  it('leaves out what .dockerignore excludes, and .git always', async () => {
    await write(root, {
      '.dockerignore': 'node_modules\n*.log\n',
      '.gitignore': 'server.js\n',
      'node_modules/x/index.js': 'x',
      'debug.log': 'l',
      'server.js': 's',
      '.git/HEAD': 'ref',
    });
    const packed = await packContext(root);
    expect(packed.ignoreFile).toBe('.dockerignore');
    expect(packed.entries).toEqual(['.dockerignore', '.gitignore', 'server.js']);
  });

  it('uses .gitignore when there is no .dockerignore', async () => {
    await write(root, { '.gitignore': 'dist/\n', 'dist/out.js': 'o', 'src/in.js': 'i' });
    const packed = await packContext(root);
    expect(packed.ignoreFile).toBe('.gitignore');
    expect(packed.entries).toEqual(['.gitignore', 'src/', 'src/in.js']);
  });

  it('keeps paths longer than ustar allows', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.txt`;
    await write(root, { [long]: 'deep' });
    const entries = await list(gunzipSync((await packContext(root)).gzip));
    expect(entries.map((entry) => entry.path)).toEqual([`${'d'.repeat(120)}/`, long]);
  });

  it('keeps links inside the context as relative links, and refuses links out of it', async () => {
    await write(root, { 'ctx/real/config.json': '{}', 'outside.txt': 'secret' });
    await symlink(join(root, 'ctx/real/config.json'), join(root, 'ctx/config.json'));
    const entries = await list(gunzipSync((await packContext(join(root, 'ctx'))).gzip));
    expect(entries.find((entry) => entry.path === 'config.json')).toMatchObject({
      type: 'SymbolicLink',
      linkpath: 'real/config.json',
    });

    await symlink('../outside.txt', join(root, 'ctx/leak.txt'));
    const error = await packContext(join(root, 'ctx'), { workload: 'web', displayDir: 'ctx' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PavedError);
    expect((error as PavedError).message).toBe(
      `build context of workload "web" (ctx): the symbolic link leak.txt → ../outside.txt points outside the context; the server cannot read the CLI's disk, so copy the file into the folder, or add the link to the ignore file`,
    );
  });

  it('refuses a context over the limit, naming the workload, the size and the ignore file', async () => {
    // Random bytes do not compress, so the gzip is about as large as the file.
    const { randomBytes } = await import('node:crypto');
    await writeFile(join(root, 'blob.bin'), randomBytes(64 * 1024));
    const error = await packContext(root, { workload: 'web', displayDir: 'web', maxBytes: 32 * 1024 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PavedError);
    expect((error as PavedError).code).toBe('PAYLOAD_TOO_LARGE');
    expect((error as PavedError).message).toMatch(
      /^build context of workload "web" \(web\) is 64 KiB compressed, over the limit of 32 KiB: add what is not needed to web\/\.dockerignore/,
    );
  });

  it('says when the folder does not exist', async () => {
    await expect(packContext(join(root, 'nope'), { workload: 'api', displayDir: 'nope' })).rejects.toThrow(
      'build context of workload "api" (nope) cannot be read (ENOENT)',
    );
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect([formatBytes(12), formatBytes(1536), formatBytes(73 * 1024 * 1024)]).toEqual([
      '12 B',
      '1.5 KiB',
      '73 MiB',
    ]);
  });
});
