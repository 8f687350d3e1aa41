export { main, createProgram } from './main.js';
export { CliContext, DEFAULT_DATA_DIR, DEFAULT_URL, processIo } from './cli-context.js';
export type { CliIo, GlobalOptions } from './cli-context.js';
