/**
 * The files between a runtime and a workload's port forwarder (`forwarder.ts`): the spec it starts
 * with, the state it reports (the ports it bound), the routes the runtime switches and the
 * connections the forwarder reports.
 */
import type { ProcessIdentity } from './process-identity.js';

export interface ForwarderSpec {
  token: string;
  stateFile: string;
  routesFile: string;
  /**
   * Where the forwarder keeps {@link ForwarderConnections} up to date, so the runtime can wait for
   * an old instance's connections to finish before stopping it. Absent in older specs.
   */
  connectionsFile?: string;
  /** The stable ports to own on {@link listenHost}; 0 asks for a free one. */
  ports: { name: string; hostPort: number }[];
  /**
   * The address to listen on; default 127.0.0.1. A forwarder inside a container network listens
   * on 0.0.0.0 so the other containers reach it.
   */
  listenHost?: string;
  /**
   * Where a free port (host port 0) is looked for first, lowest and highest included; absent: any
   * port the kernel hands out. The docker target keeps its forwarders below the kernel's ephemeral
   * range, where the engine picks the published ports of containers it has yet to start.
   */
  freePortRange?: [number, number];
}

export interface ForwarderState {
  token: string;
  process: ProcessIdentity;
  /** Port name → the port actually bound. */
  ports: Record<string, number>;
  error?: string;
}

/** Where an instance listens when that is not 127.0.0.1 (e.g. a container's address in a network). */
export interface ForwarderTarget {
  host: string;
  port: number;
}

/**
 * Port name → where the active instance listens: a bare number is 127.0.0.1:number. Written by
 * the runtime only, in one atomic rewrite per switch.
 *
 * `Target` defaults to `number` because the process runtime and the docker target's host
 * forwarders write (and read back) bare ports only; the forwarder itself reads
 * `ForwarderRoutes<number | ForwarderTarget>`, and so must anyone writing host/port targets.
 */
export interface ForwarderRoutes<Target extends number | ForwarderTarget = number> {
  instance: string;
  targets: Record<string, Target>;
}

/**
 * {@link targetKey} of an instance → what the forwarder has in flight to it: TCP connections, and
 * for HTTP, requests in progress and upgraded tunnels (an idle kept-alive client connection is tied
 * to no instance, so it counts for nothing). Written by the forwarder only.
 */
export interface ForwarderConnections {
  open: Record<string, number>;
}

/**
 * The key of a target in {@link ForwarderConnections.open}: the bare port for a number (what
 * runtimes that write numbers look up with `String(port)`), `host:port` otherwise.
 */
export function targetKey(target: number | ForwarderTarget): string {
  return typeof target === 'number' ? String(target) : `${target.host}:${target.port}`;
}
