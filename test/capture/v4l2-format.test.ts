/**
 * video.pixelFormat on V4L2 cameras: the decision logic (v4l2-format.ts) against a model of a V4L2 driver's format
 * negotiation (VIDIOC_S_FMT as OpenCV's V4L2 backend uses it: the driver takes a format it has at the asked size,
 * moves to the nearest size that has it, or keeps what it had). No camera or v4l2loopback module exists on the CI
 * machine (the kernel ships no modules), so the real driver path is not exercised here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  configureV4l2,
  fourcc,
  fourccName,
  formatsToTry,
  type PixelFormatSetting,
  type Settable,
} from '../../src/capture/v4l2-format.js';

const PROPS = { FOURCC: 6, FRAME_WIDTH: 3, FRAME_HEIGHT: 4, FPS: 5 }; // OpenCV's CAP_PROP_* values

/** What a camera offers: format → sizes → frame rates. */
type Offers = Record<string, Record<string, number[]>>;

/** A driver that negotiates like V4L2: S_FMT keeps the format if it exists, adjusting the size to one it has. */
class FakeCamera implements Settable {
  format: string;
  width: number;
  height: number;
  fps: number;
  /** Every set() in order, as [property, value]. */
  readonly calls: Array<[number, number]> = [];

  constructor(
    private readonly offers: Offers,
    start: { format: string; size: string },
  ) {
    this.format = start.format;
    [this.width, this.height] = start.size.split('x').map(Number) as [number, number];
    this.fps = Math.max(...offers[start.format]![start.size]!);
  }

  get(prop: number): number {
    if (prop === PROPS.FOURCC) return fourcc(this.format);
    if (prop === PROPS.FRAME_WIDTH) return this.width;
    if (prop === PROPS.FRAME_HEIGHT) return this.height;
    if (prop === PROPS.FPS) return this.fps;
    return 0;
  }

  set(prop: number, value: number): boolean {
    this.calls.push([prop, value]);
    if (prop === PROPS.FOURCC) return this.negotiate(fourccName(value), this.width, this.height);
    if (prop === PROPS.FRAME_WIDTH) return this.negotiate(this.format, value, this.height);
    if (prop === PROPS.FRAME_HEIGHT) return this.negotiate(this.format, this.width, value);
    if (prop === PROPS.FPS) {
      const rates = this.offers[this.format]![`${this.width}x${this.height}`]!;
      this.fps = rates.reduce((best, r) => (Math.abs(r - value) < Math.abs(best - value) ? r : best));
      return true;
    }
    return false;
  }

  private negotiate(format: string, width: number, height: number): boolean {
    const sizes = this.offers[format];
    if (!sizes) return false; // format not offered: the driver keeps the old one
    const nearest = Object.keys(sizes)
      .map((s) => s.split('x').map(Number) as [number, number])
      .sort((a, b) => Math.abs(a[0] - width) - Math.abs(b[0] - width))[0]!;
    this.format = format;
    [this.width, this.height] = nearest;
    this.fps = Math.max(...sizes[`${nearest[0]}x${nearest[1]}`]!);
    return nearest[0] === width && nearest[1] === height;
  }
}

/** A typical USB webcam: YUYV only up to 640x480 (and slowly), MJPEG at every size. */
const WEBCAM: Offers = {
  YUYV: { '640x480': [5, 15, 30], '320x240': [5, 30] },
  MJPG: { '1280x720': [5, 15, 30], '640x480': [5, 30] },
};

function open(offers: Offers, start: { format: string; size: string }, setting: PixelFormatSetting, fps = 1) {
  const cam = new FakeCamera(offers, start);
  return { cam, mode: configureV4l2(cam, PROPS, setting, fps) };
}

describe('V4L2 pixel format (video.pixelFormat)', () => {
  it('four-character codes as V4L2 and OpenCV spell them', () => {
    assert.equal(fourcc('YUYV'), 0x56595559);
    assert.equal(fourcc('MJPG'), 0x47504a4d);
    assert.equal(fourccName(fourcc('MJPG')), 'MJPG');
    assert.deepEqual(formatsToTry('auto'), ['YUYV', 'MJPG']);
    assert.deepEqual(formatsToTry('mjpeg'), ['MJPG']);
  });

  it('auto takes YUYV (no decoding) when the camera has it at its resolution, then the lowest rate', () => {
    const { cam, mode } = open(WEBCAM, { format: 'MJPG', size: '640x480' }, 'auto');
    assert.deepEqual(mode, { pixelFormat: 'YUYV', width: 640, height: 480, fps: 5 });
    assert.deepEqual(
      cam.calls.map(([p]) => p),
      [PROPS.FOURCC, PROPS.FPS],
      'format first, then the rate (the rates depend on the format)',
    );
  });

  it('auto falls back to MJPEG, at the same size, when YUYV exists only at a smaller one', () => {
    const { mode } = open(WEBCAM, { format: 'MJPG', size: '1280x720' }, 'auto');
    assert.deepEqual(mode, { pixelFormat: 'MJPG', width: 1280, height: 720, fps: 5 });
  });

  it('auto falls back to MJPEG when the camera has no YUYV, and keeps its own format when it has neither', () => {
    const mjpegOnly: Offers = { MJPG: WEBCAM.MJPG! };
    assert.equal(open(mjpegOnly, { format: 'MJPG', size: '1280x720' }, 'auto').mode.pixelFormat, 'MJPG');
    const grey: Offers = { GREY: { '752x480': [10, 60] } };
    const { mode } = open(grey, { format: 'GREY', size: '752x480' }, 'auto');
    assert.deepEqual(mode, { pixelFormat: 'GREY', width: 752, height: 480, fps: 10 }, 'no warning for auto');
  });

  it('an explicit format is taken even at another size, and a refused one is reported with what the camera delivers', () => {
    assert.deepEqual(open(WEBCAM, { format: 'MJPG', size: '1280x720' }, 'yuyv').mode, {
      pixelFormat: 'YUYV',
      width: 640,
      height: 480,
      fps: 5,
    });
    const yuyvOnly: Offers = { YUYV: WEBCAM.YUYV! };
    assert.deepEqual(open(yuyvOnly, { format: 'YUYV', size: '640x480' }, 'mjpeg').mode, {
      pixelFormat: 'YUYV',
      refused: 'MJPG',
      width: 640,
      height: 480,
      fps: 5,
    });
  });

  it('video.fps 0 leaves the rate alone', () => {
    const { cam, mode } = open(WEBCAM, { format: 'MJPG', size: '640x480' }, 'mjpeg', 0);
    assert.equal(mode.fps, 30);
    assert.ok(!cam.calls.some(([p]) => p === PROPS.FPS));
  });
});
