/**
 * Tiny image encoders for the sample book: real PNG and SVG files made in code, so the example needs
 * no binary files in the repository.
 */
import { deflateSync } from "node:zlib";

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

export type Rgb = [number, number, number];

/** An RGB PNG whose pixels come from `pixel(x, y)`. */
export function encodePng(width: number, height: number, pixel: (x: number, y: number) => Rgb): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let o = 0;
  for (let y = 0; y < height; y++) {
    raw[o++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      raw[o++] = r;
      raw[o++] = g;
      raw[o++] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A bar chart: `values` in 0..1, drawn in `color` on a light grid. */
export function barChartPng(values: number[], color: Rgb, width = 320, height = 160): Buffer {
  const pad = 12;
  const slot = (width - 2 * pad) / values.length;
  return encodePng(width, height, (x, y) => {
    if (x < 2 || y < 2 || x >= width - 2 || y >= height - 2) return [60, 60, 80];
    const i = Math.floor((x - pad) / slot);
    const inSlot = x >= pad && i < values.length && (x - pad) % slot > slot * 0.15 && (x - pad) % slot < slot * 0.85;
    const top = height - pad - values[i]! * (height - 2 * pad);
    if (inSlot && y >= top && y < height - pad) return color;
    if (y % 20 === 0) return [225, 228, 235];
    return [248, 249, 252];
  });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A banner with a title and a subtitle. */
export function bannerSvg(title: string, subtitle: string, hue: number): Buffer {
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="120" viewBox="0 0 640 120">
  <defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="hsl(${hue},70%,45%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360},70%,35%)"/></linearGradient></defs>
  <rect width="640" height="120" rx="12" fill="url(#g)"/>
  <text x="24" y="58" font-family="sans-serif" font-size="30" font-weight="bold" fill="#fff">${escapeXml(title)}</text>
  <text x="24" y="92" font-family="sans-serif" font-size="17" fill="#f0f0f0">${escapeXml(subtitle)}</text>
</svg>
`,
    "utf8",
  );
}

/** A left-to-right flow diagram of labelled boxes. */
export function flowSvg(labels: string[]): Buffer {
  const w = 150;
  const gap = 40;
  const width = labels.length * w + (labels.length - 1) * gap + 20;
  const boxes = labels
    .map((label, i) => {
      const x = 10 + i * (w + gap);
      const arrow =
        i < labels.length - 1
          ? `<line x1="${x + w}" y1="50" x2="${x + w + gap - 6}" y2="50" stroke="#445" stroke-width="2" marker-end="url(#a)"/>`
          : "";
      return `<rect x="${x}" y="25" width="${w}" height="50" rx="8" fill="#eef3ff" stroke="#3b5bdb" stroke-width="2"/>
  <text x="${x + w / 2}" y="56" text-anchor="middle" font-family="sans-serif" font-size="15" fill="#1c2540">${escapeXml(label)}</text>
  ${arrow}`;
    })
    .join("\n  ");
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="100" viewBox="0 0 ${width} 100">
  <defs><marker id="a" markerWidth="8" markerHeight="8" refX="6" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#445"/></marker></defs>
  ${boxes}
</svg>
`,
    "utf8",
  );
}
