import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import type { JsonPathSegment } from './json-path.js';

/** A 1-based line and column in the source text. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Where in the located value a problem points; see {@link YamlLocator.locate}. */
export type LocateTarget =
  | { kind: 'value' }
  | { kind: 'key' }
  /** A placeholder inside a string: `occurrence` counts earlier identical placeholders in the value. */
  | { kind: 'placeholder'; raw: string; occurrence: number };

/** A problem of the YAML layer, before the file name is attached. */
export interface YamlProblem extends SourcePosition {
  message: string;
  severity: 'error' | 'warning';
}

export interface ParsedYaml {
  /** The first document as plain data; `undefined` when there is none or it could not be read. */
  value: unknown;
  problems: YamlProblem[];
  /** Present when there is a document whose nodes problems can point at. */
  locator: YamlLocator | undefined;
  /** A syntax error makes the data unreliable; duplicate keys and extra documents do not. */
  syntaxFailed: boolean;
}

/**
 * Finds the line and column of a JSON path in a YAML document. It keeps the parsed AST, which is
 * why Score files are read with `yaml`'s document API rather than a plain `parse`.
 */
export class YamlLocator {
  readonly #document: Document;
  readonly #lines: LineCounter;
  readonly #text: string;

  constructor(document: Document, lines: LineCounter, text: string) {
    this.#document = document;
    this.#lines = lines;
    this.#text = text;
  }

  /**
   * The position of the value at `path`, of its key, or of a placeholder inside it. When the path
   * does not exist (a missing required key), the position of the key holding the deepest mapping
   * that does exist, so a missing field is reported where it should be added.
   */
  locate(path: readonly JsonPathSegment[], target: LocateTarget = { kind: 'value' }): SourcePosition {
    let node: unknown = this.#document.contents;
    let key: Node | undefined;
    for (const segment of path) {
      node = this.#resolveAlias(node);
      let next: { key: Node | undefined; value: unknown } | undefined;
      if (isMap(node)) {
        const pair = node.items.find((item) => keyText(item.key) === String(segment));
        if (pair !== undefined) next = { key: isNode(pair.key) ? pair.key : undefined, value: pair.value };
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (item !== undefined) next = { key: isNode(item) ? item : undefined, value: item };
      }
      if (next === undefined) return this.#start(key) ?? this.#start(node) ?? { line: 1, column: 1 };
      key = next.key;
      node = next.value;
    }
    const fallback = this.#start(key) ?? { line: 1, column: 1 };
    switch (target.kind) {
      case 'key':
        return fallback;
      case 'value':
        return isEmptyScalar(node) ? fallback : (this.#start(node) ?? fallback);
      case 'placeholder':
        return this.#placeholder(node, target.raw, target.occurrence) ?? this.#start(node) ?? fallback;
    }
  }

  #resolveAlias(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.#document) : node;
  }

  #start(node: unknown): SourcePosition | undefined {
    if (!isNode(node) || node.range == null) return undefined;
    return this.position(node.range[0]);
  }

  /** Finds the placeholder in the scalar's source text; escapes in quoted scalars may hide it. */
  #placeholder(node: unknown, raw: string, occurrence: number): SourcePosition | undefined {
    if (!isScalar(node) || node.range == null) return undefined;
    const [start, end] = node.range;
    const source = this.#text.slice(start, end);
    let index = -1;
    for (let seen = 0; seen <= occurrence; seen += 1) {
      index = source.indexOf(raw, index + 1);
      if (index === -1) return undefined;
    }
    return this.position(start + index);
  }

  position(offset: number): SourcePosition {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col };
  }
}

function isNode(value: unknown): value is Node {
  return isScalar(value) || isMap(value) || isSeq(value) || isAlias(value);
}

function isEmptyScalar(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null && node.source === '');
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return undefined;
}

/** Reads a whole YAML text, reporting syntax errors, duplicate keys and extra documents. */
export function parseYaml(text: string): ParsedYaml {
  const lines = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: YamlProblem[] = [];
  const at = (offset: number): SourcePosition => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const list = Array.isArray(documents) ? documents : [];
  let syntaxFailed = false;
  for (const document of list) {
    for (const error of document.errors) {
      if (error.code !== 'DUPLICATE_KEY') syntaxFailed = true;
      const message =
        error.code === 'DUPLICATE_KEY' ? duplicateKeyMessage(text, error.pos[0]) : yamlMessage(error.message);
      problems.push({ ...at(error.pos[0]), message, severity: 'error' });
    }
    for (const warning of document.warnings) {
      problems.push({ ...at(warning.pos[0]), message: warning.message, severity: 'warning' });
    }
  }
  // A trailing `---` with nothing after it is harmless; only documents with content count.
  const withContent = list
    .map((document, index) => ({ document, number: index + 1 }))
    .filter(({ document }) => document.contents !== null);
  const first = withContent[0]?.document;
  for (const { document: extra, number } of withContent.slice(1)) {
    const offset = extra.contents?.range?.[0] ?? extra.range[0];
    problems.push({
      ...at(offset),
      message: `a Score file holds exactly one workload, but this is document ${number}: move each workload into its own file`,
      severity: 'error',
    });
  }
  if (first === undefined) {
    problems.push({
      line: 1,
      column: 1,
      message:
        'the file is empty: a Score workload needs apiVersion: score.dev/v1b1, metadata.name and containers',
      severity: 'error',
    });
    return { value: undefined, problems, locator: undefined, syntaxFailed };
  }
  let value: unknown;
  try {
    value = first.toJS({ maxAliasCount: 1000 });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    problems.push({
      ...at(first.range[0]),
      message: `the document cannot be read (${reason}): simplify its anchors and aliases`,
      severity: 'error',
    });
    syntaxFailed = true;
  }
  return { value, problems, locator: new YamlLocator(first, lines, text), syntaxFailed };
}

function yamlMessage(message: string): string {
  return `YAML syntax error: ${message.replace(/ at line \d+, column \d+.*$/s, '')}: fix the syntax (indentation, quotes, brackets) so the file parses`;
}

function duplicateKeyMessage(text: string, offset: number): string {
  // `yaml` points at the repeated key; its text runs to the colon on that line.
  const key = (/^[^:\n]*/.exec(text.slice(offset))?.[0] ?? '').trim();
  const name = key === '' ? '' : ` ${key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`}`;
  return `duplicate key${name}: a key may appear only once in a mapping; remove or merge the repeated one`;
}
