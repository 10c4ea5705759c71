/**
 * `certs inspect`: any file custody reads or writes about identities, in words: a certificate, a certificate
 * request (CSR), a CRL or a bundle, PEM or DER (a bundle is JSON). It describes; it verifies nothing but a CSR's
 * own signature (a bundle is judged by `devices verify`, against trust anchors the inspector does not have).
 */
import {
  CustodyError,
  algorithmName,
  decodePEM,
  describeCertificate,
  formatCertificateDescription,
  parseBundle,
  parseCRL,
  parseCSR,
  readCertificateInfo,
  toHex,
  verifyCSR,
  type CertificateDescription,
} from '@custody/core';
import { provider, readInputFile } from './context.js';
import { productionOf } from './bundles.js';

/** A certificate request in words. */
export interface CSRDescription {
  subject: string;
  key: string;
  signatureAlgorithm: string;
  /** Whether the request's signature verifies under its own key (the requester holds the key). */
  signatureVerifies: boolean;
  /** Hex SHA-256 of the SubjectPublicKeyInfo, as statements name keys. */
  spkiSha256: string;
}

/** A CRL in words. Its signature is not checked here: that needs its issuer's certificate. */
export interface CRLDescription {
  issuer: string;
  thisUpdate: string;
  nextUpdate?: string;
  /** The CRLNumber, decimal. */
  crlNumber?: string;
  signatureAlgorithm: string;
  revoked: Array<{ serial: string; revokedAt: string }>;
  sha256: string;
}

/** A bundle in words: what it carries, not whether it verifies. */
export interface BundleDescription {
  device: string;
  serial?: string;
  /** The model and lot of the birth attestation's `production` claim. */
  production: { lot?: string; model?: string };
  certificates: string[];
  attestations: Array<{ seq: number; kind: string; time: string; signer: string; to: string }>;
  crls: string[];
  /** The log's origin and tree size, from the checkpoint's first lines. */
  log?: { origin: string; treeSize: number; proofs: number };
}

export type Inspection =
  | { kind: 'certificate'; certificate: CertificateDescription }
  | { kind: 'csr'; csr: CSRDescription }
  | { kind: 'crl'; crl: CRLDescription }
  | { kind: 'bundle'; bundle: BundleDescription };

const PEM_KINDS: Record<string, 'certificate' | 'csr' | 'crl'> = {
  CERTIFICATE: 'certificate',
  'CERTIFICATE REQUEST': 'csr',
  'NEW CERTIFICATE REQUEST': 'csr',
  'X509 CRL': 'crl',
};

const time = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

async function certificate(der: Uint8Array): Promise<Inspection> {
  return { kind: 'certificate', certificate: describeCertificate(readCertificateInfo(der), await provider.digest('SHA-256', der)) };
}

async function csr(der: Uint8Array): Promise<Inspection> {
  const c = parseCSR(der);
  let signatureVerifies = true;
  try {
    await verifyCSR(c, provider);
  } catch (e) {
    if (!(e instanceof CustodyError) || e.code !== 'ERR_CSR_SIGNATURE') throw e;
    signatureVerifies = false;
  }
  return {
    kind: 'csr',
    csr: {
      subject: c.subject.map(([k, v]) => `${k}=${v}`).join(', '),
      key: `EC ${c.curve}`,
      signatureAlgorithm: algorithmName(c.signatureAlgorithm),
      signatureVerifies,
      spkiSha256: toHex(await provider.digest('SHA-256', c.spki)),
    },
  };
}

async function crl(der: Uint8Array): Promise<Inspection> {
  const c = parseCRL(der);
  const d: CRLDescription = {
    issuer: c.issuer.text,
    thisUpdate: time(c.thisUpdate),
    signatureAlgorithm: algorithmName(c.signatureAlgorithm.oid),
    revoked: [...c.revoked.values()].map((r) => ({ serial: r.serialHex, revokedAt: time(r.revocationDate) })),
    sha256: toHex(await provider.digest('SHA-256', der)),
  };
  if (c.nextUpdate) d.nextUpdate = time(c.nextUpdate);
  if (c.crlNumber) d.crlNumber = BigInt(`0x${toHex(c.crlNumber) || '0'}`).toString();
  return { kind: 'crl', crl: d };
}

function bundle(text: string): Inspection {
  const b = parseBundle(text);
  const subjectOf = (i: number) => readCertificateInfo(b.certificates[i]!).subjectText;
  const device = readCertificateInfo(b.certificates[0]!);
  const d: BundleDescription = {
    device: device.subjectText,
    production: productionOf(b),
    certificates: b.certificates.map((_, i) => subjectOf(i)),
    attestations: b.attestations.map((a) => ({
      seq: a.statement.predicate.seq,
      kind: a.statement.predicateType.split('/').at(-2) ?? a.statement.predicateType,
      time: a.statement.predicate.time,
      signer: subjectOf(a.signer),
      to: a.statement.predicate.to,
    })),
    crls: (b.crls ?? []).map((c) => {
      try {
        return parseCRL(c).issuer.text;
      } catch (e) {
        if (!(e instanceof CustodyError)) throw e;
        return `unreadable CRL (${e.code})`;
      }
    }),
  };
  const serial = device.subjectAttributes.find(([k]) => k === 'serialNumber')?.[1];
  if (serial !== undefined) d.serial = serial;
  if (b.log) {
    const [origin = '', size = ''] = b.log.checkpoint.split('\n');
    d.log = { origin, treeSize: Number(size), proofs: b.log.proofs.length };
  }
  return { kind: 'bundle', bundle: d };
}

/**
 * Reads and describes one file: by its PEM label, as JSON for a bundle, or for DER by the first of certificate,
 * CSR and CRL that parses it.
 * @throws ERR_INSPECT_FORMAT for a file that is none of them; the parser's code (ERR_CERT_PARSE, ERR_CSR_PARSE,
 *   ERR_CRL_PARSE, ERR_BUNDLE_MALFORMED, ERR_PEM) for one that claims a kind and is malformed; ERR_INPUT_*; every
 *   one naming the file
 */
export async function inspectFile(file: string): Promise<Inspection> {
  const bytes = readInputFile(file, 'crl');
  try {
    if (bytes[0] === 0x30) {
      for (const read of [certificate, csr, crl]) {
        try {
          return await read(new Uint8Array(bytes));
        } catch (e) {
          if (!(e instanceof CustodyError)) throw e;
        }
      }
      throw new CustodyError('ERR_INSPECT_FORMAT', 'DER that is not a certificate, a certificate request or a CRL');
    }
    const text = bytes.toString('utf8');
    if (text.trimStart().startsWith('{')) return bundle(text);
    const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
    const kind = label === undefined ? undefined : PEM_KINDS[label];
    if (!kind)
      throw new CustodyError(
        'ERR_INSPECT_FORMAT',
        label === undefined ? 'neither PEM, DER nor a JSON bundle' : `a PEM ${label} block, not a certificate, a certificate request or a CRL`,
      );
    const der = decodePEM(text, [label!]);
    return kind === 'certificate' ? await certificate(der) : kind === 'csr' ? await csr(der) : await crl(der);
  } catch (e) {
    throw e instanceof CustodyError ? e.withFile(file) : e;
  }
}

/** An inspection as lines of text. */
export function formatInspection(i: Inspection): string[] {
  const rows = (pairs: Array<[string, string | undefined]>) => pairs.filter(([, v]) => v !== undefined).map(([k, v]) => `${`${k}:`.padEnd(21)}${v}`);
  switch (i.kind) {
    case 'certificate':
      return formatCertificateDescription(i.certificate);
    case 'csr':
      return rows([
        ['Certificate request', i.csr.subject],
        ['Key', i.csr.key],
        ['Signature', `${i.csr.signatureAlgorithm}, ${i.csr.signatureVerifies ? 'verifies (the requester holds the key)' : 'DOES NOT VERIFY'}`],
        ['Key SHA-256', i.csr.spkiSha256],
      ]);
    case 'crl':
      return [
        ...rows([
          ['CRL of', i.crl.issuer],
          ['CRL number', i.crl.crlNumber],
          ['This update', i.crl.thisUpdate],
          ['Next update', i.crl.nextUpdate],
          ['Signature', `${i.crl.signatureAlgorithm} (not checked: it needs the issuer's certificate)`],
          ['Revoked', String(i.crl.revoked.length)],
          ['SHA-256', i.crl.sha256],
        ]),
        ...i.crl.revoked.map((r) => `  ${r.serial}  revoked ${r.revokedAt}`),
      ];
    case 'bundle': {
      const b = i.bundle;
      return [
        ...rows([
          ['Bundle of', b.device],
          ['Lot', b.production.lot === undefined ? undefined : `${b.production.lot} (birth claim)`],
          ['Model', b.production.model === undefined ? undefined : `${b.production.model} (birth claim)`],
          ['Certificates', String(b.certificates.length)],
          ['CRLs', b.crls.length === 0 ? 'none' : b.crls.join('; ')],
          ['Log', b.log ? `${b.log.origin}, tree of ${b.log.treeSize}, ${b.log.proofs} inclusion proof(s)` : 'none'],
          ['Attestations', `${b.attestations.length} (not verified here: custody devices verify)`],
        ]),
        ...b.attestations.map((a) => `  ${String(a.seq).padStart(2)} ${a.kind.padEnd(10)} ${a.time}  signed by "${a.signer}" -> key ${a.to.slice(0, 16)}...`),
      ];
    }
  }
}
