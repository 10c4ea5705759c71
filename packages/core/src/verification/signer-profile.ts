/**
 * The profile of a custody attestation signer: the certificate of a party's attestation key, as the `party`
 * template issues it (certs-templates/party.yaml). Path validation applies RFC 5280's general rules, under which a
 * leaf without extKeyUsage or without keyUsage is good for any purpose; a custody signer is held to more, so that
 * a key issued for something else (a device's IDevID, a CA, a TLS key) can never sign a chain of custody:
 *
 * - not a device identity: no hardwareModuleName otherName in its subjectAltName (RFC 4108 5, 1.3.6.1.5.5.7.8.4,
 *   which every custody IDevID and LDevID carries): one key extracted from one device must not sign for any device;
 * - not a CA: no basicConstraints with cA TRUE;
 * - extKeyUsage present and listing the custody attestation purpose (1.3.6.1.4.1.58270.1.1) itself:
 *   anyExtendedKeyUsage does not count, a signer is named for this purpose or it is not a signer;
 * - keyUsage present and asserting digitalSignature: an absent keyUsage extension does not count.
 *
 * Pure, on the parsed certificate only: the verifier applies it to every attestation signer (PartyTrust), the CLI to
 * the parties it hands devices to and imports.
 */
import { OID } from '../asn1/oids.js';
import type { ParsedCertificate } from '../validation/certificate.js';

/** Stable codes of the signer profile (ERR_VERIFY_*: the chain is rejected). Codes are API: add, never rename. */
export type SignerProfileCode = 'ERR_VERIFY_SIGNER_DEVICE' | 'ERR_VERIFY_SIGNER_CA' | 'ERR_VERIFY_SIGNER_EKU' | 'ERR_VERIFY_SIGNER_KEY_USAGE';

/** Why a certificate may not sign custody attestations. */
export interface SignerProblem {
  readonly code: SignerProfileCode;
  readonly reason: string;
}

/** True when the certificate names a hardware module (RFC 4108 hardwareModuleName): a device identity. */
export function isDeviceIdentity(cert: ParsedCertificate): boolean {
  return cert.subjectAltName?.some((g) => g.kind === 'otherName' && g.typeId === OID.hardwareModuleName) ?? false;
}

/**
 * Why `cert` may not be a custody attestation signer, or undefined when its profile allows it (its path is
 * validated separately). The first problem found, in the order of the file header.
 */
export function attestationSignerProblem(cert: ParsedCertificate): SignerProblem | undefined {
  const who = `"${cert.subject.text}"`;
  if (isDeviceIdentity(cert)) {
    return {
      code: 'ERR_VERIFY_SIGNER_DEVICE',
      reason: `${who} is a device identity (hardwareModuleName in its subjectAltName); a device key cannot sign custody attestations, for its own device or another`,
    };
  }
  if (cert.basicConstraints?.cA)
    return { code: 'ERR_VERIFY_SIGNER_CA', reason: `${who} is a CA certificate (basicConstraints cA TRUE); a CA key cannot sign custody attestations` };
  const eku = cert.extKeyUsage;
  if (!eku)
    return {
      code: 'ERR_VERIFY_SIGNER_EKU',
      reason: `${who} has no extendedKeyUsage; an attestation signer must list the custody attestation purpose ${OID.custodyAttestation}`,
    };
  if (!eku.includes(OID.custodyAttestation)) {
    const any = eku.includes(OID.anyExtendedKeyUsage) ? ' (anyExtendedKeyUsage does not count)' : '';
    return {
      code: 'ERR_VERIFY_SIGNER_EKU',
      reason: `${who} does not list the custody attestation purpose ${OID.custodyAttestation} in its extendedKeyUsage${any}`,
    };
  }
  if (!cert.keyUsage)
    return { code: 'ERR_VERIFY_SIGNER_KEY_USAGE', reason: `${who} has no keyUsage extension; an attestation signer must assert digitalSignature` };
  if (!cert.keyUsage.has('digitalSignature')) return { code: 'ERR_VERIFY_SIGNER_KEY_USAGE', reason: `${who} has a keyUsage without digitalSignature` };
  return undefined;
}
