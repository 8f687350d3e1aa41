import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhookRequest, verifyWebhookSignature } from './webhook-signature.js';

const secret = 'the-signing-secret-0123456789';
const body = '{"action":"provision"}';
const now = new Date('2030-01-01T00:00:00Z');
const timestamp = Math.floor(now.getTime() / 1000);
const signed = signWebhookRequest({ secret, method: 'PUT', body, timestamp, deliveryId: 'delivery-1' });

describe('webhook signatures', () => {
  it('signs <timestamp>.<delivery>.<METHOD>.<body> with HMAC-SHA256, as the protocol page says', () => {
    const expected = createHmac('sha256', secret).update(`${timestamp}.delivery-1.PUT.${body}`).digest('hex');
    // The test vector docs/drivers/webhook-protocol.md gives.
    expect(timestamp).toBe(1893456000);
    expect(expected).toBe('bb6f227438d5732d66cd9b51275cb934af571df1bb9298343b9d9d06c44cab61');
    expect(signed).toEqual({
      'paved-timestamp': String(timestamp),
      'paved-delivery': 'delivery-1',
      'paved-signature': `sha256=${expected}`,
    });
  });

  it('accepts a fresh, correctly signed request, with any header casing or a fetch Headers', () => {
    expect(verifyWebhookSignature({ secret, method: 'PUT', body, headers: signed, now })).toEqual({
      ok: true,
      deliveryId: 'delivery-1',
      timestamp,
    });
    const upper = Object.fromEntries(
      Object.entries(signed).map(([key, value]) => [key.toUpperCase(), value]),
    );
    expect(verifyWebhookSignature({ secret, method: 'put', body, headers: upper, now }).ok).toBe(true);
    expect(
      verifyWebhookSignature({
        secret,
        method: 'PUT',
        body: Buffer.from(body),
        headers: new Headers(signed),
        now,
      }).ok,
    ).toBe(true);
  });

  it('refuses replays: a timestamp beyond the tolerance, in the past or the future', () => {
    const later = new Date(now.getTime() + 301_000);
    expect(verifyWebhookSignature({ secret, method: 'PUT', body, headers: signed, now: later })).toEqual({
      ok: false,
      reason: 'paved-timestamp is 301 s old, beyond the 300 s tolerance: a replay, or clocks out of sync',
    });
    const earlier = new Date(now.getTime() - 120_000);
    expect(
      verifyWebhookSignature({
        secret,
        method: 'PUT',
        body,
        headers: signed,
        now: earlier,
        toleranceSeconds: 60,
      }),
    ).toMatchObject({ ok: false, reason: expect.stringContaining('120 s in the future') });
  });

  it('refuses a changed body, another method, a wrong secret and missing or malformed headers', () => {
    const check = (changes: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
      verifyWebhookSignature({ secret, method: 'PUT', body, headers: signed, now, ...changes });
    expect(check({ body: '{"action":"deprovision"}' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not match'),
    });
    expect(check({ method: 'DELETE' })).toMatchObject({ ok: false });
    expect(check({ secret: 'another-secret' })).toMatchObject({ ok: false });
    expect(check({ headers: { 'paved-timestamp': String(timestamp) } })).toEqual({
      ok: false,
      reason: 'missing header paved-delivery, paved-signature',
    });
    expect(check({ headers: { ...signed, 'paved-signature': 'md5=abc' } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('64 hex'),
    });
    expect(check({ headers: { ...signed, 'paved-timestamp': 'yesterday' } })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('Unix seconds'),
    });
  });

  it('accepts any of several secrets while rotating', () => {
    expect(
      verifyWebhookSignature({
        secret: ['new-secret-new-secret', secret],
        method: 'PUT',
        body,
        headers: signed,
        now,
      }).ok,
    ).toBe(true);
  });
});
