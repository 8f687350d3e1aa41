import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forwarderPortRange } from './forwarder-ports.js';

describe('forwarderPortRange', () => {
  it('keeps forwarder ports below the kernel ephemeral range, where engines pick theirs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paved-range-'));
    try {
      writeFileSync(join(dir, 'range'), '32768\t60999\n');
      expect(forwarderPortRange(join(dir, 'range'))).toEqual([20_000, 32_767]);
      writeFileSync(join(dir, 'range'), '15000 65000');
      expect(forwarderPortRange(join(dir, 'range'))).toEqual([10_000, 19_999]);
      expect(forwarderPortRange(join(dir, 'missing'))).toEqual([20_000, 32_767]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
