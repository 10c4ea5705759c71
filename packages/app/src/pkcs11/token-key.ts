/**
 * A private key held in a PKCS#11 token, usable wherever custody takes a `PrivateKeyHandle`: the node
 * provider hands it the data to sign (`ExternalPrivateKey`), so CA, party and log signing go through the token.
 *
 * Tokens such as SoftHSM offer CKM_ECDSA but not CKM_ECDSA_SHA256, so the digest is computed here and the
 * token signs the digest. The token's answer is raw r || s (PKCS #11 v2.40 2.3.1), which is already the P1363
 * form the provider interface carries; core turns it into DER for X.509 and CMS. A token may return either twin
 * of a signature, and custody's attestations must be low-S, so every signature passes through `toLowS`.
 */
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { CustodyError } from '@custody/core/errors';
import { nodeDigest } from '@custody/core/node';
import { toLowS } from '@custody/core/crypto';
import { curveBytes, type CurveName, type ExternalPrivateKey } from '@custody/core/crypto';
import { bitString, oid, seq } from '@custody/core/asn1';
import { OID } from '@custody/core/asn1';
import { equalBytes } from '@custody/core/util';
import { encodePKCS11URI } from '@custody/core/keys';
import type { TokenKeyProtection } from '@custody/core/ports';
import { ckrName, openTokenSession, pkcs11Error, type Handle, type TokenEnvironment, type TokenSession } from './token-session.js';

/** How a token keeps a key, as read from the token's own attributes (never assumed); recorded in `KeyRef`. */
export type { TokenKeyProtection };

/** True when the token says the key was made inside it and has never been able to leave it in any form. */
export function isNeverExtractable(p: TokenKeyProtection): boolean {
  return p.token && p.local && !p.extractable && p.neverExtractable && p.sensitive && p.alwaysSensitive;
}

export interface OpenTokenKeyOptions extends TokenEnvironment {
  /** The DER SubjectPublicKeyInfo the key must match (its certificate's), checked before the key is returned. */
  expectSpki?: Uint8Array;
}

const CURVES: ReadonlyArray<[CurveName, Uint8Array]> = [
  ['P-256', oid(OID.prime256v1)],
  ['P-384', oid(OID.secp384r1)],
];

/** The DER namedCurve OID a token takes as CKA_EC_PARAMS for a curve (RFC 5480 2.1.1). */
export function ecParams(curve: CurveName): Uint8Array {
  return CURVES.find(([c]) => c === curve)![1];
}

/** The DER SubjectPublicKeyInfo of an uncompressed EC point (RFC 5480 2). */
export function ecSPKI(curve: CurveName, point: Uint8Array): Uint8Array {
  return seq(seq(oid(OID.ecPublicKey), ecParams(curve)), bitString(point));
}

/**
 * The uncompressed point in a CKA_EC_POINT value: a DER OCTET STRING around it (PKCS #11 v2.40 2.3.3), or the
 * bare point, which some modules return.
 */
export function ecPointValue(curve: CurveName, value: Uint8Array): Uint8Array | undefined {
  const n = 1 + 2 * curveBytes(curve);
  if (value.length === n && value[0] === 0x04) return value;
  if (value.length === n + 2 && value[0] === 0x04 && value[1] === n && value[2] === 0x04) return value.subarray(2);
  return undefined;
}

/** A fixed message signed once when a key is opened, to prove the token's key matches the public key. */
const PAIRING_CHECK = new TextEncoder().encode('custody: PKCS#11 key pairing check');

export class TokenPrivateKey implements ExternalPrivateKey {
  readonly #s: TokenSession;
  readonly #handle: Handle;
  readonly #hash: 'sha256' | 'sha384';
  readonly #mechanism: { mechanism: number };
  readonly #width: number;

  /** @internal built by `openTokenKey` */
  constructor(
    s: TokenSession,
    handle: Handle,
    readonly curve: CurveName,
    readonly spki: Uint8Array,
    /** The key's URI without any PIN value, for records and messages. */
    readonly uri: string,
    /** The key's label in messages: `token "factory"`, object "acme-issuing". */
    readonly name: string,
    readonly protection: TokenKeyProtection,
  ) {
    this.#s = s;
    this.#handle = handle;
    this.#hash = curve === 'P-256' ? 'sha256' : 'sha384';
    this.#mechanism = { mechanism: s.pkcs11.CKM_ECDSA };
    this.#width = curveBytes(curve);
  }

  /**
   * ECDSA over `data`: the digest here, the signature in the token, P1363 r || s with s low.
   * @throws ERR_PKCS11_DEVICE when the token fails or answers with something that is not a signature
   */
  signSync(data: Uint8Array): Uint8Array {
    const { lib, session } = this.#s;
    const digest = nodeDigest(this.#hash, data);
    let sig: Buffer;
    try {
      lib.C_SignInit(session, this.#mechanism, this.#handle);
      sig = lib.C_Sign(session, digest, Buffer.allocUnsafe(2 * this.#width));
    } catch (e) {
      throw pkcs11Error('ERR_PKCS11_DEVICE', `${this.name}: the token failed to sign (${ckrName(e)})`, e);
    }
    if (sig.length !== 2 * this.#width)
      throw pkcs11Error('ERR_PKCS11_DEVICE', `${this.name}: the token returned a ${sig.length}-byte signature, not a ${this.curve} r || s`);
    try {
      return toLowS(new Uint8Array(sig.buffer, sig.byteOffset, sig.length), this.curve);
    } catch (e) {
      throw pkcs11Error('ERR_PKCS11_DEVICE', `${this.name}: the token returned a signature whose s is not below the group order`, e);
    }
  }
}

function attribute(s: TokenSession, object: Handle, type: number): Buffer | undefined {
  try {
    return s.lib.C_GetAttributeValue(s.session, object, [{ type }])[0]?.value;
  } catch {
    // CKR_ATTRIBUTE_TYPE_INVALID or _SENSITIVE: absent, for the caller to judge
    return undefined;
  }
}

/** A CK_BBOOL attribute; `absent` when the token does not give it. */
function flag(s: TokenSession, object: Handle, type: number, absent: boolean): boolean {
  const v = attribute(s, object, type);
  return v === undefined || v.length !== 1 ? absent : v[0] !== 0;
}

function findObjects(s: TokenSession, template: { type: number; value?: number | boolean | Buffer }[]): Handle[] {
  const { lib, session } = s;
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, 2);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

/** The label and id a URI gives, as a search template. */
function objectTemplate(s: TokenSession, label: string | undefined, id: Uint8Array | undefined): { type: number; value: Buffer }[] {
  const t: { type: number; value: Buffer }[] = [];
  if (label !== undefined) t.push({ type: s.pkcs11.CKA_LABEL, value: Buffer.from(label, 'utf8') });
  if (id !== undefined) t.push({ type: s.pkcs11.CKA_ID, value: Buffer.from(id) });
  return t;
}

function objectName(s: TokenSession, label: string | undefined, id: Uint8Array | undefined): string {
  const parts = [`token "${s.label}"`];
  if (label !== undefined) parts.push(`object "${label}"`);
  if (id !== undefined) parts.push(`id ${Buffer.from(id).toString('hex') || '(empty)'}`);
  return parts.join(', ');
}

function curveOf(s: TokenSession, object: Handle, name: string): CurveName {
  const params = attribute(s, object, s.pkcs11.CKA_EC_PARAMS);
  const keyType = attribute(s, object, s.pkcs11.CKA_KEY_TYPE);
  const isEC = keyType !== undefined && keyType.length >= 4 && keyType.readUInt32LE(0) === s.pkcs11.CKK_EC && keyType.subarray(4).every((b) => b === 0);
  const curve = isEC && params ? CURVES.find(([, der]) => equalBytes(der, params))?.[0] : undefined;
  if (!curve) throw new CustodyError('ERR_KEY_ALGORITHM', `${name}: not an EC key on P-256 or P-384`);
  return curve;
}

/** The public key: the public key object beside the private one (same id, else same label), else the expected one. */
function publicKeyOf(
  s: TokenSession,
  name: string,
  curve: CurveName,
  id: Buffer | undefined,
  label: Buffer | undefined,
  expectSpki: Uint8Array | undefined,
): Uint8Array {
  const { pkcs11 } = s;
  const by =
    id !== undefined && id.length > 0
      ? { type: pkcs11.CKA_ID, value: id }
      : label !== undefined && label.length > 0
        ? { type: pkcs11.CKA_LABEL, value: label }
        : undefined;
  const found = by ? findObjects(s, [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY }, by]) : [];
  if (found.length === 1) {
    const value = attribute(s, found[0]!, pkcs11.CKA_EC_POINT);
    const point = value && ecPointValue(curve, value);
    if (!point) throw pkcs11Error('ERR_PKCS11_OBJECT', `${name}: the public key object's CKA_EC_POINT is not a ${curve} point`);
    const spki = ecSPKI(curve, point);
    if (expectSpki && !equalBytes(spki, expectSpki))
      throw pkcs11Error('ERR_PKCS11_KEY_MISMATCH', `${name}: the key in the token is not the key of the certificate given with it`);
    return spki;
  }
  if (expectSpki) return expectSpki;
  throw pkcs11Error(
    'ERR_PKCS11_OBJECT',
    `${name}: ${found.length === 0 ? 'no' : 'more than one'} public key object beside the private key (same id or label); give the key's certificate`,
  );
}

/** Whether the token's signature over the check message verifies under `spki`. */
function provesPairing(key: TokenPrivateKey): boolean {
  const sig = key.signSync(PAIRING_CHECK);
  const publicKey = createPublicKey({ key: Buffer.from(key.spki), format: 'der', type: 'spki' });
  return nodeVerify(key.curve === 'P-256' ? 'sha256' : 'sha384', PAIRING_CHECK, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
}

/** Session copies made of token keys, per session (a session's objects end with it). */
const copies = new WeakMap<Handle, Map<string, Handle>>();

/**
 * The handle to sign with: a session copy of the token key, made inside the token, or the token object itself.
 *
 * SoftHSM's file object store takes fcntl locks and re-reads a token object's file on every C_SignInit (about
 * 2 opens, 2 reads and 6 fcntl calls a signature; 86 against 54 us of CPU a signature measured here). A session
 * object (C_CopyObject with CKA_TOKEN false) lives in the token's memory instead. PKCS #11 lets a copy only
 * tighten CKA_SENSITIVE and CKA_EXTRACTABLE, and the copy is checked to say so; it never leaves the token and
 * ends with the session. A token that refuses to copy (CKA_COPYABLE false, no C_CopyObject) signs with the
 * token object.
 */
function signingHandle(s: TokenSession, handle: Handle, p: TokenKeyProtection): Handle {
  const { lib, session, pkcs11 } = s;
  let made = copies.get(session);
  if (!made) copies.set(session, (made = new Map()));
  const known = made.get(handle.toString('hex'));
  if (known) return known;
  let copy: Handle;
  try {
    copy = lib.C_CopyObject(session, handle, [{ type: pkcs11.CKA_TOKEN, value: false }]);
  } catch {
    return handle;
  }
  const keeps =
    flag(s, copy, pkcs11.CKA_TOKEN, true) === false &&
    flag(s, copy, pkcs11.CKA_SENSITIVE, false) === p.sensitive &&
    flag(s, copy, pkcs11.CKA_EXTRACTABLE, true) === p.extractable;
  if (!keeps) {
    try {
      lib.C_DestroyObject(session, copy);
    } catch {
      // a session object goes with its session anyway
    }
    return handle;
  }
  made.set(handle.toString('hex'), copy);
  return copy;
}

/**
 * Opens the private key a `pkcs11:` URI names (its token, then `object=` and/or `id=`), logged in with the PIN
 * from `pin-source=file:` or CUSTODY_PKCS11_PIN, and proves with one signature that it matches its public key.
 * @throws ERR_PKCS11_URI (malformed, names no private key), ERR_PKCS11_MODULE, ERR_PKCS11_TOKEN, ERR_PKCS11_PIN
 *   (see `openTokenSession`), ERR_PKCS11_OBJECT (no such key, several, no public key), ERR_KEY_ALGORITHM (not
 *   EC P-256/P-384), ERR_PKCS11_KEY_MISMATCH (not the certificate's key, or signatures that do not verify),
 *   ERR_PKCS11_DEVICE (the token failed)
 */
export function openTokenKey(uriText: string, o: OpenTokenKeyOptions): TokenPrivateKey {
  const s = openTokenSession(uriText, o);
  const { uri, pkcs11 } = s;
  if (uri.type !== undefined && uri.type !== 'private') throw pkcs11Error('ERR_PKCS11_URI', `PKCS#11 URI: type=${uri.type} names no private key`);
  if (uri.object === undefined && uri.id === undefined) throw pkcs11Error('ERR_PKCS11_URI', 'PKCS#11 URI: names no key (give object=LABEL or id=%..)');
  const vendor = uri.vendor[0];
  if (vendor) throw pkcs11Error('ERR_PKCS11_URI', `PKCS#11 URI: vendor attribute "${vendor.name}" is not understood here`);
  const name = objectName(s, uri.object, uri.id);
  let found: Handle[];
  try {
    // Token objects only: a URI names a key that outlives the session, not this process's session copy of it.
    found = findObjects(s, [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
      { type: pkcs11.CKA_TOKEN, value: true },
      ...objectTemplate(s, uri.object, uri.id),
    ]);
  } catch (e) {
    throw pkcs11Error('ERR_PKCS11_DEVICE', `${name}: searching the token failed (${ckrName(e)})`, e);
  }
  if (found.length === 0) throw pkcs11Error('ERR_PKCS11_OBJECT', `${name}: no such private key in the token`);
  if (found.length > 1) throw pkcs11Error('ERR_PKCS11_OBJECT', `${name}: more than one private key matches; add id=... to choose one`);
  const handle = found[0]!;
  const curve = curveOf(s, handle, name);
  if (!flag(s, handle, pkcs11.CKA_SIGN, false)) throw pkcs11Error('ERR_PKCS11_OBJECT', `${name}: the key may not sign (CKA_SIGN is false)`);
  // A key that wants its PIN again before every signature cannot sign at a factory line's rate.
  if (flag(s, handle, pkcs11.CKA_ALWAYS_AUTHENTICATE, false))
    throw pkcs11Error(
      'ERR_PKCS11_OBJECT',
      `${name}: the key asks for the PIN before every signature (CKA_ALWAYS_AUTHENTICATE), which custody does not support`,
    );
  const id = attribute(s, handle, pkcs11.CKA_ID);
  const label = attribute(s, handle, pkcs11.CKA_LABEL);
  const spki = publicKeyOf(s, name, curve, id, label, o.expectSpki);
  // Unknown attributes are read as the weaker answer: a token that does not say a key is sensitive is not
  // reported as keeping it so.
  const protection: TokenKeyProtection = {
    token: flag(s, handle, pkcs11.CKA_TOKEN, false),
    hardwareSlot: s.hardwareSlot,
    local: flag(s, handle, pkcs11.CKA_LOCAL, false),
    extractable: flag(s, handle, pkcs11.CKA_EXTRACTABLE, true),
    neverExtractable: flag(s, handle, pkcs11.CKA_NEVER_EXTRACTABLE, false),
    sensitive: flag(s, handle, pkcs11.CKA_SENSITIVE, false),
    alwaysSensitive: flag(s, handle, pkcs11.CKA_ALWAYS_SENSITIVE, false),
  };
  const recorded = encodePKCS11URI({ ...uri, vendor: [] });
  const key = new TokenPrivateKey(s, signingHandle(s, handle, protection), curve, spki, recorded, name, protection);
  if (!provesPairing(key)) throw pkcs11Error('ERR_PKCS11_KEY_MISMATCH', `${name}: the token's signature does not verify under the key's public key`);
  return key;
}
