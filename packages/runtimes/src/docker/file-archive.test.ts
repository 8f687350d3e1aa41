import { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { describe, expect, it } from 'vitest';
import { fileMode, fileTargetPath, filesArchive, firstFileOfTar, resolveOwner } from './file-archive.js';

interface Entry {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  content: string;
}

function entries(archive: Buffer): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const found: Entry[] = [];
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const chunks: Buffer[] = [];
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () =>
          found.push({
            path: entry.path,
            mode: entry.mode ?? 0,
            uid: entry.uid ?? -1,
            gid: entry.gid ?? -1,
            content: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    });
    parser.on('end', () => resolve(found));
    parser.on('error', reject);
    parser.end(archive);
  });
}

describe('filesArchive', () => {
  it('places files by target (relative ones under the working directory) with their modes and owner', async () => {
    const long = `/opt/${'deep/'.repeat(40)}file.txt`;
    const archive = filesArchive(
      [
        { target: '/etc/app/config.yaml', content: 'a: 1\n' },
        { target: 'conf/secret.txt', content: 'hush', mode: '0644', secret: true },
        { target: '/bin/run.sh', content: new TextEncoder().encode('#!/bin/sh\n'), mode: '0755' },
        { target: long, content: 'far away' },
      ],
      { workingDir: '/app', owner: { uid: 1000, gid: 1001 }, where: 'workload "web" container "main"' },
    );
    expect(archive.length % 512).toBe(0);
    expect(await entries(archive)).toEqual([
      { path: 'etc/app/config.yaml', mode: 0o644, uid: 1000, gid: 1001, content: 'a: 1\n' },
      { path: 'app/conf/secret.txt', mode: 0o600, uid: 1000, gid: 1001, content: 'hush' },
      { path: 'bin/run.sh', mode: 0o755, uid: 1000, gid: 1001, content: '#!/bin/sh\n' },
      { path: long.slice(1), mode: 0o644, uid: 1000, gid: 1001, content: 'far away' },
    ]);
  });

  it('resolves targets and modes like the Score spec says', () => {
    expect(fileTargetPath('conf/a', '')).toBe('/conf/a');
    expect(fileTargetPath('../x', '/app')).toBe('/x');
    expect(fileMode({ target: 'a', content: '', mode: '0440', secret: true })).toBe(0o400);
    expect(fileMode({ target: 'a', content: '' })).toBe(0o644);
    expect(() =>
      filesArchive([{ target: '/', content: 'x' }], {
        workingDir: '/',
        owner: { uid: 0, gid: 0 },
        where: 'w',
      }),
    ).toThrow(/w file "\/" names the root directory/);
  });

  it('reads back the first file of a tar stream', async () => {
    const archive = filesArchive([{ target: '/etc/passwd', content: 'root:x:0:0' }], {
      workingDir: '/',
      owner: { uid: 0, gid: 0 },
      where: 'w',
    });
    expect(await firstFileOfTar(Readable.from([archive]))).toBe('root:x:0:0');
  });
});

describe('resolveOwner', () => {
  const files: Record<string, string> = {
    '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1500:app:/home/app:/bin/sh\n',
    '/etc/group': 'root:x:0:\nstaff:x:50:\n',
  };
  const read = async (path: string): Promise<string | undefined> => files[path];

  it('gives files to the user the image runs as', async () => {
    expect(await resolveOwner('', read, 'w')).toEqual({ uid: 0, gid: 0 });
    expect(await resolveOwner(undefined, read, 'w')).toEqual({ uid: 0, gid: 0 });
    expect(await resolveOwner('1000', read, 'w')).toEqual({ uid: 1000, gid: 1500 });
    expect(await resolveOwner('2000', read, 'w')).toEqual({ uid: 2000, gid: 2000 });
    expect(await resolveOwner('2000:3000', read, 'w')).toEqual({ uid: 2000, gid: 3000 });
    expect(await resolveOwner('app', read, 'w')).toEqual({ uid: 1000, gid: 1500 });
    expect(await resolveOwner('app:staff', read, 'w')).toEqual({ uid: 1000, gid: 50 });
  });

  it('names an unknown user or group', async () => {
    await expect(resolveOwner('ghost', read, 'workload "web" container "main"')).rejects.toThrow(
      /workload "web" container "main": the image runs as user "ghost", which its \/etc\/passwd does not list/,
    );
    await expect(resolveOwner('app:nobody', read, 'w')).rejects.toThrow(/group "nobody"/);
  });
});
