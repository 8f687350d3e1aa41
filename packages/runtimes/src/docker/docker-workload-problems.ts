/**
 * What the docker target cannot run, found at plan time so that nothing starts, and the order in
 * which a workload's containers start (`before`).
 */
import { DNS_LABEL, UNKNOWN_OUTPUT, type Problem, type RenderedWorkload } from '@paved/core';
import { memoryBytes, nanoCpus } from './quantities.js';

/** Names the engine accepts for volumes. */
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function dockerWorkloadProblems(workloads: RenderedWorkload[]): Problem[] {
  const problems: Problem[] = [];
  const add = (workload: string, path: string, message: string): void => {
    problems.push({ path: `${workload}.${path}`, message });
  };
  for (const workload of workloads) {
    const w = workload.name;
    if (!DNS_LABEL.test(w)) {
      problems.push({ path: w, message: `workload name "${w}" is not a DNS label; rename the workload` });
      continue;
    }
    if (Object.keys(workload.containers).length === 0) {
      add(w, 'containers', `workload "${w}" has no containers; add one to the Score file`);
    }
    for (const [name, container] of Object.entries(workload.containers)) {
      const where = `workload "${w}" container "${name}"`;
      if (!DNS_LABEL.test(name)) {
        add(w, `containers.${name}`, `${where}: the name is not a DNS label; rename the container`);
      }
      if (container.image === '.' && container.context === undefined) {
        add(
          w,
          `containers.${name}.image`,
          `${where} uses image "." but no build context was uploaded; deploy with the Score file's folder or --build ${w}=DIR`,
        );
      } else if (container.image.trim() === '') {
        add(w, `containers.${name}.image`, `${where} has an empty image; give an image reference or "."`);
      }
      for (const other of Object.keys(container.before)) {
        if (!Object.hasOwn(workload.containers, other)) {
          add(
            w,
            `containers.${name}.before.${other}`,
            `${where} waits for container "${other}", which the workload does not have`,
          );
        }
      }
      for (const volume of container.volumes) {
        const at = `containers.${name}.volumes.${volume.target}`;
        // A plan does not know the name of a volume not provisioned yet; the deploy checks it.
        if (!VOLUME_NAME.test(volume.source) && volume.source !== UNKNOWN_OUTPUT) {
          add(
            w,
            at,
            `${where} mounts volume "${volume.source}", which is not a valid engine volume name; use letters, digits, "_", "." and "-"`,
          );
        }
        if (volume.path !== undefined && volume.path !== '' && volume.path !== '.' && volume.path !== '/') {
          add(
            w,
            at,
            `${where} mounts the sub-path "${volume.path}" of volume "${volume.source}": the docker target mounts whole volumes only; mount the volume and use the sub-directory in the app`,
          );
        }
      }
      for (const kind of ['limits', 'requests'] as const) {
        const quantities = container[kind];
        if (quantities?.memory !== undefined && memoryBytes(quantities.memory) === undefined) {
          add(
            w,
            `containers.${name}.resources.${kind}.memory`,
            `${where}: "${quantities.memory}" is not a memory quantity (e.g. 512Mi)`,
          );
        }
        if (quantities?.cpu !== undefined && nanoCpus(quantities.cpu) === undefined) {
          add(
            w,
            `containers.${name}.resources.${kind}.cpu`,
            `${where}: "${quantities.cpu}" is not a CPU quantity (e.g. 250m or "0.5")`,
          );
        }
      }
    }
    for (const [name, port] of Object.entries(workload.ports)) {
      if (port.protocol === 'UDP' && port.hostPort !== undefined) {
        add(
          w,
          `service.ports.${name}`,
          `workload "${w}" port "${name}" is UDP with a host port: the docker target forwards host ports for TCP only`,
        );
      }
    }
    const cycle = startOrder(workload).cycle;
    if (cycle !== undefined) {
      add(
        w,
        'containers',
        `workload "${w}" containers wait for each other in a cycle (${cycle.join(' → ')}); remove one of the \`before\` entries`,
      );
    }
  }
  return problems;
}

/**
 * Container names in an order that starts every container after those it waits for (ties keep
 * the Score file's order), or the first cycle found.
 */
export function startOrder(workload: RenderedWorkload): { order: string[]; cycle?: string[] } {
  const order: string[] = [];
  const visiting: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): string[] | undefined => {
    const at = visiting.indexOf(name);
    if (at >= 0) return [...visiting.slice(at), name];
    if (done.has(name) || !Object.hasOwn(workload.containers, name)) return undefined;
    visiting.push(name);
    for (const other of Object.keys(workload.containers[name]?.before ?? {})) {
      const cycle = visit(other);
      if (cycle !== undefined) return cycle;
    }
    visiting.pop();
    done.add(name);
    order.push(name);
    return undefined;
  };
  for (const name of Object.keys(workload.containers)) {
    const cycle = visit(name);
    if (cycle !== undefined) return { order, cycle };
  }
  return { order };
}
