/**
 * Attestations as CMS SignedData (RFC 5652), assembled by hand for the factory's hot path and parsed strictly.
 *
 * ```asn1
 * ContentInfo ::= SEQUENCE { contentType id-signedData, content [0] EXPLICIT SignedData }        -- 5652 3
 * SignedData ::= SEQUENCE {                                                                       -- 5652 5.1
 *   version CMSVersion,                       -- 3 (the sid is a subjectKeyIdentifier), else 1
 *   digestAlgorithms SET OF DigestAlgorithmIdentifier,               -- exactly one
 *   encapContentInfo EncapsulatedContentInfo,                         -- id-data, the Statement JSON
 *   certificates [0] IMPLICIT CertificateSet,                         -- exactly the signer's certificate
 *   signerInfos SET OF SignerInfo }                                   -- exactly one
 * EncapsulatedContentInfo ::= SEQUENCE { eContentType OID, eContent [0] EXPLICIT OCTET STRING }   -- 5652 5.2
 * SignerInfo ::= SEQUENCE {                                                                       -- 5652 5.3
 *   version CMSVersion,                       -- 3 with subjectKeyIdentifier, 1 with issuerAndSerialNumber
 *   sid SignerIdentifier,                     -- issuerAndSerialNumber | subjectKeyIdentifier [0] IMPLICIT
 *   digestAlgorithm, signedAttrs [0] IMPLICIT SET OF Attribute,
 *   signatureAlgorithm, signature OCTET STRING }                      -- DER Ecdsa-Sig-Value (RFC 5753 2.1.1)
 * ```
 *
 * Choices (each checked against `openssl cms -verify`, see test/attestation/openssl.test.ts):
 * - eContentType is id-data: openssl prints the content for it and for a private type alike, and id-data keeps
 *   the SignedData at the version other tools expect; the party certificate's extended key usage
 *   (custodyAttestation) is what scopes the key, not the content type.
 * - sid is the subjectKeyIdentifier (22 bytes) when the signer certificate carries one, which openssl matches
 *   against the certificate's SKI extension; issuerAndSerialNumber (about 100 bytes) otherwise.
 * - The digest follows the key's curve: SHA-256 with P-256, SHA-384 with P-384, for the message digest and
 *   the signature alike (openssl hashes the signed attributes with the digestAlgorithm).
 * - Signed attributes are exactly content-type, signing-time, message-digest; their lengths fix that DER order.
 * - AlgorithmIdentifiers carry no parameters (RFC 5754 2, RFC 5758 3.2).
 */
export { type SignerIdKind } from './cms-common.js';
export {
  createAttestationSigner,
  signAttestation,
  signAttestationSync,
  signEncodedStatement,
  signEncodedStatementSync,
  prepareEncodedStatement,
  type AttestationSigner,
  type UnsignedAttestation,
  type AttestationSignerInput,
} from './cms-sign.js';
export {
  parseAttestation,
  parseSignedContent,
  verifyAttestationSignature,
  verifySignedContent,
  type ParsedAttestation,
  type SignedContent,
} from './cms-parse.js';
export { readStatementBytes, isHighSAttestation } from './cms-walk.js';
