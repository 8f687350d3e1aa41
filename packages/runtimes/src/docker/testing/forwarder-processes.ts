/**
 * The port forwarder processes a docker target left running, found in /proc by their command
 * line (`node …/forwarder.(js|ts) <stateDir>/…/spec.json`), so tests can prove none outlives the
 * environment or workload it served.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live forwarder processes whose spec file lies under `stateDir`. */
export function forwarderProcesses(stateDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // Exited while we looked.
    }
    const script = argv.some((arg) => /[/\\]forwarder\.(js|ts)$/.test(arg));
    if (script && argv.some((arg) => arg.startsWith(`${stateDir}/`))) pids.push(Number(entry));
  }
  return pids;
}
