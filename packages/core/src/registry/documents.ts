/**
 * The named records of one organisation that a registry keeps beside its devices: CAs, parties, revocations and
 * CRL numbers, and where their private keys live. Core declares them; the store package implements them on the
 * local disk and on PostgreSQL.
 */
import type { CRLReason } from '../x509/crl-builder.js';

/** Where a private key lives: a file (path relative to the registry's key folder, or absolute) or an HSM (RFC 7512 URI). */
export type KeyRef = { type: 'file'; path: string } | { type: 'pkcs11'; uri: string };

/** A CA of this organisation: its certificate, template and key. */
export interface CARecord {
  name: string;
  template: string;
  /** PEM certificate. */
  certificate: string;
  key: KeyRef;
  /** Name of the issuing CA in this registry; absent for a root. */
  issuer?: string;
  createdAt: string;
}

/** A party: this organisation's (with its key) or another's (known by its certificate only). */
export interface PartyRecord {
  name: string;
  organization?: string;
  certificate: string;
  /** Absent for another organisation's party, known here by its certificate only. */
  key?: KeyRef;
  /** Name of the CA in this registry that issued the party certificate; absent for another organisation's. */
  ca?: string;
  spkiSha256: string;
  certSha256: string;
  createdAt: string;
  /**
   * What the key signs, when it is not custody attestations: `code-signer` for end-user code (`custody code
   * sign`). Absent: an attestation party. A signer is recorded like a party, so that names stay one namespace and
   * keys are referenced the same way, but it never signs or receives a device.
   */
  role?: 'code-signer';
}

/** One revoked certificate of a CA, as recorded (RFC 5280 5.1.2.6 revokedCertificates entry). */
export interface RevocationRecord {
  /** Lower-case hex of the certificate serial's DER INTEGER content octets (as `CertificateInfo.serialHex`). */
  serialHex: string;
  /** ISO 8601 revocation date. */
  revokedAt: string;
  /** RFC 5280 5.3.1 reason name; absent when unspecified. */
  reason?: CRLReason;
  /** Device serial, when the certificate is a device's IDevID. */
  device?: string;
  /** Party name, when the certificate is a party's attestation certificate. */
  party?: string;
}

/** CAs, parties, revocations and CRL numbers of one organisation. */
export interface DocumentRegistry {
  getCA(name: string): Promise<CARecord | undefined>;
  listCAs(): Promise<CARecord[]>;
  /** @throws ERR_CONFLICT_NAME when a CA or party already has the name */
  addCA(record: CARecord): Promise<void>;
  getParty(name: string): Promise<PartyRecord | undefined>;
  listParties(): Promise<PartyRecord[]>;
  /** @throws ERR_CONFLICT_NAME when a CA or party already has the name */
  addParty(record: PartyRecord): Promise<void>;
  /**
   * Records the revocation of a certificate issued by the CA `caName`.
   * @throws ERR_USAGE_UNKNOWN_CA when there is no such CA; ERR_CONFLICT_REVOKED when the serial is already revoked
   */
  revoke(caName: string, revocation: RevocationRecord): Promise<void>;
  /** The revocations of a CA, oldest first (empty for a CA with none or an unknown CA). */
  listRevocations(caName: string): Promise<RevocationRecord[]>;
  /**
   * Allocates the next CRLNumber of a CA: 1 for its first CRL, then strictly increasing, persisted.
   * @throws ERR_USAGE_UNKNOWN_CA when there is no such CA
   */
  nextCRLNumber(caName: string): Promise<number>;
}

/**
 * Where the key files of a registry's `KeyRef`s live. An embedded store keeps them in its own folder; a database
 * holds no keys, so its key folder is whatever the operator named (`--keys DIR`, `CUSTODY_KEYS`), never a guess.
 */
export interface KeyReferences {
  /**
   * The folder a `{ type: 'file' }` key reference is relative to, and where new key files go.
   * @throws ERR_USAGE_STORE_KEYS when the registry has no key folder (a database store opened without one)
   */
  readonly keyDir: string;
}
