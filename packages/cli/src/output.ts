import { Option } from 'commander';
import { stringify } from 'yaml';

/** What `-o` accepts on every read command; `table` is for people, the others for scripts. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The `-o, --output` option every read command takes. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table');
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/**
 * Rows as aligned columns under upper-case headers, two spaces apart; trailing spaces trimmed so
 * the output diffs and greps cleanly.
 */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [
    columns.map((column) => column.header.toUpperCase()),
    ...rows.map((row) => columns.map((column) => formatCell(column.value(row)))),
  ];
  const widths = columns.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  return cells
    .map((line) =>
      line
        .map((cell, index) => cell.padEnd(widths[index]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** One object as `Label:  value` lines with the values aligned. */
export function formatDetails(fields: ReadonlyArray<readonly [label: string, value: unknown]>): string {
  const width = Math.max(...fields.map(([label]) => label.length + 1));
  return (
    fields
      .map(([label, value]) => `${`${label}:`.padEnd(width)}  ${formatCell(value)}`.trimEnd())
      .join('\n') + '\n'
  );
}

export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function formatYaml(value: unknown): string {
  return stringify(value);
}

/**
 * A value as one table cell: absent as `-`, booleans as yes/no, lists comma-separated, and control
 * characters escaped so that a value with a newline cannot break the table's lines apart.
 */
export function formatCell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value))
    return value.length === 0 ? '-' : value.map((item) => formatCell(item)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  return typeof value === 'string' ? escapeControl(value) : '-';
}

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, (char) => {
    return CONTROL_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

export interface ListView<T> {
  columns: readonly Column<T>[];
  /** Printed instead of an empty table, e.g. what to run to create the first one. */
  empty: string;
}

/** A list in the chosen format: JSON and YAML print the items array as the API gives it. */
export function renderList<T>(format: OutputFormat, rows: readonly T[], view: ListView<T>): string {
  switch (format) {
    case 'json':
      return formatJson(rows);
    case 'yaml':
      return formatYaml(rows);
    case 'table':
      return rows.length === 0 ? `${view.empty}\n` : formatTable(rows, view.columns);
  }
}

/** One object in the chosen format; `fields` is its table view. */
export function renderObject(
  format: OutputFormat,
  value: unknown,
  fields: ReadonlyArray<readonly [label: string, value: unknown]>,
): string {
  switch (format) {
    case 'json':
      return formatJson(value);
    case 'yaml':
      return formatYaml(value);
    case 'table':
      return formatDetails(fields);
  }
}
