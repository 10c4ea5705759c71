/**
 * The identity of a certificate holder as workflow evaluation reads it: subject attributes by short name,
 * readable DNs, and the hashes that pin certificates and keys.
 */
import type { ParsedCertificate } from '../validation/certificate.js';
import { attributeText, type ParsedName } from '../validation/name.js';
import { NAME_ATTRIBUTE_SHORT } from '../asn1/oids.js';
import type { PartyIdentity } from '../workflow/signer-rule.js';

/** Subject attributes by short name (the last occurrence wins); attributes without a short name are left out. */
export function nameAttributes(name: ParsedName): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rdn of name.rdns) {
    for (const a of rdn) {
      const short = NAME_ATTRIBUTE_SHORT.get(a.type);
      if (short) out[short] = attributeText(a);
    }
  }
  return out;
}

/** The PartyIdentity of a validated party certificate; `chain` runs from it to the trust anchor. */
export function partyIdentity(chain: readonly ParsedCertificate[], hashes: { cert: string; spki: string; issuer?: string }): PartyIdentity {
  const cert = chain[0]!;
  const id = {
    subject: nameAttributes(cert.subject),
    subjectDN: cert.subject.text,
    issuerDN: cert.issuer.text,
    certSha256: hashes.cert,
    spkiSha256: hashes.spki,
  };
  return hashes.issuer === undefined ? id : { ...id, issuerCertSha256: hashes.issuer };
}
