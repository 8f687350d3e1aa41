import { stableStringify } from '@paved/core';
import type { ResourceDefinitionContent, TargetContent } from '@paved/store';
import type { SecretBox } from './secret-box.js';

/**
 * The fingerprint an apply compares a definition with, over its content with the secret inputs in
 * plain text. Keyed by the master key (see `SecretBox.fingerprint`), so a master-key rotation
 * computes it again from the stored version: both must see the same fields, hence one function.
 */
export function definitionFingerprint(secrets: SecretBox, definition: ResourceDefinitionContent): string {
  return secrets.fingerprint(
    stableStringify({
      name: definition.name,
      type: definition.type,
      class: definition.class,
      driver: definition.driver,
      inputs: definition.inputs,
      criteria: definition.criteria,
      // `stateful: false` is the default spelt out: the same content, so the same fingerprint.
      stateful: definition.stateful === true ? true : undefined,
      secretRefs: definition.secretRefs,
    }),
  );
}

/** The fingerprint of a target's content, secrets in plain text; see `definitionFingerprint`. */
export function targetFingerprint(secrets: SecretBox, target: Omit<TargetContent, 'name'>): string {
  return secrets.fingerprint(
    stableStringify({
      type: target.type,
      settings: target.settings,
      secrets: target.secrets,
      secretRefs: target.secretRefs,
    }),
  );
}
