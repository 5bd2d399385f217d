/** Reads the .npy files `avscene features` writes (src/features/npy.ts), as NumPy would, to check their contents. */
import { readFileSync } from 'node:fs';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

/** Reads a .npy v1/v2 file of dtype '<f4', C order. */
export function readNpy(file: string): NpyArray {
  const buf = readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${file}: not a .npy file`);
  const major = buf[6]!;
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const dict = buf.toString('latin1', start, start + headerLength);
  if (!/'descr':\s*'<f4'/.test(dict)) throw new Error(`${file}: dtype is not '<f4' (${dict.trim()})`);
  if (/'fortran_order':\s*True/.test(dict)) throw new Error(`${file}: Fortran order is not supported`);
  const dims = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1] ?? '';
  const shape = dims
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const offset = start + headerLength;
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  Buffer.from(data.buffer).set(buf.subarray(offset, offset + 4 * count));
  return { shape, data };
}
