/**
 * Ctrl-C and SIGTERM during a batch: the first one asks the batch to stop at its next chunk boundary (what it
 * recorded stays recorded, with its files), a second one ends the process at once, as if nothing listened.
 */
import { CustodyError } from '@custody/core/errors';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The exit status of a run stopped by a signal: 128 + SIGINT's number, what shells report for Ctrl-C. */
export const INTERRUPTED_EXIT = 130;

/** Listens for SIGINT and SIGTERM until `dispose`: `signal` aborts on the first one. */
export function watchInterrupts(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const dispose = () => {
    for (const s of SIGNALS) process.removeListener(s, on);
  };
  function on(name: NodeJS.Signals): void {
    // Gone after the first: a second Ctrl-C gets the default handling (the process ends).
    dispose();
    controller.abort(name);
  }
  for (const s of SIGNALS) process.on(s, on);
  return { signal: controller.signal, dispose };
}

/** What a batch recorded before it stopped (a prefix of its input), in words: `3 of 10 recorded (A to C), with their files`. */
export function recordedSummary(recorded: readonly string[], total: number): string {
  return recorded.length === 0
    ? 'nothing was recorded'
    : `${recorded.length} of ${total} recorded (${recorded.length === 1 ? recorded[0] : `${recorded[0]} to ${recorded[recorded.length - 1]}`}), with their files`;
}

/**
 * The error of a batch stopped by a signal: what was recorded (a prefix of the input) and how to go on.
 * Reported with exit status 130 (error-report.ts).
 */
export function interruptedError(o: { recorded: readonly string[]; total: number; resume: string }): CustodyError {
  return new CustodyError('ERR_INTERRUPTED', `interrupted: ${recordedSummary(o.recorded, o.total)}; ${o.resume}`);
}
