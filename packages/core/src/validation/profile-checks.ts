/**
 * Path-independent checks of one certificate in one role (leaf, CA, trust anchor): the RFC 5280 section 4
 * profile rules a verifier can enforce, the critical-extension rule of 6.1.4 (o) / 6.1.5 (e), and the CA rules of
 * 6.1.4 (k) and (n). They depend only on the certificate and its role, so validators cache them per certificate.
 */
import { OID } from '../asn1/oids.js';
import type { ParsedCertificate } from './certificate.js';
import { isSelfSigned } from './certificate.js';
import { invalidConstraintReason, isValidDNSName } from './name-constraints.js';
import { failed, passed, type PathCheck } from './report.js';

/** Where a certificate sits in a path. */
export type CertificateRole = 'leaf' | 'ca' | 'anchor';

/**
 * Extensions the validator understands and may therefore accept as critical. certificatePolicies is accepted
 * because validation runs with initial-policy-set = any-policy and no explicit-policy requirement (RFC 5280 6.1.1),
 * where policies never change the outcome; policyConstraints, policyMappings and inhibitAnyPolicy are not
 * processed and so are refused when critical.
 */
export const PROCESSED_EXTENSIONS: ReadonlySet<string> = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.nameConstraints,
  OID.certificatePolicies,
]);

/** Extensions RFC 5280 says MUST be non-critical. */
const MUST_BE_NON_CRITICAL: ReadonlyMap<string, string> = new Map([
  [OID.authorityKeyIdentifier, 'authorityKeyIdentifier (4.2.1.1)'],
  [OID.subjectKeyIdentifier, 'subjectKeyIdentifier (4.2.1.2)'],
  [OID.authorityInfoAccess, 'authorityInfoAccess (4.2.2.1)'],
]);

/** Extensions RFC 5280 says MUST be critical. */
const MUST_BE_CRITICAL: ReadonlyMap<string, string> = new Map([
  [OID.nameConstraints, 'nameConstraints (4.2.1.10)'],
  [OID.policyConstraints, 'policyConstraints (4.2.1.11)'],
]);

function serialProblem(serial: Uint8Array): string | undefined {
  if (serial[0]! & 0x80) return 'serial number is negative (RFC 5280 4.1.2.2)';
  if (serial.every((b) => b === 0)) return 'serial number is zero (RFC 5280 4.1.2.2)';
  const len = serial[0] === 0 ? serial.length - 1 : serial.length;
  if (len > 20) return 'serial number is longer than 20 octets (RFC 5280 4.1.2.2)';
  return undefined;
}

function sanProblem(cert: ParsedCertificate): string | undefined {
  for (const g of cert.subjectAltName ?? []) {
    if (g.kind === 'dNSName' && !isValidDNSName(g.value, true)) return `subjectAltName dNSName "${g.value}" is not a valid DNS name`;
    if (g.kind === 'rfc822Name' && !/^[^@\s]+@[^@\s]+$/.test(g.value)) return `subjectAltName rfc822Name "${g.value}" is not a mailbox`;
    if (g.kind === 'rfc822Name' && !isValidDNSName(g.value.slice(g.value.indexOf('@') + 1), false))
      return `subjectAltName rfc822Name "${g.value}" has an invalid domain`;
    if (g.kind === 'iPAddress' && g.bytes.length !== 4 && g.bytes.length !== 16) return 'subjectAltName iPAddress is neither 4 nor 16 octets';
  }
  return undefined;
}

/** The profile checks of `cert` in `role`, passed and failed. */
export function profileChecks(cert: ParsedCertificate, role: CertificateRole): PathCheck[] {
  const out: PathCheck[] = [];
  const bad = (name: string, code: Parameters<typeof failed>[1], reason: string) => out.push(failed(name, code, reason, cert));
  const before = out.length;

  if (
    cert.tbsSignatureAlgorithm.der.length !== cert.signatureAlgorithm.der.length ||
    cert.tbsSignatureAlgorithm.der.some((b, i) => b !== cert.signatureAlgorithm.der[i])
  ) {
    bad('profile', 'ERR_CHAIN_MALFORMED', 'tbsCertificate.signature differs from signatureAlgorithm (RFC 5280 4.1.1.2)');
  }
  // A trust anchor is configuration (RFC 5280 6.1.1 (d)): the issuance rules for serials and AKI bind its issuer.
  const sp = role === 'anchor' ? undefined : serialProblem(cert.serial);
  if (sp) bad('profile', 'ERR_CHAIN_MALFORMED', sp);
  if (cert.publicKeyAlgorithm.oid === OID.ecPublicKey && cert.publicKeyAlgorithm.params?.[0] !== 0x06) {
    bad('profile', 'ERR_CHAIN_MALFORMED', 'EC public key without a namedCurve (RFC 5480 2.1.1)');
  }
  if (cert.issuer.rdns.length === 0) bad('profile', 'ERR_CHAIN_MALFORMED', 'issuer is empty (RFC 5280 4.1.2.4)');
  const san = cert.extensions.find((e) => e.oid === OID.subjectAltName);
  if (cert.subject.rdns.length === 0 && !(san && san.critical))
    bad('profile', 'ERR_CHAIN_MALFORMED', 'empty subject needs a critical subjectAltName (RFC 5280 4.2.1.6)');
  const sanp = sanProblem(cert);
  if (sanp) bad('profile', 'ERR_CHAIN_MALFORMED', sanp);
  for (const e of cert.extensions) {
    const nc = MUST_BE_NON_CRITICAL.get(e.oid);
    if (nc && e.critical) bad('profile', 'ERR_CHAIN_MALFORMED', `${nc} must not be critical`);
    const c = MUST_BE_CRITICAL.get(e.oid);
    if (c && !e.critical) bad('profile', 'ERR_CHAIN_MALFORMED', `${c} must be critical`);
  }
  // The key identifier first: isSelfSigned compares the names, which a leaf with an AKI (every leaf) need not render.
  if (role !== 'anchor' && !cert.authorityKeyId?.keyIdentifier && !isSelfSigned(cert)) {
    bad('profile', 'ERR_CHAIN_MALFORMED', 'authorityKeyIdentifier with keyIdentifier is required unless self-signed (RFC 5280 4.2.1.1)');
  }
  if (role !== 'anchor' && cert.authorityKeyId && !cert.authorityKeyId.keyIdentifier) {
    bad('profile', 'ERR_CHAIN_MALFORMED', 'authorityKeyIdentifier without keyIdentifier (RFC 5280 4.2.1.1)');
  }
  if (cert.basicConstraints?.cA && cert.keyUsage && !cert.keyUsage.has('keyCertSign')) {
    bad('key-usage', 'ERR_CHAIN_KEY_USAGE', 'basicConstraints cA TRUE with a keyUsage lacking keyCertSign is inconsistent (RFC 5280 4.2.1.3, 4.2.1.9)');
  }
  if (cert.keyUsage?.has('keyCertSign') && !cert.basicConstraints?.cA)
    bad('key-usage', 'ERR_CHAIN_KEY_USAGE', 'keyCertSign asserted without basicConstraints cA (RFC 5280 4.2.1.3)');
  if (cert.nameConstraints && !cert.basicConstraints?.cA)
    bad('name-constraints', 'ERR_CHAIN_MALFORMED', 'nameConstraints in a certificate that is not a CA (RFC 5280 4.2.1.10)');
  if (cert.nameConstraints) {
    const why = invalidConstraintReason(cert.nameConstraints);
    if (why) bad('name-constraints', 'ERR_CHAIN_MALFORMED', why);
  }
  const unknown = cert.extensions.filter((e) => e.critical && !PROCESSED_EXTENSIONS.has(e.oid));
  if (unknown.length > 0) bad('critical-extensions', 'ERR_CHAIN_CRITICAL_EXTENSION', `unprocessed critical extension ${unknown.map((e) => e.oid).join(', ')}`);

  if (role !== 'leaf') {
    const bc = cert.basicConstraints;
    const bcExt = cert.extensions.find((e) => e.oid === OID.basicConstraints);
    if (cert.version !== 3 || !bc) bad('basic-constraints', 'ERR_CHAIN_NOT_CA', 'issuer has no basicConstraints (RFC 5280 6.1.4 (k))');
    else if (!bc.cA) bad('basic-constraints', 'ERR_CHAIN_NOT_CA', 'issuer has basicConstraints cA FALSE (RFC 5280 6.1.4 (k))');
    else if (!bcExt?.critical) bad('basic-constraints', 'ERR_CHAIN_MALFORMED', 'basicConstraints of a CA must be critical (RFC 5280 4.2.1.9)');
    if (!cert.subjectKeyId) bad('profile', 'ERR_CHAIN_MALFORMED', 'CA certificate without subjectKeyIdentifier (RFC 5280 4.2.1.2)');
    if (cert.subject.rdns.length === 0) bad('profile', 'ERR_CHAIN_MALFORMED', 'CA certificate with an empty subject (RFC 5280 4.1.2.6)');
  }
  if (out.length === before) out.push(passed('profile', cert));
  return out;
}
