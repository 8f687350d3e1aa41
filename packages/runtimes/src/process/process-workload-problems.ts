/**
 * What the process target cannot run, found at plan time so that nothing starts: registry images,
 * containers without a command, UDP ports, `before` references to unknown containers or in a
 * cycle, names that are unsafe as directory names.
 */
import { DNS_LABEL, UNKNOWN_OUTPUT, type Problem, type RenderedWorkload } from '@paved/core';

/** Volume sources become directory names; anything else is refused rather than mangled. */
export const VOLUME_SOURCE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

export function processWorkloadProblems(workloads: RenderedWorkload[]): Problem[] {
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
    for (const [name, container] of Object.entries(workload.containers)) {
      const where = `workload "${w}" container "${name}"`;
      if (!DNS_LABEL.test(name)) {
        add(w, `containers.${name}`, `${where}: the name is not a DNS label; rename the container`);
      }
      if (container.image !== '.') {
        add(
          w,
          `containers.${name}.image`,
          `${where} uses image "${container.image}" from a registry: the process target runs only image "." (built from the uploaded context); deploy it to a target that runs images, such as "docker"`,
        );
      } else if (container.context === undefined) {
        add(
          w,
          `containers.${name}.image`,
          `${where} uses image "." but no build context was uploaded; deploy with the Score file's folder or --build ${w}=DIR`,
        );
      }
      if (container.command === undefined || container.command.length === 0) {
        add(
          w,
          `containers.${name}.command`,
          `${where} has no command: the process target runs \`command\` + \`args\` in the uploaded context; add a command to the container in the Score file`,
        );
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
        // A plan does not know the name of a volume not provisioned yet; the deploy checks it.
        if (volume.source === UNKNOWN_OUTPUT) continue;
        if (!VOLUME_SOURCE.test(volume.source) || volume.source.includes('..')) {
          add(
            w,
            `containers.${name}.volumes.${volume.target}`,
            `${where} mounts volume "${volume.source}", a name the process target cannot use as a directory; use letters, digits, "_", "." and "-"`,
          );
        }
      }
    }
    for (const [name, port] of Object.entries(workload.ports)) {
      if (port.protocol !== 'TCP') {
        add(
          w,
          `service.ports.${name}.protocol`,
          `workload "${w}" port "${name}" is ${port.protocol}: the process target forwards TCP ports only; deploy it to a container target`,
        );
      }
    }
    const cycle = findCycle(workload);
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

function findCycle(workload: RenderedWorkload): string[] | undefined {
  const visiting: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): string[] | undefined => {
    const at = visiting.indexOf(name);
    if (at >= 0) return [...visiting.slice(at), name];
    if (done.has(name)) return undefined;
    visiting.push(name);
    for (const other of Object.keys(workload.containers[name]?.before ?? {})) {
      const cycle = visit(other);
      if (cycle !== undefined) return cycle;
    }
    visiting.pop();
    done.add(name);
    return undefined;
  };
  for (const name of Object.keys(workload.containers)) {
    const cycle = visit(name);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
