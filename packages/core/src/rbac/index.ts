export * from './permissions.js';
export * from './roles.js';
export * from './policy.js';
