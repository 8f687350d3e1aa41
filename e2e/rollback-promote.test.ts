// Rollback and promotion on the process target, through the built CLI against a real server:
// see helpers/rollback-promote.ts for the journey.
import { describeRollbackAndPromotion } from './helpers/rollback-promote.js';

describeRollbackAndPromotion('process');
