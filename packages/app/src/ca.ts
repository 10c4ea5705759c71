/** Creating CAs and parties: key, certificate from a template, record in the store. */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CertificateFactory, CustodyError, encodePEM, readCertificateInfo, decodePEM, toHex, type CertificateTemplate } from '@custody/core';
import { writePrivateKeyFile, type KeyProtection, type KeyRef, type Store, type CARecord, type PartyRecord } from '@custody/store';
import type { PrivateKeyHandle } from '@custody/core/crypto';
import { isPKCS11URI } from '@custody/core/keys';
import { loadKey, provider, readInputFile } from './context.js';
import { generateTokenKey } from './pkcs11/generate-key.js';
import { openTokenKey } from './pkcs11/token-key.js';

/** A key in a PKCS#11 token instead of a new key file: one the URI names (`generate` false), or one made there. */
export interface TokenKeyChoice {
  uri: string;
  generate: boolean;
}

/**
 * The token key `--key URI` (an existing key) or `--key-store URI` (generate there) asks for, if any.
 * @throws ERR_USAGE_KEY when the value is not a pkcs11: URI (key files are made by custody, not given)
 */
export function tokenKeyChoice(key: string | undefined, keyStore: string | undefined): TokenKeyChoice | undefined {
  if (key !== undefined && keyStore !== undefined)
    throw new CustodyError('ERR_USAGE_FLAGS', '--key and --key-store: give one (an existing token key, or a new one made in the token)');
  const [flag, uri] = key !== undefined ? ['--key', key] : keyStore !== undefined ? ['--key-store', keyStore] : [];
  if (uri === undefined) return undefined;
  if (!isPKCS11URI(uri)) throw new CustodyError('ERR_USAGE_KEY', `${flag} takes a pkcs11: URI (RFC 7512), such as pkcs11:token=factory;object=acme-issuing`);
  return { uri, generate: flag === '--key-store' };
}

export interface CreateCAOptions {
  name: string;
  template: CertificateTemplate;
  organization: string;
  issuer?: string;
  /** How to protect the new key file; unused with `tokenKey`. */
  protection?: KeyProtection;
  passphrase: string | undefined;
  now: Date;
  /** The CA's key in a PKCS#11 token instead of a new key file. */
  tokenKey?: TokenKeyChoice;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function checkName(name: string): void {
  if (!NAME.test(name)) throw new CustodyError('ERR_USAGE_NAME', `name "${name}" must be 1 to 64 letters, digits, dots, dashes or underscores`);
}

/** The subject's key: a new one in memory, or one in a token (found, or generated there) with its reference. */
async function subjectKey(
  template: CertificateTemplate,
  token: TokenKeyChoice | undefined,
): Promise<{ key: PrivateKeyHandle; spki: Uint8Array; ref?: KeyRef }> {
  if (!token) {
    const k = await provider.generateKeyPair(template.keyAlgorithm);
    return { key: k.privateKey, spki: k.publicKey.spki };
  }
  const readFile = (file: string) => readInputFile(file, 'pin');
  const { uri, key } = token.generate
    ? generateTokenKey(token.uri, { curve: template.keyAlgorithm, readFile })
    : { uri: undefined, key: openTokenKey(token.uri, { readFile }) };
  if (key.curve !== template.keyAlgorithm)
    throw new CustodyError('ERR_KEY_ALGORITHM', `${key.name}: a ${key.curve} key, but template "${template.name}" wants ${template.keyAlgorithm}`);
  return { key, spki: key.spki, ref: { type: 'pkcs11', uri: uri ?? key.uri } };
}

/**
 * Issues a certificate for a new key from `template`, under `issuerName` or self-signed. The issuer and the
 * factory come first: a key generated in a token is not left behind by a wrong issuer passphrase.
 */
async function issueForNewKey(
  store: Store,
  template: CertificateTemplate,
  issuerName: string | undefined,
  vars: Record<string, string>,
  passphrase: string | undefined,
  now: Date,
  token?: TokenKeyChoice,
) {
  let issuerCA;
  if (issuerName !== undefined) {
    const ca = await store.getCA(issuerName);
    if (!ca) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${issuerName}" in ${store.location}`);
    issuerCA = { certificate: readCertificateInfo(decodePEM(ca.certificate, ['CERTIFICATE'])), key: loadKey(store, ca.key, passphrase) };
  }
  const subject = await subjectKey(template, token);
  const issuer = issuerCA ?? { key: subject.key };
  const factory = await CertificateFactory.create({ template, issuer, provider, notBefore: now, vars });
  const cert = await factory.issue({ spki: subject.spki, vars });
  return { subject, der: cert.der };
}

/** Writes a new key file in the store's key folder, or takes the token key's reference. */
function recordKey(store: Store, name: string, subject: { key: PrivateKeyHandle; ref?: KeyRef }, protection: KeyProtection | undefined): KeyRef {
  if (subject.ref) return subject.ref;
  if (!protection) throw new TypeError('a new key file needs `protection`');
  mkdirSync(store.keyDir, { recursive: true, mode: 0o700 });
  const keyPath = join(store.keyDir, `${name}.key.pem`);
  writePrivateKeyFile(keyPath, subject.key, protection);
  return { type: 'file', path: relative(store.keyDir, keyPath) };
}

/**
 * Creates a root CA (no issuer) or an issuing CA under `issuer`.
 * @throws ERR_USAGE_NAME, ERR_USAGE_UNKNOWN_CA, ERR_TEMPLATE_ISSUER, ERR_CONFLICT_NAME, ERR_KEY_PASSPHRASE
 */
export async function createCA(store: Store, o: CreateCAOptions): Promise<CARecord> {
  checkName(o.name);
  if (o.template.kind !== 'root-ca' && o.template.kind !== 'issuing-ca')
    throw new CustodyError('ERR_TEMPLATE_KIND', `template "${o.template.name}" is a ${o.template.kind} template, not a CA template`);
  if ((await store.getCA(o.name)) || (await store.getParty(o.name)))
    throw new CustodyError('ERR_CONFLICT_NAME', `the name "${o.name}" is already used in ${store.location}`);
  const { subject, der } = await issueForNewKey(store, o.template, o.issuer, { name: o.name, organization: o.organization }, o.passphrase, o.now, o.tokenKey);
  const record: CARecord = {
    name: o.name,
    template: o.template.name,
    certificate: encodePEM(der, 'CERTIFICATE'),
    key: recordKey(store, o.name, subject, o.protection),
    createdAt: o.now.toISOString(),
  };
  if (o.issuer !== undefined) record.issuer = o.issuer;
  await store.addCA(record);
  return record;
}

export interface CreatePartyOptions {
  name: string;
  ca: string;
  template: CertificateTemplate;
  organization: string;
  /** How to protect the new key file; unused with `tokenKey`. */
  protection?: KeyProtection;
  passphrase: string | undefined;
  now: Date;
  /** The party's key in a PKCS#11 token instead of a new key file. */
  tokenKey?: TokenKeyChoice;
}

/**
 * Creates a party's attestation key and certificate under one of the store's CAs.
 * @throws ERR_USAGE_NAME, ERR_USAGE_UNKNOWN_CA, ERR_CONFLICT_NAME, ERR_KEY_PASSPHRASE
 */
export async function createParty(store: Store, o: CreatePartyOptions): Promise<PartyRecord> {
  if (o.template.kind !== 'party')
    throw new CustodyError('ERR_TEMPLATE_KIND', `template "${o.template.name}" is a ${o.template.kind} template, not a party template`);
  return createSignerRecord(store, o);
}

/**
 * Creates a code signer's key and certificate (codeSigning EKU) under one of the store's CAs, recorded like a
 * party with the role `code-signer`: the key is a file or a token key exactly as a party's.
 * @throws ERR_TEMPLATE_KIND (not a code-signer template), ERR_USAGE_NAME, ERR_USAGE_UNKNOWN_CA, ERR_CONFLICT_NAME,
 *   ERR_KEY_PASSPHRASE
 */
export async function createCodeSigner(store: Store, o: CreatePartyOptions): Promise<PartyRecord> {
  if (o.template.kind !== 'code-signer')
    throw new CustodyError('ERR_TEMPLATE_KIND', `template "${o.template.name}" is a ${o.template.kind} template, not a code-signer template`);
  return createSignerRecord(store, o, 'code-signer');
}

/** A key and certificate under a CA of the store, recorded as a party (with `role` when it signs something else). */
async function createSignerRecord(store: Store, o: CreatePartyOptions, role?: PartyRecord['role']): Promise<PartyRecord> {
  checkName(o.name);
  if ((await store.getCA(o.name)) || (await store.getParty(o.name)))
    throw new CustodyError('ERR_CONFLICT_NAME', `the name "${o.name}" is already used in ${store.location}`);
  const { subject, der } = await issueForNewKey(store, o.template, o.ca, { name: o.name, organization: o.organization }, o.passphrase, o.now, o.tokenKey);
  const record: PartyRecord = {
    name: o.name,
    organization: o.organization,
    certificate: encodePEM(der, 'CERTIFICATE'),
    key: recordKey(store, o.name, subject, o.protection),
    ca: o.ca,
    spkiSha256: toHex(await provider.digest('SHA-256', subject.spki)),
    certSha256: toHex(await provider.digest('SHA-256', der)),
    createdAt: o.now.toISOString(),
  };
  if (role) record.role = role;
  await store.addParty(record);
  return record;
}
