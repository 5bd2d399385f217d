export { fuseDecisions, argmax, FusionError, UNKNOWN_LABEL, type HeadProbs, type HeadWeights } from './decision.js';
export { Smoother } from './smoother.js';
export { chooseWeights, type FusionSpec, type Modality, type WeightChoice } from './weights.js';
