/** Revoking certificates a store's CA issued, and publishing that CA's CRL. */
// Deep imports: the lean launcher's habit (see context.ts).
import { CustodyError } from '@custody/core/errors';
import { createCRL, isCRLReason, normalizeSerialHex, type CRLReason } from '@custody/core/x509';
import { readCertificateInfo, type CertificateInfo } from '@custody/core/x509';
import { decodePEM, encodePEM } from '@custody/core/x509';
import { namesEqual, parseName } from '@custody/core/x509';
import { equalBytes } from '@custody/core/util';
import type { CARecord, Revocation, Store } from '@custody/store/registry';
import { loadKey, provider, readCertificateFile } from './context.js';
import { commitOutputs, discardOutputs, prepareOutput, writeOutput } from './outputs.js';

/** What to revoke: exactly one of these. */
export type RevocationTarget = { device: string } | { certSerial: string } | { certFile: string } | { party: string };

export interface RevokeOptions {
  ca: string;
  target: RevocationTarget;
  /** An RFC 5280 reason name; absent = unspecified. */
  reason?: string;
  /** The revocation date (ISO 8601); absent = `now`. */
  at?: string;
  now: Date;
}

export interface RevokeResult extends Revocation {
  ca: string;
  /** Subject of the revoked certificate, when it was known. */
  subject?: string;
}

async function requireCA(store: Store, name: string): Promise<{ record: CARecord; info: CertificateInfo }> {
  const record = await store.getCA(name);
  if (!record) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${name}" in ${store.location}`);
  return { record, info: readCertificateInfo(decodePEM(record.certificate, ['CERTIFICATE'])) };
}

/** Refuses a certificate that `ca` did not issue (issuer name, and key identifiers when both are present). */
function checkIssuedBy(cert: CertificateInfo, ca: CertificateInfo, caName: string, what: string): void {
  const sameName = namesEqual(parseName(cert.issuer), parseName(ca.subject));
  const sameKey = !cert.authorityKeyId || !ca.subjectKeyId || equalBytes(cert.authorityKeyId, ca.subjectKeyId);
  if (!sameName || !sameKey) {
    throw new CustodyError('ERR_REVOKE_ISSUER', `${what} was issued by "${cert.issuerText}", not by CA "${caName}" (${ca.subjectText})`);
  }
}

function parseReason(reason: string | undefined): CRLReason | undefined {
  if (reason === undefined || reason === 'unspecified') return undefined;
  if (!isCRLReason(reason) || reason === 'removeFromCRL') {
    throw new CustodyError(
      'ERR_CRL_REASON',
      `--reason ${reason}: not a reason for a complete CRL (keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise, unspecified)`,
    );
  }
  return reason;
}

function parseTime(at: string | undefined, now: Date): Date {
  if (at === undefined) return new Date(Math.floor(now.getTime() / 1000) * 1000);
  const d = new Date(at);
  if (!/^\d{4}-\d{2}-\d{2}/.test(at) || Number.isNaN(d.getTime()))
    throw new CustodyError('ERR_REVOKE_TIME', `--at ${at}: not an ISO 8601 time (e.g. 2026-11-24T12:00:00Z)`);
  if (d.getTime() > now.getTime()) throw new CustodyError('ERR_REVOKE_TIME', `--at ${at}: a revocation date cannot be in the future`);
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** The serial and labels of the certificate a target names, checked to be issued by `ca`. */
async function resolveTarget(
  store: Store,
  caName: string,
  ca: CertificateInfo,
  target: RevocationTarget,
): Promise<Omit<RevokeResult, 'ca' | 'revokedAt' | 'reason'>> {
  if ('certSerial' in target) return { serialHex: normalizeSerialHex(target.certSerial) };
  if ('certFile' in target) {
    const cert = readCertificateFile(target.certFile).info;
    checkIssuedBy(cert, ca, caName, `${target.certFile}`);
    return { serialHex: cert.serialHex, subject: cert.subjectText };
  }
  if ('device' in target) {
    const device = await store.getDevice(target.device);
    if (!device) throw new CustodyError('ERR_DEVICE_UNKNOWN', `device ${target.device} is not in ${store.location}`);
    const cert = readCertificateInfo(device.certificate);
    checkIssuedBy(cert, ca, caName, `device ${target.device}'s certificate`);
    return { serialHex: cert.serialHex, device: target.device, subject: cert.subjectText };
  }
  const party = await store.getParty(target.party);
  if (!party) throw new CustodyError('ERR_USAGE_PARTY', `no party "${target.party}" in ${store.location}`);
  const cert = readCertificateInfo(decodePEM(party.certificate, ['CERTIFICATE']));
  checkIssuedBy(cert, ca, caName, `party "${target.party}"'s certificate`);
  return { serialHex: cert.serialHex, party: target.party, subject: cert.subjectText };
}

/**
 * Records the revocation of one certificate issued by a CA of the store; the next `publishCRL` lists it.
 * @throws ERR_USAGE_UNKNOWN_CA, ERR_USAGE_PARTY, ERR_DEVICE_UNKNOWN, ERR_CRL_REASON, ERR_CRL_SERIAL, ERR_REVOKE_TIME,
 * ERR_REVOKE_ISSUER (the certificate is another CA's), ERR_INPUT_READ, ERR_CERT_PARSE, ERR_CONFLICT_REVOKED
 */
export async function revokeCertificate(store: Store, o: RevokeOptions): Promise<RevokeResult> {
  const reason = parseReason(o.reason);
  const revokedAt = parseTime(o.at, o.now);
  const { info } = await requireCA(store, o.ca);
  const { subject, ...found } = await resolveTarget(store, o.ca, info, o.target);
  const revocation: Revocation = { ...found, revokedAt: revokedAt.toISOString(), ...(reason ? { reason } : {}) };
  await store.revoke(o.ca, revocation);
  return { ca: o.ca, ...revocation, ...(subject ? { subject } : {}) };
}

export interface PublishCRLOptions {
  ca: string;
  out: string;
  nextUpdateDays: number;
  pem: boolean;
  passphrase: string | undefined;
  now: Date;
}

export interface CRLResult {
  ca: string;
  file: string;
  crlNumber: number;
  thisUpdate: string;
  nextUpdate: string;
  revoked: number;
  format: 'pem' | 'der';
}

/**
 * Signs a complete CRL of every revocation of a CA with its key, under the CA's next CRL number, and writes it
 * atomically to `out` (DER, or PEM with `pem`), replacing the CRL published there before.
 * @throws ERR_USAGE_UNKNOWN_CA, ERR_USAGE_DAYS, ERR_KEY_PASSPHRASE, ERR_CRL_ISSUER, ERR_IO_NO_FOLDER, ERR_IO_EXISTS
 * (`out` is a folder), ERR_IO_WRITE
 */
export async function publishCRL(store: Store, o: PublishCRLOptions): Promise<CRLResult> {
  if (!Number.isInteger(o.nextUpdateDays) || o.nextUpdateDays < 1 || o.nextUpdateDays > 3650) {
    throw new CustodyError('ERR_USAGE_DAYS', `--next-update-days ${o.nextUpdateDays}: give a whole number of days from 1 to 3650`);
  }
  const { record, info } = await requireCA(store, o.ca);
  // The key first: a wrong passphrase must not use up a CRL number.
  const key = loadKey(store, record.key, o.passphrase);
  const revocations = await store.listRevocations(o.ca);
  const thisUpdate = new Date(Math.floor(o.now.getTime() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + o.nextUpdateDays * 86_400_000);
  const revoked = revocations.map((r) => ({ serialHex: r.serialHex, revokedAt: new Date(r.revokedAt), ...(r.reason ? { reason: r.reason } : {}) }));
  // The output before the number: a folder that cannot take the file must not use one up. A failure after
  // this (disk full) leaves a gap in the numbers, which RFC 5280 5.2.3 allows; never a reused number.
  const output = prepareOutput(o.out, { force: true });
  let crlNumber: number;
  try {
    crlNumber = await store.nextCRLNumber(o.ca);
    const der = await createCRL({ issuer: info, key, provider, thisUpdate, nextUpdate, crlNumber, revoked });
    writeOutput(output, o.pem ? encodePEM(der, 'X509 CRL') : der);
    commitOutputs([output]);
  } catch (e) {
    discardOutputs([output]);
    throw e;
  }
  return {
    ca: o.ca,
    file: o.out,
    crlNumber,
    thisUpdate: thisUpdate.toISOString(),
    nextUpdate: nextUpdate.toISOString(),
    revoked: revoked.length,
    format: o.pem ? 'pem' : 'der',
  };
}
