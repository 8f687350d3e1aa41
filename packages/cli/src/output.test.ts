import { describe, expect, it } from 'vitest';
import { formatCell, formatDetails, formatTable, renderList, renderObject } from './output.js';
import type { ListView } from './output.js';

interface Row {
  name: string;
  team?: string;
  size: number;
}

const VIEW: ListView<Row> = {
  columns: [
    { header: 'name', value: (row) => row.name },
    { header: 'team', value: (row) => row.team },
    { header: 'size', value: (row) => row.size },
  ],
  empty: 'Nothing here.',
};

const ROWS: Row[] = [
  { name: 'shop', team: 'payments', size: 1 },
  { name: 'a-much-longer-name', size: 22 },
];

describe('formatTable', () => {
  it('aligns columns under upper-case headers and trims trailing spaces', () => {
    expect(formatTable(ROWS, VIEW.columns)).toBe(
      [
        'NAME                TEAM      SIZE',
        'shop                payments  1',
        'a-much-longer-name  -         22',
        '',
      ].join('\n'),
    );
  });
});

describe('formatCell', () => {
  it.each([
    [undefined, '-'],
    [null, '-'],
    ['', '-'],
    [true, 'yes'],
    [false, 'no'],
    [['a', 'b'], 'a, b'],
    [[], '-'],
    [42, '42'],
    [{ a: 1 }, '{"a":1}'],
    ['line 1\nline 2\ttab\u0007', 'line 1\\nline 2\\ttab\\u0007'],
  ])('%j → %s', (value, cell) => {
    expect(formatCell(value)).toBe(cell);
  });
});

describe('formatDetails', () => {
  it('aligns the values after the labels', () => {
    expect(
      formatDetails([
        ['Name', 'shop'],
        ['Created by', 'admin'],
        ['Team', undefined],
      ]),
    ).toBe('Name:        shop\nCreated by:  admin\nTeam:        -\n');
  });
});

describe('renderList', () => {
  it('prints the items array as JSON and YAML, and a table otherwise', () => {
    expect(JSON.parse(renderList('json', ROWS, VIEW))).toEqual(ROWS);
    expect(renderList('yaml', ROWS, VIEW)).toBe(
      '- name: shop\n  team: payments\n  size: 1\n- name: a-much-longer-name\n  size: 22\n',
    );
    expect(renderList('table', ROWS, VIEW)).toContain('NAME');
  });

  it('says what to do instead of printing an empty table, but keeps [] for scripts', () => {
    expect(renderList('table', [], VIEW)).toBe('Nothing here.\n');
    expect(renderList('json', [], VIEW)).toBe('[]\n');
    expect(renderList('yaml', [], VIEW)).toBe('[]\n');
  });
});

describe('renderObject', () => {
  it('prints the object itself as JSON and YAML, and its fields as a table', () => {
    const app = { name: 'shop', createdBy: 'admin' };
    const fields = [['Name', app.name]] as const;
    expect(JSON.parse(renderObject('json', app, fields))).toEqual(app);
    expect(renderObject('yaml', app, fields)).toBe('name: shop\ncreatedBy: admin\n');
    expect(renderObject('table', app, fields)).toBe('Name:  shop\n');
  });
});
