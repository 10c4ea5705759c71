/**
 * What release manifests and withdrawal lists share: the one CMS envelope of attestations (`attestation/cms.ts`),
 * read under their own error codes, and a signer that must hold the codeSigning extended key usage and chain to
 * a trusted root at the time given.
 */
import { OID } from '../asn1/oids.js';
import { parseSignedEnvelope, type SignedEnvelope } from '../attestation/cms-parse.js';
import { verifyEnvelopeSignature } from '../attestation/cms-verify.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CustodyError } from '../errors.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import { PathValidator, reportError } from '../validation/path-validator.js';

/** Most CA certificates a signed release document carries after its signer's (the chain below the root). */
export const MAX_SIGNER_CHAIN = 4;

/** The roots a device or a verifier trusts for code signing, prepared once: build it with `createReleaseTrust`. */
export interface ReleaseTrust {
  readonly validator: PathValidator;
  readonly provider: CryptoProvider;
}

/**
 * Prepares trust in code signers under the given roots (DER certificates).
 * @throws ERR_CERT_PARSE when a root does not parse
 */
export function createReleaseTrust(roots: readonly Uint8Array[], provider: CryptoProvider): ReleaseTrust {
  return { validator: new PathValidator({ trustAnchors: roots, provider }), provider };
}

/** The codes one kind of signed document reports its failures under, and how its messages open. */
export interface DocumentCodes {
  /** `release manifest`, `withdrawal list`. */
  readonly what: string;
  /** Each code written out, so that the docs' code table finds it. */
  readonly malformed: string;
  readonly highS: string;
  /** The digest or the signature does not verify. */
  readonly signature: string;
  /** The content names another key than the one that signed it. */
  readonly signer: string;
  readonly eku: string;
  readonly chain: string;
}

/** An envelope error under the document's own codes: ERR_ATTESTATION_MALFORMED becomes ERR_RELEASE_MALFORMED. */
function rewrap(e: unknown, codes: DocumentCodes): unknown {
  if (!(e instanceof CustodyError)) return e;
  const code =
    e.code === 'ERR_ATTESTATION_HIGH_S'
      ? codes.highS
      : e.code === 'ERR_ATTESTATION_SIGNATURE'
        ? codes.signature
        : e.code === 'ERR_ATTESTATION_SIGNER'
          ? codes.signer
          : e.code.startsWith('ERR_ATTESTATION_')
            ? codes.malformed
            : undefined;
  return code === undefined ? e : new CustodyError(code, `${codes.what}: ${e.message.replace(/^attestation: /, '')}`, { cause: e });
}

/**
 * The strict envelope parse (signer certificate first, then at most `MAX_SIGNER_CHAIN` CA certificates).
 * @throws `codes.malformed`, `codes.highS`
 */
export function openSignedDocument(der: Uint8Array, maxBytes: number, codes: DocumentCodes): SignedEnvelope {
  if (!(der instanceof Uint8Array)) throw new TypeError(`${codes.what}: bytes expected`);
  if (der.length > maxBytes) throw new CustodyError(codes.malformed, `${codes.what}: ${der.length} bytes, more than the ${maxBytes} allowed`);
  try {
    return parseSignedEnvelope(der, 1 + MAX_SIGNER_CHAIN);
  } catch (e) {
    throw rewrap(e, codes);
  }
}

/**
 * Checks a signed document's integrity and its signer: the digest and signature, the signer key against the one
 * the content names, the codeSigning extended key usage, and a certification path to a trusted root at `at`
 * (RFC 5280, the one path validator).
 * @throws `codes.signature`, `codes.signer` (the content names another key), `codes.eku`, `codes.chain` (its
 *   cause the ERR_CHAIN_* error)
 */
export async function checkCodeSigner(
  envelope: SignedEnvelope,
  signerSpkiSha256: string,
  trust: ReleaseTrust,
  at: Date,
  codes: DocumentCodes,
): Promise<ParsedCertificate> {
  try {
    await verifyEnvelopeSignature(envelope, trust.provider, signerSpkiSha256);
  } catch (e) {
    throw rewrap(e, codes);
  }
  const cert = parseCertificate(envelope.signerCertificate);
  if (!cert.extKeyUsage?.includes(OID.codeSigning)) {
    throw new CustodyError(
      codes.eku,
      `${codes.what}: the signer "${cert.subject.text}" is not a code signer (its certificate has no codeSigning extended key usage)`,
    );
  }
  const report = await trust.validator.validate({
    leaf: cert,
    intermediates: envelope.chain ?? [],
    at,
    requiredKeyUsage: ['digitalSignature'],
    requiredEKU: [OID.codeSigning],
  });
  if (!report.ok) {
    const chain = reportError(report);
    throw new CustodyError(codes.chain, `${codes.what}: signer "${cert.subject.text}": ${chain.message}`, { cause: chain });
  }
  return cert;
}
