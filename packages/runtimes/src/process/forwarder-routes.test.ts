import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RouteTable } from './forwarder-routes.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'paved-forwarder-routes-'));
  file = join(dir, 'routes.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (instance: string, port: number): void =>
  writeFileSync(file, JSON.stringify({ instance, targets: { web: { host: '10.0.0.2', port } } }));

describe('the forwarder route table', () => {
  it('has no target before any routes were written', () => {
    expect(new RouteTable(file).target('web')).toBeUndefined();
  });

  it('follows the file as it is rewritten', () => {
    const table = new RouteTable(file);
    write('1', 8080);
    expect(table.target('web')).toMatchObject({ host: '10.0.0.2', port: 8080 });
    write('2', 8081);
    expect(table.target('web')).toMatchObject({ host: '10.0.0.2', port: 8081 });
    expect(table.target('other')).toBeUndefined();
  });

  it('keeps the last routes while the file is being replaced: missing, or torn', () => {
    const table = new RouteTable(file);
    write('1', 8080);
    expect(table.target('web')?.port).toBe(8080);
    // A container engine's archive API removes the file before it writes the new one.
    unlinkSync(file);
    expect(table.target('web')?.port).toBe(8080);
    writeFileSync(file, '{"instance":"2","targ');
    expect(table.target('web')?.port).toBe(8080);
    write('2', 8081);
    expect(table.target('web')?.port).toBe(8081);
  });
});
