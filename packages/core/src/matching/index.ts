export * from './resource-definition.js';
export * from './match-definition.js';
export * from './definition-conflicts.js';
