import { describe, expect, it } from 'vitest';
import { formatDuration, parseDurationSeconds, requireDurationSeconds } from './duration.js';

describe('durations', () => {
  it('parses each unit', () => {
    expect(parseDurationSeconds('45s')).toBe(45);
    expect(parseDurationSeconds('30m')).toBe(1800);
    expect(parseDurationSeconds('72h')).toBe(259_200);
    expect(parseDurationSeconds('7d')).toBe(604_800);
  });

  it('rejects anything else', () => {
    for (const text of ['', '0h', '-1h', '1.5h', '1w', 'h', '10', ' 1h', '1h ', '01h', '1H', '1234567890s']) {
      expect(parseDurationSeconds(text)).toBeUndefined();
    }
  });

  it('reports a bad duration as a located problem', () => {
    expect(() => requireDurationSeconds('3 days', 'ttl')).toThrow(
      'ttl: "3 days" is not a duration: use a positive whole number and one of s, m, h, d, e.g. 72h',
    );
  });

  it('formats in the largest unit up to hours that divides evenly', () => {
    expect(formatDuration(259_200)).toBe('72h');
    expect(formatDuration(5400)).toBe('90m');
    expect(formatDuration(61)).toBe('61s');
    for (const text of ['72h', '90m', '61s']) expect(formatDuration(parseDurationSeconds(text)!)).toBe(text);
  });
});
