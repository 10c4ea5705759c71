/** The text of the batch progress bar: what each phase is called, which phase to show, its rate and time left. */
import type { BatchPhase } from '@custody/app/batch-progress';

/** What each phase is called on the bar. */
export const PHASE_LABELS: Record<BatchPhase, string> = {
  keys: 'generating keys',
  checks: 'checking requests',
  'key-files': 'writing keys',
  reading: 'reading chains',
  signing: 'signing',
  committing: 'committing',
  writing: 'writing files',
};
const ORDER = Object.keys(PHASE_LABELS) as BatchPhase[];

/**
 * One phase as the bar knows it: items done of its total, and its first report (`base` items done at `start`, in
 * ms): its rate is measured from there, as the work before a phase's first report may include a set-up of its own.
 */
export interface PhaseState {
  done: number;
  total: number;
  start: number;
  base: number;
}

/** `n` per second, in a few digits. */
function formatRate(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(0) : n.toFixed(1);
}

/** Seconds left as `12s`, `3m05s` or `1h02m`. */
function formatLeft(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The phase to show: the earliest one started and not finished (the one holding the batch back; stages that run
 * ahead of it finish after it), else the last one started.
 */
export function shownPhase(phases: ReadonlyMap<BatchPhase, PhaseState>): BatchPhase | undefined {
  const started = ORDER.filter((p) => phases.has(p));
  return started.find((p) => phases.get(p)!.done < phases.get(p)!.total) ?? started.at(-1);
}

/** The rate and time left of a phase, as text: `-` until it has run long enough to tell. */
export function pace(s: PhaseState, now: number): { rate: string; left: string } {
  const seconds = (now - s.start) / 1000;
  const perSec = s.done > s.base && seconds > 0 ? (s.done - s.base) / seconds : undefined;
  const rate = perSec === undefined ? '-/s' : `${formatRate(perSec)}/s`;
  if (s.done >= s.total) return { rate, left: 'done' };
  // A first reading is noise: the time left is told once the phase has run a little.
  return { rate, left: perSec === undefined || seconds < 0.05 ? 'eta -' : `eta ${formatLeft((s.total - s.done) / perSec)}` };
}
