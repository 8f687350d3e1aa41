export type * from './store.js';
export type * from './database.js';
export { openStore } from './open-store.js';
export { SQLITE_FILE_NAME } from './open-database.js';
export { migrateToLatest } from './migrate-to-latest.js';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination.js';
export { DEPLOYMENT_STEP_NAMES } from './deployments-repository.js';
export { AUDIT_GENESIS_HASH, auditEntryHash, canonicalAuditJson } from './audit-chain.js';
export { teamSubject } from './grants-repository.js';
