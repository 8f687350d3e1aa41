import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The installed `paved` command: what `npx paved` runs. */
export const PAVED_BIN = `${ROOT}packages/cli/bin/paved.js`;

export interface PavedRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fails with what to do when the build the end-to-end tests drive is missing. */
export function assertBuilt(): void {
  for (const file of ['packages/cli/dist/main.js', 'packages/server/dist/index.js']) {
    if (!existsSync(`${ROOT}${file}`)) {
      throw new Error(
        `${file} is missing: the end-to-end tests drive the built CLI; run "npm run build" first`,
      );
    }
  }
}

/**
 * An environment for the CLI under test: the caller's, minus every PAVED_* variable and with a
 * home and config directory of its own, so a developer's token or `paved login` file never
 * decides a test's outcome.
 */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('PAVED_') && value !== undefined) env[name] = value;
  }
  return { ...env, HOME: home, XDG_CONFIG_HOME: `${home}/.config`, NO_COLOR: '1', ...extra };
}

/** Runs the built CLI to completion and returns its exit code and output. */
export function runPaved(
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string },
): Promise<PavedRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [PAVED_BIN, ...args], {
      env: options.env,
      cwd: options.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code, signal) => {
      done({ code: code ?? (signal === null ? -1 : 128), stdout, stderr });
    });
  });
}

export interface PavedServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the server printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after a while; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `paved server` from the built CLI and waits for its `Paved is listening on <url>` line
 * (the server's own log lines are JSON, so the plain line is unambiguous).
 */
export function startPavedServer(
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<PavedServerProcess> {
  const child = spawn(process.execPath, [PAVED_BIN, 'server', ...args], {
    env: options.env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));

  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      void stop();
      fail(
        new Error(
          `paved server did not say where it listens within ${options.timeoutMs ?? 30_000} ms:\n${output}`,
        ),
      );
    }, options.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /^Paved is listening on (\S+)$/m.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        done({ url: match[1]!, child, output: () => output, stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`paved server exited with ${code} before listening:\n${output}`));
    });
  });
}
