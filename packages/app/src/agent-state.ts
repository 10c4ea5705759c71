/**
 * The device agent's state folder (`--state DIR`, default `./.custody-agent`): `enrollment.json`, the enrollment
 * the verified activation gave, written atomically (a temporary file flushed, then renamed over the old one) so
 * that a crash leaves the old enrollment or the new one, never half of either.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CustodyError } from '@custody/core';
import { parseEnrollmentRecord, type EnrolledCodePolicy, type EnrollmentRecord } from '@custody/core/code-policy';
import { readInputFile } from './context.js';
import { commitOutputs, discardOutputs, prepareFolder, prepareOutput, syncFolder, writeOutput } from './outputs.js';

/** The default state folder of the reference agent. */
export const DEFAULT_AGENT_STATE = '.custody-agent';

const FILE = 'enrollment.json';

/** The enrollment file's path in a state folder. */
export function enrollmentFile(state: string): string {
  return join(state, FILE);
}

/**
 * The enrollment kept in `state`, or undefined when the device has none.
 * @throws ERR_AGENT_STATE for a malformed state file; ERR_INPUT_* when it cannot be read
 */
export function readEnrollment(state: string): { record: EnrollmentRecord; policy: EnrolledCodePolicy } | undefined {
  const file = enrollmentFile(state);
  if (!existsSync(file)) return undefined;
  try {
    return parseEnrollmentRecord(readInputFile(file, 'enrollment').toString('utf8'));
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(file) : e;
  }
}

/**
 * Replaces the enrollment in `state` (made when missing, mode 0700; the file 0600).
 * @throws ERR_IO_* naming the file
 */
export function writeEnrollment(state: string, record: EnrollmentRecord): string {
  const file = enrollmentFile(state);
  const folder = prepareFolder(state);
  const out = prepareOutput(file, { force: true, mode: 0o600 });
  try {
    writeOutput(out, `${JSON.stringify(record, null, 2)}\n`);
    commitOutputs([out]);
  } finally {
    discardOutputs([out], folder);
  }
  return file;
}

/**
 * Removes the enrollment in `state` (a new owner enabled no code validation): the device then accepts no code.
 * @throws ERR_IO_WRITE naming the file
 */
export function removeEnrollment(state: string): string {
  const file = enrollmentFile(state);
  try {
    unlinkSync(file);
    syncFolder(state);
  } catch (e) {
    throw new CustodyError('ERR_IO_WRITE', `${file}: cannot remove (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { file, cause: e });
  }
  return file;
}
