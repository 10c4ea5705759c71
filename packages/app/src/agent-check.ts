/**
 * `agent check-code`: the device checks one piece of end-user code against the policy it enrolled from its
 * verified activation. Revocation of code signers reaches the device as CRLs of the owner's code-signing CA
 * (`--crl`, e.g. delivered with the code); a CRL counts only when it verifies under an enrolled CA.
 */
import { resolve } from 'node:path';
import { CustodyError } from '@custody/core';
import { CodeChecker, type CodeDecision } from '@custody/core/code-policy';
import { provider, readCRLFile, readInputFile } from './context.js';
import { enrollmentFile, readEnrollment } from './agent-state.js';

export interface CheckCodeOptions {
  file: string;
  sig: string;
  /** Where the code sits on the device (what scopes match); default: the file's absolute path. */
  path?: string | undefined;
  state: string;
  crls: readonly string[];
  now: Date;
}

export interface CheckCodeResult extends CodeDecision {
  file: string;
  path: string;
  policy: string;
  /** The activation the enrollment came from. */
  activation: { seq: number; time: string };
}

/**
 * Checks code against the enrolled policy. Refusals are results (`allowed: false`), not exceptions.
 * @throws ERR_CODE_NOT_ENROLLED when the device has no enrollment; ERR_AGENT_STATE for a malformed one; input
 *   errors naming the file, signature or CRL
 */
export async function checkCode(o: CheckCodeOptions): Promise<CheckCodeResult> {
  const enrolled = readEnrollment(o.state);
  if (!enrolled)
    throw new CustodyError(
      'ERR_CODE_NOT_ENROLLED',
      `${enrollmentFile(o.state)}: this device is not enrolled: run custody agent enroll with its activated bundle`,
    );
  const file = new Uint8Array(readInputFile(o.file, 'code'));
  const signature = new Uint8Array(readInputFile(o.sig, 'codeSignature'));
  const crls = o.crls.map((f) => readCRLFile(f));
  const path = o.path ?? resolve(o.file);
  const decision = await new CodeChecker(enrolled.policy, provider).check({ path, file, signature, crls, now: o.now });
  const { seq, time } = enrolled.record.activation;
  return { file: o.file, path, policy: enrolled.policy.policy, activation: { seq, time }, ...decision };
}

/** The error a refused check exits with: the decision's code and reason, naming the file. */
export function checkCodeFailure(r: CheckCodeResult): CustodyError | undefined {
  if (r.allowed) return undefined;
  return new CustodyError(r.code ?? 'ERR_CODE_SCOPE', `${r.file}: refused: ${r.reason}`, { file: r.file });
}
