export * from './expand-template.js';
export * from './spec-hash.js';
export * from './render-workloads.js';
export * from './runtime-extras.js';
