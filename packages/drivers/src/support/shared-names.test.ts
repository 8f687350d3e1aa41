import { describe, expect, it } from 'vitest';
import {
  checkSharedName,
  sanitizeNamePart,
  SHARED_NAME_HASH_LENGTH,
  SHARED_NAME_LIMITS,
  SHARED_NAME_PATTERN,
  sharedName,
  type SharedNameSource,
} from './shared-names.js';

const source = (
  app: string,
  env: string,
  id: string,
  type = 'postgres',
  cls = 'default',
): SharedNameSource => ({
  app,
  env,
  resource: { type, class: cls, id },
});

describe('sharedName', () => {
  it('reads paved_<app>_<env>_<resource>_<hash>', () => {
    const name = sharedName(source('shop', 'dev', 'orders.db'), 63);
    expect(name).toMatch(new RegExp(`^paved_shop_dev_orders_db_[a-z2-7]{${SHARED_NAME_HASH_LENGTH}}$`));
  });

  it('is deterministic', () => {
    expect(sharedName(source('shop', 'dev', 'orders.db'), 63)).toBe(
      sharedName(source('shop', 'dev', 'orders.db'), 63),
    );
  });

  it('tells apart what sanitising makes equal', () => {
    const pairs: [SharedNameSource, SharedNameSource][] = [
      [source('my-app', 'dev', 'db'), source('my', 'app-dev', 'db')],
      [source('shop', 'dev', 'orders.db'), source('shop', 'dev', 'orders-db')],
      [source('shop', 'dev', 'café'), source('shop', 'dev', 'cafe')],
      [source('shop', 'dev', 'db', 'postgres'), source('shop', 'dev', 'db', 'mysql')],
      [source('shop', 'dev', 'db', 'postgres', 'default'), source('shop', 'dev', 'db', 'postgres', 'large')],
    ];
    for (const [a, b] of pairs) {
      const nameA = sharedName(a, 63);
      const nameB = sharedName(b, 63);
      expect(nameA.slice(0, -SHARED_NAME_HASH_LENGTH)).toBe(nameB.slice(0, -SHARED_NAME_HASH_LENGTH));
      expect(nameA).not.toBe(nameB);
    }
  });

  it('turns hostile text into plain identifiers', () => {
    const hostile = [
      `x"; DROP TABLE canary; --`,
      "a'b`c\\d",
      'Ünïcödé-ñame',
      '数据库',
      '😀',
      '\u0000\n\t',
      '../../etc/passwd',
      '${resources.db.password}',
      '%_*?[]',
    ];
    for (const text of hostile) {
      for (const name of [
        sharedName(source(text, 'dev', 'db'), 63),
        sharedName(source('shop', text, text), 63),
      ]) {
        expect(name).toMatch(SHARED_NAME_PATTERN);
        expect(name).toMatch(/^[a-z0-9_]+$/);
      }
    }
    expect(sanitizeNamePart('Ünïcödé-ñame')).toBe('unicode_name');
    expect(sanitizeNamePart('数据库')).toBe('x');
    expect(sanitizeNamePart('--a..b--')).toBe('a_b');
  });

  it('shortens long names to the limit deterministically, without collisions', () => {
    const longA = `${'x'.repeat(199)}a`;
    const longB = `${'x'.repeat(199)}b`;
    for (const limit of Object.values(SHARED_NAME_LIMITS)) {
      const a = sharedName(source('shop', 'dev', longA), limit);
      const b = sharedName(source('shop', 'dev', longB), limit);
      expect(a.length).toBeLessThanOrEqual(limit);
      expect(b.length).toBeLessThanOrEqual(limit);
      expect(a).not.toBe(b);
      expect(a).toBe(sharedName(source('shop', 'dev', longA), limit));
      expect(a.startsWith('paved_shop_dev_xxx')).toBe(true);
    }
    expect(sharedName(source('shop', 'dev', longA), 63)).toHaveLength(63);
  });

  it('keeps room for a suffix after the hash', () => {
    const name = sharedName(source('shop', 'dev', 'x'.repeat(200)), 63, '_2');
    expect(name).toHaveLength(63);
    expect(name.endsWith('_2')).toBe(true);
    expect(name.slice(0, -2)).toBe(sharedName(source('shop', 'dev', 'x'.repeat(200)), 61));
  });

  it('never ends the readable part with an underscore run before the hash', () => {
    const name = sharedName(source('shop', 'dev', `${'a'.repeat(40)}.${'b'.repeat(40)}`), 63);
    expect(name).not.toMatch(/__/);
  });

  it('refuses empty parts and impossible limits', () => {
    expect(() => sharedName(source('', 'dev', 'db'), 63)).toThrow(/app is empty/);
    expect(() => sharedName(source('shop', 'dev', ''), 63)).toThrow(/id is empty/);
    expect(() => sharedName(source('shop', 'dev', 'db'), 12)).toThrow(/cannot fit/);
    expect(() => sharedName(source('shop', 'dev', 'db'), 63, '; drop')).toThrow(/suffix/);
  });
});

describe('checkSharedName', () => {
  it('accepts the names sharedName makes', () => {
    const name = sharedName(source('shop', 'dev', 'db'), 63);
    expect(checkSharedName(name, 63, 'database name')).toBe(name);
  });

  it('refuses anything else, naming what it checked', () => {
    for (const bad of [
      'paved_x"; DROP TABLE t; --',
      'other_db',
      'paved_',
      'PAVED_X',
      'paved_x_',
      42,
      undefined,
    ]) {
      expect(() => checkSharedName(bad, 63, 'database name')).toThrow(
        /database name .* is not a name Paved makes/,
      );
    }
    expect(() => checkSharedName(`paved_${'x'.repeat(60)}`, 63, 'database name')).toThrow(/at most 63/);
  });
});
