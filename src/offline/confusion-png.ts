/**
 * Confusion matrix as a PNG, drawn with OpenCV (no plotting library on the device). Cells are shaded by the
 * row-normalised rate (white → dark blue), hold the segment count, and rows/columns carry the class names
 * (columns by number, with the legend on the rows, since OpenCV cannot rotate text).
 */
import { loadOpenCV } from '../video/opencv.js';

const CELL = 56;
const FONT_SCALE = 0.5;

export async function writeConfusionPng(
  file: string,
  classes: readonly string[],
  confusion: readonly number[][],
  title: string,
): Promise<void> {
  const cv = await loadOpenCV();
  const n = classes.length;
  const left = 40 + Math.max(...classes.map((c, i) => `${i} ${c}`.length)) * 9;
  const top = 84;
  const width = left + n * CELL + 20;
  const height = top + n * CELL + 50;
  const img = new cv.Mat(height, width, cv.CV_8UC3, [255, 255, 255]);
  const font = cv.FONT_HERSHEY_SIMPLEX;
  const black = new cv.Vec3(0, 0, 0);
  const text = (s: string, x: number, y: number, color = black, scale = FONT_SCALE) =>
    img.putText(s, new cv.Point2(x, y), font, scale, color, 1, cv.LINE_AA);

  text(title, 10, 24, black, 0.6);
  text('predicted class', left, top - 30);
  text('true class', 10, top - 8);
  for (let i = 0; i < n; i++) {
    text(`${i} ${classes[i]}`, 10, top + i * CELL + CELL / 2 + 5);
    text(String(i), left + i * CELL + CELL / 2 - 5, top - 8);
    const total = confusion[i]!.reduce((a, b) => a + b, 0);
    for (let j = 0; j < n; j++) {
      const count = confusion[i]![j]!;
      const rate = total > 0 ? count / total : 0;
      // BGR: white (255,255,255) → dark blue (140, 40, 10)
      const shade = new cv.Vec3(255 - rate * 115, 255 - rate * 215, 255 - rate * 245);
      const x = left + j * CELL;
      const y = top + i * CELL;
      img.drawRectangle(new cv.Point2(x, y), new cv.Point2(x + CELL - 1, y + CELL - 1), shade, cv.FILLED);
      img.drawRectangle(new cv.Point2(x, y), new cv.Point2(x + CELL - 1, y + CELL - 1), new cv.Vec3(200, 200, 200), 1);
      if (count > 0) {
        const label = String(count);
        text(label, x + CELL / 2 - label.length * 5, y + CELL / 2 + 5, rate > 0.5 ? new cv.Vec3(255, 255, 255) : black);
      }
    }
  }
  text('cells: segment counts, shade: share of the true class', 10, height - 18, new cv.Vec3(90, 90, 90), 0.45);
  cv.imwrite(file, img);
  img.release();
}
