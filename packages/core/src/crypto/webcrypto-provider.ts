/**
 * A provider over any WebCrypto `SubtleCrypto`: the browser's, @peculiar/webcrypto's, or an HSM's through
 * node-webcrypto-p11. Slower than the node provider (keys are re-imported per call by some implementations), so
 * it is for places where node:crypto is not available, never the default.
 */
import { CustodyError } from '../errors.js';
import type { CryptoProvider, CurveName, HashName, KeyPair, PrivateKeyHandle, PublicKeyHandle, SignatureHashName } from './provider.js';
import { curveHash } from './provider.js';
import { toLowS } from './ecdsa-signature.js';

/** The part of the WebCrypto `Crypto` object this provider needs. */
export interface WebCryptoLike {
  subtle: SubtleCrypto;
  getRandomValues<T extends ArrayBufferView | null>(array: T): T;
}

class WebKey implements PrivateKeyHandle, PublicKeyHandle {
  constructor(
    readonly key: CryptoKey,
    readonly curve: CurveName,
    readonly spki: Uint8Array,
  ) {}
}

function asWebKey(h: PrivateKeyHandle | PublicKeyHandle): WebKey {
  if (h instanceof WebKey) return h;
  throw new TypeError('key handle does not come from this WebCrypto provider');
}

const buf = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

export class WebCryptoProvider implements CryptoProvider {
  readonly name: string;

  constructor(
    private readonly crypto: WebCryptoLike,
    name = 'webcrypto',
  ) {
    this.name = name;
  }

  async generateKeyPair(curve: CurveName): Promise<KeyPair> {
    const kp = (await this.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const spki = new Uint8Array(await this.crypto.subtle.exportKey('spki', kp.publicKey));
    return { privateKey: new WebKey(kp.privateKey, curve, spki), publicKey: new WebKey(kp.publicKey, curve, spki) };
  }

  /** Wraps a key the caller already holds (a PKCS#11 key found by URI, for instance) with its public key's SPKI. */
  wrapPrivateKey(key: CryptoKey, curve: CurveName, spki: Uint8Array): PrivateKeyHandle {
    return new WebKey(key, curve, spki);
  }

  async importPrivateKey(pkcs8: Uint8Array): Promise<PrivateKeyHandle> {
    for (const curve of ['P-256', 'P-384'] as const) {
      try {
        const key = await this.crypto.subtle.importKey('pkcs8', buf(pkcs8), { name: 'ECDSA', namedCurve: curve }, true, ['sign']);
        // WebCrypto cannot derive a public key from a private one; a JWK export carries x and y.
        const jwk = await this.crypto.subtle.exportKey('jwk', key);
        delete jwk.d;
        jwk.key_ops = ['verify'];
        const pub = await this.crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: curve }, true, ['verify']);
        const spki = new Uint8Array(await this.crypto.subtle.exportKey('spki', pub));
        return new WebKey(key, curve, spki);
      } catch {
        // try the next curve
      }
    }
    throw new CustodyError('ERR_KEY_PARSE', 'not a PKCS#8 EC private key on P-256 or P-384');
  }

  async exportPrivateKey(key: PrivateKeyHandle): Promise<Uint8Array> {
    return new Uint8Array(await this.crypto.subtle.exportKey('pkcs8', asWebKey(key).key));
  }

  async importPublicKey(spki: Uint8Array): Promise<PublicKeyHandle> {
    for (const curve of ['P-256', 'P-384'] as const) {
      try {
        const key = await this.crypto.subtle.importKey('spki', buf(spki), { name: 'ECDSA', namedCurve: curve }, true, ['verify']);
        return new WebKey(key, curve, spki);
      } catch {
        // try the next curve
      }
    }
    throw new CustodyError('ERR_KEY_PARSE', 'not a valid EC SubjectPublicKeyInfo on P-256 or P-384');
  }

  /** Low-S only (`toLowS`): WebCrypto implementations return either twin of a signature. */
  async sign(key: PrivateKeyHandle, data: Uint8Array): Promise<Uint8Array> {
    const k = asWebKey(key);
    return toLowS(new Uint8Array(await this.crypto.subtle.sign({ name: 'ECDSA', hash: curveHash(k.curve) }, k.key, buf(data))), k.curve);
  }

  async verify(key: PublicKeyHandle, data: Uint8Array, signature: Uint8Array, hash?: SignatureHashName): Promise<boolean> {
    const k = asWebKey(key);
    try {
      return await this.crypto.subtle.verify({ name: 'ECDSA', hash: hash ?? curveHash(k.curve) }, k.key, buf(signature), buf(data));
    } catch {
      return false;
    }
  }

  async digest(hash: HashName, data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await this.crypto.subtle.digest(hash, buf(data)));
  }

  randomBytes(n: number): Uint8Array {
    return this.crypto.getRandomValues(new Uint8Array(n));
  }
}
