/**
 * Plain TCP relaying: the client's connection is tied to the instance active when it was made, and
 * counts as in flight there until either side closes it.
 */
import { connect, type Socket } from 'node:net';
import type { RelayContext } from './forwarder-relay.js';

/** Relays `client` (paused, nothing lost of what it sent) to the active instance of port `name`. */
export function relayTcp(context: RelayContext, name: string, client: Socket, triedKey?: string): void {
  const target = context.routes.target(name);
  if (target === undefined || target.key === triedKey) {
    client.destroy();
    return;
  }
  const upstream = connect({ host: target.host, port: target.port });
  context.track(client);
  context.track(upstream);
  let connected = false;
  const release = context.counts.hold(target.key);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
    release();
  };
  upstream.once('connect', () => {
    connected = true;
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', () => {
    if (connected) {
      close();
      return;
    }
    // The instance went away between reading the routes and connecting (a switch in progress):
    // try once more with the routes as they are now. Nothing has been sent yet.
    upstream.destroy();
    release();
    client.off('error', close).off('close', close);
    relayTcp(context, name, client, target.key);
  });
  upstream.on('close', () => {
    if (connected) close();
  });
  client.on('error', close).on('close', close);
}
