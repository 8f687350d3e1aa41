/**
 * How to start one of the package's own Node scripts (the supervisor, the forwarder) as a detached
 * process. From the build output that is `node dist/process/<name>.js`; when the runtime itself
 * runs from TypeScript sources (tests), the `.ts` file is started through the `tsx` loader.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PavedError } from '@paved/core';
import { identify, type ProcessIdentity } from './process-identity.js';

export type NodeScript = 'supervisor' | 'forwarder';

export function nodeScriptArguments(script: NodeScript): string[] {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = createRequire(here).resolve('tsx');
    return ['--import', pathToFileURL(tsx).href, fileURLToPath(new URL(`./${script}.ts`, here))];
  }
  return [fileURLToPath(new URL(`./${script}.js`, here))];
}

/**
 * Starts the script detached (own session, no stdin, output to `outputFile`) so it survives the
 * server, and returns its identity.
 */
export function spawnNodeScript(
  script: NodeScript,
  specFile: string,
  outputFile: string,
  cwd: string,
): ProcessIdentity {
  const output = openSync(outputFile, 'a', 0o600);
  try {
    const child = spawn(process.execPath, [...nodeScriptArguments(script), specFile], {
      cwd,
      detached: true,
      stdio: ['ignore', output, output],
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', NODE_ENV: process.env.NODE_ENV ?? '' },
    });
    // A failure to start shows as a missing identity below; don't let it crash the server.
    child.on('error', () => undefined);
    child.unref();
    const identity = child.pid === undefined ? undefined : identify(child.pid);
    if (identity === undefined) {
      throw new PavedError(
        'TARGET_FAILED',
        `could not start the ${script} process (${specFile}); see ${outputFile}`,
      );
    }
    return identity;
  } finally {
    closeSync(output);
  }
}
