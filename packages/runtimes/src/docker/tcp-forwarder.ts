/**
 * A stable `127.0.0.1:<port>` for one service port of a workload, inside the server process. It
 * relays every new TCP connection to the published port of the workload's current instance, so a
 * replacement can start beside the old instance on its own published port and be switched to once
 * ready; connections already open stay with the instance they were made to. The engine publishes
 * container ports on random host ports (never a fixed one that a second environment would collide
 * with); this is what gives them a fixed address across deployments.
 *
 * The forwarder counts the connections it relays to each target, so a replacement can wait until
 * the old instance has none left (its requests in flight have finished) before stopping it.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ForwardTarget {
  host: string;
  port: number;
}

export class TcpForwarder {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** `host:port` → relayed connections open to that target. */
  readonly #open = new Map<string, number>();
  readonly #drained = new Set<() => void>();
  #target: ForwardTarget | undefined;
  #port = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  /**
   * Listens on `127.0.0.1:<port>`; with port 0, on a free port below the kernel's ephemeral range.
   * Until a target is set, connections are closed at once. Rejects with the listen error
   * (`EADDRINUSE`, …).
   *
   * Why not the ephemeral range: engines pick random host ports for published container ports
   * there (Podman asks the kernel, Docker's proxy uses 49153–65535) and bind them only when the
   * container starts; a forwarder taking such a port in between makes that start fail.
   */
  static async listen(port: number): Promise<TcpForwarder> {
    if (port !== 0) return TcpForwarder.#listen(port);
    const [low, high] = forwarderPortRange();
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        return await TcpForwarder.#listen(low + Math.floor(Math.random() * (high - low + 1)));
      } catch (error) {
        if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
      }
    }
    return TcpForwarder.#listen(0);
  }

  static async #listen(port: number): Promise<TcpForwarder> {
    const server = createServer();
    const forwarder = new TcpForwarder(server);
    server.on('connection', (client: Socket) => forwarder.#relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    forwarder.#port = typeof address === 'object' && address !== null ? address.port : port;
    return forwarder;
  }

  get port(): number {
    return this.#port;
  }

  get target(): ForwardTarget | undefined {
    return this.#target;
  }

  /** New connections go to `target` from now on. */
  setTarget(target: ForwardTarget | undefined): void {
    this.#target = target;
  }

  /** Relayed connections open to `target` now. */
  openTo(target: ForwardTarget): number {
    return this.#open.get(targetKey(target)) ?? 0;
  }

  /**
   * Resolves once no relayed connection to `target` remains open, or after `timeoutMs`, with the
   * number still open then. Call it after {@link setTarget} moved new connections elsewhere.
   */
  async drain(target: ForwardTarget, timeoutMs: number): Promise<number> {
    if (this.openTo(target) === 0) return 0;
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.openTo(target) > 0) return;
        done();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.#drained.delete(check);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#drained.add(check);
    });
    return this.openTo(target);
  }

  /** Stops listening and drops every relayed connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #count(target: ForwardTarget, delta: number): void {
    const key = targetKey(target);
    const open = (this.#open.get(key) ?? 0) + delta;
    if (open > 0) {
      this.#open.set(key, open);
      return;
    }
    this.#open.delete(key);
    for (const check of [...this.#drained]) check();
  }

  #relay(client: Socket, tried?: ForwardTarget): void {
    const target = this.#target;
    if (target === undefined || (tried !== undefined && sameTarget(tried, target))) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    let connected = false;
    let counted = true;
    this.#count(target, 1);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
      if (counted) {
        counted = false;
        this.#count(target, -1);
      }
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
      // The target went away between choosing it and connecting (a switch in progress): try once
      // more with the target as it is now. Nothing has been sent yet.
      upstream.destroy();
      this.#sockets.delete(upstream);
      if (counted) {
        counted = false;
        this.#count(target, -1);
      }
      this.#relay(client, target);
    });
    upstream.on('close', () => {
      if (connected) close();
    });
    client.on('error', close).on('close', close);
  }
}

/** Ports for forwarders without an assigned one: from 20000 up to the start of the ephemeral range. */
export function forwarderPortRange(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  let ephemeralLow = 32768;
  try {
    const low = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) ephemeralLow = low;
  } catch {
    // Not Linux: the usual IANA split.
  }
  return ephemeralLow > 21_024 ? [20_000, ephemeralLow - 1] : [10_000, 19_999];
}

function targetKey(target: ForwardTarget): string {
  return `${target.host}:${target.port}`;
}

function sameTarget(a: ForwardTarget, b: ForwardTarget): boolean {
  return a.host === b.host && a.port === b.port;
}
