/**
 * Audio helpers every stage shares: WAV decoding, resampling and stereo conversion to the pipeline's 48 kHz stereo,
 * the one rule that cuts a recording into 1-s windows, and the finite-sample check. A leaf: it imports no other stage.
 */
export { SAMPLE_RATE, WINDOW_SAMPLES, type StereoAudio } from './format.js';
export { AudioFormatError, SUPPORTED_WAV, decodeWav, type DecodedAudio } from './wav.js';
export { assertFiniteAudio, findNonFinite } from './finite.js';
export { Resampler } from './resample.js';
export { toStereo48k } from './stereo.js';
export { PAD_TOLERANCE, droppedTail, wholeWindowCount, windowSamples } from './windows.js';
