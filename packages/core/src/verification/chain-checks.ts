/**
 * The checks that tie one attestation to the one before it: position, hash link, custodian continuity, nothing
 * after an activation, and time order.
 */
import type { ParsedAttestation } from '../attestation/cms-parse.js';
import { statementKind, type Statement } from '../attestation/statement.js';
import { fail, pass, type VerificationCheck } from './report.js';

/** What the checks need of the previous attestation; undefined fields when it could not be read. */
export interface PreviousAttestation {
  readonly statement?: Statement;
  /** Hex SHA-256 of its rebuilt DER. */
  readonly sha256?: string;
  readonly time?: Date;
}

/** seq equals the position; birth first and only first (`validateStatement` ties birth to seq 0). */
export function sequenceCheck(s: Statement, n: number): VerificationCheck {
  const name = `attestation ${n}: sequence`;
  if (s.predicate.seq !== n)
    return fail(name, 'ERR_VERIFY_SEQUENCE', `attestation ${n} carries seq ${s.predicate.seq}: an attestation is missing, repeated or out of order`, n);
  const kind = statementKind(s);
  if ((n === 0) !== (kind === 'birth'))
    return fail(name, 'ERR_VERIFY_SEQUENCE', n === 0 ? `the chain starts with a ${kind} attestation, not a birth` : `a second birth attestation at ${n}`, n);
  return pass(name, `${kind} #${n}`, n);
}

/** `prev` is the SHA-256 of the previous attestation's DER. */
export function linkCheck(s: Statement, prev: PreviousAttestation | undefined, n: number): VerificationCheck {
  const name = `attestation ${n}: link`;
  if (n === 0)
    return s.predicate.prev === null
      ? pass(name, 'birth: no previous attestation', n)
      : fail(name, 'ERR_VERIFY_LINK', 'the birth attestation names a previous attestation', n);
  if (!prev?.sha256) return fail(name, 'ERR_VERIFY_LINK', `attestation ${n - 1} could not be read, so the link cannot be checked`, n);
  if (s.predicate.prev !== prev.sha256)
    return fail(
      name,
      'ERR_VERIFY_LINK',
      `"prev" is ${String(s.predicate.prev).slice(0, 16)}..., but attestation ${n - 1} hashes to ${prev.sha256.slice(0, 16)}...`,
      n,
    );
  return pass(name, `follows attestation ${n - 1}`, n);
}

/**
 * The signer is the custodian: the previous attestation handed the device to this key. After an activation only
 * a handoff may follow: the activating owner passing the device on (a resale), which the custodian rule holds to
 * that owner; the workflow says whether the supply chain allows it.
 */
export function custodianChecks(s: Statement, prev: PreviousAttestation | undefined, signerName: string, n: number): VerificationCheck[] {
  if (n === 0) return [pass(`attestation ${n}: custodian`, `birth signed by "${signerName}"`, n)];
  const out: VerificationCheck[] = [];
  const ps = prev?.statement;
  if (ps && statementKind(ps) === 'activation' && statementKind(s) !== 'handoff')
    out.push(
      fail(
        `attestation ${n}: after activation`,
        'ERR_VERIFY_AFTER_ACTIVATION',
        `attestation ${n} (${statementKind(s)}) follows the activation (attestation ${n - 1}); only the owner's handoff (a resale) may follow an activation`,
        n,
      ),
    );
  // An activation names its signer as the owner (`to`), the only key its resale handoff may come from.
  if (statementKind(s) === 'activation' && s.predicate.to !== s.predicate.from)
    out.push(
      fail(
        `attestation ${n}: activation owner`,
        'ERR_VERIFY_ACTIVATION_OWNER',
        `attestation ${n} activates the device for key ${s.predicate.to.slice(0, 16)}..., not for its signer "${signerName}"`,
        n,
      ),
    );
  const name = `attestation ${n}: custodian`;
  if (!ps) out.push(fail(name, 'ERR_VERIFY_CUSTODIAN', `attestation ${n - 1} could not be read, so the custodian is unknown`, n));
  else if (s.predicate.from !== ps.predicate.to) {
    out.push(
      fail(
        name,
        'ERR_VERIFY_CUSTODIAN',
        `attestation ${n} is signed by "${signerName}", who is not the custodian (attestation ${n - 1} hands the device to key ${ps.predicate.to.slice(0, 16)}...)`,
        n,
      ),
    );
  } else out.push(pass(name, `signed by the custodian "${signerName}"`, n));
  return out;
}

/** The CMS signing-time equals the statement time; times never go backwards; nothing is signed after `at`. */
export function timeCheck(parsed: ParsedAttestation, prev: PreviousAttestation | undefined, at: Date, n: number): VerificationCheck {
  const name = `attestation ${n}: time`;
  const t = parsed.signingTime;
  const st = new Date(parsed.statement.predicate.time);
  if (t.getTime() !== st.getTime())
    return fail(name, 'ERR_VERIFY_TIME', `the CMS signing-time ${t.toISOString()} differs from the statement time ${parsed.statement.predicate.time}`, n);
  if (prev?.time && t < prev.time)
    return fail(name, 'ERR_VERIFY_TIME', `signed ${t.toISOString()}, before attestation ${n - 1} (${prev.time.toISOString()})`, n);
  if (t > at) return fail(name, 'ERR_VERIFY_TIME', `signed ${t.toISOString()}, after the verification time ${at.toISOString()}`, n);
  return pass(name, parsed.statement.predicate.time, n);
}
