/**
 * WAV (RIFF/WAVE) container decoding to float PCM in [-1, 1).
 *
 * Supported: PCM integer 8 (unsigned), 16, 24 and 32 bit; IEEE float 32 and 64 bit; the same inside
 * WAVE_FORMAT_EXTENSIBLE; any number of channels; any sample rate (resample.ts converts to 48 kHz).
 * Chunks other than `fmt ` and `data` (LIST, fact, bext, cue …) are skipped, including their pad byte when
 * their size is odd. A `data` size of 0xFFFFFFFF (written by streaming tools that cannot seek back, e.g.
 * `ffmpeg … -f wav pipe:`) means "until the end of the file".
 */

/** Float PCM per channel, scaled as the feature spec says (int16 / 2^15, int24 / 2^23, int32 / 2^31, float as is). */
export interface DecodedAudio {
  sampleRate: number;
  channels: Float32Array[];
}

/** Bad or unsupported audio input. The message names the file, the problem and what would work. */
export class AudioFormatError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'AudioFormatError';
  }
}

/** What a WAV input may be, as the help of `classify` and `features` and the schema say it (test/cli/help.test.ts decodes
 *  every encoding it names and checks that the others are refused). */
export const WAV_INPUT =
  'WAV, 8/16/24/32-bit integer or 32/64-bit float PCM, any sample rate (resampled to 48 kHz), any number of channels ' +
  '(mono is used for both channels; of more than two, the first two)';

export const SUPPORTED_WAV =
  'supported: RIFF/WAVE with PCM 8/16/24/32-bit integer or IEEE float 32/64-bit samples (also WAVE_FORMAT_EXTENSIBLE); ' +
  'convert other files with e.g. `ffmpeg -i INPUT -c:a pcm_s16le OUTPUT.wav`';

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** Data size used by writers that stream and cannot patch the header afterwards. */
const STREAMING_DATA_SIZE = 0xffffffff;

const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'µ-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG',
  0x0055: 'MPEG Layer 3',
};

interface WavFormat {
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

export function decodeWav(buf: Buffer, name: string): DecodedAudio {
  const fail = (problem: string): never => {
    throw new AudioFormatError(name, problem);
  };
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    const what = buf.length === 0 ? 'the file is empty' : describeMagic(buf);
    fail(`not a WAV file (${what}); ${SUPPORTED_WAV}`);
  }
  let format: WavFormat | undefined;
  let pos = 12;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > buf.length) fail(`truncated or corrupt 'fmt ' chunk (${size} bytes)`);
      format = parseFormat(buf, body, size, fail);
    } else if (id === 'data') {
      if (!format)
        return fail(`'data' chunk comes before the 'fmt ' chunk, so its encoding is unknown; ${SUPPORTED_WAV}`);
      const available = buf.length - body;
      let bytes = size;
      if (size === STREAMING_DATA_SIZE) bytes = available - (available % format.blockAlign);
      else if (size > available) {
        fail(
          `truncated audio data: the header announces ${size} bytes (${(size / format.blockAlign / format.sampleRate).toFixed(3)} s) ` +
            `but only ${available} bytes follow; the file was cut short (re-copy or re-export it)`,
        );
      }
      if (bytes % format.blockAlign !== 0) {
        fail(`corrupt audio data: ${bytes} bytes is not a whole number of ${format.blockAlign}-byte sample frames`);
      }
      const frames = bytes / format.blockAlign;
      if (frames === 0) fail('contains no audio samples (zero-length data chunk)');
      return { sampleRate: format.sampleRate, channels: decodeSamples(buf, body, frames, format) };
    }
    // RIFF chunks are padded to an even size.
    pos = body + size + (size & 1);
  }
  return fail(
    format
      ? "no 'data' chunk (the file holds no audio or was cut short)"
      : "no 'fmt ' chunk; the WAV header is corrupt",
  );
}

function describeMagic(buf: Buffer): string {
  const head = buf.toString('latin1', 0, Math.min(4, buf.length));
  if (head === 'RIFF') return `RIFF file of type '${buf.toString('latin1', 8, 12)}', not 'WAVE'`;
  if (head === 'RF64') return 'RF64 (64-bit WAV) is not supported';
  if (head === 'fLaC') return 'it is FLAC';
  if (head === 'OggS') return 'it is Ogg';
  if (head.startsWith('ID3') || (buf[0] === 0xff && ((buf[1] ?? 0) & 0xe0) === 0xe0)) return 'it looks like MP3';
  return `it starts with bytes ${[...buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
}

function parseFormat(buf: Buffer, at: number, size: number, fail: (p: string) => never): WavFormat {
  let tag = buf.readUInt16LE(at);
  const channels = buf.readUInt16LE(at + 2);
  const sampleRate = buf.readUInt32LE(at + 4);
  const blockAlign = buf.readUInt16LE(at + 12);
  const bitsPerSample = buf.readUInt16LE(at + 14);
  if (tag === WAVE_FORMAT_EXTENSIBLE) {
    // cbSize(2) validBits(2) channelMask(4) then the sub-format GUID whose first two bytes are the format tag.
    if (size < 40) fail(`corrupt WAVE_FORMAT_EXTENSIBLE header ('fmt ' chunk of ${size} bytes, expected 40)`);
    tag = buf.readUInt16LE(at + 24);
  }
  const bytesPerSample = bitsPerSample / 8;
  const supported =
    (tag === WAVE_FORMAT_PCM && [8, 16, 24, 32].includes(bitsPerSample)) ||
    (tag === WAVE_FORMAT_IEEE_FLOAT && [32, 64].includes(bitsPerSample));
  if (!supported) {
    const kind =
      tag === WAVE_FORMAT_PCM
        ? `${bitsPerSample}-bit integer PCM`
        : tag === WAVE_FORMAT_IEEE_FLOAT
          ? `${bitsPerSample}-bit float`
          : `${FORMAT_NAMES[tag] ?? 'format'} (format tag 0x${tag.toString(16).padStart(4, '0')})`;
    fail(`unsupported encoding: ${kind}; ${SUPPORTED_WAV}`);
  }
  if (channels === 0) fail("corrupt 'fmt ' chunk: 0 channels");
  if (sampleRate === 0) fail("corrupt 'fmt ' chunk: sample rate 0 Hz");
  if (blockAlign !== channels * bytesPerSample) {
    fail(
      `corrupt 'fmt ' chunk: block align ${blockAlign} does not match ${channels} channels × ${bytesPerSample} bytes`,
    );
  }
  return { tag, channels, sampleRate, blockAlign, bitsPerSample };
}

function decodeSamples(buf: Buffer, at: number, frames: number, f: WavFormat): Float32Array[] {
  const channels = Array.from({ length: f.channels }, () => new Float32Array(frames));
  const bytes = f.bitsPerSample / 8;
  for (let c = 0; c < f.channels; c++) {
    const out = channels[c]!;
    let p = at + c * bytes;
    const step = f.blockAlign;
    if (f.tag === WAVE_FORMAT_IEEE_FLOAT) {
      if (bytes === 4) for (let i = 0; i < frames; i++, p += step) out[i] = buf.readFloatLE(p);
      else for (let i = 0; i < frames; i++, p += step) out[i] = buf.readDoubleLE(p);
    } else if (bytes === 1) {
      for (let i = 0; i < frames; i++, p += step) out[i] = (buf[p]! - 128) / 128;
    } else if (bytes === 2) {
      for (let i = 0; i < frames; i++, p += step) out[i] = buf.readInt16LE(p) / 32768;
    } else if (bytes === 3) {
      for (let i = 0; i < frames; i++, p += step) {
        out[i] = (((buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16)) << 8) >> 8) / 8388608;
      }
    } else {
      for (let i = 0; i < frames; i++, p += step) out[i] = buf.readInt32LE(p) / 2147483648;
    }
  }
  return channels;
}
