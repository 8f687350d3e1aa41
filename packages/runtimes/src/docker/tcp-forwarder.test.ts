import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { forwarderPortRange, TcpForwarder } from './tcp-forwarder.js';

/** A TCP server answering every connection with its name. */
async function upstream(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
}

function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(''));
  });
}

describe('TcpForwarder', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });

  it('relays new connections to its current target and switches without dropping the port', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const forwarder = await TcpForwarder.listen(0);
    cleanup.push(
      () => forwarder.close(),
      async () => void a.server.close(),
      async () => void b.server.close(),
    );
    const [low, high] = forwarderPortRange();
    expect(forwarder.port).toBeGreaterThanOrEqual(low);
    expect(forwarder.port).toBeLessThanOrEqual(high);
    expect(await ask(forwarder.port)).toBe(''); // no target yet: closed at once
    forwarder.setTarget({ host: '127.0.0.1', port: a.port });
    expect(await ask(forwarder.port)).toBe('a');
    forwarder.setTarget({ host: '127.0.0.1', port: b.port });
    expect(await ask(forwarder.port)).toBe('b');
  });

  it('refuses a port in use, and closes for good', async () => {
    const forwarder = await TcpForwarder.listen(0);
    await expect(TcpForwarder.listen(forwarder.port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await forwarder.close();
    expect(await ask(forwarder.port)).toBe('');
  });

  it('keeps its ports below the kernel ephemeral range, where engines pick theirs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paved-range-'));
    try {
      writeFileSync(join(dir, 'range'), '32768\t60999\n');
      expect(forwarderPortRange(join(dir, 'range'))).toEqual([20_000, 32_767]);
      writeFileSync(join(dir, 'range'), '15000 65000');
      expect(forwarderPortRange(join(dir, 'range'))).toEqual([10_000, 19_999]);
      expect(forwarderPortRange(join(dir, 'missing'))).toEqual([20_000, 32_767]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
