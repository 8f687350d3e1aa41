/**
 * Workload output kept on disk, bounded in size. Each container has one log: `<name>.log` plus at
 * most one rotated generation `<name>.log.1`; each holds at most half the limit, so a container
 * never uses more than `limitBytes`. A line is `<ISO time>\t<stdout|stderr>\t<text>`.
 */
import { closeSync, fstatSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import type { LogLine } from '@paved/core';

/** Longer lines are cut here, so one runaway line cannot defeat the size bound. */
export const MAX_LINE_BYTES = 8192;

export class BoundedLogWriter {
  readonly #path: string;
  readonly #generationBytes: number;
  #fd: number;
  #size: number;

  constructor(path: string, limitBytes: number) {
    this.#path = path;
    this.#generationBytes = Math.max(1024, Math.floor(limitBytes / 2));
    this.#fd = openSync(path, 'a', 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  write(stream: LogLine['stream'], text: string, time = new Date()): void {
    let line = text;
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) {
      line = `${Buffer.from(line).subarray(0, MAX_LINE_BYTES).toString()}…[truncated]`;
    }
    const record = Buffer.from(`${time.toISOString()}\t${stream}\t${line}\n`);
    if (this.#size > 0 && this.#size + record.length > this.#generationBytes) this.#rotate();
    writeSync(this.#fd, record);
    this.#size += record.length;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #rotate(): void {
    closeSync(this.#fd);
    renameSync(this.#path, `${this.#path}.1`);
    this.#fd = openSync(this.#path, 'a', 0o600);
    this.#size = 0;
  }
}

export function parseLogLine(container: string, raw: string): LogLine | undefined {
  const first = raw.indexOf('\t');
  const second = raw.indexOf('\t', first + 1);
  if (first < 0 || second < 0) return undefined;
  const stream = raw.slice(first + 1, second);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  return { time: raw.slice(0, first), container, stream, line: raw.slice(second + 1) };
}

/**
 * Reads one container's log incrementally: the first `read()` returns every line still on disk
 * (the rotated generation, then the current file), later calls the lines appended since, across
 * a rotation in between.
 */
export class LogFileReader {
  readonly #path: string;
  readonly #container: string;
  #inode: number | undefined;
  #offset = 0;
  #partial = '';
  #started = false;

  constructor(path: string, container: string) {
    this.#path = path;
    this.#container = container;
  }

  read(): LogLine[] {
    const lines: LogLine[] = [];
    const inode = fileInode(this.#path);
    if (!this.#started) {
      this.#started = true;
      this.#offset = 0;
      this.#drain(`${this.#path}.1`, lines);
      this.#partial = '';
    } else if (inode !== this.#inode && this.#inode !== undefined) {
      // Rotated: the rest of the generation being read now lives at `.1`.
      if (fileInode(`${this.#path}.1`) === this.#inode) this.#drain(`${this.#path}.1`, lines);
      this.#partial = '';
    }
    if (inode !== this.#inode) {
      this.#inode = inode;
      this.#offset = 0;
    }
    this.#drain(this.#path, lines);
    return lines;
  }

  #drain(file: string, into: LogLine[]): void {
    let chunk: Buffer;
    try {
      chunk = readFileSync(file);
    } catch {
      return;
    }
    if (chunk.length < this.#offset) this.#offset = 0;
    chunk = chunk.subarray(this.#offset);
    this.#offset += chunk.length;
    const parts = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const raw of parts) {
      const line = parseLogLine(this.#container, raw);
      if (line !== undefined) into.push(line);
    }
  }
}

function fileInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}
