/**
 * The profile of a code signer's certificate, beyond RFC 5280 path validation (under which a leaf without
 * extKeyUsage is good for any purpose): a code signer is named for code signing or it is not one.
 *
 * - not a CA (basicConstraints cA TRUE) and not a device identity (RFC 4108 hardwareModuleName in its SAN);
 * - extKeyUsage present and listing id-kp-codeSigning (1.3.6.1.5.5.7.3.3, RFC 5280 4.2.1.12) itself:
 *   anyExtendedKeyUsage does not count;
 * - keyUsage, when present, asserting digitalSignature.
 */
import { OID } from '../asn1/oids.js';
import type { ParsedCertificate } from '../validation/certificate.js';
import { isDeviceIdentity } from '../verification/signer-profile.js';

/** Why a certificate may not sign code: its stable code and a readable reason. */
export interface CodeSignerProblem {
  readonly code: 'ERR_CODE_SIGNER_EKU' | 'ERR_CODE_SIGNER_PROFILE';
  readonly reason: string;
}

/** Why `cert` may not be a code signer, or undefined when its profile allows it (its trust is checked apart). */
export function codeSignerProblem(cert: ParsedCertificate): CodeSignerProblem | undefined {
  const who = `"${cert.subject.text}"`;
  if (cert.basicConstraints?.cA) return { code: 'ERR_CODE_SIGNER_PROFILE', reason: `${who} is a CA certificate; a CA key does not sign code` };
  if (isDeviceIdentity(cert)) return { code: 'ERR_CODE_SIGNER_PROFILE', reason: `${who} is a device identity; a device key does not sign code` };
  const eku = cert.extKeyUsage;
  if (!eku) return { code: 'ERR_CODE_SIGNER_EKU', reason: `${who} has no extendedKeyUsage; a code signer must list codeSigning (${OID.codeSigning})` };
  if (!eku.includes(OID.codeSigning)) {
    const any = eku.includes(OID.anyExtendedKeyUsage) ? ' (anyExtendedKeyUsage does not count)' : '';
    return { code: 'ERR_CODE_SIGNER_EKU', reason: `${who} does not list codeSigning (${OID.codeSigning}) in its extendedKeyUsage${any}` };
  }
  if (cert.keyUsage && !cert.keyUsage.has('digitalSignature'))
    return { code: 'ERR_CODE_SIGNER_PROFILE', reason: `${who} has a keyUsage without digitalSignature` };
  return undefined;
}
