/**
 * The one seam between custody and a cryptographic implementation. Core never imports node:crypto outside
 * `node-provider.ts`, so the same verifier can run wherever a provider exists (node:crypto, WebCrypto, an HSM).
 *
 * Signatures cross this interface in IEEE P1363 form (r || s, fixed width); core converts to and from the
 * DER form used in X.509 and CMS with its own strict codec (`ecdsa-signature.ts`), so every provider gets the
 * same strictness.
 */
export type CurveName = 'P-256' | 'P-384';
export type HashName = 'SHA-256' | 'SHA-384';
/** The hashes an ECDSA signature may be checked with (RFC 5758 3.2 pairs any of them with P-256 or P-384). */
export type SignatureHashName = HashName | 'SHA-512';

/** An opaque handle on a private key held by a provider. */
export interface PrivateKeyHandle {
  readonly curve: CurveName;
  /** DER SubjectPublicKeyInfo of the matching public key. */
  readonly spki: Uint8Array;
}

/**
 * A private key that signs by itself, with no key material a provider could use (a key inside a PKCS#11
 * token): a provider given one calls its `signSync` instead of signing. Synchronous, so that it fits the
 * batch issuer's and the handoff's synchronous paths.
 */
export interface ExternalPrivateKey extends PrivateKeyHandle {
  /** ECDSA over `data` with the curve's hash (`curveHash`): P1363 r || s with s low, as `CryptoProvider.sign`. */
  signSync(data: Uint8Array): Uint8Array;
}

/** Whether a private key handle signs by itself (see `ExternalPrivateKey`). */
export function isExternalPrivateKey(key: PrivateKeyHandle): key is ExternalPrivateKey {
  return typeof (key as Partial<ExternalPrivateKey>).signSync === 'function';
}

/** An opaque handle on a public key imported by a provider. */
export interface PublicKeyHandle {
  readonly curve: CurveName;
  readonly spki: Uint8Array;
}

export interface KeyPair {
  privateKey: PrivateKeyHandle;
  publicKey: PublicKeyHandle;
}

/**
 * The synchronous operations a provider may declare beside its async interface (node:crypto has them). The hot
 * paths (provisioning, handoff, verification) use them to save a promise per operation; a provider without them
 * (WebCrypto, a token through node-webcrypto-p11) takes the async path. Declared as `CryptoProvider.sync`, so that
 * no caller probes a provider for methods.
 */
export interface SyncCrypto {
  signSync(key: PrivateKeyHandle, data: Uint8Array): Uint8Array;
  /** `hash` names another hash than the curve's (a CSR may sign with any RFC 5758 hash). */
  verifySync(key: PublicKeyHandle, data: Uint8Array, signature: Uint8Array, hash?: SignatureHashName): boolean;
  digestSync(hash: HashName, data: Uint8Array): Uint8Array;
  /** Lower-case hex of a digest in one call. */
  digestHexSync(hash: HashName, data: Uint8Array): string;
  importPublicKeySync(spki: Uint8Array): PublicKeyHandle;
}

export interface CryptoProvider {
  readonly name: string;
  /** The provider's synchronous operations, when it has them: the one synchronous capability. */
  readonly sync?: SyncCrypto;
  generateKeyPair(curve: CurveName): Promise<KeyPair>;
  /** Imports an unencrypted PKCS#8 DER private key. */
  importPrivateKey(pkcs8: Uint8Array): Promise<PrivateKeyHandle>;
  /** PKCS#8 DER of a key the provider may export; throws for keys that never leave their token. */
  exportPrivateKey(key: PrivateKeyHandle): Promise<Uint8Array>;
  /** Imports a DER SubjectPublicKeyInfo (EC keys on P-256 or P-384). */
  importPublicKey(spki: Uint8Array): Promise<PublicKeyHandle>;
  /**
   * ECDSA over `data` with the curve's hash (SHA-256 for P-256, SHA-384 for P-384): P1363 r || s, with s in its
   * low form (s <= n/2, `toLowS` in ecdsa-signature.ts): custody refuses high-S attestations.
   */
  sign(key: PrivateKeyHandle, data: Uint8Array): Promise<Uint8Array>;
  /**
   * Checks a P1363 signature; false (not a throw) for a wrong signature. `hash` defaults to the curve's; another
   * one serves the few inputs signed otherwise (a P-384 CSR signed with SHA-256, as openssl makes by default).
   */
  verify(key: PublicKeyHandle, data: Uint8Array, signature: Uint8Array, hash?: SignatureHashName): Promise<boolean>;
  digest(hash: HashName, data: Uint8Array): Promise<Uint8Array>;
  randomBytes(n: number): Uint8Array;
}

/** Field width in bytes of a curve's scalars. */
export function curveBytes(curve: CurveName): number {
  return curve === 'P-256' ? 32 : 48;
}

/** The hash ECDSA uses with a curve here. */
export function curveHash(curve: CurveName): HashName {
  return curve === 'P-256' ? 'SHA-256' : 'SHA-384';
}
