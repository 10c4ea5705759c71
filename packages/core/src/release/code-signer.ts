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
import { equalBytes } from '../util/bytes.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import { codeSignerProblem } from '../validation/code-signer-profile.js';
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
 *   cause the ERR_CHAIN_* error), `codes.malformed` (carried certificates other than the path's CAs)
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
  // The one code-signer profile (shared with code signatures): codeSigning listed, not a CA, not a device.
  const problem = codeSignerProblem(cert);
  if (problem) throw new CustodyError(codes.eku, `${codes.what}: the signer is not a code signer: ${problem.reason}`);
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
  // The certificates field is not signed, and a release is named by its DER's hash: carried certificates beyond
  // the path (a CA twice, the root, another order) would give one signed release a second name that no
  // withdrawal list holds. So the carried chain is exactly the path's CAs below the root, signer's issuer first
  // (what a signer writes); a device that trusts a CA below the root finds that CA carried as the path's last.
  const validated = report.chain ?? [];
  const path = validated.slice(1, validated.at(-1)?.selfIssued === false ? undefined : -1);
  const carried = envelope.chain ?? [];
  if (carried.length !== path.length || carried.some((c, i) => !equalBytes(c, path[i]!.der)))
    throw new CustodyError(
      codes.malformed,
      `${codes.what}: carries ${carried.length} CA certificates that are not exactly its signer's path below the root (${path.length}, issuer first); another set would be another name for one signed document`,
    );
  return cert;
}
