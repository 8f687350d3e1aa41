/**
 * The render stage: turns validated workloads and the outputs of their resources into the
 * concrete specs runtimes run, every placeholder substituted.
 */
import { PavedError, type Problem } from '../errors.js';
import { containerSites, type PlaceholderSite } from '../graph/placeholder-sites.js';
import type {
  RenderedContainer,
  RenderedFile,
  RenderedPort,
  RenderedVolume,
  RenderedWorkload,
} from '../runtime.js';
import type { Container, ScoreWorkload } from '../score/types.js';
import { expandTemplate, UNKNOWN_OUTPUT, type ExpandScope, type ResourceOutputs } from './expand-template.js';
import { parseRuntimeExtras, RUNTIME_EXTRAS_OUTPUT } from './runtime-extras.js';
import { specHash } from './spec-hash.js';

export interface RenderOptions {
  /** The deployment number the specs belong to. */
  deployment: number;
  /** Workload → resource name (as the workload calls it) → outputs; see `workloadOutputs()`. */
  outputs: ReadonlyMap<string, ReadonlyMap<string, ResourceOutputs>>;
  /** Workload → metadata the platform adds for `${metadata.*}`; the Score file's own keys win. */
  metadata?: ReadonlyMap<string, Record<string, unknown>>;
  /** Workload → container → the uploaded build context, for `image: .`. */
  contexts?: ReadonlyMap<string, Record<string, { dir: string; hash: string }>>;
  /** Workload → port name → the host port the platform assigned. */
  ports?: ReadonlyMap<string, Record<string, number>>;
}

const NO_RESOURCES: ReadonlyMap<string, ResourceOutputs> = new Map();

/**
 * Renders every workload. Reports every unresolvable placeholder at once (INVALID_INPUT, each
 * naming the workload, the variable or field, and the placeholder); values that are not strings
 * are JSON-encoded; variables that received a secret output are listed in `secretVariables`.
 * Runtime extras (`$extras`) of the resources a workload uses are merged in: their files go into
 * every container of the workload's own, their containers beside them; a clash is a problem too.
 *
 * @example
 * const rendered = renderWorkloads(workloads, { deployment: 7, outputs: workloadOutputs(graph, resources) });
 */
export function renderWorkloads(
  workloads: readonly ScoreWorkload[],
  options: RenderOptions,
): RenderedWorkload[] {
  const problems: Problem[] = [];
  const rendered = workloads.map((workload) => renderWorkload(workload, options, problems));
  if (problems.length > 0) {
    throw PavedError.invalid(
      problems.length === 1
        ? (problems[0]?.message ?? '')
        : `${problems.length} render problems; first: ${problems[0]?.message ?? ''}`,
      problems,
    );
  }
  return rendered;
}

function renderWorkload(
  workload: ScoreWorkload,
  options: RenderOptions,
  problems: Problem[],
): RenderedWorkload {
  const name = workload.metadata.name;
  const scope: ExpandScope = {
    metadata: { ...options.metadata?.get(name), ...workload.metadata },
    resources: options.outputs.get(name) ?? NO_RESOURCES,
  };
  const containers: Record<string, RenderedContainer> = {};
  for (const [containerName, container] of Object.entries(workload.containers)) {
    containers[containerName] = renderContainer(name, containerName, container, scope, options, problems);
  }
  mergeRuntimeExtras(name, containers, options.outputs.get(name) ?? NO_RESOURCES, problems);
  const hostPorts = options.ports?.get(name) ?? {};
  const ports: Record<string, RenderedPort> = {};
  for (const [portName, port] of Object.entries(workload.service?.ports ?? {})) {
    const hostPort = hostPorts[portName];
    ports[portName] = {
      port: port.port,
      targetPort: port.targetPort ?? port.port,
      protocol: port.protocol ?? 'TCP',
      ...(hostPort === undefined ? {} : { hostPort }),
    };
  }
  const spec = { name, containers, ports };
  return { ...spec, deployment: options.deployment, specHash: specHash(spec) };
}

function renderContainer(
  workloadName: string,
  containerName: string,
  container: Container,
  scope: ExpandScope,
  options: RenderOptions,
  problems: Problem[],
): RenderedContainer {
  const expand = (site: PlaceholderSite): { value: string; secret: boolean } => {
    const expansion = expandTemplate(site.value, scope, site.kind === 'volume' ? { whole: 'source' } : {});
    for (const error of expansion.errors) {
      problems.push({
        path: `workloads.${workloadName}.${site.path}`,
        message: `workload "${workloadName}" ${site.where}: ${error}`,
      });
    }
    return { value: expansion.value as string, secret: expansion.secret };
  };
  const expanded = new Map<string, { value: string; secret: boolean }>();
  for (const site of containerSites(containerName, container))
    expanded.set(`${site.kind}\n${site.key}`, expand(site));
  const get = (
    kind: PlaceholderSite['kind'],
    key: string,
    fallback: string,
  ): { value: string; secret: boolean } =>
    expanded.get(`${kind}\n${key}`) ?? { value: fallback, secret: false };

  const variables: Record<string, string> = {};
  const secretVariables: string[] = [];
  for (const [key, value] of Object.entries(container.variables ?? {})) {
    const result = get('variable', key, value);
    variables[key] = result.value;
    if (result.secret) secretVariables.push(key);
  }

  const files: RenderedFile[] = [];
  for (const [target, file] of Object.entries(container.files ?? {})) {
    let content: string | Uint8Array;
    let secret = false;
    if (file.binaryContent !== undefined) {
      content = Uint8Array.from(Buffer.from(file.binaryContent, 'base64'));
    } else if (file.content !== undefined) {
      ({ value: content, secret } = get('file', target, file.content));
    } else {
      problems.push({
        path: `workloads.${workloadName}.containers.${containerName}.files.${target}`,
        message:
          `workload "${workloadName}" container ${containerName} file ${target}: has no content` +
          `${file.source === undefined ? '' : ` (its source "${file.source}" was not read in)`}: give content, binaryContent, or a source the CLI can read`,
      });
      continue;
    }
    files.push({
      target,
      content,
      ...(file.mode === undefined ? {} : { mode: file.mode }),
      ...(secret ? { secret } : {}),
    });
  }

  const volumes: RenderedVolume[] = Object.entries(container.volumes ?? {}).map(([target, volume]) => ({
    target,
    source: get('volume', target, volume.source).value,
    ...(volume.path === undefined ? {} : { path: volume.path }),
    readOnly: volume.readOnly ?? false,
  }));

  const secretArguments: string[] = [];
  const listOf = (kind: 'command' | 'args'): string[] | undefined =>
    container[kind]?.map((value, index) => {
      const result = get(kind, String(index), value);
      if (result.secret) secretArguments.push(`${kind}.${index}`);
      return result.value;
    });
  const command = listOf('command');
  const args = listOf('args');
  const context = options.contexts?.get(workloadName)?.[containerName];
  const { limits, requests } = container.resources ?? {};

  return {
    image: container.image,
    ...(context === undefined ? {} : { context }),
    ...(command === undefined ? {} : { command }),
    ...(args === undefined ? {} : { args }),
    // Only when there are some, so specs without secret arguments keep their hash.
    ...(secretArguments.length === 0 ? {} : { secretArguments }),
    variables,
    secretVariables: secretVariables.sort(),
    files,
    volumes,
    before: container.before ?? {},
    ...(limits === undefined ? {} : { limits }),
    ...(requests === undefined ? {} : { requests }),
    ...(container.readinessProbe === undefined ? {} : { readinessProbe: container.readinessProbe }),
    ...(container.livenessProbe === undefined ? {} : { livenessProbe: container.livenessProbe }),
  };
}

/**
 * Adds the runtime extras of the resources a workload uses (its own and the shared ones it names;
 * a resource named twice counts once). Files go into each of the workload's own containers, never
 * over a file already there; extra containers go beside them, never over a container of the same
 * name; one with `image: .` builds from the workload's context when all its containers share one.
 * Resources are taken in uid order, so the spec (and its hash) does not depend on Map order.
 */
function mergeRuntimeExtras(
  workloadName: string,
  containers: Record<string, RenderedContainer>,
  resources: ReadonlyMap<string, ResourceOutputs>,
  problems: Problem[],
): void {
  const byUid = new Map<string, { resource: ResourceOutputs; name: string }>();
  for (const [name, resource] of resources) {
    if (!byUid.has(resource.uid)) byUid.set(resource.uid, { resource, name });
  }
  const own = Object.keys(containers);
  // `image: .` in an extra container means the workload's uploaded context, when it has exactly one.
  const contexts = new Map(
    own.flatMap((containerName) => {
      const context = containers[containerName]?.context;
      return context === undefined ? [] : [[context.hash, context] as const];
    }),
  );
  const sharedContext = contexts.size === 1 ? [...contexts.values()][0] : undefined;
  const fileFrom = new Map<string, string>();
  const containerFrom = new Map<string, string>();
  for (const uid of [...byUid.keys()].sort()) {
    const { resource, name } = byUid.get(uid) as { resource: ResourceOutputs; name: string };
    // A plan before the resource exists cannot know its extras; the deploy renders them.
    if (resource.outputs[RUNTIME_EXTRAS_OUTPUT] === UNKNOWN_OUTPUT) continue;
    const where = `workloads.${workloadName}.resources.${name}`;
    const { extras, error } = parseRuntimeExtras(uid, resource.outputs);
    if (error !== undefined) {
      problems.push({ path: where, message: `workload "${workloadName}" resource "${name}": ${error}` });
      continue;
    }
    if (extras === undefined) continue;
    for (const [target, file] of Object.entries(extras.files ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      const earlier = fileFrom.get(target);
      if (earlier !== undefined) {
        problems.push({
          path: `${where}.$extras.files.${target}`,
          message: `workload "${workloadName}": resources "${earlier}" and "${uid}" both add the file ${target} through runtime extras: change the path in one of their definitions`,
        });
        continue;
      }
      fileFrom.set(target, uid);
      for (const containerName of own) {
        const container = containers[containerName] as RenderedContainer;
        if (container.files.some((existing) => existing.target === target)) {
          problems.push({
            path: `${where}.$extras.files.${target}`,
            message: `workload "${workloadName}" container ${containerName} already has the file ${target}; resource "${uid}" (${name}) adds it again through runtime extras: remove the file from the Score file or change the path in the resource's definition`,
          });
          continue;
        }
        container.files.push({
          target,
          content: file.content,
          ...(file.mode === undefined ? {} : { mode: file.mode }),
        });
      }
    }
    for (const [containerName, extra] of Object.entries(extras.containers ?? {}).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      const earlier = containerFrom.get(containerName);
      if (own.includes(containerName) || earlier !== undefined) {
        problems.push({
          path: `${where}.$extras.containers.${containerName}`,
          message:
            earlier === undefined
              ? `workload "${workloadName}" already has a container ${containerName}; resource "${uid}" (${name}) adds another through runtime extras: rename the workload's container or the extra one in the resource's definition`
              : `workload "${workloadName}": resources "${earlier}" and "${uid}" both add a container ${containerName} through runtime extras: rename it in one of their definitions`,
        });
        continue;
      }
      containerFrom.set(containerName, uid);
      containers[containerName] = {
        image: extra.image,
        ...(extra.image === '.' && sharedContext !== undefined ? { context: sharedContext } : {}),
        ...(extra.command === undefined ? {} : { command: extra.command }),
        ...(extra.args === undefined ? {} : { args: extra.args }),
        variables: extra.variables ?? {},
        secretVariables: [],
        files: [],
        volumes: [],
        before: {},
      };
    }
  }
}
