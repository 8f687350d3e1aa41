/**
 * The supervisor of one workload instance: a detached Node process started by `ProcessRuntime`
 * (`node supervisor.js <spec.json>`), so the workload outlives a restart of the server.
 *
 * The secret variables and secret arguments are not in `spec.json`: their values arrive as one
 * JSON line on stdin (`SupervisorSecrets`), are kept in memory only and merged into each
 * container's environment (and its exec probes') and command line at every start. A named secret
 * missing from stdin fails every container with a message instead of starting it without
 * (ADR 0015).
 *
 * It starts the containers in `before` order as the run-as user, writes their output to bounded
 * log files, checks readiness and liveness probes, restarts crashed containers with exponential
 * backoff (counting restarts), and on SIGTERM forwards SIGTERM to every container's process group,
 * then SIGKILL after the grace period. Everything it knows goes to `state.json` atomically; the
 * runtime reads nothing else. Each container runs in its own process group so that grandchildren
 * (a shell's children) are signalled and reaped with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkProbe, describeProbe, type ResolvedProbe } from '../probes/probe-check.js';
import { BoundedLogWriter } from './log-file.js';
import { identify } from './process-identity.js';
import { maskedArgv } from './secret-arguments.js';
import { readJson, writeJsonAtomic } from './state-file.js';
import type {
  ContainerState,
  SupervisedContainer,
  SupervisorSecrets,
  SupervisorSpec,
  SupervisorState,
} from './supervisor-spec.js';

/** A container without a readiness probe counts as ready once it has stayed up this long. */
const SETTLE_MS = 1000;
/** A run this long resets the backoff: the container is not crash-looping. */
const STABLE_RUN_MS = 10_000;
const LIVENESS_FAILURE_THRESHOLD = 3;

interface Running {
  child: ChildProcess;
  startedAt: number;
  writer: BoundedLogWriter;
  stopping: boolean;
  livenessFailures: number;
}

const specPath = process.argv[2];
if (specPath === undefined) {
  process.stderr.write('usage: supervisor <spec.json>\n');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as SupervisorSpec;
mkdirSync(spec.logDir, { recursive: true, mode: 0o700 });
const missingSecrets = mergeSecrets(await readSecrets());

const self = identify(process.pid) ?? { pid: process.pid, startTime: '' };
const state: SupervisorState = {
  token: spec.token,
  supervisor: self,
  phase: 'running',
  ready: false,
  updatedAt: new Date().toISOString(),
  containers: Object.fromEntries(
    spec.containers.map((container): [string, ContainerState] => [
      container.name,
      { state: 'waiting', restarts: 0, ready: false, wasReady: false, probeFailures: 0, livenessRestarts: 0 },
    ]),
  ),
};
// A supervisor started again for the same instance (it died, the server restarted it) does not
// run the release phase a second time: what completed before stays completed.
const earlier = readJson<SupervisorState>(spec.stateFile);
if (earlier?.token === spec.token) {
  for (const container of spec.containers) {
    const previous = earlier.containers[container.name];
    const current = state.containers[container.name];
    if (container.runsToCompletion && previous?.state === 'completed' && current !== undefined) {
      current.state = 'completed';
      if (previous.exitCode !== undefined) current.exitCode = previous.exitCode;
    }
  }
}
if (missingSecrets.length > 0) {
  for (const current of Object.values(state.containers)) {
    if (current.state !== 'waiting') continue;
    current.state = 'failed';
    current.message = `not started: the values of its secrets (${missingSecrets.join(', ')}) were not handed to the supervisor; they are not kept on disk, so deploy again`;
  }
}
const running = new Map<string, Running>();
const writers = new Map<string, BoundedLogWriter>();
const restartAt = new Map<string, number>();
const consecutiveCrashes = new Map<string, number>();
const probing = new Set<string>();

/** The one line the runtime writes on stdin before closing it; empty when there is no pipe. */
async function readSecrets(): Promise<SupervisorSecrets> {
  if (process.stdin.isTTY === true) return { containers: {} };
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return { containers: {} };
  const parsed = JSON.parse(text) as Partial<SupervisorSecrets>;
  return { containers: parsed.containers ?? {}, arguments: parsed.arguments ?? {} };
}

/**
 * Puts the secret values into the in-memory spec (container env, exec probes and command line),
 * so every start and restart has them; returns `container.NAME` (a variable) or
 * `container.argument N` of each named secret that did not arrive.
 */
function mergeSecrets(secrets: SupervisorSecrets): string[] {
  const missing: string[] = [];
  for (const container of spec.containers) {
    const values = secrets.containers[container.name] ?? {};
    const merged: Record<string, string> = {};
    for (const name of container.secretEnv ?? []) {
      const value = values[name];
      if (value === undefined) missing.push(`${container.name}.${name}`);
      else merged[name] = value;
    }
    container.env = { ...container.env, ...merged };
    const argumentValues = secrets.arguments?.[container.name] ?? {};
    const argv = [container.command, ...container.args];
    for (const position of container.secretArgs ?? []) {
      const value = argumentValues[String(position)];
      if (value === undefined || position >= argv.length)
        missing.push(`${container.name}.argument ${position}`);
      else argv[position] = value;
    }
    [container.command = '', ...container.args] = argv;
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      if (probe?.kind === 'exec') probe.env = { ...probe.env, ...merged };
    }
  }
  return missing;
}

function save(): void {
  state.updatedAt = new Date().toISOString();
  writeJsonAtomic(spec.stateFile, state);
}

function writerFor(name: string): BoundedLogWriter {
  let writer = writers.get(name);
  if (writer === undefined) {
    writer = new BoundedLogWriter(join(spec.logDir, `${name}.log`), spec.logLimitBytes);
    writers.set(name, writer);
  }
  return writer;
}

/** Supervisor notes go into the container's log, so `paved logs` shows why something restarted. */
function note(name: string, message: string): void {
  writerFor(name).write('stderr', `[paved] ${message}`);
}

function conditionMet(name: string, condition: SupervisedContainer['waitFor'][string]): boolean {
  const other = state.containers[name];
  if (other === undefined) return true;
  switch (condition) {
    case 'started':
      return other.state === 'running' || other.state === 'completed' || other.restarts > 0;
    case 'healthy':
      return other.wasReady || other.state === 'completed';
    case 'complete':
      return other.state === 'completed';
  }
}

function start(container: SupervisedContainer, isRestart: boolean): void {
  const current = state.containers[container.name];
  if (current === undefined) return;
  const writer = writerFor(container.name);
  const child = spawn(container.command, container.args, {
    cwd: container.cwd,
    env: container.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...(spec.uid === undefined ? {} : { uid: spec.uid }),
    ...(spec.gid === undefined ? {} : { gid: spec.gid }),
  });
  const entry: Running = { child, startedAt: Date.now(), writer, stopping: false, livenessFailures: 0 };
  running.set(container.name, entry);
  if (isRestart) current.restarts += 1;
  current.state = 'running';
  current.ready = false;
  current.wasReady = false;
  current.startedAt = new Date().toISOString();
  // exitCode and signal stay: they describe the last exit, which is what a restart count needs.
  delete current.message;
  const identity = child.pid === undefined ? undefined : identify(child.pid);
  if (identity === undefined) delete current.process;
  else current.process = identity;
  note(
    container.name,
    `started ${maskedArgv([container.command, ...container.args], container.secretArgs ?? []).join(' ')} (pid ${child.pid ?? '?'})`,
  );
  pipeLines(child.stdout, (line) => writer.write('stdout', line));
  pipeLines(child.stderr, (line) => writer.write('stderr', line));
  child.once('error', (error: Error & { code?: string }) => {
    // The command could not be started at all (not found, not executable): retrying won't help.
    running.delete(container.name);
    current.state = 'failed';
    current.ready = false;
    const hint =
      error.code === 'ENOENT' || error.code === 'EACCES'
        ? ` (not found, or not executable by the user workloads run as, in the context or on PATH ${container.env.PATH ?? ''})`
        : '';
    const [shown] = maskedArgv([container.command], container.secretArgs ?? []);
    current.message = `could not start "${shown}": ${error.code ?? error.message}${hint}`;
    delete current.process;
    note(container.name, current.message);
    save();
  });
  child.once('exit', (code, signal) => onExit(container, entry, code, signal));
  save();
}

function onExit(
  container: SupervisedContainer,
  entry: Running,
  code: number | null,
  signal: string | null,
): void {
  if (running.get(container.name) !== entry) return;
  running.delete(container.name);
  const current = state.containers[container.name];
  if (current === undefined) return;
  // Take down whatever the container left behind in its process group (it may hold its port).
  killGroup(entry.child.pid, 'SIGKILL');
  delete current.process;
  current.ready = false;
  if (code === null) delete current.exitCode;
  else current.exitCode = code;
  if (signal === null) delete current.signal;
  else current.signal = signal;
  note(container.name, `exited with ${signal === null ? `code ${code ?? '?'}` : `signal ${signal}`}`);
  if (state.phase !== 'running') {
    current.state = 'exited';
    save();
    return;
  }
  if (code === 0 && container.runsToCompletion && !entry.stopping) {
    current.state = 'completed';
    save();
    return;
  }
  if (container.runsToCompletion && !entry.stopping) {
    // A release-phase container (a migration others wait on) is not run again after failing: it
    // may have done half its work, and whether to repeat it is for a person to decide. The
    // instance never becomes ready, so the deployment fails with its logs.
    current.state = 'failed';
    current.message = `release-phase container exited with ${signal === null ? `code ${code ?? '?'}` : `signal ${signal}`} before completing (the containers waiting for it to complete were not started)`;
    note(container.name, current.message);
    save();
    return;
  }
  const ranFor = Date.now() - entry.startedAt;
  const crashes =
    ranFor >= STABLE_RUN_MS || entry.stopping ? 1 : (consecutiveCrashes.get(container.name) ?? 0) + 1;
  consecutiveCrashes.set(container.name, crashes);
  const delay = entry.stopping
    ? 0
    : Math.min(spec.backoff.maxMs, spec.backoff.initialMs * 2 ** (crashes - 1));
  current.state = 'exited';
  restartAt.set(container.name, Date.now() + delay);
  note(container.name, `restarting in ${delay} ms`);
  save();
}

function pipeLines(stream: NodeJS.ReadableStream | null, write: (line: string) => void): void {
  if (stream === null) return;
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) write(part.endsWith('\r') ? part.slice(0, -1) : part);
    // A producer that never ends its line still may not grow memory without bound.
    if (partial.length > 65_536) {
      write(partial);
      partial = '';
    }
  });
  stream.on('end', () => {
    if (partial !== '') write(partial);
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already empty.
  }
}

async function probe(
  name: string,
  kind: 'readiness' | 'liveness',
  target: ResolvedProbe,
): Promise<{ ok: boolean; status: string }> {
  const current = state.containers[name];
  const result = await checkProbe(target, Math.max(1000, spec.probeIntervalMs * 2));
  if (current !== undefined && kind === 'readiness') {
    current.lastProbe = {
      probe: describeProbe(target),
      ok: result.ok,
      status: result.status,
      at: new Date().toISOString(),
    };
    if (!result.ok) current.probeFailures += 1;
  }
  // Failed readiness checks while a container boots are expected (the gate's evidence has them);
  // status keeps failures of a container that had been ready: what took it out of service.
  if (current !== undefined && !result.ok && (kind === 'liveness' || current.wasReady)) {
    current.lastProbeFailure = {
      probe: `${kind} ${describeProbe(target)}`,
      status: result.status,
      at: new Date().toISOString(),
    };
  }
  return result;
}

async function checkContainer(container: SupervisedContainer): Promise<void> {
  const entry = running.get(container.name);
  const current = state.containers[container.name];
  if (entry === undefined || current === undefined || entry.stopping) return;
  const before = current.ready;
  if (container.readinessProbe === undefined) {
    current.ready = Date.now() - entry.startedAt >= SETTLE_MS;
  } else {
    const { ok } = await probe(container.name, 'readiness', container.readinessProbe);
    if (running.get(container.name) !== entry) return;
    current.ready = ok;
  }
  if (current.ready) current.wasReady = true;
  if (container.livenessProbe !== undefined && current.wasReady) {
    const ok = await probe(container.name, 'liveness', container.livenessProbe);
    if (running.get(container.name) !== entry) return;
    entry.livenessFailures = ok.ok ? 0 : entry.livenessFailures + 1;
    if (!ok.ok) current.probeFailures += 1;
    if (entry.livenessFailures >= LIVENESS_FAILURE_THRESHOLD) {
      current.livenessRestarts += 1;
      note(
        container.name,
        `liveness probe ${describeProbe(container.livenessProbe)} failed ${entry.livenessFailures} times (${ok.status}); restarting`,
      );
      void terminate(container.name, entry).then(() => undefined);
      save();
      return;
    }
  }
  if (before !== current.ready) save();
}

/** SIGTERM to the container's process group, SIGKILL after the grace period. Resolves on exit. */
function terminate(name: string, entry: Running): Promise<void> {
  entry.stopping = true;
  const pid = entry.child.pid;
  if (entry.child.exitCode !== null || entry.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      note(name, `still running ${spec.graceMs} ms after SIGTERM; sending SIGKILL`);
      killGroup(pid, 'SIGKILL');
    }, spec.graceMs);
    entry.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    killGroup(pid, 'SIGTERM');
  });
}

async function tick(): Promise<void> {
  if (state.phase !== 'running') return;
  const now = Date.now();
  for (const container of spec.containers) {
    const current = state.containers[container.name];
    if (current === undefined) continue;
    if (current.state === 'waiting') {
      const ready = Object.entries(container.waitFor).every(([other, condition]) =>
        conditionMet(other, condition),
      );
      if (ready) start(container, false);
    } else if (current.state === 'exited' && (restartAt.get(container.name) ?? 0) <= now) {
      start(container, true);
    }
  }
  if (now - lastProbeAt < spec.probeIntervalMs) return;
  lastProbeAt = now;
  const checks = spec.containers
    .filter((container) => running.has(container.name) && !probing.has(container.name))
    .map(async (container) => {
      probing.add(container.name);
      try {
        await checkContainer(container);
      } finally {
        probing.delete(container.name);
      }
    });
  await Promise.all(checks);
  await updateReady();
  // Probe results and failure counts are evidence for the runtime: publish every round.
  if (checks.length > 0 && state.phase === 'running') save();
}

let checkingWorkload = false;
async function updateReady(): Promise<void> {
  const containersReady = spec.containers.every((container) => {
    const current = state.containers[container.name];
    return current !== undefined && (current.ready || current.state === 'completed');
  });
  let ready = containersReady;
  if (ready && spec.workloadCheck !== undefined && !checkingWorkload) {
    checkingWorkload = true;
    const result = await checkProbe(spec.workloadCheck, Math.max(1000, spec.probeIntervalMs * 2));
    checkingWorkload = false;
    state.lastWorkloadCheck = {
      probe: describeProbe(spec.workloadCheck),
      ok: result.ok,
      status: result.status,
      at: new Date().toISOString(),
    };
    ready = result.ok;
  } else if (ready && spec.workloadCheck !== undefined) {
    ready = state.ready;
  }
  if (ready !== state.ready && state.phase === 'running') {
    state.ready = ready;
    save();
  }
}

async function stop(): Promise<void> {
  if (state.phase !== 'running') return;
  state.phase = 'stopping';
  state.ready = false;
  save();
  await Promise.all([...running.entries()].map(([name, entry]) => terminate(name, entry)));
  for (const [name, current] of Object.entries(state.containers)) {
    if (current.state === 'running') current.state = 'exited';
    current.ready = false;
    delete current.process;
    writers.get(name)?.write('stderr', '[paved] stopped');
  }
  state.phase = 'stopped';
  save();
  for (const writer of writers.values()) writer.close();
  process.exit(0);
}

process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The server's terminal going away must not take the workload with it.
process.on('SIGHUP', () => undefined);

save();
// Starts and restarts are looked at often; probes only every probeIntervalMs.
const tickMs = Math.max(50, Math.min(spec.probeIntervalMs, 200));
let lastProbeAt = 0;
async function loop(): Promise<void> {
  try {
    await tick();
  } catch (error) {
    process.stderr.write(`supervisor tick failed: ${String(error)}\n`);
  }
  setTimeout(() => void loop(), tickMs);
}
void loop();
