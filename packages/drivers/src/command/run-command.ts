/**
 * Runs one executable: JSON on stdin, stdout collected, stderr relayed line by line. The process
 * gets its own process group, so a timeout or a cancellation ends it and everything it started.
 */
import { spawn } from 'node:child_process';

/** More stdout than this is refused: outputs and state are small JSON. */
export const MAX_STDOUT_BYTES = 16 * 1024 * 1024;
/** How long a process has between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 2_000;
/** How long the pipes may stay open after the process exited (held by something it started). */
const PIPE_GRACE_MS = 2_000;
const STDERR_TAIL_LINES = 20;

export interface RunCommandOptions {
  file: string;
  args: readonly string[];
  stdin: string;
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Each line the process writes to stderr, as it comes. */
  onStderrLine: (line: string) => void;
}

export type RunOutcome =
  | { kind: 'exited'; code: number; stdout: string; stderrTail: string[] }
  | { kind: 'signalled'; signal: string; stdout: string; stderrTail: string[] }
  | { kind: 'timed-out'; stderrTail: string[] }
  | { kind: 'cancelled'; reason: unknown; stderrTail: string[] }
  | { kind: 'too-much-output'; stderrTail: string[] }
  | { kind: 'not-started'; error: NodeJS.ErrnoException };

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Runs the command to its end, a timeout or a cancellation; never rejects. */
export function runCommand(options: RunCommandOptions): Promise<RunOutcome> {
  return new Promise<RunOutcome>((resolve) => {
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    const tail: string[] = [];
    let partial = '';
    let stopping: RunOutcome['kind'] | undefined;
    let cancelReason: unknown;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let pipeTimer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const child = spawn(options.file, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });

    const line = (text: string): void => {
      tail.push(text);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
      options.onStderrLine(text);
    };

    const settle = (outcome: RunOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(pipeTimer);
      clearTimeout(killTimer);
      options.signal.removeEventListener('abort', onAbort);
      if (partial !== '') {
        line(partial);
        partial = '';
      }
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(outcome);
    };

    const finish = (): void => {
      if (partial !== '') {
        line(partial);
        partial = '';
      }
      const stderrTail = [...tail];
      const text = Buffer.concat(stdout).toString('utf8');
      // Stopped on purpose: whatever in the group outlived SIGTERM goes now.
      if (stopping !== undefined) killGroup(child.pid, 'SIGKILL');
      if (stopping === 'timed-out') settle({ kind: 'timed-out', stderrTail });
      else if (stopping === 'cancelled') settle({ kind: 'cancelled', reason: cancelReason, stderrTail });
      else if (stopping === 'too-much-output') settle({ kind: 'too-much-output', stderrTail });
      else if (exit?.signal) settle({ kind: 'signalled', signal: exit.signal, stdout: text, stderrTail });
      else settle({ kind: 'exited', code: exit?.code ?? 0, stdout: text, stderrTail });
    };

    const stop = (kind: 'timed-out' | 'cancelled' | 'too-much-output'): void => {
      if (stopping !== undefined || settled) return;
      stopping = kind;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };

    const onAbort = (): void => {
      cancelReason = options.signal.reason;
      stop('cancelled');
    };
    const timer = setTimeout(() => stop('timed-out'), options.timeoutMs);
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) settle({ kind: 'not-started', error });
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > MAX_STDOUT_BYTES) {
        stop('too-much-output');
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const text of lines) line(text);
    });
    // A process that does not read its stdin closes the pipe early; that is its business.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin);

    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Something the process started may still hold the pipes open: wait a little, not forever.
      pipeTimer = setTimeout(finish, PIPE_GRACE_MS);
    });
    child.on('close', () => {
      if (exit === undefined) exit = { code: child.exitCode, signal: child.signalCode };
      finish();
    });
  });
}
