/**
 * Names of apps, environments and workloads appear in URLs, host names, container names and
 * database identifiers, so they are held to the DNS label rule: lower-case letters, digits and
 * hyphens, starting and ending with a letter or digit, at most 63 characters.
 */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function dnsLabelProblem(what: string, value: string): string | undefined {
  if (DNS_LABEL.test(value)) return undefined;
  return `${what} "${value}" is not a valid name: use 1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit`;
}
