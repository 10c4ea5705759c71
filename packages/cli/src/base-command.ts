/**
 * Shared flags (--store, --json) and the one mapping from errors to exit codes
 * (DESIGN.md: 0 ok, 1 rejected, 2 usage, 3 bad input, 4 conflict, 5 store or I/O).
 */
import { Command, Errors } from '@oclif/core';
import { CustodyError } from '@custody/core';
import { oclifFlags } from './flags.js';
import { STORE_FLAG } from './flag-spec.js';
import { reportError, writeError } from './ops/report-error.js';

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = oclifFlags(STORE_FLAG);

  protected override async catch(err: Error & { oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const usage = !(err instanceof CustodyError) && err instanceof Errors.CLIError;
    const r = usage ? { code: 'ERR_USAGE', exit: 2, message: err.message.split('\n')[0]! } : reportError(err);
    writeError(r, this.jsonEnabled());
    this.exit(r.exit);
  }
}
