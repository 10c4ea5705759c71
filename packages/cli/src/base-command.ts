/**
 * What every command shares: the --json envelope (envelope.ts) and the one way an error becomes output and an
 * exit code (DESIGN.md: 0 ok, 1 rejected, 2 usage, 3 bad input, 4 conflict, 5 store or I/O; the mapping itself
 * is `reportError` in @custody/app/error-report). Commands return their data, or throw; none picks an exit code.
 */
import { Command, Errors } from '@oclif/core';
import { CustodyError } from '@custody/core/errors';
import { reportError } from '@custody/app/error-report';
import { CommandFailure, commandName, failureEnvelope, failureOf, successEnvelope, writeEnvelope, writeErrorLine, type Envelope } from './envelope.js';
import { closest, didYouMean } from './suggest.js';

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

  /** The name users type, for the envelope. */
  protected get commandName(): string {
    return commandName(this.id);
  }

  /** Ends the command with `error`'s exit code while still reporting `data` (in the envelope under --json). */
  protected fail(error: CustodyError, data: unknown): never {
    throw new CommandFailure(error, data);
  }

  protected override toSuccessJson(result: unknown): Envelope {
    return successEnvelope(this.commandName, result);
  }

  /** A usage error from oclif's parser as a CustodyError; an unknown flag names the nearest known one. */
  private usageError(err: Errors.CLIError): CustodyError {
    const unknown = (err as { flags?: unknown }).flags;
    if (Array.isArray(unknown) && unknown.length > 0) {
      const known = Object.keys(this.ctor.flags ?? {})
        .concat(Object.keys(this.ctor.baseFlags ?? {}))
        .map((f) => `--${f}`);
      const flag = String(unknown[0]).split('=')[0]!;
      return new CustodyError(
        'ERR_USAGE_UNKNOWN_FLAG',
        `${this.commandName}: unknown flag ${flag}${didYouMean(closest(flag, known))} (custody ${this.commandName} --help lists them)`,
      );
    }
    return new CustodyError('ERR_USAGE', usageMessage(err.message));
  }

  protected override async catch(err: Error): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const usage = !(err instanceof CustodyError) && err instanceof Errors.CLIError;
    const { report, data } = usage ? { report: reportError(this.usageError(err)), data: undefined } : failureOf(err);
    if (this.jsonEnabled()) await writeEnvelope(failureEnvelope(this.commandName, report, data));
    else writeErrorLine(report);
    this.exit(report.exit);
  }
}
