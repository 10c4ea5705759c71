/**
 * The malleability attack on an attestation, for tests: (r, s) -> (r, n - s), the twin signature that verifies
 * with the same key over the same bytes. Made independently of the code under test (BigInt arithmetic, the TLV
 * readers), so that a slip in `toLowS` cannot hide here.
 */
import { children, explicit, octetString, readOne, seq, tlv } from '../../src/asn1/der.js';
import { ecdsaDERToP1363, ecdsaP1363ToDER } from '../../src/crypto/ecdsa-signature.js';
import type { CurveName } from '../../src/crypto/provider.js';

/** The group orders (FIPS 186-4 D.1.2.3, D.1.2.4). */
export const ORDER: Record<CurveName, bigint> = {
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  'P-384': 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
};

const width = (curve: CurveName): number => (curve === 'P-256' ? 32 : 48);

/** A big-endian unsigned value at a curve's width. */
export function scalar(v: bigint, curve: CurveName): Uint8Array {
  return Uint8Array.from(Buffer.from(v.toString(16).padStart(2 * width(curve), '0'), 'hex'));
}

/** The s of a P1363 signature. */
export function sOf(p1363: Uint8Array, curve: CurveName): bigint {
  return BigInt(`0x${Buffer.from(p1363.subarray(width(curve))).toString('hex')}`);
}

/** The P1363 twin: r || (n - s). */
export function twinP1363(p1363: Uint8Array, curve: CurveName): Uint8Array {
  const out = p1363.slice();
  out.set(scalar(ORDER[curve] - sOf(p1363, curve), curve), width(curve));
  return out;
}

/** The twin of a DER Ecdsa-Sig-Value (a bundle's compact `signature`). */
export function twinSignatureDER(sig: Uint8Array, curve: CurveName = 'P-256'): Uint8Array {
  return ecdsaP1363ToDER(twinP1363(ecdsaDERToP1363(sig, curve), curve));
}

/** The SignerInfo's signature of an attestation (DER Ecdsa-Sig-Value). */
export function signatureOf(der: Uint8Array): Uint8Array {
  const [, wrap] = children(readOne(der).value);
  const sd = children(readOne(wrap!.value).value);
  const si = children(children(sd.at(-1)!.value)[0]!.value);
  return si.at(-1)!.value;
}

/** The attestation with its signature replaced by `sig` (DER Ecdsa-Sig-Value), every length rewritten. */
export function withSignature(der: Uint8Array, sig: Uint8Array): Uint8Array {
  const [ct, wrap] = children(readOne(der).value);
  const sd = children(readOne(wrap!.value).value);
  const si = children(children(sd.at(-1)!.value)[0]!.value);
  const signerInfo = seq(...si.slice(0, -1).map((t) => t.raw), octetString(sig));
  return seq(ct!.raw, explicit(0, seq(...sd.slice(0, -1).map((t) => t.raw), tlv(0x31, signerInfo))));
}

/** The high-S twin of an attestation signed low-S: same statement, same signer, another hash. */
export function highSTwin(der: Uint8Array, curve: CurveName = 'P-256'): Uint8Array {
  return withSignature(der, twinSignatureDER(signatureOf(der), curve));
}
