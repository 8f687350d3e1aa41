/** What the forwarder's TCP and HTTP relays share. */
import type { Socket } from 'node:net';
import type { InFlightCounts } from './forwarder-counts.js';
import type { RouteTable } from './forwarder-routes.js';

export interface RelayContext {
  routes: RouteTable;
  counts: InFlightCounts;
  /** Remembers a socket until it closes, so shutting the forwarder down can destroy it. */
  track(socket: Socket): void;
}
