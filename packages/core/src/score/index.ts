export * from './types.js';
export { validateScore, validateScoreObject } from './validate-score.js';
export type { ScoreValidation, ScoreValidationOptions } from './validate-score.js';
export { fileSources } from './file-sources.js';
export { formatJsonPath } from './json-path.js';
export type { JsonPathSegment } from './json-path.js';
