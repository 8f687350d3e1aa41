/**
 * A pid alone does not identify a process: after a reboot or a long time the kernel hands the same
 * number to someone else. The runtime therefore records the pid together with the process's start
 * time and only signals a pid whose start time still matches, so it never touches a process it did
 * not start.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Opaque start-time stamp: clock ticks since boot on Linux, `ps -o lstart` elsewhere. */
  startTime: string;
}

/** The start-time stamp of a live (non-zombie) process, or undefined when there is none. */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' don't.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  }
  try {
    const out = execFileSync('ps', ['-p', String(pid), '-o', 'stat=,lstart='], { encoding: 'utf8' }).trim();
    if (out === '' || out.startsWith('Z')) return undefined;
    return out.slice(out.indexOf(' ') + 1).trim();
  } catch {
    return undefined;
  }
}

export function identify(pid: number): ProcessIdentity | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

export function isAlive(identity: ProcessIdentity | undefined): boolean {
  return identity !== undefined && processStartTime(identity.pid) === identity.startTime;
}

/**
 * Signals the process (or, with `group`, its whole process group) only if it is still the process
 * that was recorded. Returns whether a signal was sent.
 */
export function signalIdentified(identity: ProcessIdentity, signal: NodeJS.Signals, group = false): boolean {
  if (!isAlive(identity)) return false;
  try {
    process.kill(group ? -identity.pid : identity.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the recorded process is gone; false when it is still there after `timeoutMs`. */
export async function waitForExit(identity: ProcessIdentity, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(identity)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
