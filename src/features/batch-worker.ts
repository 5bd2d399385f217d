/** One batch job: compute a file's features and write its .npy files. Runs in a worker thread of runBatch (batch.ts). */
import { isMainThread, parentPort } from 'node:worker_threads';
import type { BatchReply, BatchRequest } from './batch.js';
import { fileFeatures } from './file-features.js';
import { writeNpy } from './npy.js';

export function processRequest(request: BatchRequest): BatchReply {
  try {
    const features = fileFeatures(request.job.input, request.kinds, request.perWindow);
    for (const [kind, { data, shape }] of features) writeNpy(request.job.outputs[kind]!, data, shape);
    return { id: request.id, ok: true };
  } catch (err) {
    return { id: request.id, ok: false, error: (err as Error).message };
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (request: BatchRequest) => port.postMessage(processRequest(request)));
}
