/**
 * The files between `ProcessRuntime` and a workload's port forwarder (`forwarder.ts`): the spec it
 * starts with, the state it reports (the ports it bound), and the routes the runtime switches.
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
  /** The stable host ports to own on 127.0.0.1; 0 asks for a free one. */
  ports: { name: string; hostPort: number }[];
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
  /** Port name → the host port actually bound. */
  ports: Record<string, number>;
  error?: string;
}

/** Port name → the port the active instance listens on; written by the runtime only. */
export interface ForwarderRoutes {
  instance: string;
  targets: Record<string, number>;
}

/** Instance port → relayed connections open to it; written by the forwarder only. */
export interface ForwarderConnections {
  open: Record<string, number>;
}
