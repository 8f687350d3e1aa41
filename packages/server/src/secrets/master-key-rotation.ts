import { randomBytes } from 'node:crypto';
import { PavedError } from '@paved/core';
import type { SealedValueCounts, SealedValueKind, Store } from '@paved/store';
import type { Logger } from 'pino';
import { definitionFingerprint, targetFingerprint } from './content-fingerprints.js';
import type { MasterKeyFiles } from './master-key-files.js';
import { MASTER_KEY_BYTES, SecretBox } from './secret-box.js';

/** What a rotation did: key ids and counts, never a value. */
export interface RotationResult {
  /** The id of the master key every sealed value is wrapped with now. */
  keyId: string;
  /** The id of the key it replaced. */
  previousKeyId: string;
  /** Sealed values re-wrapped, per kind. */
  rewrapped: SealedValueCounts;
  /** Whether this finished a rotation a crash or an error had interrupted. */
  resumed: boolean;
}

/**
 * A concurrent write may seal a value with the old key after the transaction read its table (on
 * PostgreSQL, which does not lock the tables for reading); the next pass catches it. More passes
 * than this mean something keeps writing old-key values, which the box no longer does.
 */
const MAX_PASSES = 3;

export interface MasterKeyRotationOptions {
  store: Store;
  /** The box the whole server uses; switched to the new key in place. */
  box: SecretBox;
  files: MasterKeyFiles;
  logger: Logger;
}

/**
 * `paved admin rotate-master-key`: a new master key, every sealed value of the store re-wrapped
 * with it (data keys only; see `SecretBox.rewrap`) and every fingerprint recomputed, in one
 * transaction, then the new key made current and the old one removed from the disk.
 */
export class MasterKeyRotation {
  readonly #options: MasterKeyRotationOptions;
  #running = false;

  constructor(options: MasterKeyRotationOptions) {
    this.#options = options;
  }

  /** Rotates to a new key, or finishes an interrupted rotation with the key it had chosen. */
  async rotate(): Promise<RotationResult> {
    if (this.#running) {
      throw new PavedError(
        'CONFLICT',
        'a master-key rotation is already running on this server; wait for it to finish',
      );
    }
    this.#running = true;
    try {
      const { files } = this.#options;
      const pending = await files.readNext();
      const next = pending ?? (await files.writeNext(randomBytes(MASTER_KEY_BYTES)));
      return await this.#complete(next, pending !== undefined);
    } finally {
      this.#running = false;
    }
  }

  /**
   * At start-up: when a rotation did not finish (its next key is still on disk), opens values
   * under both keys and finishes it. Does nothing otherwise.
   */
  async resume(): Promise<RotationResult | undefined> {
    const next = await this.#options.files.readNext();
    if (next === undefined) return undefined;
    this.#options.logger.warn(
      { file: this.#options.files.nextFile },
      'a master-key rotation did not finish; finishing it',
    );
    return this.#complete(next, true);
  }

  async #complete(next: Buffer, resumed: boolean): Promise<RotationResult> {
    const { store, box, files, logger } = this.#options;
    const current = await files.readCurrent();
    const nextId = new SecretBox(next).keyId;
    const previousKeyId = new SecretBox(current).keyId;
    // New values are sealed with the next key from here on; values under either key still open.
    box.useKeys(next, [current]);
    const rewrapped: SealedValueCounts = {
      values: 0,
      definitions: 0,
      targets: 0,
      resources: 0,
      deployments: 0,
    };
    for (let pass = 1; ; pass += 1) {
      const counts = await store.transaction((tx) =>
        tx.sealed.rewrapAll({
          rewrap: (sealed) => box.rewrap(sealed),
          definitionFingerprint: (definition) =>
            definitionFingerprint(box, {
              ...definition,
              inputs: { ...definition.inputs, secrets: openAll(box, definition.inputs.secrets) },
            }),
          targetFingerprint: (target) =>
            targetFingerprint(box, { ...target, secrets: openAll(box, target.secrets) }),
        }),
      );
      for (const kind of Object.keys(counts) as SealedValueKind[]) rewrapped[kind] += counts[kind];
      const left = (await store.sealed.list()).filter((value) => SecretBox.keyIdOf(value.sealed) !== nextId);
      if (left.length === 0) break;
      if (pass === MAX_PASSES) {
        throw new PavedError(
          'CONFLICT',
          `${left.length} sealed values still use another master key after ${pass} passes (first: ${left[0]!.where}); run paved admin rotate-master-key again`,
        );
      }
    }
    // Only now is the old key unneeded: replace it on disk, then forget it here.
    await files.promoteNext();
    box.useKeys(next);
    logger.info({ keyId: nextId, previousKeyId, rewrapped, resumed }, 'rotated the master key');
    return { keyId: nextId, previousKeyId, rewrapped, resumed };
  }
}

function openAll(box: SecretBox, sealed: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(sealed).map(([key, value]) => [key, box.open(value)]));
}
