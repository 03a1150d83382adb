/** One progress bar on stderr (count, bytes, ETA), drawn only on a terminal or when asked for. */
import { SingleBar, Presets } from "cli-progress";

export interface Progress {
  start(label: string, total: number, totalBytes?: number): void;
  tick(bytes?: number): void;
  /** Bytes moved without finishing a file (a streamed zip). */
  addBytes(bytes: number): void;
  stop(): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function progressBar(enabled: boolean = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return { start() {}, tick() {}, addBytes() {}, stop() {} };
  let bar: SingleBar | undefined;
  let bytes = 0;
  let totalBytes = 0;
  return {
    start(label, total, tb = 0) {
      bar?.stop();
      bytes = 0;
      totalBytes = tb;
      bar = new SingleBar(
        { format: `${label.padEnd(9)} [{bar}] {value}/{total} files  {bytes}  ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 },
        Presets.legacy,
      );
      bar.start(total, 0, { bytes: totalBytes ? `${formatBytes(0)}/${formatBytes(totalBytes)}` : formatBytes(0) });
    },
    tick(n = 0) {
      bytes += n;
      bar?.increment(1, { bytes: totalBytes ? `${formatBytes(bytes)}/${formatBytes(totalBytes)}` : formatBytes(bytes) });
    },
    addBytes(n) {
      bytes += n;
      bar?.update({ bytes: totalBytes ? `${formatBytes(bytes)}/${formatBytes(totalBytes)}` : formatBytes(bytes) });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
