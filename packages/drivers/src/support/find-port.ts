import { PavedError, type NetworkEndpoint, type ProvisionContext } from '@paved/core';

/** The endpoint of a workload of the environment, or an error listing the workloads there are. */
export function findEndpoint(context: ProvisionContext, workload: string, uid: string): NetworkEndpoint {
  const endpoint = Object.hasOwn(context.network, workload) ? context.network[workload] : undefined;
  if (endpoint !== undefined) return endpoint;
  const known = Object.keys(context.network);
  throw new PavedError(
    'INVALID_INPUT',
    `resource "${uid}" refers to workload "${workload}", which environment "${context.env}" of app "${context.app}" ` +
      `does not have; ${known.length === 0 ? 'it has no workloads with ports' : `its workloads are ${known.join(', ')}`}: deploy it or fix the name`,
    { details: { uid, workload } },
  );
}

/**
 * Finds a workload port by name, or by the number its Score file declares (a numeric string
 * counts as a number when no port has that name). Returns the port name and the port to connect to.
 */
export function findPort(
  endpoint: NetworkEndpoint,
  port: string | number,
  where: { uid: string; workload: string },
): { name: string; port: number } {
  const byName =
    typeof port === 'string' && Object.hasOwn(endpoint.ports, port) ? endpoint.ports[port] : undefined;
  if (byName !== undefined && typeof port === 'string') return { name: port, port: byName };
  const number = typeof port === 'number' ? port : /^\d+$/.test(port) ? Number(port) : undefined;
  if (number !== undefined) {
    const declared = Object.entries(endpoint.declaredPorts ?? endpoint.ports).find(
      ([, value]) => value === number,
    );
    const reachable = declared === undefined ? undefined : endpoint.ports[declared[0]];
    if (declared !== undefined && reachable !== undefined) return { name: declared[0], port: reachable };
  }
  const known = Object.entries(endpoint.declaredPorts ?? endpoint.ports).map(
    ([name, value]) => `${name} (${value})`,
  );
  throw new PavedError(
    'INVALID_INPUT',
    `resource "${where.uid}" refers to port ${JSON.stringify(port)} of workload "${where.workload}", which it does not declare; ` +
      `${known.length === 0 ? 'it declares no service ports' : `its ports are ${known.join(', ')}`}: name one of them`,
    { details: { uid: where.uid, workload: where.workload, port } },
  );
}
