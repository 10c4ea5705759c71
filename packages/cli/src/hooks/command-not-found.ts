/**
 * An unknown command gets the documented one-line error (or the --json error envelope) with the nearest
 * command, exit 2, instead of oclif's own message.
 */
import type { Hook } from '@oclif/core';
import { CustodyError } from '@custody/core/errors';
import { reportError } from '@custody/app/error-report';
import { commandName, failureEnvelope, writeEnvelope, writeErrorLine } from '../envelope.js';
import { closest, didYouMean } from '../suggest.js';

const hook: Hook<'command_not_found'> = async function (opts) {
  const typed = commandName(opts.id);
  const known = opts.config.commands.filter((c) => !c.hidden).map((c) => commandName(c.id));
  const near = closest(typed, known);
  const r = reportError(
    new CustodyError('ERR_USAGE_UNKNOWN_COMMAND', `unknown command "${typed}"${didYouMean(near && `"${near}"`)} (custody --help lists them)`),
  );
  const json = (opts.argv ?? []).includes('--json');
  if (json) await writeEnvelope(failureEnvelope(typed, r));
  else writeErrorLine(r);
  process.exitCode = r.exit;
};

export default hook;
