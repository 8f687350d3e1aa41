export * from './diff-workload.js';
export * from './plan-deployment.js';
export * from './diff-deployments.js';
