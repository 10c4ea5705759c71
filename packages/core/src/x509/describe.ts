/** A certificate in words: what `custody certs inspect` prints. */
import { OID } from '../asn1/oids.js';
import { children, readOID, readOne, readTLV, TAG } from '../asn1/der.js';
import { fromUtf8, toHex } from '../util/bytes.js';
import { KEY_USAGES, EKU_NAMES } from '../templates/template.js';
import { spkiCurve, type CertificateInfo } from './certificate-info.js';

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

/** Decodes the extensions custody knows into words; the rest are listed by OID. */
export function describeCertificate(info: CertificateInfo, sha256: Uint8Array): CertificateDescription {
  const d: CertificateDescription = {
    subject: info.subjectText,
    issuer: info.issuerText,
    serial: info.serialHex,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    key: `EC ${spkiCurve(info.spki) ?? 'unknown curve'}`,
    ca: info.isCA,
    criticalExtensions: info.extensions.filter((e) => e.critical).map((e) => EXT_NAMES[e.oid] ?? e.oid),
    sha256: toHex(sha256),
  };
  for (const e of info.extensions) {
    if (e.oid === OID.basicConstraints) {
      const parts = children(readOne(e.value).value);
      const len = parts.find((p) => p.tag === TAG.INTEGER);
      if (len) d.pathLen = len.value.reduce((n, b) => n * 256 + b, 0);
    } else if (e.oid === OID.keyUsage) {
      const bits = readOne(e.value).value;
      d.keyUsage = KEY_USAGES.filter((_, i) => (bits[1 + (i >> 3)] ?? 0) & (0x80 >> (i & 7)));
    } else if (e.oid === OID.extKeyUsage) {
      d.extendedKeyUsage = children(readOne(e.value).value).map((t) => {
        const o = readOID(t);
        return EKU_BY_OID[o] ?? o;
      });
    } else if (e.oid === OID.subjectAltName) {
      for (const gn of children(readOne(e.value).value)) {
        if (gn.tag !== 0xa0) continue;
        const [typeId, value] = children(gn.value);
        if (!typeId || !value || readOID(typeId) !== OID.hardwareModuleName) continue;
        const [hwType, hwSerial] = children(readTLV(value.value).value);
        d.hardwareModuleName = { hwType: readOID(hwType!), hwSerialNum: safeText(hwSerial!.value) };
      }
    }
  }
  if (info.subjectKeyId) d.subjectKeyId = toHex(info.subjectKeyId);
  if (info.authorityKeyId) d.authorityKeyId = toHex(info.authorityKeyId);
  return d;
}

function safeText(b: Uint8Array): string {
  try {
    return fromUtf8(b);
  } catch {
    return `#${toHex(b)}`;
  }
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
