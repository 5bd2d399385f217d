/**
 * What a live video setting names: a V4L2 camera, a network stream (RTSP/HTTP/RTMP through FFmpeg) or a GStreamer
 * pipeline ending in appsink (e.g. a Jetson CSI camera through nvarguscamerasrc). The one place that decides whether
 * such a setting can work (the configuration check at start-up and the live video source both ask it), and whether
 * its host answers before OpenCV is asked to open it.
 */
import net from 'node:net';

export type LiveKind = 'v4l2' | 'url';

const PROBE_TIMEOUT_MS = 3000;
const DEFAULT_PORTS: Record<string, number> = {
  'rtsp:': 554,
  'rtsps:': 322,
  'http:': 80,
  'https:': 443,
  'rtmp:': 1935,
};

/** Why `target` cannot work as a `kind` source, with the fix; null when it can. */
export function streamTargetProblem(kind: LiveKind, target: string): string | null {
  if (kind === 'v4l2') {
    if (/^\d+$/.test(target) || target.startsWith('/dev/')) return null;
    return `video.device "${target}" is not a V4L2 device: use a path such as /dev/video0 (list them with \`v4l2-ctl --list-devices\` or \`ls /dev/video*\`).`;
  }
  if (target === '') {
    return 'video.source is "url" but video.file is empty: set video.file to the stream URL (rtsp://…, http://…) or a GStreamer pipeline ending in appsink.';
  }
  if (isPipeline(target)) return null;
  const notUrl = `video.file "${target}" is not a stream URL: for video.source=url give e.g. rtsp://user:pass@camera.local:554/stream or http://host/video.mjpg, or a GStreamer pipeline ending in appsink.`;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return notUrl;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return notUrl;
  }
  if (url.protocol === 'file:') {
    return `video.file "${target}" is a file: use video.source=file for video files (video.source=url is for live streams).`;
  }
  return null;
}

/** GStreamer pipelines (`… ! appsink`) go to OpenCV's GStreamer backend instead of FFmpeg. */
export function isPipeline(target: string): boolean {
  return /\bappsink\b/.test(target);
}

/** A TCP connect to the stream's host and port: undefined when it answers, else why not. */
export function probe(target: string): Promise<string | undefined> {
  const url = new URL(target);
  const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  if (port === undefined || !url.hostname) return Promise.resolve(undefined);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: PROBE_TIMEOUT_MS });
    const done = (problem: string | undefined): void => {
      socket.destroy();
      resolve(problem);
    };
    socket.once('connect', () => done(undefined));
    socket.once('timeout', () => done(`${host}:${port} does not answer`));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(`cannot connect to ${host}:${port} (${err.code ?? err.message})`),
    );
  });
}
