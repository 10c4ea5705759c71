/**
 * Detached attestations: a CMS SignedData attestation split into the parts a bundle stores once or stores as
 * plain JSON, and rebuilt byte for byte.
 *
 * ```asn1
 * ContentInfo ::= SEQUENCE { contentType id-signedData, content [0] EXPLICIT SignedData }       -- RFC 5652 3
 * SignedData  ::= SEQUENCE { version, digestAlgorithms, encapContentInfo, certificates [0] IMPLICIT, signerInfos }
 * -- the shell keeps version, digestAlgorithms, eContentType and signerInfos, and drops
 * --   eContent [0] EXPLICIT OCTET STRING (the statement, stored as JSON) and
 * --   certificates [0] IMPLICIT CertificateSet (the signer certificate, stored once in the bundle)
 * Shell ::= SEQUENCE { contentType id-signedData,
 *                      [0] EXPLICIT SEQUENCE { version, digestAlgorithms, SEQUENCE { eContentType }, signerInfos } }
 * ```
 *
 * The statement is re-encoded with `encodeStatement` (one model, one byte string), so only attestations whose
 * content is already in that canonical form can be detached; every attestation custody signs is.
 */
import { expectSeq, explicit, octetString, readOne, seq, TAG, tlv, type TLV } from '../asn1/der.js';
import { OID } from '../asn1/oids.js';
import { readOIDCached } from '../attestation/oid-cache.js';
import { parseAttestation } from '../attestation/cms-parse.js';
import { encodeStatement, type Statement } from '../attestation/statement.js';
import { CustodyError } from '../errors.js';
import { equalBytes } from '../util/bytes.js';

/** An attestation taken apart: `attachAttestation(shell, statement, certificate)` rebuilds it exactly. */
export interface DetachedAttestation {
  /** The ContentInfo without eContent and certificates (DER). */
  readonly shell: Uint8Array;
  readonly statement: Statement;
  /** The signer's certificate DER. */
  readonly certificate: Uint8Array;
}

function bad(what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_BUNDLE_ATTESTATION', `attestation: ${what}`, cause === undefined ? {} : { cause });
}

/**
 * Splits an attestation into shell, statement and signer certificate.
 * @throws ERR_ATTESTATION_MALFORMED / ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* when it does not parse strictly;
 *   ERR_BUNDLE_ATTESTATION when its statement is not in the canonical encoding (it could not be rebuilt)
 */
export function detachAttestation(der: Uint8Array): DetachedAttestation {
  const parsed = parseAttestation(der);
  if (!equalBytes(encodeStatement(parsed.statement), parsed.statementBytes)) {
    throw bad('the statement is not in its canonical encoding, so the attestation cannot be stored detached');
  }
  const [ct, ctValue] = expectSeq(readOne(der), TAG.SEQUENCE, 2, 2);
  const [sd] = expectSeq(ctValue!, 0xa0, 1, 1);
  const [version, digestAlgs, encap, , signerInfos] = expectSeq(sd!, TAG.SEQUENCE, 5, 5);
  const [eType] = expectSeq(encap!, TAG.SEQUENCE, 2, 2);
  const shell = seq(ct!.raw, explicit(0, seq(version!.raw, digestAlgs!.raw, seq(eType!.raw), signerInfos!.raw)));
  return { shell, statement: parsed.statement, certificate: parsed.signerCertificate };
}

/** The four SignedData pieces a shell keeps. */
interface ShellParts {
  contentType: TLV;
  version: TLV;
  digestAlgs: TLV;
  eType: TLV;
  signerInfos: TLV;
}

/**
 * Strict structural read of a shell (what `detachAttestation` writes); nothing inside signerInfos is judged here.
 * @throws ERR_BUNDLE_ATTESTATION naming what is wrong
 */
export function readShell(shell: Uint8Array): ShellParts {
  try {
    const [contentType, ctValue] = expectSeq(readOne(shell), TAG.SEQUENCE, 2, 2);
    if (readOIDCached(contentType!) !== OID.signedData) throw bad('shell is not a SignedData');
    const [sd] = expectSeq(ctValue!, 0xa0, 1, 1);
    const [version, digestAlgs, encap, signerInfos] = expectSeq(sd!, TAG.SEQUENCE, 4, 4);
    if (version!.tag !== TAG.INTEGER || digestAlgs!.tag !== TAG.SET || signerInfos!.tag !== TAG.SET) throw bad('shell SignedData fields have the wrong types');
    const [eType] = expectSeq(encap!, TAG.SEQUENCE, 1, 1);
    if (eType!.tag !== TAG.OID) throw bad('shell eContentType is not an OBJECT IDENTIFIER');
    return { contentType: contentType!, version: version!, digestAlgs: digestAlgs!, eType: eType!, signerInfos: signerInfos! };
  } catch (e) {
    if (e instanceof CustodyError && e.code === 'ERR_BUNDLE_ATTESTATION') throw e;
    throw bad(`shell: ${(e as Error).message}`, e);
  }
}

/**
 * Rebuilds the attestation DER from its detached parts: the statement re-encoded canonically and spliced in as
 * eContent, the certificate spliced in as the certificates field. The result is what gets hashed and verified.
 * @throws ERR_BUNDLE_ATTESTATION for a malformed shell; ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for a malformed
 *   statement
 */
export function attachAttestation(shell: Uint8Array, statement: Statement, certificate: Uint8Array): Uint8Array {
  const p = readShell(shell);
  const content = encodeStatement(statement);
  const encap = seq(p.eType.raw, explicit(0, octetString(content)));
  const sd = seq(p.version.raw, p.digestAlgs.raw, encap, tlv(0xa0, certificate), p.signerInfos.raw);
  return seq(p.contentType.raw, explicit(0, sd));
}
