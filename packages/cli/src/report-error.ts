/** Writing an error report: a JSON object on stdout under --json, else one line on stderr. */
import type { ErrorReport } from '@custody/app/error-report';

export { reportError, type ErrorReport } from '@custody/app/error-report';

/** Writes the report: a JSON object on stdout under --json, else one line on stderr. */
export function writeError(r: ErrorReport, json: boolean): void {
  if (json) process.stdout.write(JSON.stringify({ error: { code: r.code, message: r.message } }) + '\n');
  else process.stderr.write(`custody: ${r.message} [${r.code}]\n`);
}
