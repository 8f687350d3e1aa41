export * from './resource-requests.js';
export * from './stable-stringify.js';
