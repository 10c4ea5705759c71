/**
 * Checks of the device certificate beyond its path: the IEEE 802.1AR IDevID profile as custody issues it, and the
 * binding between the certificate and the statements' subject.
 */
import { OID } from '../asn1/oids.js';
import type { Statement } from '../attestation/statement.js';
import type { ParsedCertificate } from '../validation/certificate.js';
import { nameAttributes } from './party-identity.js';
import { fail, pass, type VerificationCheck } from './report.js';

/** The device serial (subject serialNumber) of an IDevID, when it has one. */
export function deviceSerial(cert: ParsedCertificate): string | undefined {
  return nameAttributes(cert.subject)['serialNumber'];
}

/**
 * The IDevID profile: subject serialNumber present, not a CA, no custody attestation EKU (a device key must not
 * sign custody attestations).
 */
export function deviceProfileCheck(cert: ParsedCertificate): VerificationCheck {
  const name = 'device: profile';
  const serial = deviceSerial(cert);
  if (!serial) return fail(name, 'ERR_VERIFY_DEVICE_PROFILE', `"${cert.subject.text}" has no subject serialNumber (IEEE 802.1AR IDevID)`);
  if (cert.basicConstraints?.cA) return fail(name, 'ERR_VERIFY_DEVICE_PROFILE', `"${cert.subject.text}" is a CA certificate, not a device identity`);
  if (cert.extKeyUsage?.includes(OID.custodyAttestation))
    return fail(name, 'ERR_VERIFY_DEVICE_PROFILE', `"${cert.subject.text}" is an attestation signer certificate, not a device identity`);
  return pass(name, `IDevID of device serial "${serial}"`);
}

/** The manufacturer a device's name starts with: the organization (O) of its IDevID's issuer, when it has one. */
export function deviceManufacturer(cert: ParsedCertificate): string | undefined {
  return nameAttributes(cert.issuer)['O'];
}

/**
 * The statement names this device: subject digest = SHA-256 of the IDevID DER, subject name
 * `<manufacturer>/<serial>` with the IDevID's serial (and its issuer's organization as the manufacturer, when the
 * issuer names one), and the same name as the birth attestation's.
 */
export function subjectCheck(
  statement: Statement,
  deviceSha256: string,
  serial: string | undefined,
  manufacturer: string | undefined,
  firstName: string | undefined,
  n: number,
): VerificationCheck {
  const name = `attestation ${n}: subject`;
  const sub = statement.subject[0];
  if (sub.digest.sha256 !== deviceSha256)
    return fail(
      name,
      'ERR_VERIFY_SUBJECT',
      `attestation ${n} is about the device certificate ${sub.digest.sha256.slice(0, 16)}..., not this bundle's (${deviceSha256.slice(0, 16)}...)`,
      n,
    );
  if (serial === undefined || !sub.name.endsWith(`/${serial}`))
    return fail(name, 'ERR_VERIFY_SUBJECT', `attestation ${n} names device "${sub.name}", whose serial is not the IDevID serialNumber "${serial ?? ''}"`, n);
  if (manufacturer !== undefined && sub.name !== `${manufacturer}/${serial}`) {
    return fail(
      name,
      'ERR_VERIFY_SUBJECT',
      `attestation ${n} names device "${sub.name}", but its IDevID was issued by "${manufacturer}" (expected "${manufacturer}/${serial}")`,
      n,
    );
  }
  if (firstName !== undefined && sub.name !== firstName)
    return fail(name, 'ERR_VERIFY_SUBJECT', `attestation ${n} names device "${sub.name}", the birth attestation "${firstName}"`, n);
  return pass(name, sub.name, n);
}
