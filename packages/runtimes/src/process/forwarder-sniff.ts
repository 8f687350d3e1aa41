/**
 * Tells an HTTP/1.x client from anything else by the first bytes it sends, without losing them:
 * what was read is put back on the socket, so whoever takes the socket next reads it from the
 * start.
 */
import type { Socket } from 'node:net';

export type SniffedProtocol = 'http' | 'tcp' | 'closed';

/** How long a client may stay silent before it is taken for a server-first protocol (MySQL, SMTP). */
export const SNIFF_TIMEOUT_MS = 300;

// HTTP/2's preface starts "PRI * HTTP/2.0": not in the list, so h2c is relayed as plain TCP.
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT'].map(
  (method) => Buffer.from(`${method} `, 'latin1'),
);
const LONGEST = Math.max(...METHODS.map((method) => method.length));

/**
 * 'http' when `start` begins with a known method and a space, 'tcp' when it cannot, undefined
 * while it is still a prefix of one (a client may send its first bytes in pieces).
 */
export function classifyStart(start: Buffer): 'http' | 'tcp' | undefined {
  let undecided = false;
  for (const method of METHODS) {
    const length = Math.min(start.length, method.length);
    if (start.subarray(0, length).equals(method.subarray(0, length))) {
      if (length === method.length) return 'http';
      undecided = true;
    }
  }
  return undecided && start.length < LONGEST ? undefined : 'tcp';
}

/**
 * Reads from `socket` until its first bytes decide the protocol, or `timeoutMs` passes without a
 * decision ('tcp'). The socket is left paused with everything read put back; 'closed' when it
 * ended or failed first.
 */
export function sniff(socket: Socket, timeoutMs = SNIFF_TIMEOUT_MS): Promise<SniffedProtocol> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (protocol: SniffedProtocol): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('error', onEnd).off('close', onEnd);
      socket.pause();
      if (protocol !== 'closed' && chunks.length > 0) socket.unshift(Buffer.concat(chunks));
      resolve(protocol);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      const protocol = classifyStart(Buffer.concat(chunks));
      if (protocol !== undefined) finish(protocol);
    };
    // A client that ends before its first bytes decide anything is done: what it sent cannot be put
    // back once the stream has ended, and a prefix of "GET " is no protocol worth relaying.
    const onEnd = (): void => finish('closed');
    const timer = setTimeout(() => finish('tcp'), timeoutMs);
    socket.on('data', onData).once('end', onEnd).once('error', onEnd).once('close', onEnd);
  });
}
