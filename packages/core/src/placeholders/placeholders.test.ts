import { describe, expect, it } from 'vitest';
import { parseTemplate, references, substitute } from './placeholders.js';

describe('parseTemplate', () => {
  it('splits text and references', () => {
    expect(parseTemplate('postgres://${resources.db.host}:5432').parts).toEqual([
      { kind: 'text', text: 'postgres://' },
      { kind: 'ref', path: ['resources', 'db', 'host'], raw: '${resources.db.host}', offset: 11 },
      { kind: 'text', text: ':5432' },
    ]);
  });

  it('treats $$ as a literal dollar and keeps escaped dots inside a segment', () => {
    expect(parseTemplate('$${x} ${resources.b.a\\.b}').parts).toEqual([
      { kind: 'text', text: '${x} ' },
      { kind: 'ref', path: ['resources', 'b', 'a.b'], raw: '${resources.b.a\\.b}', offset: 6 },
    ]);
  });

  it('reports an unterminated placeholder and an empty segment', () => {
    expect(parseTemplate('a ${resources.db').problems[0]?.message).toMatch(/unterminated placeholder/);
    expect(parseTemplate('${resources..x}').problems[0]?.message).toMatch(/empty path segment/);
  });
});

describe('substitute', () => {
  it('replaces references and JSON-encodes non-strings', () => {
    const values: Record<string, unknown> = { 'resources.db.port': 5432, 'metadata.name': 'web' };
    expect(substitute('${metadata.name}:${resources.db.port}', (path) => values[path.join('.')])).toBe(
      'web:5432',
    );
  });

  it('lists references', () => {
    expect(references('${a.b} and ${c}').map((r) => r.raw)).toEqual(['${a.b}', '${c}']);
  });
});
