/**
 * Paved checks readiness and liveness itself instead of trusting a target's health machinery, so a
 * deployment succeeds only on evidence it saw. A probe here is already resolved to where the
 * instance listens: a full URL for `httpGet`, a command with its working directory and user for
 * `exec`, or a TCP address for the default check of a workload without probes.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

export type ResolvedProbe =
  | { kind: 'http'; url: string; headers: Record<string, string> }
  | {
      kind: 'exec';
      command: string[];
      cwd: string;
      env: Record<string, string>;
      uid?: number;
      gid?: number;
    }
  | { kind: 'tcp'; host: string; port: number };

export interface ProbeResult {
  ok: boolean;
  /** What was seen, for evidence: `HTTP 503`, `connect ECONNREFUSED`, `exit code 1`, `timed out`. */
  status: string;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 2000;

/** One line naming the probe, as shown in evidence: the URL, `exec: cmd args`, `tcp host:port`. */
export function describeProbe(probe: ResolvedProbe): string {
  switch (probe.kind) {
    case 'http':
      return probe.url;
    case 'exec':
      return `exec: ${probe.command.join(' ')}`;
    case 'tcp':
      return `tcp ${probe.host}:${probe.port}`;
  }
}

export function checkProbe(probe: ResolvedProbe, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'http':
      return checkHttp(probe.url, probe.headers, timeoutMs);
    case 'exec':
      return checkExec(probe, timeoutMs);
    case 'tcp':
      return checkTcp(probe.host, probe.port, timeoutMs);
  }
}

/** Success is a status from 200 to 399, as Kubernetes and Score define it. */
export function checkHttp(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const request = (url.startsWith('https:') ? httpsRequest : httpRequest)(
      url,
      // Probes of local instances see self-signed certificates; the check is liveness, not trust.
      { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false },
      (response) => {
        response.resume();
        const code = response.statusCode ?? 0;
        resolve({ ok: code >= 200 && code < 400, status: `HTTP ${code}` });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ ok: false, status: errorText(error) }));
    request.end();
  });
}

export function checkTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, status: 'accepting connections' });
    });
    socket.once('error', (error) => resolve({ ok: false, status: errorText(error) }));
  });
}

function checkExec(probe: Extract<ResolvedProbe, { kind: 'exec' }>, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const [command, ...args] = probe.command;
    if (command === undefined) {
      resolve({ ok: false, status: 'exec probe has no command' });
      return;
    }
    const child = spawn(command, args, {
      cwd: probe.cwd,
      env: probe.env,
      stdio: 'ignore',
      detached: true,
      ...(probe.uid === undefined ? {} : { uid: probe.uid }),
      ...(probe.gid === undefined ? {} : { gid: probe.gid }),
    });
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      resolve({ ok: false, status: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, status: errorText(error) });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({
        ok: code === 0,
        status: signal === null ? `exit code ${code ?? '?'}` : `killed by ${signal}`,
      });
    });
  });
}

function errorText(error: Error & { code?: string }): string {
  return error.code === undefined ? error.message : `${error.code}: ${error.message}`;
}
