import type { Migration } from 'kysely';
import * as initial from './0001-initial.js';
import * as deployments from './0002-deployments.js';
import * as resourceDefinitions from './0003-resource-definitions.js';
import * as targets from './0004-targets.js';
import * as accessControl from './0005-access-control.js';
import * as deploymentSets from './0006-deployment-sets.js';
import * as installation from './0007-installation.js';

/**
 * Every migration, in the order they run. Registered in code rather than found by scanning a
 * folder so that they work from `dist` and from a bundle alike. Add new ones at the end with the
 * next number; Kysely orders them by name, so the numbers must stay zero-padded.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-initial': initial,
  '0002-deployments': deployments,
  '0003-resource-definitions': resourceDefinitions,
  '0004-targets': targets,
  '0005-access-control': accessControl,
  '0006-deployment-sets': deploymentSets,
  '0007-installation': installation,
};
