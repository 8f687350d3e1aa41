import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { PavedError } from '@paved/core';

/** Length of master and data keys: AES-256. */
export const MASTER_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/**
 * Envelope encryption for secret values. Each value is encrypted with its own fresh AES-256-GCM
 * data key; the data key is encrypted ("wrapped") with the master key. The result is a string
 *
 *     v1:<keyId>:<wrapIv>.<wrappedKey>.<valueIv>.<ciphertext>   (base64url parts, GCM tags appended)
 *
 * where `keyId` names the master key that wrapped the data key (and is authenticated with it). Rotating the master key then means
 * re-wrapping 32-byte data keys (`rewrap`) instead of re-encrypting every value, and a box that
 * holds both the old and the new key can read values from before and after the rotation.
 */
export class SecretBox {
  #current: MasterKey;
  #byId: Map<string, MasterKey>;

  /**
   * @param masterKey the key new values are sealed with.
   * @param previousKeys older master keys still accepted when opening values.
   */
  constructor(masterKey: Uint8Array, previousKeys: readonly Uint8Array[] = []) {
    this.#current = toMasterKey(masterKey);
    this.#byId = keysById(this.#current, previousKeys);
  }

  /** The id of the master key new values are sealed with. */
  get keyId(): string {
    return this.#current.id;
  }

  /** The ids of every master key this box opens values with, the current one first. */
  get keyIds(): string[] {
    return [...this.#byId.keys()];
  }

  /**
   * Switches this box to other master keys, in place: every part of the server holding the box
   * (routes, deployment engine, targets) seals and opens with them from the next call on. A
   * master-key rotation uses it twice: new key current with the old one still accepted, then the
   * new key alone once nothing needs the old one.
   */
  useKeys(masterKey: Uint8Array, previousKeys: readonly Uint8Array[] = []): void {
    const current = toMasterKey(masterKey);
    this.#byId = keysById(current, previousKeys);
    this.#current = current;
  }

  seal(plaintext: string): string {
    const dataKey = randomBytes(MASTER_KEY_BYTES);
    try {
      const header = `${VERSION}:${this.#current.id}`;
      const wrapped = encrypt(this.#current.key, dataKey, header);
      const value = encrypt(dataKey, Buffer.from(plaintext, 'utf8'), VERSION);
      return `${header}:${[...wrapped, ...value].map((part) => part.toString('base64url')).join('.')}`;
    } finally {
      dataKey.fill(0);
    }
  }

  open(sealed: string): string {
    const parsed = parse(sealed);
    const masterKey = this.#masterKey(parsed.keyId);
    const dataKey = decrypt(masterKey.key, parsed.wrapIv, parsed.wrappedKey, parsed.header);
    try {
      return decrypt(dataKey, parsed.valueIv, parsed.ciphertext, VERSION).toString('utf8');
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * A keyed digest of `text` (HMAC-SHA256 under a key derived from the current master key), for
   * telling whether content holding secrets changed without storing the secrets or a plain hash
   * of them, which a guess could be checked against. It changes when the master key rotates.
   */
  fingerprint(text: string): string {
    const key = createHmac('sha256', this.#current.key).update('paved fingerprint key').digest();
    try {
      return createHmac('sha256', key).update(text, 'utf8').digest('hex');
    } finally {
      key.fill(0);
    }
  }

  /** Re-wraps the data key of `sealed` with this box's current master key; the value is untouched. */
  rewrap(sealed: string): string {
    const parsed = parse(sealed);
    if (parsed.keyId === this.#current.id) return sealed;
    const dataKey = decrypt(
      this.#masterKey(parsed.keyId).key,
      parsed.wrapIv,
      parsed.wrappedKey,
      parsed.header,
    );
    try {
      // The value's encryption does not depend on which master key wraps its data key, so only the
      // wrapped key changes.
      const header = `${VERSION}:${this.#current.id}`;
      const [wrapIv, wrappedKey] = encrypt(this.#current.key, dataKey, header);
      return `${header}:${[wrapIv, wrappedKey, parsed.valueIv, parsed.ciphertext].map((part) => part.toString('base64url')).join('.')}`;
    } finally {
      dataKey.fill(0);
    }
  }

  /** The id of the master key that wraps `sealed`'s data key; throws when it is not sealed. */
  static keyIdOf(sealed: string): string {
    return parse(sealed).keyId;
  }

  /** Whether `value` looks like something `seal` produced (it may still fail to open). */
  static isSealed(value: string): boolean {
    return /^v1:[0-9a-f]{16}:[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){3}$/.test(value);
  }

  #masterKey(id: string): MasterKey {
    const key = this.#byId.get(id);
    if (key === undefined) {
      throw new PavedError(
        'INTERNAL',
        `a secret was sealed with master key ${id}, which this server does not have (it has ${[...this.#byId.keys()].join(', ')}); start the server with the data directory's original master.key`,
      );
    }
    return key;
  }
}

/** A short, stable id for a master key that reveals nothing useful about it. */
export function masterKeyId(key: Uint8Array): string {
  return createHash('sha256').update('paved master key id\0').update(key).digest('hex').slice(0, 16);
}

function keysById(current: MasterKey, previousKeys: readonly Uint8Array[]): Map<string, MasterKey> {
  return new Map([current, ...previousKeys.map(toMasterKey)].map((key) => [key.id, key]));
}

interface MasterKey {
  id: string;
  key: Buffer;
}

function toMasterKey(key: Uint8Array): MasterKey {
  if (key.length !== MASTER_KEY_BYTES) {
    throw new PavedError(
      'INVALID_INPUT',
      `a master key must be ${MASTER_KEY_BYTES} bytes long, this one has ${key.length}; use the master.key file the server created`,
    );
  }
  return { id: masterKeyId(key), key: Buffer.from(key) };
}

/** Returns [iv, ciphertext with the GCM tag appended]. */
function encrypt(key: Buffer, plaintext: Buffer, header: string): [Buffer, Buffer] {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(header, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return [iv, body];
}

function decrypt(key: Buffer, iv: Buffer, body: Buffer, header: string): Buffer {
  if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw malformed();
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(header, 'utf8'));
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new PavedError(
      'INTERNAL',
      'a secret could not be decrypted: it was altered or sealed with a different master key of the same id; restore it from a backup or set it again',
      { cause },
    );
  }
}

interface ParsedSealed {
  header: string;
  keyId: string;
  wrapIv: Buffer;
  wrappedKey: Buffer;
  valueIv: Buffer;
  ciphertext: Buffer;
}

function parse(sealed: string): ParsedSealed {
  if (!SecretBox.isSealed(sealed)) throw malformed();
  const [version, keyId, body] = sealed.split(':') as [string, string, string];
  const [wrapIv, wrappedKey, valueIv, ciphertext] = body
    .split('.')
    .map((part) => Buffer.from(part, 'base64url')) as [Buffer, Buffer, Buffer, Buffer];
  return { header: `${version}:${keyId}`, keyId, wrapIv, wrappedKey, valueIv, ciphertext };
}

function malformed(): PavedError {
  // Never include the stored text: it is ciphertext, but the caller may have passed a plain value.
  return new PavedError(
    'INTERNAL',
    'a stored secret is not in the sealed format "v1:<keyId>:…"; it was corrupted or written without encryption, set it again',
  );
}
