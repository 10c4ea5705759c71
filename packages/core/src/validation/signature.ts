/**
 * Signature checks for path validation sit behind one small function type, so that a caller can widen the
 * algorithms (RSA, Ed25519 through node:crypto in tests) without the core importing anything platform-specific.
 * The default verifier runs over the project's CryptoProvider: ECDSA P-256/SHA-256 and P-384/SHA-384.
 */
import { CustodyError } from '../errors.js';
import { OID } from '../asn1/oids.js';
import { equalBytes, toHex } from '../util/bytes.js';
import { ecdsaDERToP1363 } from '../crypto/ecdsa-signature.js';
import type { CryptoProvider, PublicKeyHandle } from '../crypto/provider.js';
import type { AlgorithmIdentifier } from './certificate.js';

/** What a verifier checks: `signature` by the key in `spki` over `data` with `algorithm`. */
export interface SignatureInput {
  readonly spki: Uint8Array;
  readonly algorithm: AlgorithmIdentifier;
  readonly data: Uint8Array;
  /** The signature as carried in X.509 (DER Ecdsa-Sig-Value for ECDSA). */
  readonly signature: Uint8Array;
}

/**
 * Checks one signature: resolves true or false; rejects with a CustodyError (ERR_CHAIN_ALGORITHM for an
 * unsupported or malformed algorithm or key, ERR_SIGNATURE_ENCODING for a non-DER signature) when it cannot judge.
 */
export type SignatureVerifier = (input: SignatureInput) => Promise<boolean>;

const MAX_KEYS = 256;

/**
 * The default verifier over a CryptoProvider: ECDSA with SHA-256 on P-256 and SHA-384 on P-384 (the pairs the
 * provider implements), strict DER signatures, absent algorithm parameters (RFC 5758 3.2). Imported keys are cached
 * by SPKI (bounded).
 * @throws CustodyError ERR_CHAIN_ALGORITHM (through the returned promise) for other algorithms or keys.
 */
export function createProviderVerifier(provider: CryptoProvider): SignatureVerifier {
  const keys = new Map<string, Promise<PublicKeyHandle>>();
  // The key used last, by a copy of its bytes: a pallet's device certificates share one issuing CA, and comparing
  // its SPKI costs less than writing it in hex for the map. The same entry the map holds for those bytes.
  let last: { spki: Uint8Array; key: Promise<PublicKeyHandle> } | undefined;
  const keyFor = (spki: Uint8Array): Promise<PublicKeyHandle> => {
    if (last && equalBytes(last.spki, spki)) return last.key;
    const k = toHex(spki);
    let hit = keys.get(k);
    if (!hit) {
      if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
      const key = provider.importPublicKey(spki);
      hit = key;
      keys.set(k, key);
      key.catch(() => {
        keys.delete(k);
        if (last?.key === key) last = undefined;
      });
    }
    last = { spki: spki.slice(), key: hit };
    return hit;
  };
  return async ({ spki, algorithm, data, signature }) => {
    const wanted = algorithm.oid === OID.ecdsaWithSHA256 ? 'P-256' : algorithm.oid === OID.ecdsaWithSHA384 ? 'P-384' : undefined;
    if (!wanted) throw new CustodyError('ERR_CHAIN_ALGORITHM', `unsupported signature algorithm ${algorithm.oid}`);
    if (algorithm.params) throw new CustodyError('ERR_CHAIN_ALGORITHM', 'ECDSA AlgorithmIdentifier must not carry parameters');
    let key: PublicKeyHandle;
    try {
      key = await keyFor(spki);
    } catch (e) {
      throw new CustodyError('ERR_CHAIN_ALGORITHM', `issuer key not usable: ${(e as Error).message}`, { cause: e });
    }
    if (key.curve !== wanted) throw new CustodyError('ERR_CHAIN_ALGORITHM', `${algorithm.oid} with a ${key.curve} key is not supported`);
    return provider.verify(key, data, ecdsaDERToP1363(signature, key.curve));
  };
}
