import { parseTemplate } from '../placeholders/placeholders.js';
import type { TemplatePart } from '../placeholders/placeholders.js';
import type { Finding } from './finding.js';
import { formatJsonPath } from './json-path.js';
import type { JsonPathSegment } from './json-path.js';

type Mapping = Record<string, unknown>;
type Reference = Extract<TemplatePart, { kind: 'ref' }>;

/** How a string at some place in the file treats `${…}`. */
type PlaceholderMode =
  /** Expanded: every placeholder must be well-formed and resolvable. */
  | 'expand'
  /** Passed to a process as written (command, args, exec probes): a Score placeholder is a mistake. */
  | 'command'
  /** Never expanded and not a command: a Score placeholder here is an error. */
  | 'literal'
  | 'skip';

interface Edge {
  to: string;
  path: JsonPathSegment[];
  /** Where to point: the key naming the other node, or the placeholder referring to it. */
  target: Finding['target'];
}

const EXPANDED_IN =
  'placeholders are expanded only in variables, files content, volume source and resource params';
const ABSOLUTE = /^([A-Za-z]:)?[\\/]/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entries(value: unknown): [string, Mapping][] {
  if (!isMapping(value)) return [];
  return Object.entries(value).filter((entry): entry is [string, Mapping] => isMapping(entry[1]));
}

/**
 * The rules the schema cannot express: placeholders and what they name, `before` references and
 * cycles, exactly one file content, deprecated list forms, duplicate targets and ports. They read the
 * raw data defensively (any value may have the wrong type; the schema reports that), so they run
 * even when the schema fails and the user sees every problem in one pass.
 */
export function checkScoreRules(document: unknown): Finding[] {
  if (!isMapping(document)) return [];
  return new ScoreRules(document).run();
}

class ScoreRules {
  readonly #document: Mapping;
  readonly #findings: Finding[] = [];
  readonly #metadata: Mapping;
  readonly #containers: Mapping;
  readonly #resources: Mapping;
  readonly #resourceEdges = new Map<string, Edge[]>();

  constructor(document: Mapping) {
    this.#document = document;
    this.#metadata = isMapping(document.metadata) ? document.metadata : {};
    this.#containers = isMapping(document.containers) ? document.containers : {};
    this.#resources = isMapping(document.resources) ? document.resources : {};
  }

  run(): Finding[] {
    this.#strings(this.#document, [], undefined);
    for (const [name, container] of entries(this.#containers)) {
      const path = ['containers', name];
      this.#files(container.files, [...path, 'files']);
      this.#volumes(container.volumes, [...path, 'volumes']);
      this.#probe(container.livenessProbe, [...path, 'livenessProbe']);
      this.#probe(container.readinessProbe, [...path, 'readinessProbe']);
    }
    this.#before();
    this.#servicePorts();
    this.#cycles(this.#resourceEdges, (cycle) => {
      const names = cycle.map((name) => `"${name}"`).join(' → ');
      return `resources ${names} refer to each other in their params: a resource cannot depend on itself, remove one of the references`;
    });
    return this.#findings;
  }

  #error(path: JsonPathSegment[], message: string, target: Finding['target'] = { kind: 'value' }): void {
    this.#findings.push({ path, message, severity: 'error', target });
  }

  #warning(path: JsonPathSegment[], message: string, target: Finding['target'] = { kind: 'value' }): void {
    this.#findings.push({ path, message, severity: 'warning', target });
  }

  /** Visits every string value of the document with the placeholder rule of its place. */
  #strings(value: unknown, path: JsonPathSegment[], parent: Mapping | undefined): void {
    if (typeof value === 'string') {
      this.#placeholders(value, path, placeholderMode(path, parent));
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => this.#strings(item, [...path, index], undefined));
    } else if (isMapping(value)) {
      for (const [key, item] of Object.entries(value)) this.#strings(item, [...path, key], value);
    }
  }

  #placeholders(value: string, path: JsonPathSegment[], mode: PlaceholderMode): void {
    if (mode === 'skip' || !value.includes('${')) return;
    const { parts, problems } = parseTemplate(value);
    const refs = parts.filter((part): part is Reference => part.kind === 'ref');
    const at = (raw: string, offset: number): Finding['target'] => ({
      kind: 'placeholder',
      raw,
      occurrence: countBefore(value, raw, offset),
    });
    if (mode === 'command') {
      for (const ref of refs) {
        if (ref.path[0] !== 'metadata' && ref.path[0] !== 'resources') continue;
        this.#warning(
          path,
          `"${ref.raw}" is not expanded in ${path.includes('args') ? 'args' : 'a command'}: the process receives it as written; set a variable (e.g. VALUE: ${ref.raw}) and read the environment variable instead`,
          at(ref.raw, ref.offset),
        );
      }
      return;
    }
    if (mode === 'literal') {
      for (const ref of refs) {
        if (ref.path[0] !== 'metadata' && ref.path[0] !== 'resources') continue;
        this.#error(
          path,
          `"${ref.raw}" is not expanded ${where(path)}: ${EXPANDED_IN}; write a literal value`,
          at(ref.raw, ref.offset),
        );
      }
      return;
    }
    const isFileContent = path.at(-1) === 'content';
    for (const problem of problems) {
      const raw = value.slice(problem.offset, problem.offset + 2);
      const escape = isFileContent ? '; or set noExpand: true to keep the content as written' : '';
      const hint = problem.message.includes('empty path segment')
        ? ': remove the extra "." (e.g. ${resources.db.host})'
        : '';
      this.#error(path, `${problem.message}${hint}${escape}`, at(raw, problem.offset));
    }
    const fromResource = path[0] === 'resources' ? String(path[1]) : undefined;
    for (const ref of refs) {
      // parseTemplate already reported a placeholder with an empty segment.
      if (ref.path.some((segment) => segment === '')) continue;
      const message = this.#reference(ref, isFileContent);
      if (message !== undefined) {
        this.#error(path, message, at(ref.raw, ref.offset));
        continue;
      }
      const resource = ref.path[1];
      if (fromResource !== undefined && ref.path[0] === 'resources' && resource !== undefined) {
        if (resource === fromResource) {
          this.#error(
            path,
            `"${ref.raw}" refers to resource "${resource}" from its own params: a resource cannot use its own outputs; remove the reference`,
            at(ref.raw, ref.offset),
          );
        } else {
          const edges = this.#resourceEdges.get(fromResource) ?? [];
          edges.push({ to: resource, path, target: at(ref.raw, ref.offset) });
          this.#resourceEdges.set(fromResource, edges);
        }
      }
    }
  }

  /** Why a placeholder in an expanded value cannot resolve, or `undefined` when it can. */
  #reference(ref: Reference, isFileContent: boolean): string | undefined {
    const [root, name, ...rest] = ref.path;
    if (root === 'metadata') {
      if (name === undefined) return `"${ref.raw}" names no metadata key: write e.g. \${metadata.name}`;
      return this.#metadataKey(ref.raw, [name, ...rest]);
    }
    if (root === 'resources') {
      if (name === undefined) return `"${ref.raw}" names no resource: write \${resources.<name>.<output>}`;
      if (Object.hasOwn(this.#resources, name)) return undefined;
      const declared = Object.keys(this.#resources);
      const known = declared.length === 0 ? 'none are declared' : `declared: ${declared.join(', ')}`;
      return `"${ref.raw}" refers to resource "${name}", which is not declared (${known}): add it under resources with its type, or fix the name`;
    }
    const escape = isFileContent ? ', or set noExpand: true on this file' : '';
    return `"${ref.raw}" is not a Score placeholder: only \${metadata.…} and \${resources.…} are expanded; write "$$" for a literal "$" (e.g. $\${…})${escape}`;
  }

  #metadataKey(raw: string, keys: string[]): string | undefined {
    let current: unknown = this.#metadata;
    const walked: string[] = ['metadata'];
    for (const key of keys) {
      if (!isMapping(current)) {
        return `"${raw}" looks inside ${formatJsonPath(walked)}, which is not a mapping: refer to ${formatJsonPath(walked)} itself`;
      }
      if (!Object.hasOwn(current, key)) {
        const available = Object.keys(current);
        const list = available.length === 0 ? '' : ` (it has ${available.join(', ')})`;
        return `"${raw}" refers to ${formatJsonPath([...walked, key])}, which is not set${list}: add it to metadata or fix the key`;
      }
      current = current[key];
      walked.push(key);
    }
    return undefined;
  }

  #files(value: unknown, path: JsonPathSegment[]): void {
    if (Array.isArray(value)) {
      this.#warning(
        path,
        'the list form of files is deprecated: write a mapping keyed by target path instead, e.g. "/etc/app.conf": { content: … } (Paved reads this list as that mapping)',
        { kind: 'key' },
      );
      this.#listTargets(value, path, 'file');
      value.forEach((item, index) => {
        if (isMapping(item)) this.#file(item, [...path, index]);
      });
    } else {
      for (const [target, file] of entries(value)) {
        this.#mapTarget(file, [...path, target], target);
        this.#file(file, [...path, target]);
      }
    }
  }

  #file(file: Mapping, path: JsonPathSegment[]): void {
    const present = ['content', 'source', 'binaryContent'].filter((key) => file[key] !== undefined);
    const [, second] = present;
    if (present.length === 0) {
      this.#error(path, 'a file needs exactly one of content, source or binaryContent: add one', {
        kind: 'key',
      });
    } else if (second !== undefined) {
      this.#error(
        [...path, second],
        `a file takes exactly one of content, source or binaryContent, but this one has ${present.join(' and ')}: keep one`,
        { kind: 'key' },
      );
    }
    const binary = file.binaryContent;
    if (typeof binary === 'string') {
      const compact = binary.replace(/[\r\n]/g, '');
      if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
        this.#error(
          [...path, 'binaryContent'],
          'binaryContent is not valid standard base64: encode the bytes with base64 (e.g. `base64 -w0 FILE`), or use content for text',
        );
      }
    }
    if (typeof file.source === 'string' && ABSOLUTE.test(file.source)) {
      this.#warning(
        [...path, 'source'],
        `source "${file.source}" is absolute: it is read on the machine that runs paved; use a path relative to the Score file so the workload's files travel with it`,
      );
    }
  }

  #volumes(value: unknown, path: JsonPathSegment[]): void {
    if (Array.isArray(value)) {
      this.#warning(
        path,
        'the list form of volumes is deprecated: write a mapping keyed by target path instead, e.g. "/data": { source: ${resources.data} } (Paved reads this list as that mapping)',
        { kind: 'key' },
      );
      this.#listTargets(value, path, 'volume');
    } else {
      for (const [target, volume] of entries(value)) this.#mapTarget(volume, [...path, target], target);
    }
  }

  /** The deprecated list forms: every item needs a unique `target`, which becomes its key. */
  #listTargets(items: unknown[], path: JsonPathSegment[], noun: 'file' | 'volume'): void {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      if (!isMapping(item)) return;
      const target = item.target;
      if (target === undefined) {
        this.#error(
          [...path, index, 'target'],
          `missing required field "target": in the list form every ${noun} needs target: the path in the container`,
        );
        return;
      }
      if (typeof target !== 'string') return;
      const first = seen.get(target);
      if (first !== undefined) {
        this.#error(
          [...path, index, 'target'],
          `target "${target}" is already used by ${formatJsonPath([...path, first])}: mount one ${noun} per path`,
        );
      } else {
        seen.set(target, index);
      }
      this.#absoluteTarget(target, [...path, index, 'target'], { kind: 'value' });
    });
  }

  #mapTarget(item: Mapping, path: JsonPathSegment[], target: string): void {
    if (item.target !== undefined) {
      this.#error(
        [...path, 'target'],
        `target is only for the deprecated list form: in a mapping the key (${JSON.stringify(target)}) is the target; remove this field`,
        { kind: 'key' },
      );
    }
    this.#absoluteTarget(target, path, { kind: 'key' });
  }

  #absoluteTarget(target: string, path: JsonPathSegment[], where: Finding['target']): void {
    if (target !== '' && !ABSOLUTE.test(target)) {
      this.#warning(
        path,
        `target "${target}" is not an absolute path: container runtimes mount only absolute paths; write /${target.replace(/^\.?\/?/, '')} or the path you mean`,
        where,
      );
    }
  }

  #probe(value: unknown, path: JsonPathSegment[]): void {
    if (!isMapping(value)) return;
    if (value.httpGet === undefined && value.exec === undefined) {
      this.#error(
        path,
        'a probe needs httpGet or exec: add one, e.g. httpGet: { path: /healthz, port: 8080 }',
        {
          kind: 'key',
        },
      );
    }
    if (isMapping(value.exec) && Array.isArray(value.exec.command) && value.exec.command.length === 0) {
      this.#error(
        [...path, 'exec', 'command'],
        'exec.command is empty: give the command to run, e.g. ["/bin/check"]',
      );
    }
  }

  #before(): void {
    const edges = new Map<string, Edge[]>();
    const names = Object.keys(this.#containers);
    for (const [name, container] of entries(this.#containers)) {
      for (const [other, entry] of Object.entries(isMapping(container.before) ? container.before : {})) {
        const path = ['containers', name, 'before', other];
        if (other === name) {
          this.#error(path, `container "${name}" cannot wait for itself: remove this entry`, { kind: 'key' });
          continue;
        }
        if (!Object.hasOwn(this.#containers, other)) {
          const others = names.filter((candidate) => candidate !== name);
          const list =
            others.length === 0 ? 'it has no other container' : `its other containers: ${others.join(', ')}`;
          this.#error(
            path,
            `"${other}" is not a container of this workload (${list}): name one of them or remove the entry`,
            {
              kind: 'key',
            },
          );
          continue;
        }
        const list = edges.get(name) ?? [];
        list.push({ to: other, path, target: { kind: 'key' } });
        edges.set(name, list);
        const waited = this.#containers[other];
        if (
          isMapping(entry) &&
          entry.ready === 'healthy' &&
          isMapping(waited) &&
          waited.readinessProbe === undefined &&
          waited.livenessProbe === undefined
        ) {
          this.#warning(
            [...path, 'ready'],
            `container "${other}" has no probe, so "healthy" means only that it started: add a readinessProbe to "${other}" or wait for "started"`,
          );
        }
      }
    }
    this.#cycles(edges, (cycle) => {
      const names = cycle.map((name) => `"${name}"`).join(' → ');
      return `containers ${names} wait for each other in before, so none could start: remove one of the entries`;
    });
  }

  #servicePorts(): void {
    const service = this.#document.service;
    if (!isMapping(service)) return;
    const seen = new Map<string, string>();
    for (const [name, port] of entries(service.ports)) {
      if (typeof port.port !== 'number') continue;
      const protocol = typeof port.protocol === 'string' ? port.protocol : 'TCP';
      const key = `${port.port}/${protocol}`;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, name);
      } else {
        this.#error(
          ['service', 'ports', name, 'port'],
          `port ${key} is already published as service.ports.${first}: give each port its own number or protocol`,
        );
      }
    }
  }

  /** Reports every edge that closes a cycle, at that edge. */
  #cycles(graph: Map<string, Edge[]>, message: (cycle: string[]) => string): void {
    const done = new Set<string>();
    const stack: string[] = [];
    const visit = (node: string): void => {
      stack.push(node);
      for (const edge of graph.get(node) ?? []) {
        const index = stack.indexOf(edge.to);
        if (index !== -1) {
          this.#error(edge.path, message([...stack.slice(index), edge.to]), edge.target);
        } else if (!done.has(edge.to)) {
          visit(edge.to);
        }
      }
      stack.pop();
      done.add(node);
    };
    for (const node of [...graph.keys()].sort()) if (!done.has(node)) visit(node);
  }
}

/** The placeholder rule for a string at `path`; `parent` is the mapping holding it. */
function placeholderMode(path: JsonPathSegment[], parent: Mapping | undefined): PlaceholderMode {
  const [top, , field, ...rest] = path;
  if (top === 'resources') return field === 'params' ? 'expand' : 'literal';
  if (top !== 'containers') return 'literal';
  switch (String(field)) {
    case 'variables':
      return rest.length === 1 ? 'expand' : 'literal';
    case 'command':
    case 'args':
      return 'command';
    case 'livenessProbe':
    case 'readinessProbe':
      return rest[0] === 'exec' ? 'command' : 'literal';
    case 'files':
      if (rest[1] === 'binaryContent') return 'skip';
      if (rest.length === 2 && rest[1] === 'content') return parent?.noExpand === true ? 'skip' : 'expand';
      return 'literal';
    case 'volumes':
      return rest.length === 2 && rest[1] === 'source' ? 'expand' : 'literal';
    default:
      return 'literal';
  }
}

/** "in image" for a named field, "here" for a key that reads badly in a sentence. */
function where(path: JsonPathSegment[]): string {
  const field = path.at(-1);
  return typeof field === 'string' && /^[A-Za-z]+$/.test(field) ? `in ${field}` : 'here';
}

function countBefore(value: string, raw: string, offset: number): number {
  let count = 0;
  for (
    let index = value.indexOf(raw);
    index !== -1 && index < offset;
    index = value.indexOf(raw, index + 1)
  ) {
    count += 1;
  }
  return count;
}
