import { describe, expect, it } from 'vitest';
import { LogDemuxer, mergeByTime, splitTimestamp } from './log-demux.js';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('LogDemuxer', () => {
  it('splits frames into lines per stream, whatever the chunk boundaries', () => {
    const bytes = Buffer.concat([
      frame(1, '2026-01-02T03:04:05.123456789Z hello\n2026-01-02T03:04:06Z wor'),
      frame(2, '2026-01-02T03:04:06Z oops\n'),
      frame(1, 'ld\n'),
    ]);
    for (const size of [1, 3, 7, 8, 9, 64, bytes.length]) {
      const demux = new LogDemuxer('main');
      const lines = [];
      for (let at = 0; at < bytes.length; at += size)
        lines.push(...demux.push(bytes.subarray(at, at + size)));
      lines.push(...demux.end());
      expect(lines, `chunks of ${size}`).toEqual([
        { time: '2026-01-02T03:04:05.123Z', container: 'main', stream: 'stdout', line: 'hello' },
        { time: '2026-01-02T03:04:06.000Z', container: 'main', stream: 'stderr', line: 'oops' },
        { time: '2026-01-02T03:04:06.000Z', container: 'main', stream: 'stdout', line: 'world' },
      ]);
    }
  });

  it('gives out an unterminated last line at the end, and cuts very long lines', () => {
    const demux = new LogDemuxer('main');
    expect(demux.push(frame(1, '2026-01-02T03:04:05Z partial'))).toEqual([]);
    expect(demux.end()).toMatchObject([{ line: 'partial' }]);
    const long = new LogDemuxer('main');
    const lines = [...long.push(frame(1, 'x'.repeat(20_000))), ...long.end()];
    expect(lines.map((line) => line.line.length)).toEqual([8192, 8192, 3616]);
  });

  it('keeps lines without a timestamp whole', () => {
    expect(splitTimestamp('no time here')).toMatchObject({ line: 'no time here' });
  });
});

describe('mergeByTime', () => {
  it('orders lines of several containers by time, each container keeping its order', () => {
    const line = (container: string, time: string, text: string) => ({
      time,
      container,
      stream: 'stdout' as const,
      line: text,
    });
    const merged = mergeByTime([
      [line('a', '2026-01-01T00:00:01.000Z', 'a1'), line('a', '2026-01-01T00:00:03.000Z', 'a3')],
      [line('b', '2026-01-01T00:00:02.000Z', 'b2'), line('b', '2026-01-01T00:00:03.000Z', 'b3')],
    ]);
    expect(merged.map((entry) => entry.line)).toEqual(['a1', 'b2', 'a3', 'b3']);
  });
});
