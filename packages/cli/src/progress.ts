/**
 * The progress bar of provisioning and handoff batches, on stderr: one line naming the phase the batch is in, its
 * count, its rate and the time left. Drawn only on a terminal, never under --json or CI (`CUSTODY_PROGRESS`
 * overrides: `force` draws even off a terminal, one line per redraw; `off` never draws).
 */
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { BatchPhase } from '@custody/app/batch-progress';
import { pace, PHASE_LABELS, shownPhase, type PhaseState } from './render/progress-line.js';

// cli-progress (22 files) is loaded when a bar is first drawn: a run of one CSR, the cold-start path, draws none.
const require = createRequire(import.meta.url);

export interface Progress {
  update(phase: BatchPhase, done: number, total: number): void;
  stop(): void;
}

/** How the bar is drawn: redrawn in place on a terminal, one line per redraw when forced elsewhere, or not at all. */
export type ProgressMode = 'tty' | 'lines' | 'off';

/** Redraws at most this often (a phase change, and the end, are drawn at once). */
const REDRAW_MS = 100;

/** The mode for a command: never under --json; CUSTODY_PROGRESS first, then CI, then whether stderr is a terminal. */
export function progressMode(json: boolean, env: NodeJS.ProcessEnv = process.env, isTTY = process.stderr.isTTY === true): ProgressMode {
  if (json) return 'off';
  const forced = env.CUSTODY_PROGRESS?.toLowerCase();
  if (forced === 'off') return 'off';
  if (forced === 'force') return isTTY ? 'tty' : 'lines';
  // CI services set CI (to "true" or "1"); a terminal there is usually a log, where a redrawn line is noise.
  if (env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false') return 'off';
  return isTTY ? 'tty' : 'off';
}

/** Starts a bar labelled `label` (drawn from the first update of a batch of more than one item). */
export function startProgress(m: ProgressMode, label: string, clock: () => number = Date.now): Progress {
  if (m === 'off') return { update() {}, stop() {} };
  const phases = new Map<BatchPhase, PhaseState>();
  let bar: cliProgress.SingleBar | undefined;
  let shown: BatchPhase | undefined;
  let lastDraw = 0;
  let lastKey = '';
  const draw = (force: boolean) => {
    const phase = shownPhase(phases);
    if (!phase) return;
    const now = clock();
    if (!force && phase === shown && now - lastDraw < REDRAW_MS) return;
    const s = phases.get(phase)!;
    const { rate, left } = pace(s, now);
    lastDraw = now;
    if (m === 'lines') {
      // A new line only for a new count: a log need not hear the rate of a finished phase again.
      const key = `${phase} ${s.done}/${s.total}`;
      if (key !== lastKey) process.stderr.write(`${label}: ${PHASE_LABELS[phase]} ${s.done}/${s.total} ${rate} ${left}\n`);
      lastKey = key;
    } else {
      if (!bar) {
        const { SingleBar, Presets } = require('cli-progress') as typeof cliProgress;
        bar = new SingleBar(
          { stream: process.stderr, format: `${label}: {phase} [{bar}] {value}/{total} {rate} {left}`, hideCursor: true, clearOnComplete: true },
          Presets.shades_classic,
        );
        bar.start(s.total, s.done, { phase: PHASE_LABELS[phase], rate, left });
      } else {
        if (phase !== shown) bar.setTotal(s.total);
        bar.update(s.done, { phase: PHASE_LABELS[phase], rate, left });
      }
    }
    shown = phase;
  };
  return {
    update(phase, done, total) {
      if (total <= 1) return;
      const s = phases.get(phase);
      if (s) Object.assign(s, { done, total });
      else phases.set(phase, { done, total, start: clock(), base: done });
      draw(phase !== shown && shownPhase(phases) !== shown);
    },
    stop() {
      if (m === 'lines' && shown) draw(true);
      bar?.stop();
      bar = undefined;
    },
  };
}
