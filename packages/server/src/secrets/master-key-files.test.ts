import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MasterKeyFiles } from './master-key-files.js';

describe('MasterKeyFiles', () => {
  let dir: string;
  let files: MasterKeyFiles;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'paved-master-key-files-'));
    files = new MasterKeyFiles(dir);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the next key with mode 0600 and promotes it over the current one', async () => {
    const current = randomBytes(32);
    const next = randomBytes(32);
    await writeFile(join(dir, 'master.key'), current, { mode: 0o600 });
    expect(await files.readNext()).toBeUndefined();
    expect(await files.writeNext(next)).toEqual(next);
    expect((await stat(join(dir, 'master.key.next'))).mode & 0o777).toBe(0o600);
    expect(await files.readCurrent()).toEqual(current);
    await files.promoteNext();
    expect(await readFile(join(dir, 'master.key'))).toEqual(next);
    expect(await files.readNext()).toBeUndefined();
  });

  it('keeps the next key of an unfinished rotation instead of writing another', async () => {
    const pending = randomBytes(32);
    await writeFile(join(dir, 'master.key.next'), pending, { mode: 0o600 });
    expect(await files.writeNext(randomBytes(32))).toEqual(pending);
    expect(await readFile(join(dir, 'master.key.next'))).toEqual(pending);
  });

  it('removes a next key cut short while it was written: nothing was wrapped with it', async () => {
    await writeFile(join(dir, 'master.key.next'), randomBytes(7), { mode: 0o600 });
    expect(await files.readNext()).toBeUndefined();
    await expect(stat(join(dir, 'master.key.next'))).rejects.toThrow(/ENOENT/);
    const next = randomBytes(32);
    await writeFile(join(dir, 'master.key.next'), randomBytes(3));
    expect(await files.writeNext(next)).toEqual(next);
  });

  it('names a missing current key and what to do', async () => {
    await expect(files.readCurrent()).rejects.toThrow(/master\.key is missing; restore it from a backup/);
  });
});
