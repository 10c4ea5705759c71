/**
 * Shared flags (--store, --json, passphrase) and the one mapping from errors to exit codes
 * (DESIGN.md: 0 ok, 1 rejected, 2 usage, 3 bad input, 4 conflict, 5 store or I/O).
 */
import { Command, Flags, Errors } from '@oclif/core';
import { CustodyError, EXIT_CODES } from '@custody/core';

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    store: Flags.string({ description: 'store folder, or postgres:// URL', env: 'CUSTODY_STORE', default: './.custody', helpGroup: 'GLOBAL' }),
  };

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    let code: string;
    let exit: number;
    let message: string;
    if (err instanceof CustodyError) {
      code = err.code;
      exit = EXIT_CODES[err.category];
      message = err.message;
    } else if (err instanceof Errors.CLIError && (err.oclif?.exit === 2 || /flag|argument|Unexpected|Missing|Expected/i.test(err.message))) {
      code = 'ERR_USAGE';
      exit = 2;
      message = err.message.split('\n')[0]!;
    } else if (err instanceof Errors.ExitError) {
      throw err;
    } else {
      code = 'ERR_INTERNAL';
      exit = 5;
      message = err.message;
      if (process.env.CUSTODY_DEBUG) process.stderr.write(`${err.stack}\n`);
    }
    if (this.jsonEnabled()) {
      process.stdout.write(JSON.stringify({ error: { code, message } }) + '\n');
    } else {
      process.stderr.write(`custody: ${message} [${code}]\n`);
    }
    this.exit(exit);
  }
}
