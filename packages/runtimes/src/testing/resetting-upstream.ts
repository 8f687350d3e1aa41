/**
 * An HTTP upstream for tests of kept-alive relays (the forwarder's, the gateway's): it answers the
 * first request of each connection with `200 ok`, keeping the connection alive without announcing
 * a timeout, and resets the connection at its next request — a server closing an idle connection
 * just as the relay reuses it.
 */
import { createServer } from 'node:net';

export interface ResettingUpstream {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections reset on a second request. */
  resets(): number;
  close(): void;
}

export async function startResettingUpstream(): Promise<ResettingUpstream> {
  let accepted = 0;
  let resets = 0;
  const server = createServer((socket) => {
    accepted += 1;
    let answered = false;
    socket.on('error', () => undefined);
    socket.on('data', () => {
      if (answered) {
        resets += 1;
        socket.resetAndDestroy();
        return;
      }
      answered = true;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    resets: () => resets,
    close: () => void server.close(),
  };
}
