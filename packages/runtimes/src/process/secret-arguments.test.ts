import { describe, expect, it } from 'vitest';
import { maskedArgv, secretArgvPositions } from './secret-arguments.js';

describe('secretArgvPositions', () => {
  it('places command and args entries in the one command line the process runs', () => {
    expect(
      secretArgvPositions({
        command: ['node', 'server.mjs'],
        args: ['--token', 'x', '--url', 'y'],
        secretArguments: ['args.3', 'args.1'],
      }),
    ).toEqual([3, 5]);
    expect(secretArgvPositions({ command: ['run', 'pw'], secretArguments: ['command.1'] })).toEqual([1]);
    expect(secretArgvPositions({ args: ['pw'], secretArguments: ['args.0'] })).toEqual([0]);
  });

  it('ignores names that point nowhere, and is empty without secret arguments', () => {
    expect(
      secretArgvPositions({
        command: ['a'],
        args: ['b'],
        secretArguments: ['args.4', 'command.1', 'env.0', 'args.x'],
      }),
    ).toEqual([]);
    expect(secretArgvPositions({ command: ['a'], args: ['b'] })).toEqual([]);
  });
});

describe('maskedArgv', () => {
  it('shows the secret positions as (secret) and the rest as they are', () => {
    expect(maskedArgv(['node', 'app', 's3cret'], [2])).toEqual(['node', 'app', '(secret)']);
    expect(maskedArgv(['node'], [])).toEqual(['node']);
  });
});
