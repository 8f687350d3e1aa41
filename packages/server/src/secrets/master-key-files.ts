import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PavedError } from '@paved/core';
import { MASTER_KEY_BYTES } from './secret-box.js';

/** The master key in use, in the data directory (created by `loadOrCreateMasterKey`). */
export const CURRENT_KEY_FILE = 'master.key';
/** The key a rotation is moving every sealed value to; it replaces `master.key` when done. */
export const NEXT_KEY_FILE = 'master.key.next';

/**
 * The master-key files of a data directory, as a rotation uses them. The order of writes is what
 * makes a crash harmless: the next key is on disk (synced) before any value is re-wrapped with
 * it, and the current key is replaced only after the transaction that re-wrapped everything
 * committed. A server started in between has both files, opens values under either key, and
 * finishes the rotation (see `MasterKeyRotation.resume`).
 */
export class MasterKeyFiles {
  readonly dataDir: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  get currentFile(): string {
    return join(this.dataDir, CURRENT_KEY_FILE);
  }

  get nextFile(): string {
    return join(this.dataDir, NEXT_KEY_FILE);
  }

  async readCurrent(): Promise<Buffer> {
    const key = await readKey(this.currentFile);
    if (key === undefined) {
      throw new PavedError(
        'INTERNAL',
        `the master key ${this.currentFile} is missing; restore it from a backup (secrets cannot be read without it)`,
      );
    }
    return key;
  }

  /**
   * The key of a rotation that did not finish, if there is one. A file of the wrong length was cut
   * short by a crash while it was written, before anything was wrapped with it (see `writeNext`):
   * it is removed.
   */
  async readNext(): Promise<Buffer | undefined> {
    try {
      return await readKey(this.nextFile);
    } catch (error) {
      if (!(error instanceof PavedError)) throw error;
      await rm(this.nextFile, { force: true });
      return undefined;
    }
  }

  /**
   * Writes `key` as the next key, mode 0600, synced to disk. When a next key is already there (a
   * rotation that did not finish), that one is kept and returned: values may already be wrapped
   * with it.
   */
  async writeNext(key: Uint8Array): Promise<Buffer> {
    let handle;
    try {
      handle = await open(this.nextFile, 'wx', 0o600);
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
      const existing = await this.readNext();
      if (existing !== undefined) return existing;
      handle = await open(this.nextFile, 'wx', 0o600);
    }
    try {
      await handle.chmod(0o600);
      await handle.writeFile(key);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDirectory(this.dataDir);
    return Buffer.from(key);
  }

  /** Makes the next key the current one; the old key is gone from the disk after this. */
  async promoteNext(): Promise<void> {
    await rename(this.nextFile, this.currentFile);
    await syncDirectory(this.dataDir);
  }
}

async function readKey(file: string): Promise<Buffer | undefined> {
  let key: Buffer;
  try {
    key = await readFile(file);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
  if (key.length !== MASTER_KEY_BYTES) {
    throw new PavedError(
      'INTERNAL',
      `the master key ${file} has ${key.length} bytes instead of ${MASTER_KEY_BYTES}; restore it from a backup`,
    );
  }
  return key;
}

/** A rename or a new file survives a crash only once its directory entry is synced too. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
