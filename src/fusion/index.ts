export { fuseDecisions, argmax, FusionError, type HeadProbs, type HeadWeights } from './decision.js';
export { Smoother } from './smoother.js';
