/**
 * The video process (started by video-process.ts): owns one OpenCV capture, a file or a live camera, and answers
 * the daemon's requests over IPC. It exits when the daemon goes away, and after telling it that a live camera is
 * gone (the daemon starts a fresh process when it retries).
 */
import { FileFramePicker } from './file-frame-picker.js';
import { LiveFrameRing } from './live-frame-ring.js';
import { loadOpenCV, type CV } from '../video/opencv.js';
import type { VideoFrame } from './types.js';
import type { OpenedInfo, VideoEvent, VideoReady, VideoReply, VideoRequest, WireFrame } from './video-protocol.js';

let picker: FileFramePicker | undefined;
let ring: LiveFrameRing | undefined;
let cv: CV | undefined;

function send(msg: VideoReply | VideoEvent | VideoReady, then?: () => void): void {
  if (!process.connected) return;
  process.send!(msg, undefined, {}, () => then?.());
}

function wire(frame: VideoFrame | null): WireFrame | null {
  return frame && { timestamp: frame.timestamp, width: frame.width, height: frame.height, bgr: frame.bgr };
}

async function open(req: Extract<VideoRequest, { op: 'open' }>): Promise<OpenedInfo> {
  if (!cv) throw new Error('OpenCV is not loaded');
  const { target } = req;
  if (target.kind === 'file') {
    picker = new FileFramePicker(cv, target.file);
    return picker.open();
  }
  const live = new LiveFrameRing(cv, target);
  const info = live.open(); // throws when it cannot open: this process may then be asked to try again
  ring = live;
  const alive = setInterval(() => send({ event: 'alive', lastFrameAt: live.lastFrameAt }), target.aliveEveryMs);
  void live.run().then((reason) => {
    clearInterval(alive);
    send({ event: 'down', reason }, () => process.exit(0));
  });
  return info;
}

async function handle(req: VideoRequest): Promise<unknown> {
  switch (req.op) {
    case 'open':
      return open(req);
    case 'pick':
      if (!picker) throw new Error('pick before open');
      return wire(picker.pick(req.at, req.loop));
    case 'nearest':
      if (!ring) throw new Error('nearest before open');
      return wire(ring.nearest(req.at, req.maxSkewMs));
  }
}

/** One request at a time: the capture's state is shared. */
let queue: Promise<unknown> = Promise.resolve();
process.on('message', (req: VideoRequest) => {
  const work = queue.then(() => handle(req));
  queue = work.catch(() => undefined);
  work.then(
    (value) => send({ id: req.id, ok: true, value }),
    (err: unknown) => send({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The daemon is gone (exit, crash, kill -9): so is its camera.
process.on('disconnect', () => process.exit(0));

// Loaded before anything is asked: the daemon's time limits on opening start with `ready`.
cv = await loadOpenCV().catch((err: Error) => {
  send({ event: 'ready', error: err.message }, () => process.exit(1));
  return undefined;
});
if (cv) send({ event: 'ready' });
