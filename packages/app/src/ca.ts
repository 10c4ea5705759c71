/** Creating CAs and parties: key, certificate from a template, record in the store. */
import { CertificateFactory, CustodyError, encodePEM, readCertificateInfo, decodePEM, toHex, type CertificateTemplate } from '@custody/core';
import type { KeyProtection, Store, CARecord, PartyRecord } from '@custody/store';
import { loadKey, provider } from './context.js';
import { makeKey, recordKey, type NewKey, type TokenKeyChoice } from './new-key.js';

export { tokenKeyChoice, type TokenKeyChoice } from './new-key.js';

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

/**
 * Refuses a name that cannot name a CA, party or firmware signer (it becomes a key file's name).
 * @throws ERR_USAGE_NAME
 */
export function checkName(name: string): void {
  if (!NAME.test(name)) throw new CustodyError('ERR_USAGE_NAME', `name "${name}" must be 1 to 64 letters, digits, dots, dashes or underscores`);
}

/**
 * Refuses a name that cannot name a new key holder, or that a CA, party, code signer or firmware signer of the
 * store already has: key files are named after their holder, so all of them share one namespace.
 * @throws ERR_USAGE_NAME, ERR_CONFLICT_NAME
 */
export async function checkNewHolderName(store: Store, name: string): Promise<void> {
  checkName(name);
  if ((await store.getCA(name)) || (await store.getParty(name)) || (await store.getFirmwareSigner(name)))
    throw new CustodyError('ERR_CONFLICT_NAME', `the name "${name}" is already used in ${store.location}`);
}

/** The subject's key for a certificate from `template` (see `makeKey`). */
async function subjectKey(template: CertificateTemplate, token: TokenKeyChoice | undefined): Promise<NewKey> {
  return makeKey(template.keyAlgorithm, token, `template "${template.name}"`);
}

/**
 * Issues a certificate for a new key from `template`, under `issuerName` or self-signed. The issuer and the
 * factory come first: a key generated in a token is not left behind by a wrong issuer passphrase.
 * @throws ERR_USAGE_UNKNOWN_CA, ERR_KEY_PASSPHRASE, ERR_KEY_ALGORITHM
 */
export async function issueForNewKey(
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

/**
 * Creates a root CA (no issuer) or an issuing CA under `issuer`.
 * @throws ERR_USAGE_NAME, ERR_USAGE_UNKNOWN_CA, ERR_TEMPLATE_ISSUER, ERR_CONFLICT_NAME, ERR_KEY_PASSPHRASE
 */
export async function createCA(store: Store, o: CreateCAOptions): Promise<CARecord> {
  if (o.template.kind !== 'root-ca' && o.template.kind !== 'issuing-ca')
    throw new CustodyError('ERR_TEMPLATE_KIND', `template "${o.template.name}" is a ${o.template.kind} template, not a CA template`);
  await checkNewHolderName(store, o.name);
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
  await checkNewHolderName(store, o.name);
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
