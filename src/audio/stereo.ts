import { SAMPLE_RATE, type StereoAudio } from './format.js';
import { Resampler } from './resample.js';
import type { DecodedAudio } from './wav.js';

/**
 * The spec's input stage: 48 kHz (band-limited resampling of any other rate, see resample.ts), mono → L = R
 * (the same array), more than two channels → the first two.
 */
export function toStereo48k(audio: DecodedAudio): StereoAudio {
  const [first, second] = audio.channels;
  if (!first) throw new RangeError('audio has no channels');
  let left = first;
  let right = second ?? first;
  if (audio.sampleRate !== SAMPLE_RATE) {
    const resampler = new Resampler(audio.sampleRate, SAMPLE_RATE);
    left = resampler.process(left);
    right = second ? resampler.process(right) : left;
  }
  return { left, right };
}
