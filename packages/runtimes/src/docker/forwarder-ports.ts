/**
 * Which ports a docker-target forwarder takes when the platform assigned none: from 20000 up to
 * the start of the kernel's ephemeral range.
 *
 * Why not the ephemeral range: engines pick random host ports for published container ports there
 * (Podman asks the kernel, Docker's proxy uses 49153–65535) and bind them only when the container
 * starts; a forwarder taking such a port in between makes that start fail.
 */
import { readFileSync } from 'node:fs';

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
