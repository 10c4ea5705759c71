/** The one place an error becomes an exit code and a one-line message (used by oclif commands and the lean launcher). */
import { CustodyError, EXIT_CODES } from '@custody/core/errors';

export interface ErrorReport {
  code: string;
  exit: number;
  message: string;
}

/** Exit code and message for an error a command threw; unknown errors are internal (exit 5). */
export function reportError(err: unknown): ErrorReport {
  if (err instanceof CustodyError) return { code: err.code, exit: EXIT_CODES[err.category], message: err.message };
  const e = err as Error;
  if (process.env.CUSTODY_DEBUG) process.stderr.write(`${e?.stack}\n`);
  return { code: 'ERR_INTERNAL', exit: 5, message: e?.message ?? String(err) };
}

/** Writes the report: a JSON object on stdout under --json, else one line on stderr. */
export function writeError(r: ErrorReport, json: boolean): void {
  if (json) process.stdout.write(JSON.stringify({ error: { code: r.code, message: r.message } }) + '\n');
  else process.stderr.write(`custody: ${r.message} [${r.code}]\n`);
}
