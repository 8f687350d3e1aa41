import type { ResourceDefinition } from '@paved/core';
import { defaultDefinitions } from '@paved/drivers';
import type { Store } from '@paved/store';
import type { SecretBox } from '../secrets/secret-box.js';

/**
 * What the deployment engine matches against: every applied definition, with its secret inputs
 * opened for the driver, plus the fallback defaults of the built-in types. A definition applied
 * under a default's name replaces that default rather than sitting beside it.
 *
 * Without `secrets`, secret inputs are left out: enough for explaining a match, which never needs
 * (and must never show) them.
 */
export async function platformDefinitions(store: Store, secrets?: SecretBox): Promise<ResourceDefinition[]> {
  const stored = await store.definitions.list();
  const names = new Set(stored.map((definition) => definition.name));
  return [
    ...stored.map(
      ({
        createdAt: _createdAt,
        createdBy: _createdBy,
        secretRefs: _secretRefs,
        inputs,
        ...definition
      }): ResourceDefinition => ({
        ...definition,
        inputs: {
          values: inputs.values,
          secrets:
            secrets === undefined
              ? {}
              : Object.fromEntries(
                  Object.entries(inputs.secrets).map(([key, sealed]) => [key, secrets.open(sealed)]),
                ),
        },
      }),
    ),
    ...defaultDefinitions().filter((definition) => !names.has(definition.name)),
  ];
}
