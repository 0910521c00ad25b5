import { PNG } from 'pngjs';

export interface ChartOptions {
  width?: number;
  height?: number;
  /** Buckets from this index on are drawn in the alert colour (the anomalous stretch). */
  highlightFrom?: number;
}

type Rgb = readonly [number, number, number];

const BG: Rgb = [255, 255, 255];
const GRID: Rgb = [228, 228, 228];
const BAR: Rgb = [120, 144, 200];
const ALERT: Rgb = [214, 69, 65];

/**
 * A bar chart of spend per bucket as a PNG (no text: the caption travels in the mail). Bitmap, not SVG, because
 * the common mail clients (Gmail, Outlook) do not render SVG images.
 */
export function spendChartPng(values: readonly number[], o: ChartOptions = {}): Buffer {
  const width = o.width ?? 600;
  const height = o.height ?? 160;
  const png = new PNG({ width, height });
  const set = (x: number, y: number, c: Rgb) => {
    const i = (y * width + x) * 4;
    png.data[i] = c[0];
    png.data[i + 1] = c[1];
    png.data[i + 2] = c[2];
    png.data[i + 3] = 255;
  };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) set(x, y, BG);
  const pad = 4;
  const plotH = height - 2 * pad;
  for (let g = 0; g <= 4; g++) {
    const y = pad + Math.round((plotH * g) / 4);
    for (let x = 0; x < width; x++) set(x, Math.min(height - 1, y), GRID);
  }
  const finite = values.map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const max = Math.max(0, ...finite);
  if (finite.length === 0 || max === 0) return PNG.sync.write(png);
  const slot = (width - 2 * pad) / finite.length;
  const gap = slot >= 4 ? 1 : 0;
  finite.forEach((v, i) => {
    const h = Math.max(v > 0 ? 1 : 0, Math.round((v / max) * plotH));
    const x0 = pad + Math.floor(i * slot);
    const x1 = Math.max(x0 + 1, pad + Math.floor((i + 1) * slot) - gap);
    const colour = o.highlightFrom !== undefined && i >= o.highlightFrom ? ALERT : BAR;
    for (let x = x0; x < x1 && x < width; x++) for (let y = height - pad - h; y < height - pad; y++) set(x, y, colour);
  });
  return PNG.sync.write(png);
}
