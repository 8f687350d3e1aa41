/**
 * Container logs from the Engine API, as lines. Without a TTY the engine multiplexes stdout and
 * stderr into frames: an 8-byte header (stream type 1 = stdout, 2 = stderr; three zero bytes; the
 * payload length as a big-endian uint32) and the payload. Frames do not align with lines, nor with
 * the chunks a socket delivers, so both are reassembled here. With `timestamps`, each line starts
 * with an RFC 3339 time and a space (Docker gives nanoseconds, Podman whole seconds).
 */
import type { LogLine } from '@paved/core';

type Stream = LogLine['stream'];

/** Longest line kept whole; longer output is cut into pieces of this size. */
const MAX_LINE_BYTES = 8 * 1024;

export class LogDemuxer {
  #pending: Buffer = Buffer.alloc(0);
  readonly #partial: Record<Stream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  readonly #container: string;

  constructor(container: string) {
    this.#container = container;
  }

  /** Feeds raw bytes from the engine; returns the complete lines they finish. */
  push(chunk: Buffer): LogLine[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const lines: LogLine[] = [];
    while (this.#pending.length >= 8) {
      const type = this.#pending[0];
      const size = this.#pending.readUInt32BE(4);
      if (this.#pending.length < 8 + size) break;
      const payload = this.#pending.subarray(8, 8 + size);
      this.#pending = this.#pending.subarray(8 + size);
      // Type 0 (stdin) never carries output; treat anything unexpected as stdout rather than drop it.
      lines.push(...this.#lines(type === 2 ? 'stderr' : 'stdout', payload));
    }
    return lines;
  }

  /** Whatever unterminated output remains, as final lines. */
  end(): LogLine[] {
    const lines: LogLine[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream].length > 0) lines.push(this.#line(stream, this.#partial[stream]));
      this.#partial[stream] = Buffer.alloc(0);
    }
    return lines;
  }

  #lines(stream: Stream, payload: Buffer): LogLine[] {
    let data = this.#partial[stream].length === 0 ? payload : Buffer.concat([this.#partial[stream], payload]);
    const lines: LogLine[] = [];
    for (let newline = data.indexOf(10); newline >= 0; newline = data.indexOf(10)) {
      lines.push(this.#line(stream, data.subarray(0, newline)));
      data = data.subarray(newline + 1);
    }
    while (data.length > MAX_LINE_BYTES) {
      lines.push(this.#line(stream, data.subarray(0, MAX_LINE_BYTES)));
      data = data.subarray(MAX_LINE_BYTES);
    }
    this.#partial[stream] = Buffer.from(data);
    return lines;
  }

  #line(stream: Stream, bytes: Buffer): LogLine {
    const text = bytes.toString('utf8').replace(/\r$/, '');
    const { time, line } = splitTimestamp(text);
    return { time, container: this.#container, stream, line };
  }
}

/** `2026-01-02T03:04:05.123456789Z hello` → ISO time (ms precision) and `hello`. */
export function splitTimestamp(text: string): { time: string; line: string } {
  const space = text.indexOf(' ');
  if (space > 0) {
    const stamp = Date.parse(text.slice(0, space));
    if (!Number.isNaN(stamp)) return { time: new Date(stamp).toISOString(), line: text.slice(space + 1) };
  }
  return { time: new Date().toISOString(), line: text };
}

/** Merges lines of several containers by time, keeping each container's own order. */
export function mergeByTime(groups: LogLine[][]): LogLine[] {
  const tagged = groups.flatMap((lines, group) => lines.map((line, index) => ({ line, group, index })));
  tagged.sort((a, b) =>
    a.line.time < b.line.time ? -1 : a.line.time > b.line.time ? 1 : a.group - b.group || a.index - b.index,
  );
  return tagged.map((entry) => entry.line);
}
