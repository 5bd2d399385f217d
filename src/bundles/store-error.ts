import { EXIT_FAILURE } from '../util/exit-codes.js';

/** A bundle store operation that cannot be done; the message says why and what to do. */
export class BundleStoreError extends Error {
  readonly exitCode = EXIT_FAILURE;
  constructor(message: string) {
    super(message);
    this.name = 'BundleStoreError';
  }
}
