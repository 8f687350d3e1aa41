/**
 * Container logs through the Engine API: read once (merged and cut by the runtime), or followed
 * until the caller aborts, surviving the container's restarts.
 */
import type { LogLine, LogOptions } from '@paved/core';
import { isNotFound } from './engine-errors.js';
import { sleep, type Engine } from './engine.js';
import { LogDemuxer } from './log-demux.js';

/** A container's logs as lines, optionally the last `tail` lines or those since a time. */
export async function readContainerLogs(
  engine: Engine,
  container: string,
  id: string,
  options: Pick<LogOptions, 'since' | 'tail'>,
): Promise<LogLine[]> {
  if (options.tail !== undefined && options.tail <= 0) return [];
  const buffer = await engine.call(`reading the logs of container "${container}"`, () =>
    engine.docker.getContainer(id).logs({
      stdout: true,
      stderr: true,
      timestamps: true,
      follow: false,
      ...(options.tail === undefined ? {} : { tail: options.tail }),
      ...(options.since === undefined ? {} : { since: Math.floor(options.since.getTime() / 1000) }),
    }),
  );
  const demux = new LogDemuxer(container);
  return [...demux.push(buffer), ...demux.end()];
}

/**
 * Follows the logs of several containers until the signal aborts. A container's stream ends when
 * it stops (a crash the engine restarts, a liveness restart); it is opened again from where it
 * ended, skipping the lines already given.
 */
export async function* followContainerLogs(
  engine: Engine,
  containers: { name: string; id: string }[],
  options: LogOptions,
): AsyncIterable<LogLine> {
  const signal = options.signal;
  const queue: LogLine[] = [];
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const streams = new Set<NodeJS.ReadableStream & { destroy?: () => void }>();
  let done = false;
  const stop = (): void => {
    done = true;
    for (const stream of streams) stream.destroy?.();
    notify();
  };
  signal?.addEventListener('abort', stop, { once: true });
  const follow = async (name: string, id: string): Promise<void> => {
    let since: number | undefined =
      options.since === undefined ? undefined : Math.floor(options.since.getTime() / 1000);
    let tail = options.tail;
    let lastTime: string | undefined;
    let seenAtLastTime = 0;
    while (!done) {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await engine.docker.getContainer(id).logs({
          stdout: true,
          stderr: true,
          timestamps: true,
          follow: true,
          ...(tail === undefined ? {} : { tail }),
          ...(since === undefined ? {} : { since }),
        });
      } catch (error) {
        if (isNotFound(error)) return;
        await sleep(500, signal);
        continue;
      }
      if (done) {
        (stream as { destroy?: () => void }).destroy?.();
        return;
      }
      streams.add(stream);
      const demux = new LogDemuxer(name);
      let skip = lastTime === undefined ? 0 : seenAtLastTime;
      const take = (lines: LogLine[]): void => {
        for (const line of lines) {
          if (lastTime !== undefined && line.time < lastTime) continue;
          if (line.time === lastTime && skip > 0) {
            skip -= 1;
            continue;
          }
          if (line.time === lastTime) seenAtLastTime += 1;
          else {
            lastTime = line.time;
            seenAtLastTime = 1;
          }
          queue.push(line);
        }
        if (lines.length > 0) notify();
      };
      await new Promise<void>((resolve) => {
        stream.on('data', (chunk: Buffer) => take(demux.push(chunk)));
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      take(demux.end());
      streams.delete(stream);
      // From here on: everything since the last line seen (the engine's times have whole seconds).
      tail = undefined;
      since =
        lastTime === undefined ? Math.floor(Date.now() / 1000) : Math.floor(Date.parse(lastTime) / 1000);
      await sleep(500, signal);
    }
  };
  const followers = Promise.all(containers.map(({ name, id }) => follow(name, id))).then(stop, stop);
  try {
    while (!done || queue.length > 0) {
      const line = queue.shift();
      if (line !== undefined) {
        yield line;
        continue;
      }
      if (done) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stop();
    signal?.removeEventListener('abort', stop);
    await followers;
  }
}
