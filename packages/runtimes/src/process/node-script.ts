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
 * Starts the script detached (own session, output to `outputFile`) so it survives the server, and
 * returns its identity. `stdinPayload` is written to the script's stdin, which is then closed: the
 * way secret values reach the supervisor without a file, an argument or its own environment
 * (those are readable on disk or in /proc; a pipe's content is gone once read). Without it the
 * script gets no stdin.
 */
export function spawnNodeScript(
  script: NodeScript,
  specFile: string,
  outputFile: string,
  cwd: string,
  stdinPayload?: string,
): ProcessIdentity {
  const output = openSync(outputFile, 'a', 0o600);
  try {
    const child = spawn(process.execPath, [...nodeScriptArguments(script), specFile], {
      cwd,
      detached: true,
      stdio: [stdinPayload === undefined ? 'ignore' : 'pipe', output, output],
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', NODE_ENV: process.env.NODE_ENV ?? '' },
    });
    // A failure to start shows as a missing identity below; don't let it crash the server.
    child.on('error', () => undefined);
    if (child.stdin !== null) {
      // A script that died before reading closes the pipe: that shows as a dead process, not here.
      child.stdin.on('error', () => undefined);
      child.stdin.end(`${stdinPayload ?? ''}\n`);
    }
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
