/**
 * Shared flags (--store, --json) and the one mapping from errors to exit codes
 * (DESIGN.md: 0 ok, 1 rejected, 2 usage, 3 bad input, 4 conflict, 5 store or I/O).
 */
import { Command, Errors } from '@oclif/core';
import { CustodyError } from '@custody/core';
import { oclifFlags } from './flags.js';
import { STORE_FLAG } from './flag-spec.js';
import { reportError, writeError } from './report-error.js';

/** oclif's multi-line usage errors on one line, keeping the reason and dropping the help pointer. */
function usageMessage(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^See more help/.test(l) && l !== 'The following error occurred:');
  return lines.join('; ') || message.trim();
}

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = oclifFlags(STORE_FLAG);

  /**
   * Prints a result as JSON and ends the command with a non-zero `code` (a rejection or a partly failed batch
   * still reports every item). Waits until stdout took the text: exiting at once cuts a large report short
   * on a pipe.
   */
  protected async exitWithJSON(value: unknown, code: number): Promise<never> {
    await new Promise<void>((resolve, reject) => process.stdout.write(JSON.stringify(value, null, 2) + '\n', (e) => (e ? reject(e) : resolve())));
    this.exit(code);
  }

  protected override async catch(err: Error & { oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const usage = !(err instanceof CustodyError) && err instanceof Errors.CLIError;
    const r = usage ? { code: 'ERR_USAGE', exit: 2, message: usageMessage(err.message) } : reportError(err);
    writeError(r, this.jsonEnabled());
    this.exit(r.exit);
  }
}
