/**
 * `ca export` and `parties export`: the certificates an organisation hands to the next one, as PEM, from the
 * store (the only place a CA's or a party's certificate lives; on PostgreSQL, no file holds them).
 */
import { CustodyError } from '@custody/core/errors';
import { toHex } from '@custody/core/util';
import { decodePEM } from '@custody/core/x509';
import { readCertificateInfo } from '@custody/core/x509';
import type { Store } from '@custody/store/registry';
import { provider } from './context.js';

/** A certificate as PEM, and with `chain` the certificates of its issuers in this store, up to the root. */
export interface ExportedCertificate {
  name: string;
  /** The certificate, PEM. */
  certificate: string;
  /** Its issuers in this store, nearest first, the root last (PEM); empty without `--chain`. */
  chain: string[];
}

/**
 * A CA of the store, and with `chain` its issuers up to the root.
 * @throws ERR_USAGE_UNKNOWN_CA; ERR_STORE_CHAIN when an issuer named by the store is missing
 */
export async function exportCA(store: Store, name: string, o: { chain: boolean }): Promise<ExportedCertificate> {
  const ca = await store.getCA(name);
  if (!ca) throw new CustodyError('ERR_USAGE_UNKNOWN_CA', `no CA named "${name}" in ${store.location} (custody ca list shows them)`);
  return { name, certificate: ca.certificate, chain: o.chain ? await issuersOf(store, ca.issuer) : [] };
}

/**
 * A party of the store (its own, or one it imported), and with `chain` the CAs of this store above it.
 * @throws ERR_USAGE_PARTY; ERR_STORE_CHAIN when an issuer named by the store is missing
 */
export async function exportParty(store: Store, name: string, o: { chain: boolean }): Promise<ExportedCertificate> {
  const party = await store.getParty(name);
  if (!party) throw new CustodyError('ERR_USAGE_PARTY', `no party named "${name}" in ${store.location} (custody parties list shows them)`);
  return { name, certificate: party.certificate, chain: o.chain ? await issuersOf(store, party.ca) : [] };
}

/** The CA named `first` and its issuers, up to a root, as the store records them. */
async function issuersOf(store: Store, first: string | undefined): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let name = first; name !== undefined;) {
    if (seen.has(name)) throw new CustodyError('ERR_STORE_CHAIN', `${store.location}: CA "${name}" is its own issuer`);
    seen.add(name);
    const ca = await store.getCA(name);
    if (!ca) throw new CustodyError('ERR_STORE_CHAIN', `${store.location}: the issuing CA "${name}" is not in the store`);
    out.push(ca.certificate);
    name = ca.issuer;
  }
  return out;
}

/** The PEM text of an export: the certificate, then its chain. */
export function exportText(e: ExportedCertificate): string {
  return [e.certificate, ...e.chain].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
}

/** What `ca list` and `parties list` show of a certificate: data, not display text. */
export interface CertificateSummary {
  /** RFC 4514-style subject as custody renders it. */
  subject: string;
  /** Hex of the subjectKeyIdentifier, when the certificate has one. */
  keyId?: string;
  /** RFC 3339 validity. */
  notBefore: string;
  notAfter: string;
  /** Hex SHA-256 of the certificate DER (its fingerprint). */
  sha256: string;
}

/**
 * The summary of a PEM certificate from the store.
 * @throws ERR_PEM, ERR_CERT_PARSE when the store holds something else
 */
export async function certificateSummary(pem: string): Promise<CertificateSummary> {
  const der = decodePEM(pem, ['CERTIFICATE']);
  const info = readCertificateInfo(der);
  const time = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const s: CertificateSummary = {
    subject: info.subjectText,
    notBefore: time(info.notBefore),
    notAfter: time(info.notAfter),
    sha256: toHex(await provider.digest('SHA-256', der)),
  };
  if (info.subjectKeyId) s.keyId = toHex(info.subjectKeyId);
  return s;
}
