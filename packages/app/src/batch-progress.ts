/**
 * How far a provisioning or handoff batch is, told phase by phase to whoever displays it (the CLI's progress
 * bar). Called often: the display throttles itself, and a batch pays a closure call per step.
 */

/** The phases a batch goes through, in this order; a batch skips those it has no work for. */
export const BATCH_PHASES = ['keys', 'checks', 'key-files', 'reading', 'signing', 'committing', 'writing'] as const;

/**
 * One phase of a batch: `keys` key pairs generated on the line, `checks` requests checked (CSR signatures, the
 * registry), `key-files` generated keys encrypted and written, `reading` chain tips read (handoff), `signing`
 * certificates and attestations signed, `committing` devices recorded (durable), `writing` output files moved into
 * place.
 */
export type BatchPhase = (typeof BATCH_PHASES)[number];

/** Told that `done` of `total` items of `phase` are finished. */
export type BatchProgress = (phase: BatchPhase, done: number, total: number) => void;

/** A counter for one phase of `total` items: each call adds `n` (default 1) finished items and reports the sum. */
export function phaseCounter(report: BatchProgress | undefined, phase: BatchPhase, total: number): (n?: number) => void {
  if (!report || total === 0) return () => {};
  let done = 0;
  return (n = 1) => report(phase, (done += n), total);
}
