export * from './provisioned-resource.js';
export * from './provision-graph.js';
export * from './workload-outputs.js';
