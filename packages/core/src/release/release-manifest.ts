/**
 * Release manifests: a CMS SignedData (the attestations' envelope, `attestation/cms.ts`) whose content is a
 * release statement (`release-statement.ts`), signed by a firmware signer (codeSigning EKU) with its CA chain
 * carried after its certificate, so that a device needs only the manufacturer's root. `openssl cms -verify
 * -purpose any` accepts it. A release is named by the SHA-256 of its manifest DER: withdrawal lists and the next
 * release's `previous` use that name.
 */
import type { AttestationSigner } from '../attestation/cms-sign.js';
import { signEncodedStatement } from '../attestation/cms-sign.js';
import type { SignedEnvelope } from '../attestation/cms-parse.js';
import { CustodyError } from '../errors.js';
import type { ParsedCertificate } from '../validation/certificate.js';
import { toHex } from '../util/bytes.js';
import { checkCodeSigner, openSignedDocument, type DocumentCodes, type ReleaseTrust } from './code-signer.js';
import { encodeReleaseStatement, parseReleaseStatement, type ReleaseStatement } from './release-statement.js';

/** Largest release manifest read: a statement, a signer certificate and a short chain fit in a few KB. */
export const MAX_RELEASE_MANIFEST_BYTES = 64 * 1024;

const CODES: DocumentCodes = {
  what: 'release manifest',
  malformed: 'ERR_RELEASE_MALFORMED',
  highS: 'ERR_RELEASE_HIGH_S',
  signature: 'ERR_RELEASE_SIGNATURE',
  signer: 'ERR_RELEASE_SIGNER',
  eku: 'ERR_RELEASE_SIGNER_EKU',
  chain: 'ERR_RELEASE_SIGNER_CHAIN',
};

/** A release manifest taken apart, not yet trusted: `verifyReleaseManifest` says whether to trust it. */
export interface ParsedRelease {
  readonly envelope: SignedEnvelope;
  readonly statement: ReleaseStatement;
}

/** A release manifest whose signature and signer were checked. */
export interface VerifiedRelease extends ParsedRelease {
  /** Lower-case hex SHA-256 of the manifest DER: the release's name. */
  readonly hash: string;
  readonly signer: ParsedCertificate;
}

/**
 * Signs a release statement into a manifest (DER ContentInfo). Build the signer with `createAttestationSigner`
 * from the firmware signer's certificate, key and `chain` (its CAs, no root).
 * @throws ERR_RELEASE_MALFORMED for a malformed statement; ERR_RELEASE_SIGNER when the statement's `signer` is not
 *   this signer's key
 */
export async function signReleaseManifest(signer: AttestationSigner, statement: ReleaseStatement, signingTime: Date): Promise<Uint8Array> {
  const content = encodeReleaseStatement(statement);
  if (statement.predicate.signer !== signer.spkiSha256)
    throw new CustodyError('ERR_RELEASE_SIGNER', `release manifest: "signer" is ${statement.predicate.signer}, but the signing key is ${signer.spkiSha256}`);
  return signEncodedStatement(signer, content, signingTime);
}

/**
 * Strict parse of a release manifest: the envelope (low-S signature, signer first, at most four CA certificates)
 * and the statement. Checks no signature: `verifyReleaseManifest` does.
 * @throws ERR_RELEASE_MALFORMED naming what is wrong; ERR_RELEASE_HIGH_S
 */
export function parseReleaseManifest(der: Uint8Array): ParsedRelease {
  const envelope = openSignedDocument(der, MAX_RELEASE_MANIFEST_BYTES, CODES);
  return { envelope, statement: parseReleaseStatement(envelope.statementBytes) };
}

/**
 * Parses a release manifest and checks what makes it trusted: the signature over the statement, the statement's
 * `signer` against the signing key, the codeSigning EKU, and the signer's path to a trusted root at `at`. The
 * device's own rules (image, model, expiry, counter, withdrawals) are `checkUpdate`'s.
 * @throws as `parseReleaseManifest`; ERR_RELEASE_SIGNATURE, ERR_RELEASE_SIGNER, ERR_RELEASE_SIGNER_EKU,
 *   ERR_RELEASE_SIGNER_CHAIN
 */
export async function verifyReleaseManifest(der: Uint8Array, trust: ReleaseTrust, at: Date): Promise<VerifiedRelease> {
  const parsed = parseReleaseManifest(der);
  const signer = await checkCodeSigner(parsed.envelope, parsed.statement.predicate.signer, trust, at, CODES);
  const sync = trust.provider.sync;
  const hash = sync ? sync.digestHexSync('SHA-256', der) : toHex(await trust.provider.digest('SHA-256', der));
  return { ...parsed, hash, signer };
}
