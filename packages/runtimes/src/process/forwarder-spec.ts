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
