/** The one place an error becomes an exit code and a one-line message: commands, the lean launcher and station answers. */
import { CustodyError, EXIT_CODES } from '@custody/core/errors';

/** What a caller reports for an error: its stable code, the exit code DESIGN.md assigns, and the message. */
export interface ErrorReport {
  code: string;
  exit: number;
  message: string;
}

/** Exit code and message for an error a use case threw; anything that is not a `CustodyError` is internal (exit 5). */
export function reportError(err: unknown): ErrorReport {
  // A batch stopped by Ctrl-C or SIGTERM exits as shells report a signal (128 + 2), whatever it recorded.
  if (err instanceof CustodyError) return { code: err.code, exit: err.code === 'ERR_INTERRUPTED' ? 130 : EXIT_CODES[err.category], message: err.message };
  const e = err as Error;
  if (process.env.CUSTODY_DEBUG) process.stderr.write(`${e?.stack}\n`);
  return { code: 'ERR_INTERNAL', exit: 5, message: e?.message ?? String(err) };
}
