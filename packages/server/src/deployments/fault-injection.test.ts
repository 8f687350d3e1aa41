import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { activeFaults, faultPoint, faultingSink } from './fault-injection.js';

/** Runs `faultPoint(stage)` in a child process with `env`; how it ended. */
function runFaultPoint(
  stage: string,
  env: Record<string, string>,
): { signal: string | null; stderr: string } {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const module = pathToFileURL(fileURLToPath(new URL('./fault-injection.ts', import.meta.url))).href;
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      tsx,
      '--input-type=module',
      '-e',
      `(await import(${JSON.stringify(module)})).faultPoint(${JSON.stringify(stage)}); console.log('alive');`,
    ],
    { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' },
  );
  return { signal: result.signal, stderr: result.stderr };
}

describe('fault injection', () => {
  it('is off unless PAVED_TEST_FAULT_INJECTION=1, whatever PAVED_TEST_FAULTS says', () => {
    expect([...activeFaults({ PAVED_TEST_FAULTS: 'during-render' })]).toEqual([]);
    expect([
      ...activeFaults({ PAVED_TEST_FAULT_INJECTION: 'true', PAVED_TEST_FAULTS: 'during-render' }),
    ]).toEqual([]);
    expect([
      ...activeFaults({
        PAVED_TEST_FAULT_INJECTION: '1',
        PAVED_TEST_FAULTS: ' during-render, before-record ,',
      }),
    ]).toEqual(['during-render', 'before-record']);
    // Off: a fault point returns.
    faultPoint('during-render', { PAVED_TEST_FAULTS: 'during-render' });
  });

  it('kills the process with SIGKILL at a named stage, saying so', () => {
    const killed = runFaultPoint('mid-switch', {
      PAVED_TEST_FAULT_INJECTION: '1',
      PAVED_TEST_FAULTS: 'mid-switch',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toContain('paved: fault injection: killing the server at stage "mid-switch"');
    const otherStage = runFaultPoint('before-record', {
      PAVED_TEST_FAULT_INJECTION: '1',
      PAVED_TEST_FAULTS: 'mid-switch',
    });
    expect(otherStage).toEqual({ signal: null, stderr: '' });
  });

  it('passes every runtime event on before a runtime-side stage can kill', () => {
    const seen: string[] = [];
    const sink = faultingSink((event: { type: string }) => seen.push(event.type));
    sink({ type: 'workload.ready' });
    sink({ type: 'workload.stopped' });
    expect(seen).toEqual(['workload.ready', 'workload.stopped']);
  });
});
