/**
 * Who holds the device now, against who should: how a customer detects a chain cut short, which is otherwise a
 * valid chain to an earlier custodian. An expected custodian given as a certificate must itself be a trusted
 * attestation party; it then also names the recipient of the workflow's pending stage.
 */
import type { ParsedCRL } from '../validation/crl.js';
import { partyName, type PartyIdentity } from '../workflow/signer-rule.js';
import type { PartyTrust } from './party-trust.js';
import { fail, pass, type VerificationCheck } from './report.js';
import type { ExpectedCustodian } from './verifier-options.js';
import type { RunOutput } from './verdict.js';

/** The expected custodian as an SPKI hash and, given as a certificate, as a trusted party; or a failed check. */
async function expectedParty(
  e: ExpectedCustodian,
  parties: PartyTrust,
  hexDigest: (data: Uint8Array) => string,
  crls: readonly ParsedCRL[],
  at: Date,
): Promise<{ spki: string; identity?: PartyIdentity } | VerificationCheck> {
  if (typeof e === 'string') return { spki: e.toLowerCase() };
  const trust = await parties.check(e.certificate, hexDigest(e.certificate), [], at, crls, at, -1);
  if (!trust.party)
    return fail(
      'custodian',
      'ERR_VERIFY_CUSTODIAN',
      `the expected custodian's certificate is not a trusted attestation party: ${trust.check.reason ?? 'rejected'}`,
    );
  return { spki: trust.party.identity.spkiSha256, identity: trust.party.identity };
}

/**
 * The custodian check: the last attestation (`out.custodian`) hands the device to the expected party. Sets
 * `out.custodianParty` when that party is known by its certificate, and gives its identity for the workflow.
 */
export async function custodianCheck(
  expected: ExpectedCustodian,
  out: RunOutput,
  parties: PartyTrust,
  hexDigest: (data: Uint8Array) => string,
  crls: readonly ParsedCRL[],
  at: Date,
): Promise<{ check: VerificationCheck; identity?: PartyIdentity }> {
  const want = await expectedParty(expected, parties, hexDigest, crls, at);
  if ('name' in want) return { check: want };
  const held = out.custodian === want.spki;
  if (want.identity && held) out.custodianParty = { subject: want.identity.subjectDN, spkiSha256: want.spki };
  const check = held
    ? pass('custodian', `the device is handed to the expected party${want.identity ? ` "${partyName(want.identity)}"` : ''}`)
    : fail(
        'custodian',
        'ERR_VERIFY_CUSTODIAN',
        `the last attestation hands the device to key ${String(out.custodian).slice(0, 16)}..., not to the expected custodian ${want.identity ? `"${partyName(want.identity)}" (key ${want.spki.slice(0, 16)}...)` : `${want.spki.slice(0, 16)}...`}: the chain may be cut short`,
      );
  return want.identity ? { check, identity: want.identity } : { check };
}
