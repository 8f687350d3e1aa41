/**
 * `npm run bench [NAME…]`: runs every benchmark (or the named ones) and prints Markdown for
 * docs/benchmarks.md. Each benchmark measures Paved against a baseline in the same process and
 * reports ratios; nothing here asserts timings.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Benchmark, BenchReport } from './report.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = new Set(process.argv.slice(2));

function toMarkdown(report: BenchReport): string {
  const columns = [...new Set(report.rows.flatMap((row) => Object.keys(row)))];
  const lines = [`## ${report.title}`, '', report.method, ''];
  lines.push(`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`);
  for (const row of report.rows) lines.push(`| ${columns.map((c) => String(row[c] ?? '')).join(' | ')} |`);
  for (const note of report.notes ?? []) lines.push('', note);
  return lines.join('\n');
}

const files = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .sort();
console.log(`# Benchmark run ${new Date().toISOString()} — Node ${process.version}\n`);
for (const file of files) {
  const module = (await import(pathToFileURL(`${dir}${file}`).href)) as { benchmark: Benchmark };
  if (wanted.size > 0 && !wanted.has(module.benchmark.name)) continue;
  const report = await module.benchmark.run();
  console.log(`${toMarkdown(report)}\n`);
}
