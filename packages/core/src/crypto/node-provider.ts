/**
 * The default provider: node:crypto KeyObjects, the fast path (about 38,000 P-256 signatures a second per core
 * here, against about 6% of that through @peculiar/webcrypto, which re-imports the key on every call).
 * This is the only file in core that imports a Node module.
 */
import * as nodeCrypto from 'node:crypto';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes as nodeRandomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { CustodyError } from '../errors.js';
import type { CryptoProvider, CurveName, HashName, KeyPair, PrivateKeyHandle, PublicKeyHandle, SignatureHashName, SyncCrypto } from './provider.js';
import { curveHash, isExternalPrivateKey } from './provider.js';
import { toLowS } from './ecdsa-signature.js';

const NODE_CURVE: Record<string, CurveName> = { prime256v1: 'P-256', secp384r1: 'P-384' };
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array | string, enc: 'binary' | 'hex') => string }).hash;

/**
 * A digest with node:crypto's one-shot hash where it exists (Node 20.12+), which skips the Hash object of
 * createHash. It is taken as a Latin-1 ('binary') string and copied into Node's Buffer pool: a 'buffer' result gets a
 * backing store of its own, which measured here about 0.8 us more a digest than the string and the copy.
 */
export function nodeDigest(alg: string, data: Uint8Array | string): Buffer {
  return oneShotHash ? Buffer.from(oneShotHash(alg, data, 'binary'), 'latin1') : createHash(alg).update(data).digest();
}

/** SHA-256 of `data` (see nodeDigest): the store's hot paths hash record bytes and log leaves with it. */
export function nodeSha256(data: Uint8Array): Buffer {
  return nodeDigest('sha256', data);
}

const NODE_HASH: Record<SignatureHashName, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

/**
 * DER SubjectPublicKeyInfo headers up to the BIT STRING's content (unused-bits byte included):
 * SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING }.
 */
const SPKI_PREFIX: ReadonlyArray<[CurveName, Uint8Array]> = [
  ['P-256', Uint8Array.from(Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'))],
  ['P-384', Uint8Array.from(Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'))],
];

/** The uncompressed point of a P-256/P-384 SPKI, when it has that exact shape; else undefined. */
function ecPoint(spki: Uint8Array): { curve: CurveName; bytes: Uint8Array } | undefined {
  for (const [curve, prefix] of SPKI_PREFIX) {
    if (spki.length === prefix.length + (curve === 'P-256' ? 65 : 97) && prefix.every((b, i) => spki[i] === b) && spki[prefix.length] === 0x04) {
      return { curve, bytes: spki.subarray(prefix.length) };
    }
  }
  return undefined;
}

class NodePrivateKey implements PrivateKeyHandle {
  constructor(
    readonly key: KeyObject,
    readonly curve: CurveName,
    readonly spki: Uint8Array,
  ) {}
}

class NodePublicKey implements PublicKeyHandle {
  constructor(
    readonly key: KeyObject,
    readonly curve: CurveName,
    readonly spki: Uint8Array,
  ) {}
}

function curveOf(key: KeyObject): CurveName {
  const c = key.asymmetricKeyType === 'ec' ? NODE_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (!c) throw new CustodyError('ERR_KEY_ALGORITHM', 'key is not an EC key on P-256 or P-384');
  return c;
}

/** Wraps an existing node:crypto private KeyObject (for keys decrypted from PKCS#8 PEM by the store). */
export function nodePrivateKeyHandle(key: KeyObject): PrivateKeyHandle {
  const curve = curveOf(key);
  return new NodePrivateKey(key, curve, spkiOf(createPublicKey(key)));
}

/**
 * DER SPKI of an EC public key. Exported as DER, not rebuilt from a JWK export: on Node 20.20 a JWK export
 * right after generateKeyPairSync can deadlock (the export holds a lock that the garbage collector takes
 * again when it destroys the finished key-generation job), seen as a provisioning run hung at 0% CPU.
 */
function spkiOf(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
}

/** The node:crypto KeyObject behind a handle made by this provider. */
export function nodeKeyObject(handle: PrivateKeyHandle | PublicKeyHandle): KeyObject {
  if (handle instanceof NodePrivateKey || handle instanceof NodePublicKey) return handle.key;
  throw new TypeError('key handle does not come from the node provider');
}

export class NodeCryptoProvider implements CryptoProvider, SyncCrypto {
  readonly name = 'node';
  /** node:crypto is synchronous underneath: the provider is its own synchronous capability. */
  readonly sync: SyncCrypto = this;

  async generateKeyPair(curve: CurveName): Promise<KeyPair> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve === 'P-256' ? 'prime256v1' : 'secp384r1' });
    const spki = spkiOf(publicKey);
    return { privateKey: new NodePrivateKey(privateKey, curve, spki), publicKey: new NodePublicKey(publicKey, curve, spki) };
  }

  async importPrivateKey(pkcs8: Uint8Array): Promise<PrivateKeyHandle> {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    } catch (e) {
      throw new CustodyError('ERR_KEY_PARSE', 'not a PKCS#8 private key', { cause: e });
    }
    return nodePrivateKeyHandle(key);
  }

  async exportPrivateKey(key: PrivateKeyHandle): Promise<Uint8Array> {
    return new Uint8Array(nodeKeyObject(key).export({ format: 'der', type: 'pkcs8' }));
  }

  async importPublicKey(spki: Uint8Array): Promise<PublicKeyHandle> {
    return this.importPublicKeySync(spki);
  }

  /**
   * Synchronous import, for hot loops that already run on this provider. Uncompressed EC points go in as a
   * JWK: OpenSSL 3's DER decoder takes about twice as long as building the key from its coordinates, and a
   * factory line imports one key per device.
   */
  importPublicKeySync(spki: Uint8Array): PublicKeyHandle {
    const point = ecPoint(spki);
    let key: KeyObject;
    try {
      if (point) {
        const w = point.curve === 'P-256' ? 32 : 48;
        const b = Buffer.from(point.bytes.buffer, point.bytes.byteOffset, point.bytes.byteLength);
        key = createPublicKey({ key: { kty: 'EC', crv: point.curve, x: b.toString('base64url', 1, 1 + w), y: b.toString('base64url', 1 + w) }, format: 'jwk' });
        return new NodePublicKey(key, point.curve, spki);
      }
      key = createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: 'der', type: 'spki' });
    } catch (e) {
      throw new CustodyError('ERR_KEY_PARSE', 'not a valid SubjectPublicKeyInfo', { cause: e });
    }
    return new NodePublicKey(key, curveOf(key), spki);
  }

  async sign(key: PrivateKeyHandle, data: Uint8Array): Promise<Uint8Array> {
    return this.signSync(key, data);
  }

  /**
   * Synchronous signing: the batch issuer calls this directly to stay near the native rate. Low-S only
   * (`toLowS`): OpenSSL returns either twin of a signature.
   */
  signSync(key: PrivateKeyHandle, data: Uint8Array): Uint8Array {
    // A key in a token signs there; the instanceof test keeps the file key's path at its old cost.
    if (!(key instanceof NodePrivateKey) && isExternalPrivateKey(key)) return key.signSync(data);
    const sig = nodeSign(NODE_HASH[curveHash(key.curve)], data, { key: nodeKeyObject(key), dsaEncoding: 'ieee-p1363' });
    return toLowS(new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength), key.curve);
  }

  async verify(key: PublicKeyHandle, data: Uint8Array, signature: Uint8Array, hash?: SignatureHashName): Promise<boolean> {
    return this.verifySync(key, data, signature, hash);
  }

  verifySync(key: PublicKeyHandle, data: Uint8Array, signature: Uint8Array, hash?: SignatureHashName): boolean {
    try {
      return nodeVerify(NODE_HASH[hash ?? curveHash(key.curve)], data, { key: nodeKeyObject(key), dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      return false;
    }
  }

  async digest(hash: HashName, data: Uint8Array): Promise<Uint8Array> {
    return this.digestSync(hash, data);
  }

  digestSync(hash: HashName, data: Uint8Array): Uint8Array {
    const d = nodeDigest(NODE_HASH[hash], data);
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }

  /**
   * Lower-case hex of a digest in one native call: the verifier names certificates and attestations by hex
   * SHA-256, and building that string in JavaScript allocated more than the digest itself.
   */
  digestHexSync(hash: HashName, data: Uint8Array): string {
    return oneShotHash ? oneShotHash(NODE_HASH[hash], data, 'hex') : createHash(NODE_HASH[hash]).update(data).digest('hex');
  }

  randomBytes(n: number): Uint8Array {
    const b = nodeRandomBytes(n);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
}
