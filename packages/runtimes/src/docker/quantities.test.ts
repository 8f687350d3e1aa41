import { describe, expect, it } from 'vitest';
import { memoryBytes, nanoCpus } from './quantities.js';

describe('quantities', () => {
  it('turns memory quantities into bytes', () => {
    expect(memoryBytes('512Mi')).toBe(512 * 2 ** 20);
    expect(memoryBytes('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(memoryBytes('128M')).toBe(128_000_000);
    expect(memoryBytes('1000')).toBe(1000);
    expect(memoryBytes('0.5K')).toBe(500);
    expect(memoryBytes('12 apples')).toBeUndefined();
    expect(memoryBytes('1mi')).toBeUndefined();
  });

  it('turns CPU quantities into billionths of a CPU', () => {
    expect(nanoCpus('250m')).toBe(250_000_000);
    expect(nanoCpus('0.5')).toBe(500_000_000);
    expect(nanoCpus('2')).toBe(2_000_000_000);
    expect(nanoCpus('1.25')).toBe(1_250_000_000);
    expect(nanoCpus('half')).toBeUndefined();
    expect(nanoCpus('0.5m')).toBeUndefined();
  });
});
