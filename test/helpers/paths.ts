/** Where tests find the repository and the shared real test data (CI lays shared/ beside the clone). */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DATA = process.env.AVSCENE_SHARED_DATA ?? path.resolve(REPO_ROOT, '..', 'shared', 'data');
export const HAS_SHARED_DATA = existsSync(SHARED_DATA);
/** Reason given by tests that skip because the real recordings are not beside the repository. */
export const NO_SHARED_DATA = `real test data not found at ${SHARED_DATA} (set AVSCENE_SHARED_DATA)`;
/** The built CLI, as users run it. */
export const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
