/**
 * A test-only SignatureVerifier over node:crypto that widens the core's ECDSA verifier to the algorithms the
 * x509-limbo suite and real web chains use: ECDSA (SHA-256/384/512 on P-256/P-384), RSA PKCS#1 v1.5 (SHA-256/384/512,
 * keys of at least 2048 bits) and Ed25519. ECDSA signatures go through the core's strict DER decoder first.
 */
import { createPublicKey, verify } from 'node:crypto';
import { CustodyError } from '../../src/errors.js';
import { ecdsaDERToP1363 } from '../../src/crypto/ecdsa-signature.js';
import type { SignatureVerifier } from '../../src/validation/signature.js';

const ECDSA: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
const RSA: Record<string, string> = {
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const CURVES: Record<string, 'P-256' | 'P-384'> = { prime256v1: 'P-256', secp384r1: 'P-384' };

function unsupported(what: string): CustodyError {
  return new CustodyError('ERR_CHAIN_ALGORITHM', what);
}

/** The node:crypto verifier described above. */
export function createNodeVerifier(): SignatureVerifier {
  return async ({ spki, algorithm, data, signature }) => {
    let key;
    try {
      key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    } catch (e) {
      throw unsupported(`issuer key does not import: ${(e as Error).message}`);
    }
    const type = key.asymmetricKeyType;
    if (ECDSA[algorithm.oid]) {
      if (algorithm.params) throw unsupported('ECDSA parameters must be absent');
      const curve = type === 'ec' ? CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
      if (!curve) throw unsupported(`ECDSA with a ${type} key on ${key.asymmetricKeyDetails?.namedCurve ?? '?'} is not supported`);
      const p1363 = ecdsaDERToP1363(signature, curve);
      return verify(ECDSA[algorithm.oid]!, data, { key, dsaEncoding: 'ieee-p1363' }, p1363);
    }
    if (RSA[algorithm.oid]) {
      if (algorithm.params && !(algorithm.params.length === 2 && algorithm.params[0] === 5 && algorithm.params[1] === 0))
        throw unsupported('RSA parameters must be NULL');
      if (type !== 'rsa') throw unsupported(`RSA signature with a ${type} key`);
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048 || bits % 8 !== 0) throw unsupported(`RSA modulus of ${bits} bits (at least 2048, whole bytes)`);
      return verify(RSA[algorithm.oid]!, data, key, signature);
    }
    if (algorithm.oid === '1.3.101.112') {
      if (algorithm.params) throw unsupported('Ed25519 parameters must be absent');
      if (type !== 'ed25519') throw unsupported(`Ed25519 signature with a ${type} key`);
      return verify(null, data, key, signature);
    }
    throw unsupported(`signature algorithm ${algorithm.oid} is not supported`);
  };
}
