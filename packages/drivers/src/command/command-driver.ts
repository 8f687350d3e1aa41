import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { PavedError, type ProvisionRequest, type ResourceDriver, type ResourceRef } from '@paved/core';
import { z } from 'zod';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import { redactSecrets } from '../support/redact-secrets.js';
import { runCommand, type RunOutcome } from './run-command.js';
import {
  COMPOSE_ONLY_OUTPUTS,
  mergePatch,
  scoreCommandInput,
  scoreCommandOutputSchema,
  type ScoreCommandInput,
} from './score-command-contract.js';

export const COMMAND_DRIVER_ID = 'command';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/**
 * The driver's own inputs. Every other input must be a secret whose key is an environment
 * variable name: the command gets it in its environment.
 */
const inputs = z
  .object({
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    deprovisionArgs: z.array(z.string()).optional(),
    env: z.record(envName, z.string()).default({}),
    secretOutputs: z.array(z.string().min(1)).default([]),
    timeoutSeconds: z.number().positive().max(86_400).default(300),
  })
  .catchall(z.string());

/** The parsed inputs, with the executable resolved and the secret environment apart. */
interface CommandConfig {
  command: string;
  file: string;
  args: string[];
  deprovisionArgs?: string[] | undefined;
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  secretOutputs: string[];
  timeoutSeconds: number;
}
const OWN_KEYS = new Set(['command', 'args', 'deprovisionArgs', 'env', 'secretOutputs', 'timeoutSeconds']);

/** Variables of the server's environment a command gets; nothing else leaks from the server. */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
const STDERR_TAIL_IN_ERRORS = 10;

/** What the driver keeps between runs: score-compose's resource state and the shared state it saw. */
export interface CommandState {
  resourceState: Record<string, unknown>;
  sharedState: Record<string, unknown>;
}

/** `shared_state` of one provisioning run, and the queue that runs its commands one at a time. */
interface SharedRun {
  state: Record<string, unknown>;
  queue: Promise<void>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stateOf(state: unknown): CommandState {
  const record = isObject(state) ? state : {};
  return {
    resourceState: isObject(record.resourceState) ? record.resourceState : {},
    sharedState: isObject(record.sharedState) ? record.sharedState : {},
  };
}

function invalid(message: string, details: Record<string, unknown> = {}): PavedError {
  return new PavedError('INVALID_INPUT', message, { details: { driver: COMMAND_DRIVER_ID, ...details } });
}

/**
 * The executable to run: an absolute path, a name looked up on PATH, or a score-compose style
 * `cmd://` URI (`cmd:///abs/path`, `cmd://name`, `cmd://~/path`).
 */
export function resolveExecutable(command: string): string {
  let path = command;
  if (command.startsWith('cmd://')) {
    const rest = command.slice('cmd://'.length);
    path = rest.startsWith('~/') ? join(homedir(), rest.slice(2)) : rest;
  }
  if (isAbsolute(path) || (path !== '' && !path.includes('/'))) return path;
  throw invalid(
    `driver "command": command ${JSON.stringify(command)} is a relative path, which would depend on the server's working directory: ` +
      'give an absolute path (or cmd:///absolute/path), or a program name found on PATH',
    { command },
  );
}

function checkInputs(request: Pick<ProvisionRequest, 'inputs'>): CommandConfig {
  const parsed = parseDriverInputs(COMMAND_DRIVER_ID, inputs, request.inputs);
  const extra = Object.keys(parsed).filter((key) => !OWN_KEYS.has(key));
  const plain = extra.filter((key) => !Object.hasOwn(request.inputs.secrets, key));
  if (plain.length > 0) {
    throw invalid(
      `driver "command" got unknown inputs ${plain.join(', ')}: its inputs are ${[...OWN_KEYS].join(', ')}; ` +
        'put environment variables under values.env, or under secrets when they are secret',
      { keys: plain },
    );
  }
  const badNames = extra.filter((key) => !envName.safeParse(key).success);
  if (badNames.length > 0) {
    throw invalid(
      `driver "command": secret inputs ${badNames.join(', ')} are passed as environment variables, so their names must be letters, digits and "_", not starting with a digit`,
      { keys: badNames },
    );
  }
  return {
    command: parsed.command,
    file: resolveExecutable(parsed.command),
    args: parsed.args,
    deprovisionArgs: parsed.deprovisionArgs,
    env: parsed.env,
    secretEnv: Object.fromEntries(extra.map((key) => [key, request.inputs.secrets[key] ?? ''])),
    secretOutputs: parsed.secretOutputs,
    timeoutSeconds: parsed.timeoutSeconds,
  };
}

/** Runs a command for a resource and turns every way it can go wrong into one clear error. */
class CommandRun {
  readonly #secrets: string[];

  constructor(
    private readonly config: CommandConfig,
    private readonly resource: ResourceRef,
    secrets: Record<string, string>,
    private readonly log: (message: string) => void,
  ) {
    this.#secrets = Object.values(secrets).filter((value): value is string => typeof value === 'string');
  }

  #failed(what: string, hint: string, stderrTail: readonly string[] = []): PavedError {
    const lines = stderrTail.slice(-STDERR_TAIL_IN_ERRORS).filter((line) => line.trim() !== '');
    let tail = lines.length === 0 ? '' : `; last stderr lines: ${lines.join(' | ')}`;
    if (tail.length > 1200) tail = `; last stderr lines: …${tail.slice(-1150)}`;
    return new PavedError(
      'DRIVER_FAILED',
      redactSecrets(
        `command "${this.config.file}" for resource "${this.resource.uid}" ${what}${tail}: ${hint}`,
        this.#secrets,
      ),
      { details: { driver: COMMAND_DRIVER_ID, uid: this.resource.uid, command: this.config.file } },
    );
  }

  async run(
    action: 'provision' | 'deprovision',
    args: readonly string[],
    input: (scratch: string) => ScoreCommandInput,
    context: { app: string; env: string; envType: string },
    signal: AbortSignal,
  ): Promise<{ stdout: string; stderrTail: string[] }> {
    const scratch = await mkdtemp(join(tmpdir(), 'paved-command-'));
    try {
      const env: Record<string, string> = {};
      for (const name of INHERITED_ENV) {
        const value = process.env[name];
        if (value !== undefined) env[name] = value;
      }
      Object.assign(env, this.config.env, this.config.secretEnv, {
        PAVED_ACTION: action,
        PAVED_APP: context.app,
        PAVED_ENV: context.env,
        PAVED_ENV_TYPE: context.envType,
        PAVED_RESOURCE_UID: this.resource.uid,
      });
      const name = basename(this.config.file);
      this.log(`running ${name} (${action})`);
      const outcome = await runCommand({
        file: this.config.file,
        args: [...args],
        stdin: JSON.stringify(input(scratch)),
        env,
        cwd: scratch,
        timeoutMs: this.config.timeoutSeconds * 1000,
        signal,
        onStderrLine: (line) => {
          if (line.trim() !== '') this.log(`${name}: ${redactSecrets(line, this.#secrets)}`);
        },
      });
      return this.#stdout(outcome);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  #stdout(outcome: RunOutcome): { stdout: string; stderrTail: string[] } {
    switch (outcome.kind) {
      case 'exited':
        if (outcome.code === 0) return { stdout: outcome.stdout, stderrTail: outcome.stderrTail };
        throw this.#failed(
          `exited with code ${outcome.code}`,
          'fix the command or the definition’s inputs; it must exit 0 after printing its JSON',
          outcome.stderrTail,
        );
      case 'signalled':
        throw this.#failed(
          `was killed by ${outcome.signal}`,
          'see what on the server stops it (memory limits, an operator)',
          outcome.stderrTail,
        );
      case 'timed-out':
        throw this.#failed(
          `timed out after ${this.config.timeoutSeconds} s (input timeoutSeconds) and its process group was killed`,
          'raise timeoutSeconds, or make the command finish sooner',
          outcome.stderrTail,
        );
      case 'cancelled':
        throw outcome.reason;
      case 'too-much-output':
        throw this.#failed(
          'printed more than 16 MiB on stdout and was stopped',
          'print only the JSON result on stdout and diagnostics on stderr',
          outcome.stderrTail,
        );
      case 'not-started':
        throw this.#failed(
          `could not start (${outcome.error.code ?? 'error'}: ${outcome.error.message})`,
          'give an absolute path to an executable file (chmod +x, with a #! line for scripts), or a program name on the server’s PATH',
        );
    }
  }

  /** Parses a provisioner's stdout by score-compose's output contract. */
  parse(stdout: string, stderrTail: readonly string[] = []) {
    const text = stdout.trim();
    if (text === '') {
      throw this.#failed(
        'printed nothing on stdout',
        'print one JSON object such as {"resource_outputs": {…}, "resource_state": {…}} on stdout',
        stderrTail,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // stdout may hold secrets, so it is described, never shown.
      throw this.#failed(
        `printed ${Buffer.byteLength(text)} bytes on stdout that are not JSON (${error instanceof Error ? error.name : 'parse error'})`,
        'print exactly one JSON object on stdout and write diagnostics to stderr',
        stderrTail,
      );
    }
    const result = scoreCommandOutputSchema.safeParse(parsed);
    if (!result.success) {
      throw this.#failed(
        `printed JSON that breaks the cmd:// output contract: ${result.error.issues
          .map((issue) => `${issue.path.join('.') || '(stdout)'}: ${issue.message}`)
          .join('; ')}`,
        'print an object with resource_outputs, resource_state and shared_state (score-compose also allows relative_directories, relative_file_contents, compose_networks, compose_volumes, compose_services)',
        stderrTail,
      );
    }
    return result.data;
  }
}

async function waitOrAbort(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/** Runs `work` after every earlier command of the same run has finished, as score-compose does. */
async function exclusive<T>(run: SharedRun, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  const before = run.queue;
  let release: () => void = () => undefined;
  const mine = new Promise<void>((resolve) => (release = resolve));
  run.queue = before.then(() => mine);
  try {
    await waitOrAbort(before, signal);
    return await work();
  } finally {
    release();
  }
}

function sharedRunOf(request: ProvisionRequest): SharedRun {
  const existing = request.shared?.get(COMMAND_DRIVER_ID) as SharedRun | undefined;
  if (existing !== undefined) return existing;
  const created: SharedRun = { state: {}, queue: Promise.resolve() };
  request.shared?.set(COMMAND_DRIVER_ID, created);
  return created;
}

/**
 * `command`: a local executable provisions, by the contract of Score's `cmd://` provisioners — the
 * resource as JSON on stdin, `resource_outputs`, `resource_state` and `shared_state` as JSON on
 * stdout — so provisioner scripts written for score-compose run unchanged. stderr lines become the
 * deployment's events; a non-zero exit, a timeout (the process group is killed) and stdout that is
 * not the contract's JSON fail with the command's path and its last stderr lines. Deprovisioning
 * runs the command with `deprovisionArgs` and `PAVED_ACTION=deprovision`, when the definition
 * gives them.
 *
 * @example
 * // definition inputs:
 * // values:  { command: /opt/provisioners/bucket.sh, args: [create], deprovisionArgs: [delete],
 * //            secretOutputs: [secret_key] }
 * // secrets: { S3_ADMIN_KEY: { env: S3_ADMIN_KEY } }
 */
export function createCommandDriver(): ResourceDriver {
  return {
    id: COMMAND_DRIVER_ID,
    inputs,
    async provision(request, signal) {
      signal.throwIfAborted();
      const config = checkInputs(request);
      const log = request.log ?? (() => undefined);
      // Secret outputs of the last run are masked too, should the command print them to stderr.
      const known = { ...request.previousSecrets, ...request.inputs.secrets };
      const runner = new CommandRun(config, request.resource, known, log);
      const previous = stateOf(request.previousState);
      const shared = sharedRunOf(request);

      return exclusive(shared, signal, async () => {
        // This run's shared state wins over what the resource saw in earlier runs.
        const sharedState = mergePatch(previous.sharedState, shared.state);
        const { stdout, stderrTail } = await runner.run(
          'provision',
          config.args,
          (scratch) =>
            scoreCommandInput(
              request.resource,
              request.context,
              { resourceState: previous.resourceState, sharedState },
              scratch,
            ),
          request.context,
          signal,
        );
        const output = runner.parse(stdout, stderrTail);
        const ignored = COMPOSE_ONLY_OUTPUTS.filter((key) => output[key] != null);
        if (ignored.length > 0) {
          log(
            `${basename(config.file)} returned ${ignored.join(', ')}, which only score-compose uses; Paved ignores them`,
          );
        }
        const nextShared = mergePatch(sharedState, output.shared_state ?? {});
        shared.state = nextShared;

        const outputs = { ...(output.resource_outputs ?? {}) };
        const secrets: Record<string, string> = {};
        const missing: string[] = [];
        for (const name of config.secretOutputs) {
          if (!Object.hasOwn(outputs, name)) {
            missing.push(name);
            continue;
          }
          const value = outputs[name];
          delete outputs[name];
          secrets[name] = typeof value === 'string' ? value : JSON.stringify(value);
        }
        if (missing.length > 0) {
          throw new PavedError(
            'DRIVER_FAILED',
            `command "${config.file}" for resource "${request.resource.uid}" did not return ${missing.join(', ')}, which secretOutputs lists; ` +
              `it returned ${Object.keys(output.resource_outputs ?? {}).join(', ') || 'no outputs'}: fix the command or secretOutputs`,
            { details: { driver: COMMAND_DRIVER_ID, uid: request.resource.uid, missing } },
          );
        }
        const state: CommandState = { resourceState: output.resource_state ?? {}, sharedState: nextShared };
        return { outputs, secrets, state };
      });
    },
    async deprovision(request, signal) {
      signal.throwIfAborted();
      const config = checkInputs(request);
      const log = request.log ?? (() => undefined);
      if (config.deprovisionArgs === undefined) {
        log(`${basename(config.file)} is not run to deprovision: the definition gives no deprovisionArgs`);
        return;
      }
      const previous = stateOf(request.state);
      const runner = new CommandRun(config, request.resource, request.inputs.secrets, log);
      await runner.run(
        'deprovision',
        config.deprovisionArgs,
        (scratch) => scoreCommandInput(request.resource, request.context, previous, scratch),
        request.context,
        signal,
      );
    },
  };
}
