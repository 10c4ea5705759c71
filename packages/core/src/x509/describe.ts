/**
 * A certificate in words: what `custody certs inspect` prints. Every field comes from the one strict certificate
 * parser (`parseCertificate`, through `CertificateInfo.parsed`); this file only names things.
 */
import { OID } from '../asn1/oids.js';
import { children, readOID, readOne, TAG } from '../asn1/der.js';
import { CustodyError } from '../errors.js';
import { fromUtf8, toHex } from '../util/bytes.js';
import { EKU_NAMES } from '../templates/template.js';
import { curveOf, parseSPKI } from '../validation/algorithm-identifier.js';
import type { CertificateInfo } from './certificate-info.js';

export interface CertificateDescription {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  key: string;
  ca: boolean;
  pathLen?: number;
  keyUsage?: string[];
  extendedKeyUsage?: string[];
  subjectKeyId?: string;
  authorityKeyId?: string;
  hardwareModuleName?: { hwType: string; hwSerialNum: string };
  criticalExtensions: string[];
  sha256: string;
}

const EXT_NAMES: Record<string, string> = Object.fromEntries(Object.entries(OID).map(([k, v]) => [v, k]));
const EKU_BY_OID: Record<string, string> = Object.fromEntries(Object.entries(EKU_NAMES).map(([k, v]) => [v, k]));

function safeText(b: Uint8Array): string {
  try {
    return fromUtf8(b);
  } catch {
    return `#${toHex(b)}`;
  }
}

/** `HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }` (RFC 4108 5) */
function hardwareModuleName(value: Uint8Array): { hwType: string; hwSerialNum: string } {
  try {
    const [hwType, hwSerial, extra] = children(readOne(value, TAG.SEQUENCE).value, 3);
    if (!hwType || !hwSerial || extra || hwSerial.tag !== TAG.OCTET_STRING) throw new CustodyError('ERR_DER', 'needs hwType and hwSerialNum');
    return { hwType: readOID(hwType), hwSerialNum: safeText(hwSerial.value) };
  } catch (e) {
    if (!(e instanceof CustodyError)) throw e;
    throw new CustodyError('ERR_CERT_PARSE', `certificate: hardwareModuleName: ${e.message}`, { cause: e });
  }
}

/**
 * Names the extensions custody knows; the rest are listed by OID.
 * @throws CustodyError ERR_CERT_PARSE when a hardwareModuleName otherName is malformed
 */
export function describeCertificate(info: CertificateInfo, sha256: Uint8Array): CertificateDescription {
  const c = info.parsed;
  const d: CertificateDescription = {
    subject: c.subject.text,
    issuer: c.issuer.text,
    serial: c.serialHex,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    key: `EC ${curveOf(parseSPKI(c.spki, 'ERR_CERT_PARSE')) ?? 'unknown curve'}`,
    ca: c.basicConstraints?.cA ?? false,
    criticalExtensions: c.extensions.filter((e) => e.critical).map((e) => EXT_NAMES[e.oid] ?? e.oid),
    sha256: toHex(sha256),
  };
  if (c.basicConstraints?.pathLen !== undefined) d.pathLen = c.basicConstraints.pathLen;
  if (c.keyUsage) d.keyUsage = [...c.keyUsage];
  if (c.extKeyUsage) d.extendedKeyUsage = c.extKeyUsage.map((o) => EKU_BY_OID[o] ?? o);
  for (const g of c.subjectAltName ?? []) {
    if (g.kind === 'otherName' && g.typeId === OID.hardwareModuleName) d.hardwareModuleName = hardwareModuleName(g.value);
  }
  if (c.subjectKeyId) d.subjectKeyId = toHex(c.subjectKeyId);
  if (c.authorityKeyId?.keyIdentifier) d.authorityKeyId = toHex(c.authorityKeyId.keyIdentifier);
  return d;
}

/** The description as aligned lines of text. */
export function formatCertificateDescription(d: CertificateDescription): string[] {
  const rows: Array<[string, string | undefined]> = [
    ['Subject', d.subject],
    ['Issuer', d.issuer],
    ['Serial', d.serial],
    ['Valid from', d.notBefore],
    ['Valid until', d.notAfter.startsWith('9999-12-31T23:59:59') ? `${d.notAfter} (no well-defined expiration, 802.1AR)` : d.notAfter],
    ['Key', d.key],
    ['CA', d.ca ? `yes${d.pathLen !== undefined ? `, path length ${d.pathLen}` : ''}` : 'no'],
    ['Key usage', d.keyUsage?.join(', ')],
    ['Extended key usage', d.extendedKeyUsage?.join(', ')],
    ['Hardware module', d.hardwareModuleName ? `${d.hardwareModuleName.hwSerialNum} (type ${d.hardwareModuleName.hwType})` : undefined],
    ['Subject key id', d.subjectKeyId],
    ['Authority key id', d.authorityKeyId],
    ['Critical extensions', d.criticalExtensions.join(', ') || 'none'],
    ['SHA-256', d.sha256],
  ];
  return rows.filter(([, v]) => v !== undefined).map(([k, v]) => `${(k + ':').padEnd(21)}${v}`);
}
