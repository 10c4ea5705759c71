/**
 * The --json interface (docs/json.md): one envelope for every command, the same shape on success and failure.
 * The lean launcher writes it too, so this module loads nothing from oclif.
 */
import { reportError, type ErrorReport } from '@custody/app/error-report';

/** What `error` holds in a failure envelope: the stable code, the message, and the exit code of the process. */
export interface EnvelopeError {
  code: string;
  message: string;
  exit: number;
}

/** Every --json output: `data` on success; `error`, and the data a failed run still reports, on failure. */
export type Envelope = { ok: true; command: string; data: unknown } | { ok: false; command: string; error: EnvelopeError; data?: unknown };

/** A command's name as users type it (`devices verify`), from oclif's id (`devices:verify`). */
export function commandName(id: string | undefined): string {
  return (id ?? '').replaceAll(':', ' ');
}

/** The envelope of a run that returned `data`. */
export function successEnvelope(command: string, data: unknown): Envelope {
  return { ok: true, command, data: data ?? null };
}

/** The envelope of a run that ended in `r`, with what it still reports (a rejected verification's whole report). */
export function failureEnvelope(command: string, r: ErrorReport, data?: unknown): Envelope {
  const e: Envelope = { ok: false, command, error: { code: r.code, message: r.message, exit: r.exit } };
  if (data !== undefined) e.data = data;
  return e;
}

/** Writes the envelope on stdout and resolves once stdout took it: exiting at once cuts a large report short on a pipe. */
export function writeEnvelope(e: Envelope): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(JSON.stringify(e, null, 2) + '\n', 'utf8', (err) => (err ? reject(err) : resolve())));
}

/** The one-line error format on stderr: `custody: <message> [<code>]`. */
export function writeErrorLine(r: ErrorReport): void {
  process.stderr.write(`custody: ${r.message} [${r.code}]\n`);
}

/**
 * Ends a command with the exit code of `error` while still reporting `data` (a batch with refused items, a
 * rejected verification). Thrown by commands, turned into output by the base command.
 */
export class CommandFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly data: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
  }
}

/** Error report and data of anything a command threw. */
export function failureOf(err: unknown): { report: ErrorReport; data?: unknown } {
  if (err instanceof CommandFailure) return { report: reportError(err.error), data: err.data };
  return { report: reportError(err) };
}
