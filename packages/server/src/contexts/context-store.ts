import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import { PavedError } from '@paved/core';
import { extract, list, type ReadEntry } from 'tar';

/** Contexts larger than this (compressed) are refused with 413 unless the server says otherwise. */
export const DEFAULT_MAX_CONTEXT_BYTES = 50 * 1024 * 1024;

/** A context hash as the API writes it. */
export const CONTEXT_HASH = /^sha256:[0-9a-f]{64}$/;

/**
 * Uploaded build contexts, content-addressed under `<dataDir>/contexts/<hex>/`. The server never
 * reads the CLI's disk: a workload's files reach it only through here, checked against the hash
 * the CLI computed, and unpacked only when no entry could write outside its directory.
 */
export class ContextStore {
  readonly #root: string;
  readonly #maxBytes: number;

  constructor(dataDir: string, maxBytes = DEFAULT_MAX_CONTEXT_BYTES) {
    this.#root = join(dataDir, 'contexts');
    this.#maxBytes = maxBytes;
  }

  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** The directory the context is (or would be) unpacked in. */
  dir(hash: string): string {
    return join(this.#root, hexOf(hash));
  }

  has(hash: string): boolean {
    return CONTEXT_HASH.test(hash) && existsSync(this.dir(hash));
  }

  /**
   * Receives a gzip-compressed tar: keeps it in a temporary file while hashing the uncompressed
   * bytes, refuses it when larger than the limit, when the hash differs from `hash`, or when an
   * entry is unsafe, and else unpacks it and moves it into place in one rename.
   *
   * @throws PavedError PAYLOAD_TOO_LARGE, INVALID_INPUT.
   */
  async receive(
    hash: string,
    body: ReadableStream<Uint8Array> | null,
    declaredLength?: number,
  ): Promise<{ hash: string; bytes: number; created: boolean }> {
    if (!CONTEXT_HASH.test(hash)) {
      throw PavedError.invalid(`context hash "${hash}" is not sha256:<64 hex digits>`, [
        { path: 'params.hash', message: 'must be sha256:<64 lower-case hex digits>' },
      ]);
    }
    if (declaredLength !== undefined && declaredLength > this.#maxBytes) throw this.#tooLarge();
    await mkdir(this.#root, { recursive: true, mode: 0o700 });
    const scratch = join(this.#root, `.upload-${randomBytes(8).toString('hex')}`);
    try {
      await mkdir(scratch, { mode: 0o700 });
      const archive = join(scratch, 'context.tar.gz');
      const { bytes, digest } = await this.#store(body, archive);
      if (`sha256:${digest}` !== hash) {
        throw PavedError.invalid(
          `the uploaded context hashes to sha256:${digest}, not ${hash}; upload it again (the transfer may have been altered)`,
          [{ path: 'params.hash', message: `the content hashes to sha256:${digest}` }],
        );
      }
      if (this.has(hash)) return { hash, bytes, created: false };
      await checkEntries(archive, hash);
      const unpacked = join(scratch, 'files');
      await mkdir(unpacked, { mode: 0o755 });
      await extract({
        file: archive,
        cwd: unpacked,
        strict: true,
        preservePaths: false,
        preserveOwner: false,
        // Modes come from the archive (normalised to 0644/0755 by the CLI) but never setuid/setgid.
        filter: (_path, entry) => !('type' in entry) || isAllowedType(entry.type),
        onReadEntry: (entry) => {
          if ('mode' in entry && typeof entry.mode === 'number') entry.mode &= 0o777;
        },
      });
      try {
        await rename(unpacked, this.dir(hash));
      } catch (error) {
        // Another upload of the same content won the race; its result is the same bytes.
        if (!this.has(hash)) throw error;
      }
      return { hash, bytes, created: true };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  async #store(
    body: ReadableStream<Uint8Array> | null,
    archive: string,
  ): Promise<{ bytes: number; digest: string }> {
    const hasher = createHash('sha256');
    const gunzip = createGunzip();
    let unpackedBytes = 0;
    // A small archive may expand enormously; bound what is hashed (and later unpacked) as well.
    const unpackedLimit = this.#maxBytes * 20;
    let gunzipError: Error | undefined;
    gunzip.on('data', (chunk: Buffer) => {
      unpackedBytes += chunk.length;
      if (unpackedBytes > unpackedLimit) {
        gunzipError ??= this.#tooLarge(`uncompressed more than ${unpackedLimit} bytes`);
        gunzip.destroy();
        return;
      }
      hasher.update(chunk);
    });
    const gunzipDone = new Promise<void>((done) => {
      gunzip.on('end', done);
      gunzip.on('close', done);
      gunzip.on('error', (error) => {
        gunzipError ??= PavedError.invalid(
          `the uploaded context is not a gzip-compressed tar (${error.message}); send the output of the CLI's context packer`,
          [{ path: '', message: 'not gzip' }],
        );
        done();
      });
    });
    const file = createWriteStream(archive, { mode: 0o600 });
    const fileDone = new Promise<void>((done, fail) => {
      file.on('finish', done);
      file.on('error', fail);
    });
    let bytes = 0;
    try {
      if (body !== null) {
        const reader = body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          bytes += value.byteLength;
          if (bytes > this.#maxBytes) {
            await reader.cancel();
            throw this.#tooLarge();
          }
          if (!file.write(value)) await new Promise<void>((resume) => file.once('drain', () => resume()));
          if (gunzipError === undefined && !gunzip.destroyed) {
            if (!gunzip.write(value))
              await new Promise<void>((resume) => gunzip.once('drain', () => resume()));
          }
        }
      }
    } finally {
      file.end();
      gunzip.end();
    }
    await fileDone;
    await gunzipDone;
    if (gunzipError !== undefined) throw gunzipError;
    if (bytes === 0) {
      throw PavedError.invalid('the uploaded context is empty; send a gzip-compressed tar', [
        { path: '', message: 'empty body' },
      ]);
    }
    return { bytes, digest: hasher.digest('hex') };
  }

  #tooLarge(what = `more than ${this.#maxBytes} bytes compressed`): PavedError {
    return new PavedError(
      'PAYLOAD_TOO_LARGE',
      `the build context is too large (${what}); the server accepts ${this.#maxBytes} bytes compressed: exclude build output and dependencies with .dockerignore or .gitignore`,
      { details: { limitBytes: this.#maxBytes } },
    );
  }
}

function hexOf(hash: string): string {
  if (!CONTEXT_HASH.test(hash)) throw new PavedError('INTERNAL', `"${hash}" is not a context hash`);
  return hash.slice('sha256:'.length);
}

function isAllowedType(type: string): boolean {
  return (
    type === 'File' ||
    type === 'OldFile' ||
    type === 'ContiguousFile' ||
    type === 'Directory' ||
    type === 'SymbolicLink'
  );
}

/** Extended headers carry metadata of the next entry, not entries of their own. */
const METADATA_TYPES = new Set([
  'ExtendedHeader',
  'GlobalExtendedHeader',
  'NextFileHasLongPath',
  'NextFileHasLongLinkpath',
  'OldExtendedHeader',
]);

/**
 * Refuses, before anything is unpacked, entries that would land outside the context (absolute
 * paths, `..`), links leaving it, hard links, and device files, naming the first such entry.
 */
async function checkEntries(archive: string, hash: string): Promise<void> {
  const problems: string[] = [];
  await list({
    file: archive,
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const problem = entryProblem(entry);
      if (problem !== undefined) problems.push(problem);
    },
  });
  if (problems.length > 0) {
    throw PavedError.invalid(
      `context ${hash} has unsafe entries, nothing was unpacked: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
      problems.map((message) => ({ path: '', message })),
    );
  }
}

function entryProblem(entry: ReadEntry): string | undefined {
  if (METADATA_TYPES.has(entry.type)) return undefined;
  const path = entry.path;
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.startsWith('/')) {
    return `entry "${path}" has an absolute path`;
  }
  if (path.split(/[\\/]/).includes('..')) return `entry "${path}" leaves the context with ".."`;
  if (!isAllowedType(entry.type)) {
    return `entry "${path}" is a ${entry.type}; contexts hold only files, directories and symbolic links inside them`;
  }
  if (entry.type === 'SymbolicLink') {
    const target = entry.linkpath ?? '';
    const resolved = posix.normalize(posix.join(posix.dirname(path), target));
    if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
      return `symbolic link "${path}" points outside the context (to "${target}")`;
    }
  }
  return undefined;
}
