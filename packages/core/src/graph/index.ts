export * from './resource-graph.js';
export * from './build-resource-graph.js';
export * from './placeholder-sites.js';
