/**
 * Batch feature extraction over many files on all cores (worker_threads): what `avscene features --list` runs
 * and what the training toolkit calls, so training uses the daemon's own feature code.
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FeatureKind } from './extractor.js';

export interface BatchJob {
  input: string;
  /** Output .npy path per kind. */
  outputs: Partial<Record<FeatureKind, string>>;
}

export interface BatchRequest {
  id: number;
  job: BatchJob;
  kinds: FeatureKind[];
  perWindow: boolean;
}

export type BatchReply = { id: number; ok: true } | { id: number; ok: false; error: string };

export interface BatchProgress {
  done: number;
  failed: number;
  total: number;
  job: BatchJob;
  error?: string;
}

/**
 * The worker module beside this one. When running from the TypeScript sources (tsx, in development), Node 20 does
 * not pass tsx's loader on to worker threads, so the jobs then run on this thread instead.
 */
const WORKER_URL = new URL('./batch-worker.js', import.meta.url);
const FROM_SOURCES = path.extname(fileURLToPath(import.meta.url)) === '.ts';

/** Runs every job on `workers` threads; resolves with the number of failed jobs (failures do not stop the others). */
export async function runBatch(
  jobs: readonly BatchJob[],
  kinds: FeatureKind[],
  perWindow: boolean,
  workers: number,
  onProgress: (p: BatchProgress) => void,
): Promise<number> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const report = (reply: BatchReply): void => {
    done++;
    if (!reply.ok) failed++;
    onProgress({ done, failed, total: jobs.length, job: jobs[reply.id]!, ...(reply.ok ? {} : { error: reply.error }) });
  };
  if (FROM_SOURCES) {
    const { processRequest } = await import('./batch-worker.js');
    jobs.forEach((job, id) => report(processRequest({ id, job, kinds, perWindow })));
    return failed;
  }
  const threads = Math.max(1, Math.min(workers, jobs.length));
  const run = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_URL);
      const feed = (): void => {
        if (next >= jobs.length) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const id = next++;
        const request: BatchRequest = { id, job: jobs[id]!, kinds, perWindow };
        worker.postMessage(request);
      };
      worker.on('message', (reply: BatchReply) => {
        report(reply);
        feed();
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: threads }, run));
  return failed;
}
