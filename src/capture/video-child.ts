/**
 * The video process (started by video-process.ts): owns one OpenCV capture, a file or a live camera, and answers
 * the daemon's requests over IPC. For an image bundle it also preprocesses the chosen frame (the same
 * preprocessMat the engine would run) and sends only the tensors, so the daemon neither copies whole images across
 * nor loads OpenCV. For files it decodes the next window's frame as soon as an answer is sent (`prefetch`), while
 * the daemon infers the window it has. It exits when the daemon goes away, and after telling it that a live camera
 * is gone (the daemon starts a fresh process when it retries).
 */
import { takeCoverage } from 'node:v8';
import { FileFramePicker } from './file-frame-picker.js';
import { LiveFrameRing } from './live-frame-ring.js';
import { preprocessKey, preprocessMat, type PreprocessSpec } from '../video/preprocess.js';
import { bgrMat, matToFrame } from '../video/frame.js';
import { loadOpenCV, type CV, type Mat } from '../video/opencv.js';
import type {
  FilePickStats,
  OpenedInfo,
  VideoEvent,
  VideoReady,
  VideoReply,
  VideoRequest,
  VideoTarget,
  WireFrame,
} from './video-protocol.js';

type PickRequest = Extract<VideoRequest, { op: 'pick' }>;

let picker: FileFramePicker | undefined;
let ring: LiveFrameRing | undefined;
let cv: CV | undefined;
/** The answer to the pick the daemon is expected to ask next, decoded ahead (see `prefetch`). */
let ahead: { at: number; loop: boolean; preprocess: string; frame: WireFrame | null } | undefined;
/** Picks answered from `ahead` since the file was opened. */
let prefetched = 0;

function send(msg: VideoReply | VideoEvent | VideoReady, then?: () => void): void {
  if (!process.connected) {
    then?.();
    return;
  }
  process.send!(msg, undefined, {}, () => then?.());
}

/** The frame as it crosses over: BGR bytes, or only the tensors of the given preprocess blocks. */
function wire(mat: Mat, timestamp: number, preprocess: PreprocessSpec[]): WireFrame {
  if (preprocess.length === 0) return matToFrame(cv!, mat, timestamp);
  const bgr = bgrMat(cv!, mat);
  try {
    const tensors: Record<string, Float32Array> = {};
    for (const p of preprocess) tensors[preprocessKey(p)] ??= preprocessMat(cv!, bgr, p);
    return { timestamp, width: bgr.cols, height: bgr.rows, tensors };
  } finally {
    if (bgr !== mat) bgr.release();
  }
}

/** Releases the open file and anything decoded ahead from it. */
function closeFile(): void {
  picker?.close();
  picker = undefined;
  ahead = undefined;
}

function openFile(file: string): OpenedInfo {
  closeFile();
  const next = new FileFramePicker(cv!, file);
  const info = next.open();
  picker = next;
  prefetched = 0;
  return info;
}

function openLive(target: Extract<VideoTarget, { kind: 'v4l2' | 'url' }>): OpenedInfo {
  const live = new LiveFrameRing(cv!, target);
  const info = live.open(); // throws when it cannot open: this process may then be asked to try again
  ring = live;
  const alive = setInterval(() => send({ event: 'alive', lastFrameAt: live.lastFrameAt }), target.aliveEveryMs);
  void live.run().then((reason) => {
    clearInterval(alive);
    send({ event: 'down', reason }, () => process.exit(0));
  });
  return info;
}

function pick(at: number, loop: boolean, preprocess: PreprocessSpec[]): WireFrame | null {
  if (!picker) throw new Error('pick before open');
  const found = picker.frameAt(at, loop);
  return found && wire(found.mat, found.ts, preprocess);
}

function answerPick(req: PickRequest): WireFrame | null {
  const key = JSON.stringify(req.preprocess);
  const done = ahead;
  ahead = undefined;
  if (done && done.at === req.at && done.loop === req.loop && done.preprocess === key) {
    prefetched++;
    return done.frame;
  }
  return pick(req.at, req.loop, req.preprocess);
}

/** Decodes the frame for `req.prefetch` now; a failure is left for the real request to meet (and report). */
function prefetch(req: PickRequest): void {
  if (req.prefetch === undefined || !picker) return;
  try {
    const frame = pick(req.prefetch, req.loop, req.preprocess);
    ahead = { at: req.prefetch, loop: req.loop, preprocess: JSON.stringify(req.preprocess), frame };
  } catch {
    ahead = undefined;
  }
}

function handle(req: VideoRequest): unknown {
  if (!cv) throw new Error('OpenCV is not loaded');
  switch (req.op) {
    case 'open':
      return req.target.kind === 'file' ? openFile(req.target.file) : openLive(req.target);
    case 'pick':
      return answerPick(req);
    case 'nearest': {
      if (!ring) throw new Error('nearest before open');
      const found = ring.nearest(req.at, req.maxSkewMs);
      return found && wire(found.mat, found.ts, req.preprocess);
    }
    case 'stats':
      if (!picker) throw new Error('stats before open');
      return { ...picker.stats, prefetched } satisfies FilePickStats;
    case 'close':
      closeFile();
      return null;
  }
}

/** One request at a time (the capture's state is shared); a prefetch runs only once the answer before it has gone out. */
let queue: Promise<void> = Promise.resolve();
process.on('message', (req: VideoRequest) => {
  queue = queue.then(async () => {
    let reply: VideoReply;
    try {
      reply = { id: req.id, ok: true, value: handle(req) };
    } catch (err) {
      reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    // A large answer leaves in pieces while the event loop runs: decoding ahead (synchronous) would hold it back.
    await new Promise<void>((resolve) => send(reply, resolve));
    if (req.op === 'pick' && reply.ok) prefetch(req);
  });
});
// The daemon is gone (exit, crash, kill -9): so is its camera.
process.on('disconnect', () => process.exit(0));
// `make coverage` (NODE_V8_COVERAGE): this process usually ends by SIGKILL, which writes no coverage; write it as it runs.
if (process.env.NODE_V8_COVERAGE) setInterval(takeCoverage, 1000).unref();

// Loaded before anything is asked: the daemon's time limits on opening start with `ready`.
cv = await loadOpenCV().catch((err: Error) => {
  send({ event: 'ready', error: err.message }, () => process.exit(1));
  return undefined;
});
if (cv) send({ event: 'ready' });
