/**
 * Score `files` as one tar archive to put into a created container before it starts (the Engine
 * API's archive upload): nothing is written to the server's disk and nothing is bind-mounted from
 * it. Entries are files only — the engine creates missing parent directories — owned by the user
 * the image runs as, with the requested mode; a file holding a secret keeps only the owner's bits.
 */
import { posix } from 'node:path';
import { Header, Parser, Pax, type ReadEntry } from 'tar';
import { PavedError, type RenderedFile } from '@paved/core';

export interface FileOwner {
  uid: number;
  gid: number;
}

/** Where a file target lands: absolute as given, relative under the image's working directory. */
export function fileTargetPath(target: string, workingDir: string): string {
  return posix.resolve(workingDir === '' ? '/' : workingDir, target);
}

/** The numeric file mode: the requested octal mode (default 0644), owner bits only for secrets. */
export function fileMode(file: RenderedFile): number {
  const mode = file.mode === undefined ? 0o644 : Number.parseInt(file.mode, 8) & 0o7777;
  return file.secret === true ? mode & 0o700 : mode;
}

export function filesArchive(
  files: RenderedFile[],
  options: { workingDir: string; owner: FileOwner; where: string },
): Buffer {
  const blocks: Buffer[] = [];
  const mtime = new Date();
  for (const file of files) {
    const path = fileTargetPath(file.target, options.workingDir);
    if (path === '/') {
      throw new PavedError(
        'INVALID_INPUT',
        `${options.where} file "${file.target}" names the root directory; give a file path`,
      );
    }
    const content =
      typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : Buffer.from(file.content);
    const data = {
      path: path.slice(1),
      mode: fileMode(file),
      uid: options.owner.uid,
      gid: options.owner.gid,
      size: content.length,
      mtime,
      type: 'File' as const,
    };
    const header = new Header(data);
    if (header.encode()) {
      // Paths over the ustar limit travel in a PAX extended header before the entry.
      blocks.push(new Pax(data).encode());
      header.path = posix.basename(path).slice(0, 99);
      header.encode();
    }
    if (header.block === undefined) {
      throw new PavedError(
        'INTERNAL',
        `${options.where} file "${file.target}": could not encode its tar header`,
      );
    }
    blocks.push(header.block, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * The uid/gid files should belong to for an image's `User` (`""`, `"1000"`, `"1000:1000"`,
 * `"app"`, `"app:staff"`); names are looked up in the container's `/etc/passwd` and `/etc/group`
 * through `readFile`, and an unknown name is an error naming it.
 */
export async function resolveOwner(
  user: string | undefined,
  readFile: (path: string) => Promise<string | undefined>,
  where: string,
): Promise<FileOwner> {
  const [userPart = '', groupPart] = (user ?? '').split(':');
  if (userPart === '' || userPart === 'root')
    return { uid: 0, gid: groupPart === undefined ? 0 : await gid(groupPart) };
  let uid: number;
  let primary: number;
  if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    primary = uid;
    const entry = (await passwd()).find((fields) => fields[2] === userPart);
    if (entry?.[3] !== undefined) primary = Number(entry[3]);
  } else {
    const entry = (await passwd()).find((fields) => fields[0] === userPart);
    if (entry?.[2] === undefined || entry[3] === undefined) {
      throw new PavedError(
        'INVALID_INPUT',
        `${where}: the image runs as user "${userPart}", which its /etc/passwd does not list, so its files cannot be given to it; use a numeric USER in the image`,
      );
    }
    uid = Number(entry[2]);
    primary = Number(entry[3]);
  }
  return { uid, gid: groupPart === undefined ? primary : await gid(groupPart) };

  async function passwd(): Promise<string[][]> {
    return ((await readFile('/etc/passwd')) ?? '').split('\n').map((line) => line.split(':'));
  }
  async function gid(group: string): Promise<number> {
    if (/^\d+$/.test(group)) return Number(group);
    const entry = ((await readFile('/etc/group')) ?? '')
      .split('\n')
      .map((line) => line.split(':'))
      .find((fields) => fields[0] === group);
    if (entry?.[2] === undefined) {
      throw new PavedError(
        'INVALID_INPUT',
        `${where}: the image runs as group "${group}", which its /etc/group does not list; use a numeric group in the image's USER`,
      );
    }
    return Number(entry[2]);
  }
}

/** The content of the first regular file in a tar stream (what the engine's archive download gives). */
export function firstFileOfTar(stream: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    let found: Buffer[] | undefined;
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        if (found !== undefined || entry.type !== 'File') {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        found = chunks;
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      },
    });
    parser.on('end', () => resolve(found === undefined ? undefined : Buffer.concat(found).toString('utf8')));
    parser.on('error', () => resolve(undefined));
    stream.on('error', () => resolve(undefined));
    stream.pipe(parser);
  });
}
