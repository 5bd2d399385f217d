/** NumPy .npy format 1.0 for float32 C-order arrays (dtype '<f4'): the feature files the toolkit trains on. */
import { renameSync, rmSync, writeFileSync } from 'node:fs';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function header(shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  // Magic (6) + version (2) + header length (2) + dict, padded with spaces and a final newline to a multiple of 64.
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const text = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, 'latin1')]);
}

/** The bytes of a .npy file holding `data` with `shape` (C order). */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new RangeError(`shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}`);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Typed arrays are in the platform's byte order; every platform Node runs on here is little-endian.
  return Buffer.concat([header(shape), body]);
}

/** Writes a .npy file atomically (temporary file, then rename), so an interrupted run leaves no half file. */
export function writeNpy(file: string, data: Float32Array, shape: readonly number[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, encodeNpy(data, shape));
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true }); // a failed write (disk full, `file` a folder) leaves nothing behind
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      `cannot write ${file}: ${e.code === 'EISDIR' || e.code === 'ENOTEMPTY' || e.code === 'EEXIST' ? 'a folder has that name; give a file name such as out/clip.logmel.npy' : e.code === 'ENOENT' ? 'its folder does not exist' : e.code === 'EACCES' ? 'permission denied' : e.code === 'ENOSPC' ? 'the disk is full' : e.message}`,
    );
  }
}
