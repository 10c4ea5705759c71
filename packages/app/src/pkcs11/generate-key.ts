/**
 * Key generation inside a PKCS#11 token: an EC key pair whose private half is a sensitive, non-extractable
 * token object that may only sign. What the token then says about the key is read back (`openTokenKey`), not
 * assumed from the template: a token may ignore or override attributes it was asked for.
 */
import { randomBytes } from 'node:crypto';
import type { CurveName } from '@custody/core/crypto';
import { encodePKCS11URI, parsePKCS11URI } from '@custody/core/keys';
import { ckrName, openTokenSession, pkcs11Error, type Handle, type TokenEnvironment, type TokenSession } from './token-session.js';
import { ecParams, openTokenKey, type TokenPrivateKey } from './token-key.js';

export interface GenerateTokenKeyOptions extends TokenEnvironment {
  curve: CurveName;
}

export interface GeneratedTokenKey {
  /** The key's URI to record: token label and serial, object, id, type, and the module and PIN source given. */
  uri: string;
  key: TokenPrivateKey;
}

function findAny(s: TokenSession, type: number, value: Buffer): Handle[] {
  s.lib.C_FindObjectsInit(s.session, [{ type, value }]);
  try {
    return s.lib.C_FindObjects(s.session, 1);
  } finally {
    s.lib.C_FindObjectsFinal(s.session);
  }
}

/**
 * Generates a key pair in the token a `pkcs11:` URI names, labelled with its `object=` and identified by its
 * `id=` (8 random bytes when the URI gives none). Nothing is created when the label or id is taken.
 * @throws ERR_PKCS11_URI (no object= label), ERR_CONFLICT_PKCS11_OBJECT (label or id already in the token),
 *   ERR_PKCS11_DEVICE (the token refused to generate), and the errors of `openTokenSession` and `openTokenKey`
 */
export function generateTokenKey(uriText: string, o: GenerateTokenKeyOptions): GeneratedTokenKey {
  const asked = parsePKCS11URI(uriText, { allowPinValue: o.allowPinValue ?? false });
  if (asked.object === undefined) throw pkcs11Error('ERR_PKCS11_URI', 'PKCS#11 URI: give object=LABEL for the new key');
  if (asked.type !== undefined && asked.type !== 'private') throw pkcs11Error('ERR_PKCS11_URI', `PKCS#11 URI: type=${asked.type} names no private key`);
  const s = openTokenSession(uriText, o);
  const { lib, session, pkcs11 } = s;
  const label = Buffer.from(asked.object, 'utf8');
  const id = asked.id ? Buffer.from(asked.id) : randomBytes(8);
  const where = `token "${s.label}"`;
  if (findAny(s, pkcs11.CKA_LABEL, label).length > 0)
    throw pkcs11Error('ERR_CONFLICT_PKCS11_OBJECT', `${where}: an object labelled "${asked.object}" exists already`);
  if (findAny(s, pkcs11.CKA_ID, id).length > 0)
    throw pkcs11Error('ERR_CONFLICT_PKCS11_OBJECT', `${where}: an object with id ${id.toString('hex')} exists already`);
  const params = Buffer.from(ecParams(o.curve));
  const common = [
    { type: pkcs11.CKA_TOKEN, value: true },
    { type: pkcs11.CKA_LABEL, value: label },
    { type: pkcs11.CKA_ID, value: id },
    { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_EC },
  ];
  const publicTemplate = [
    ...common,
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
    { type: pkcs11.CKA_EC_PARAMS, value: params },
    { type: pkcs11.CKA_VERIFY, value: true },
    { type: pkcs11.CKA_PRIVATE, value: false },
  ];
  // Sign only: no decrypt, unwrap or derive, so that a stolen session can do nothing else with the key.
  const privateTemplate = [
    ...common,
    { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
    { type: pkcs11.CKA_PRIVATE, value: true },
    { type: pkcs11.CKA_SENSITIVE, value: true },
    { type: pkcs11.CKA_EXTRACTABLE, value: false },
    { type: pkcs11.CKA_SIGN, value: true },
    { type: pkcs11.CKA_DECRYPT, value: false },
    { type: pkcs11.CKA_UNWRAP, value: false },
    { type: pkcs11.CKA_DERIVE, value: false },
  ];
  let pair;
  try {
    pair = lib.C_GenerateKeyPair(session, { mechanism: pkcs11.CKM_EC_KEY_PAIR_GEN }, publicTemplate, privateTemplate);
  } catch (e) {
    throw pkcs11Error('ERR_PKCS11_DEVICE', `${where}: the token refused to generate a ${o.curve} key (${ckrName(e)})`, e);
  }
  const uri = encodePKCS11URI({
    token: s.label,
    serial: s.serial,
    object: asked.object,
    id,
    type: 'private',
    pinFile: asked.pinFile,
    moduleName: asked.moduleName,
    modulePath: asked.modulePath,
  });
  try {
    return { uri, key: openTokenKey(uri, o) };
  } catch (e) {
    // A key custody cannot use is not left behind in the token.
    for (const h of [pair.privateKey, pair.publicKey]) {
      try {
        lib.C_DestroyObject(session, h);
      } catch {
        // the token keeps what it will not destroy; the first error is the one to report
      }
    }
    throw e;
  }
}
