/**
 * Score placeholders: `${metadata.name}`, `${resources.db.host}`, `${resources.bucket.keys\.with\.dots}`.
 * `$$` is a literal `$`. A path segment may contain a dot written as `\.`.
 */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | {
      kind: 'ref';
      /** Path segments with escapes removed, e.g. `['resources', 'db', 'host']`. */
      path: string[];
      /** The placeholder as written, e.g. `${resources.db.host}`. */
      raw: string;
      /** Offset of the `$` in the input. */
      offset: number;
    };

export interface TemplateProblem {
  offset: number;
  message: string;
}

export interface ParsedTemplate {
  parts: TemplatePart[];
  problems: TemplateProblem[];
}

/** Splits a string into literal text and placeholder references, reporting malformed ones. */
export function parseTemplate(input: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  const problems: TemplateProblem[] = [];
  let text = '';
  let i = 0;
  while (i < input.length) {
    const char = input[i];
    if (char !== '$') {
      text += char;
      i += 1;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      text += '$';
      i += 2;
      continue;
    }
    if (next !== '{') {
      text += '$';
      i += 1;
      continue;
    }
    const close = findClose(input, i + 2);
    if (close === -1) {
      problems.push({
        offset: i,
        message: `unterminated placeholder "${input.slice(i, i + 40)}": add "}" or write "$$" for a literal "$"`,
      });
      text += input.slice(i);
      break;
    }
    const body = input.slice(i + 2, close);
    const path = splitPath(body);
    if (path.some((segment) => segment === '')) {
      problems.push({ offset: i, message: `placeholder "\${${body}}" has an empty path segment` });
    }
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
    parts.push({ kind: 'ref', path, raw: input.slice(i, close + 1), offset: i });
    i = close + 1;
  }
  if (text !== '') parts.push({ kind: 'text', text });
  return { parts, problems };
}

function findClose(input: string, from: number): number {
  for (let j = from; j < input.length; j += 1) {
    if (input[j] === '\\') j += 1;
    else if (input[j] === '}') return j;
  }
  return -1;
}

function splitPath(body: string): string[] {
  const segments: string[] = [];
  let current = '';
  for (let j = 0; j < body.length; j += 1) {
    const char = body[j];
    if (char === '\\' && body[j + 1] === '.') {
      current += '.';
      j += 1;
    } else if (char === '.') {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  return segments;
}

/**
 * Replaces every placeholder with what `resolve` returns for it. Values that are not strings are
 * JSON-encoded. `resolve` throws (a PavedError naming the placeholder) when it cannot resolve one.
 */
export function substitute(input: string, resolve: (path: string[], raw: string) => unknown): string {
  const { parts, problems } = parseTemplate(input);
  if (problems.length > 0 && problems[0] !== undefined) throw new Error(problems[0].message);
  return parts
    .map((part) => {
      if (part.kind === 'text') return part.text;
      const value = resolve(part.path, part.raw);
      return typeof value === 'string' ? value : JSON.stringify(value);
    })
    .join('');
}

/** Every placeholder reference in a string, for dependency discovery. */
export function references(input: string): Extract<TemplatePart, { kind: 'ref' }>[] {
  return parseTemplate(input).parts.filter(
    (part): part is Extract<TemplatePart, { kind: 'ref' }> => part.kind === 'ref',
  );
}
