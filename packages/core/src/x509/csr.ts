/**
 * PKCS#10 certification requests (RFC 2986), read with the strict DER reader: a factory line checks thousands a
 * second, and the signature check is the device's proof that it holds the key.
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
 *     subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT Attributes }
 */
import { CustodyError } from '../errors.js';
import { OID } from '../asn1/oids.js';
import { checkDER, children, readBitStringBytes, readOID, readOne, readSmallInt, seq, tlv, oid, TAG, integer, bitString, type TLV } from '../asn1/der.js';
import { curveHash, type CryptoProvider, type PrivateKeyHandle, type SignatureHashName } from '../crypto/provider.js';
import { ecdsaDERToP1363, ecdsaP1363ToDER } from '../crypto/ecdsa-signature.js';
import { encodeName, type NameSpec } from './name.js';
import { nameAttributeList, parseName } from '../validation/name.js';
import { curveOf, parseAlgorithmIdentifier, parseSubjectPublicKeyInfo } from '../validation/algorithm-identifier.js';

export interface CertificationRequest {
  der: Uint8Array;
  info: Uint8Array;
  subject: Array<[string, string]>;
  /** The subject's serialNumber attribute (the device serial), when present. */
  serialNumber?: string;
  spki: Uint8Array;
  curve: 'P-256' | 'P-384';
  /** The signature algorithm's OID. */
  signatureAlgorithm: string;
  /** Its hash: any of RFC 5758 3.2's ECDSA hashes, whatever the curve. */
  signatureHash: SignatureHashName;
  signature: Uint8Array;
}

/** Largest CSR accepted: a device CSR is a few hundred bytes. */
export const MAX_CSR_BYTES = 16 * 1024;

function bad(what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_CSR_PARSE', `not a valid PKCS#10 certification request (${what})`, cause === undefined ? {} : { cause });
}

/** `Attributes ::= SET OF Attribute`, `Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF ANY }` */
function checkAttributes(t: TLV): void {
  for (const a of children(t.value)) {
    if (a.tag !== TAG.SEQUENCE) throw bad('attribute is not a SEQUENCE');
    const [type, values, extra] = children(a.value, 3);
    if (!type || !values || extra || values.tag !== TAG.SET) throw bad('attribute needs a type and a SET of values');
    readOID(type);
    checkDER(values.value);
  }
}

/**
 * The ECDSA signature algorithms of RFC 5758 3.2 a CSR may use, by OID. Any of them goes with either curve: a
 * request's signature only proves possession of the key, and openssl signs a P-384 request with SHA-256 by default.
 */
const CSR_ALGORITHMS: ReadonlyMap<string, { name: string; hash: SignatureHashName }> = new Map([
  ['1.2.840.10045.4.3.2', { name: 'ecdsa-with-SHA256', hash: 'SHA-256' }],
  ['1.2.840.10045.4.3.3', { name: 'ecdsa-with-SHA384', hash: 'SHA-384' }],
  ['1.2.840.10045.4.3.4', { name: 'ecdsa-with-SHA512', hash: 'SHA-512' }],
]);

/** Names of signature algorithms a CSR may be refused for, so that a message says more than an OID. */
const OTHER_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['1.2.840.10045.4.1', 'ecdsa-with-SHA1'],
  ['1.2.840.10045.4.3.1', 'ecdsa-with-SHA224'],
  ['1.2.840.113549.1.1.5', 'sha1WithRSAEncryption'],
  ['1.2.840.113549.1.1.11', 'sha256WithRSAEncryption'],
  ['1.2.840.113549.1.1.12', 'sha384WithRSAEncryption'],
  ['1.2.840.113549.1.1.13', 'sha512WithRSAEncryption'],
  ['1.2.840.113549.1.1.10', 'RSASSA-PSS'],
  ['1.3.101.112', 'Ed25519'],
  ['1.3.101.113', 'Ed448'],
]);

/** An algorithm OID as a reader knows it: `ecdsa-with-SHA1 (1.2.840.10045.4.1)`, or the OID alone. */
export function algorithmName(oidText: string): string {
  const name = CSR_ALGORITHMS.get(oidText)?.name ?? OTHER_ALGORITHMS.get(oidText);
  return name ? `${name} (${oidText})` : oidText;
}

/**
 * Parses a DER CSR without checking its signature.
 * @throws ERR_CSR_PARSE on malformed DER, more than `MAX_CSR_BYTES`, or an unsupported key; ERR_CSR_ALGORITHM for a
 *   signature algorithm other than ECDSA with SHA-256, SHA-384 or SHA-512 (RFC 5758 3.2), named in the message
 */
export function parseCSR(der: Uint8Array): CertificationRequest {
  let parts;
  try {
    if (der.length > MAX_CSR_BYTES) throw bad(`larger than ${MAX_CSR_BYTES} bytes`);
    const outer = children(readOne(der, TAG.SEQUENCE).value, 4);
    if (outer.length !== 3) throw bad('expected three fields');
    const [info, alg, sig] = outer as [TLV, TLV, TLV];
    if (info.tag !== TAG.SEQUENCE) throw bad('CertificationRequestInfo is not a SEQUENCE');
    const f = children(info.value, 5);
    if (f.length < 3 || f.length > 4) throw bad('bad CertificationRequestInfo');
    if (readSmallInt(f[0]!) !== 0) throw bad('unsupported version');
    if (f[3]) {
      if (f[3].tag !== 0xa0) throw bad('bad attributes');
      checkAttributes(f[3]);
    }
    const spki = parseSubjectPublicKeyInfo(f[2]!, 'ERR_CSR_PARSE');
    const subject = nameAttributeList(parseName(f[1]!.raw));
    const algOid = parseAlgorithmIdentifier(alg, 'ERR_CSR_PARSE').oid;
    parts = { info: info.raw, subject, spki, algOid, signature: readBitStringBytes(sig) };
  } catch (e) {
    if (!(e instanceof CustodyError)) throw e;
    if (e.code === 'ERR_CSR_PARSE') throw e;
    throw bad(e.message, e);
  }
  const curve = curveOf(parts.spki);
  if (!curve) throw new CustodyError('ERR_CSR_PARSE', 'CSR key is not an EC key on P-256 or P-384');
  const algorithm = CSR_ALGORITHMS.get(parts.algOid);
  if (!algorithm)
    throw new CustodyError(
      'ERR_CSR_ALGORITHM',
      `CSR signature algorithm ${algorithmName(parts.algOid)} is not accepted: sign the request with ECDSA and SHA-256, SHA-384 or SHA-512 (RFC 5758)`,
    );
  return {
    der,
    info: parts.info,
    subject: parts.subject,
    serialNumber: parts.subject.find(([k]) => k === 'serialNumber')?.[1],
    spki: parts.spki.der,
    curve,
    signatureAlgorithm: parts.algOid,
    signatureHash: algorithm.hash,
    signature: parts.signature,
  };
}

/**
 * Checks the CSR's self-signature: the requester holds the private key (proof of possession).
 * @throws ERR_CSR_SIGNATURE
 */
export async function verifyCSR(csr: CertificationRequest, provider: CryptoProvider): Promise<void> {
  let sig: Uint8Array;
  try {
    sig = ecdsaDERToP1363(csr.signature, csr.curve);
  } catch (e) {
    throw new CustodyError('ERR_CSR_SIGNATURE', `CSR signature is not a DER ECDSA signature (${(e as Error).message})`, { cause: e });
  }
  // The curve's own hash is the common case and takes the provider's usual path; only another pair names it.
  const hash = csr.signatureHash === curveHash(csr.curve) ? undefined : csr.signatureHash;
  // The node provider's synchronous path saves two promises per request on the factory line.
  const p = provider.sync;
  const ok = p
    ? p.verifySync(p.importPublicKeySync(csr.spki), csr.info, sig, hash)
    : await provider.verify(await provider.importPublicKey(csr.spki), csr.info, sig, hash);
  if (!ok)
    throw new CustodyError(
      'ERR_CSR_SIGNATURE',
      `CSR signature does not verify (${algorithmName(csr.signatureAlgorithm)}, ${csr.curve} key): the requester did not prove possession of the key`,
    );
}

/** Builds and signs a CSR (used by `--generate` on the line, by the reference agent, and by tests). */
export async function createCSR(subject: NameSpec, key: PrivateKeyHandle, provider: CryptoProvider): Promise<Uint8Array> {
  const info = seq(integer(Uint8Array.of(0)), encodeName(subject), key.spki, tlv(0xa0));
  const sig = ecdsaP1363ToDER(await provider.sign(key, info));
  const alg = seq(oid(key.curve === 'P-256' ? OID.ecdsaWithSHA256 : OID.ecdsaWithSHA384));
  return seq(info, alg, bitString(sig));
}
