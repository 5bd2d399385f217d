/**
 * Reading a file a user named as input (a WAV, a list file). Only a regular file is read: a FIFO, a socket or a device
 * would block the read forever or never end, so those are refused before opening. Failures are sentences, not errno.
 */
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** A named input that cannot be read; the message says why in words. */
export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

/** Why `file` cannot be read as an input file, or null when it is a regular file. */
export function inputFileProblem(file: string): string | null {
  try {
    const info = statSync(file);
    if (info.isFile()) return null;
    if (info.isDirectory()) return 'is a directory, not a file';
    if (info.isFIFO()) return 'is a named pipe (FIFO), not a regular file: reading it would wait for a writer forever';
    return 'is not a regular file (a device or socket)';
  } catch (err) {
    return errnoInWords(err as NodeJS.ErrnoException);
  }
}

/** A file system error as a sentence fragment ("does not exist", "cannot be read: permission denied"). */
export function errnoInWords(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'does not exist (a part of its path is a file, not a folder)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'ELOOP':
      return 'is a loop of symbolic links';
    case 'ENAMETOOLONG':
      return 'has a name too long for the file system';
    case 'EIO':
      return 'cannot be read: input/output error (a failing disk or card?)';
    default:
      return `cannot be read (${err.code ?? err.message})`;
  }
}

function checked(file: string): void {
  const problem = inputFileProblem(file);
  if (problem !== null) throw new InputFileError(`${file} ${problem}`);
}

/** The bytes of `file`, a regular file; InputFileError otherwise. */
export function readInputFileSync(file: string): Buffer {
  checked(file);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InputFileError(`${file} ${errnoInWords(err as NodeJS.ErrnoException)}`);
  }
}

export async function readInputFile(file: string): Promise<Buffer> {
  checked(file);
  try {
    return await readFile(file);
  } catch (err) {
    throw new InputFileError(`${file} ${errnoInWords(err as NodeJS.ErrnoException)}`);
  }
}
