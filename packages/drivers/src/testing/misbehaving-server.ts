/**
 * TCP servers on 127.0.0.1 that misbehave the way a wrong or hung server does, for the timeout,
 * cancellation and malformed-result cases of drivers that talk to servers. Test-only.
 */
import { createServer, type Socket } from 'node:net';

export interface MisbehavingServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `silent`: accepts connections and never says a word (a hung server, a firewall that lets the
 * handshake through). `garbage`: answers every connection with a few bytes of nonsense and hangs
 * up (another service on the port).
 */
export async function startMisbehavingServer(behaviour: 'silent' | 'garbage'): Promise<MisbehavingServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (behaviour === 'garbage') socket.end('\u0000\u0001NOT A DATABASE\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the misbehaving server has no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
