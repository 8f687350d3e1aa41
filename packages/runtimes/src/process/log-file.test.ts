import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BoundedLogWriter, LogFileReader, MAX_LINE_BYTES, parseLogLine } from './log-file.js';

const readLogLines = (path: string, container: string) => new LogFileReader(path, container).read();

describe('BoundedLogWriter and LogFileReader', () => {
  const dirs: string[] = [];
  const newLog = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'paved-log-'));
    dirs.push(dir);
    return join(dir, 'web.log');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('writes time, stream and text, and reads them back in order', () => {
    const path = newLog();
    const writer = new BoundedLogWriter(path, 1024 * 1024);
    writer.write('stdout', 'hello', new Date('2026-01-01T00:00:00.000Z'));
    writer.write('stderr', 'tab\tinside', new Date('2026-01-01T00:00:01.000Z'));
    writer.close();
    expect(readLogLines(path, 'web')).toEqual([
      { time: '2026-01-01T00:00:00.000Z', container: 'web', stream: 'stdout', line: 'hello' },
      { time: '2026-01-01T00:00:01.000Z', container: 'web', stream: 'stderr', line: 'tab\tinside' },
    ]);
  });

  it('never holds more than the limit across both generations', () => {
    const path = newLog();
    const limit = 8 * 1024;
    const writer = new BoundedLogWriter(path, limit);
    for (let i = 0; i < 2000; i += 1) writer.write('stdout', `line ${i} ${'x'.repeat(40)}`);
    writer.close();
    expect(statSync(path).size + statSync(`${path}.1`).size).toBeLessThanOrEqual(limit);
    const lines = readLogLines(path, 'web');
    expect(lines.at(-1)?.line).toMatch(/^line 1999 /);
  });

  it('cuts overlong lines', () => {
    const path = newLog();
    const writer = new BoundedLogWriter(path, 1024 * 1024);
    writer.write('stdout', 'y'.repeat(MAX_LINE_BYTES * 2));
    writer.close();
    expect(readLogLines(path, 'web')[0]?.line.length).toBeLessThan(MAX_LINE_BYTES + 20);
  });

  it('reads incrementally across a rotation', () => {
    const path = newLog();
    const writer = new BoundedLogWriter(path, 4096);
    const reader = new LogFileReader(path, 'web');
    writer.write('stdout', 'first');
    expect(reader.read().map((line) => line.line)).toEqual(['first']);
    const written: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      written.push(`more ${i} ${'z'.repeat(20)}`);
      writer.write('stdout', written.at(-1) ?? '');
    }
    expect(reader.read().map((line) => line.line)).toEqual(written);
    expect(reader.read()).toEqual([]);
    writer.close();
  });

  it('ignores lines that are not in the log format', () => {
    expect(parseLogLine('web', 'garbage')).toBeUndefined();
    expect(parseLogLine('web', '2026\tstdin\tx')).toBeUndefined();
  });
});
