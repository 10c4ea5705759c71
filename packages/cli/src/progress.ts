/** A progress bar on stderr for batches: only on a terminal, never under --json. */
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';

// cli-progress (22 files) is loaded when a bar is first drawn: a run of one CSR, the cold-start path, draws none.
const require = createRequire(import.meta.url);

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function startProgress(enabled: boolean, label: string): Progress {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done, total) {
      if (total <= 1) return;
      if (!bar) {
        const { SingleBar, Presets } = require('cli-progress') as typeof cliProgress;
        bar = new SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta}s`, hideCursor: true, clearOnComplete: true },
          Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
