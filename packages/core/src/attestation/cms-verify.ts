/**
 * Checking a parsed SignedData's integrity: the message digest against the content, the signer key against the
 * key the content names, and the signature. The structure is described in `cms.ts`.
 */
import type { CryptoProvider, PublicKeyHandle } from '../crypto/provider.js';
import { CustodyError } from '../errors.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { syncOf } from './cms-common.js';
import type { ParsedAttestation, SignedEnvelope } from './cms-parse.js';

function malformed(what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_ATTESTATION_MALFORMED', `attestation: ${what}`, cause === undefined ? {} : { cause });
}

function signatureError(msg: string): CustodyError {
  return new CustodyError('ERR_ATTESTATION_SIGNATURE', `attestation: ${msg}`);
}

/**
 * Checks a parsed attestation's own integrity: the message digest against the content, the statement's `from`
 * against the signer certificate's key, and the signature over the signed attributes with that key.
 * Whether the signer certificate is trusted (its chain, its validity, its role) is the caller's check.
 * @throws ERR_ATTESTATION_SIGNATURE when the digest or the signature does not verify; ERR_ATTESTATION_SIGNER when
 *   `from` is not the signer's key; ERR_ATTESTATION_MALFORMED when the provider refuses the signer's key
 */
export async function verifyAttestationSignature(parsed: ParsedAttestation, provider: CryptoProvider): Promise<void> {
  await verifyEnvelopeSignature(parsed, provider, parsed.statement.predicate.from);
}

/**
 * Checks a parsed envelope's integrity: the message digest against the content, the signer certificate's key
 * against `signerSpkiSha256` (the key the signed content names), and the signature with that key.
 * @throws as `verifyAttestationSignature`
 */
export async function verifyEnvelopeSignature(parsed: SignedEnvelope, provider: CryptoProvider, signerSpkiSha256: string): Promise<void> {
  const sync = syncOf(provider);
  const digest = sync ? sync.digestSync(parsed.hash, parsed.statementBytes) : await provider.digest(parsed.hash, parsed.statementBytes);
  if (!equalBytes(digest, parsed.messageDigest)) throw signatureError('message-digest does not match the content');
  const spkiHash = toHex(sync ? sync.digestSync('SHA-256', parsed.signerSpki) : await provider.digest('SHA-256', parsed.signerSpki));
  if (spkiHash !== signerSpkiSha256) {
    throw new CustodyError('ERR_ATTESTATION_SIGNER', `attestation: statement "from" is ${signerSpkiSha256}, but the signer's key is ${spkiHash}`);
  }
  let key: PublicKeyHandle;
  try {
    key = sync ? sync.importPublicKeySync(parsed.signerSpki) : await provider.importPublicKey(parsed.signerSpki);
  } catch (e) {
    throw malformed('the signer certificate key cannot be imported', e);
  }
  const ok = sync ? sync.verifySync(key, parsed.signedAttrs, parsed.signatureP1363) : await provider.verify(key, parsed.signedAttrs, parsed.signatureP1363);
  if (!ok) throw signatureError('the signature does not verify with the signer certificate key');
}
