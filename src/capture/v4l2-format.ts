/**
 * How a V4L2 camera is asked for its pixel format and frame rate (runs in the video process, right after opening).
 * The model takes one frame a second, so what matters is the CPU a frame costs: YUYV arrives uncompressed (only a
 * colour conversion), MJPEG needs a JPEG decode per frame. `video.pixelFormat=auto` therefore asks for YUYV first, at
 * the resolution the camera opened with, and falls back to MJPEG when the driver refuses YUYV or offers it only at
 * another resolution (many USB cameras give YUYV at 1280x720 only at low rates or not at all). The format is set
 * before the frame rate, since the rates a driver offers depend on the format; what the driver accepted is read back
 * and reported, never assumed.
 */

/** video.pixelFormat */
export type PixelFormatSetting = 'auto' | 'mjpeg' | 'yuyv';

/** The OpenCV property ids this needs (cv.CAP_PROP_*), passed in so the logic runs without the binding. */
export interface CaptureProps {
  FOURCC: number;
  FRAME_WIDTH: number;
  FRAME_HEIGHT: number;
  FPS: number;
}

/** The part of an OpenCV VideoCapture this uses. */
export interface Settable {
  get(prop: number): number;
  set(prop: number, value: number): boolean;
}

/** What the camera delivers after configuring, for the log. */
export interface V4l2Mode {
  /** The four-character code the driver reports now, e.g. "YUYV" or "MJPG". */
  pixelFormat: string;
  /** Set when the format asked for (an explicit video.pixelFormat) was refused: the camera goes on in `pixelFormat`. */
  refused?: string;
  width: number;
  height: number;
  fps: number;
}

const FOURCC_OF: Record<Exclude<PixelFormatSetting, 'auto'>, string> = { yuyv: 'YUYV', mjpeg: 'MJPG' };

/** The formats to ask for, cheapest first. */
export function formatsToTry(setting: PixelFormatSetting): string[] {
  return setting === 'auto' ? [FOURCC_OF.yuyv, FOURCC_OF.mjpeg] : [FOURCC_OF[setting]];
}

/** "YUYV" → V4L2's little-endian four-character code (OpenCV's VideoWriter::fourcc). */
export function fourcc(code: string): number {
  return [...code].reduce((n, c, i) => n + (c.charCodeAt(0) << (8 * i)), 0) >>> 0;
}

/** The inverse of fourcc(); what get(CAP_PROP_FOURCC) returns is a double holding that integer. */
export function fourccName(value: number): string {
  const n = value >>> 0;
  return String.fromCharCode(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
}

/**
 * Asks the camera for a pixel format (see the module comment), then for `fps` frames per second (the driver rounds
 * to a rate it offers); returns what it accepted.
 */
export function configureV4l2(cap: Settable, props: CaptureProps, setting: PixelFormatSetting, fps: number): V4l2Mode {
  const size = (): [number, number] => [cap.get(props.FRAME_WIDTH), cap.get(props.FRAME_HEIGHT)];
  const [width, height] = size();
  const initial = cap.get(props.FOURCC);
  const wanted = formatsToTry(setting);
  let accepted = false;
  const restoreSize = (): void => {
    // A driver moves to a size that has the format: ask for the camera's own size again, in that format.
    if (cap.get(props.FRAME_WIDTH) !== width) cap.set(props.FRAME_WIDTH, width);
    if (cap.get(props.FRAME_HEIGHT) !== height) cap.set(props.FRAME_HEIGHT, height);
  };
  for (const code of wanted) {
    cap.set(props.FOURCC, fourcc(code));
    restoreSize();
    const [w, h] = size();
    // auto keeps the camera's resolution: a cheaper format at a smaller picture is not what the user set up.
    if (fourccName(cap.get(props.FOURCC)) === code && (setting !== 'auto' || (w === width && h === height))) {
      accepted = true;
      break;
    }
  }
  if (!accepted && cap.get(props.FOURCC) !== initial) {
    cap.set(props.FOURCC, initial); // back to what it opened with
    restoreSize();
  }
  if (fps > 0) cap.set(props.FPS, fps);
  const [w, h] = size();
  return {
    pixelFormat: fourccName(cap.get(props.FOURCC)),
    ...(accepted || setting === 'auto' ? {} : { refused: wanted[0]! }),
    width: w,
    height: h,
    fps: cap.get(props.FPS),
  };
}
