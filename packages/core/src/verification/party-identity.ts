/**
 * The identity of a certificate holder as workflow evaluation reads it: subject attributes by short name,
 * readable DNs, and the hashes that pin certificates and keys.
 */
import type { ParsedCertificate } from '../validation/certificate.js';
import { attributeText, type ParsedName } from '../validation/name.js';
import type { PartyIdentity } from '../workflow/signer-rule.js';

const SHORT: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'E',
};

/** Subject attributes by short name (the last occurrence wins); attributes without a short name are left out. */
export function nameAttributes(name: ParsedName): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rdn of name.rdns) {
    for (const a of rdn) {
      const short = SHORT[a.type];
      const text = short ? attributeText(a) : undefined;
      if (short && text !== undefined) out[short] = text;
    }
  }
  return out;
}

/** The PartyIdentity of a validated party certificate; `chain` runs from it to the trust anchor. */
export function partyIdentity(chain: readonly ParsedCertificate[], hashes: { cert: string; spki: string; issuer?: string }): PartyIdentity {
  const cert = chain[0]!;
  const id = { subject: nameAttributes(cert.subject), subjectDN: cert.subject.text, issuerDN: cert.issuer.text, certSha256: hashes.cert, spkiSha256: hashes.spki };
  return hashes.issuer === undefined ? id : { ...id, issuerCertSha256: hashes.issuer };
}
