export * from './errors.js';
export * from './clock.js';
export * from './names.js';
export type * from './runtime.js';
export type * from './driver.js';
export * from './score/types.js';
export * from './placeholders/placeholders.js';
export * from './rbac/index.js';
