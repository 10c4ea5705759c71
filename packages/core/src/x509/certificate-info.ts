/**
 * Just enough of an X.509 certificate for issuing under it and for recording it: raw subject and issuer Names,
 * SPKI, serial, validity, key identifiers. Full parsing for path validation lives in `validation/`.
 *
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }   (RFC 5280 4.1)
 */
import { CustodyError } from '../errors.js';
import { OID } from '../asn1/oids.js';
import { children, readIntegerBytes, readOID, readOne, readTime, readTLV, TAG, type TLV } from '../asn1/der.js';
import { toHex } from '../util/bytes.js';
import { readName, formatName } from './name.js';

export interface CertificateInfo {
  der: Uint8Array;
  tbs: Uint8Array;
  serialHex: string;
  issuer: Uint8Array;
  subject: Uint8Array;
  subjectText: string;
  issuerText: string;
  subjectAttributes: Array<[string, string]>;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  /** SubjectKeyIdentifier extension value, when present. */
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  isCA: boolean;
  extensions: Array<{ oid: string; critical: boolean; value: Uint8Array }>;
}

/**
 * Reads a DER certificate.
 * @throws ERR_CERT_PARSE on anything that is not a well-formed X.509 v3 certificate
 */
export function readCertificateInfo(der: Uint8Array): CertificateInfo {
  try {
    const cert = readOne(der, TAG.SEQUENCE);
    const [tbs] = children(cert.value);
    if (!tbs || tbs.tag !== TAG.SEQUENCE) throw new Error('no tbsCertificate');
    const f = children(tbs.value);
    let i = 0;
    if (f[0]?.tag === 0xa0) i = 1; // [0] EXPLICIT version
    const serial = readIntegerBytes(f[i]!);
    const issuer = f[i + 2]!;
    const validity = children(f[i + 3]!.value);
    const subject = f[i + 4]!;
    const spki = f[i + 5]!;
    if (spki.tag !== TAG.SEQUENCE || issuer.tag !== TAG.SEQUENCE || subject.tag !== TAG.SEQUENCE) throw new Error('bad field order');
    const extensions: CertificateInfo['extensions'] = [];
    const extField = f.slice(i + 6).find((t) => t.tag === 0xa3);
    if (extField) {
      const [exts] = children(extField.value);
      for (const ext of children(exts!.value)) {
        const parts = children(ext.value);
        const critical = parts.length === 3 && parts[1]!.tag === TAG.BOOLEAN && parts[1]!.value[0] === 0xff;
        extensions.push({ oid: readOID(parts[0]!), critical, value: parts[parts.length - 1]!.value });
      }
    }
    const ext = (oid: string) => extensions.find((e) => e.oid === oid)?.value;
    const skiExt = ext(OID.subjectKeyIdentifier);
    const akiExt = ext(OID.authorityKeyIdentifier);
    const bcExt = ext(OID.basicConstraints);
    let authorityKeyId: Uint8Array | undefined;
    if (akiExt) authorityKeyId = children(readOne(akiExt).value).find((t: TLV) => t.tag === 0x80)?.value;
    const subjectAttributes = readName(subject);
    return {
      der,
      tbs: tbs.raw,
      serialHex: toHex(serial),
      issuer: issuer.raw,
      subject: subject.raw,
      subjectText: formatName(subjectAttributes),
      issuerText: formatName(readName(issuer)),
      subjectAttributes,
      notBefore: readTime(validity[0]!),
      notAfter: readTime(validity[1]!),
      spki: spki.raw,
      subjectKeyId: skiExt ? readTLV(skiExt).value : undefined,
      authorityKeyId,
      isCA: bcExt ? children(readOne(bcExt).value)[0]?.tag === TAG.BOOLEAN && children(readOne(bcExt).value)[0]!.value[0] === 0xff : false,
      extensions,
    };
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_CERT_PARSE') throw e;
    throw new CustodyError('ERR_CERT_PARSE', `not a valid X.509 certificate (${(e as Error).message})`, { cause: e });
  }
}

/** The subjectPublicKey BIT STRING contents of a DER SubjectPublicKeyInfo. */
export function spkiPublicKeyBits(spki: Uint8Array): Uint8Array {
  const [, bits] = children(readOne(spki, TAG.SEQUENCE).value);
  if (!bits || bits.tag !== TAG.BIT_STRING) throw new CustodyError('ERR_KEY_PARSE', 'SubjectPublicKeyInfo without a key');
  return bits.value.subarray(1);
}

/** The curve of an EC SubjectPublicKeyInfo, or undefined for anything else. */
export function spkiCurve(spki: Uint8Array): 'P-256' | 'P-384' | undefined {
  const [alg] = children(readOne(spki, TAG.SEQUENCE).value);
  const [algOid, param] = children(alg!.value);
  if (!algOid || readOID(algOid) !== OID.ecPublicKey || !param || param.tag !== TAG.OID) return undefined;
  const curve = readOID(param);
  return curve === OID.prime256v1 ? 'P-256' : curve === OID.secp384r1 ? 'P-384' : undefined;
}
