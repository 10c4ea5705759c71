/** The registry as the CLI sees it: the device ports of core plus the CAs and parties of one organisation. */
import type { DeviceRecord, DeviceRegistry } from '@custody/core/registry/ports';
import type { ChallengeRecords, ChallengeRegistry } from '@custody/core/possession/challenge';
import type { NodeStore } from '@custody/core/log/node-store';
import type { ConsistencyProof } from '@custody/core/log/consistency';
import type { CRLReason } from '@custody/core/x509/crl-builder';

/** Where a private key lives: a file (path relative to the store, or absolute) or an HSM (RFC 7512 URI). */
export type KeyRef = { type: 'file'; path: string } | { type: 'pkcs11'; uri: string };

export interface CARecord {
  name: string;
  template: string;
  /** PEM certificate. */
  certificate: string;
  key: KeyRef;
  /** Name of the issuing CA in this store; absent for a root. */
  issuer?: string;
  createdAt: string;
}

export interface PartyRecord {
  name: string;
  organization?: string;
  certificate: string;
  /** Absent for another organisation's party, known here by its certificate only. */
  key?: KeyRef;
  /** Name of the CA in this store that issued the party certificate; absent for another organisation's. */
  ca?: string;
  spkiSha256: string;
  certSha256: string;
  createdAt: string;
}

/** One revoked certificate of a CA, as recorded (RFC 5280 5.1.2.6 revokedCertificates entry). */
export interface Revocation {
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

export interface Store extends DeviceRegistry, ChallengeRegistry, ChallengeRecords, EvidenceStore {
  /** A path or URL naming the store, for messages. */
  readonly location: string;
  /** Folder where key files of this store are written. */
  readonly keyDir: string;
  getCA(name: string): Promise<CARecord | undefined>;
  listCAs(): Promise<CARecord[]>;
  /** @throws ERR_CONFLICT_NAME when the name is taken */
  addCA(record: CARecord): Promise<void>;
  getParty(name: string): Promise<PartyRecord | undefined>;
  listParties(): Promise<PartyRecord[]>;
  /** @throws ERR_CONFLICT_NAME when the name is taken */
  addParty(record: PartyRecord): Promise<void>;
  /** Serials of a production lot, in recording order. */
  listLot(lot: string): Promise<string[]>;
  /** Remembers an issued proof-of-possession challenge until it is consumed. */
  recordChallenge(nonceHex: string, challenge: Uint8Array): Promise<void>;
  /**
   * Records the revocation of a certificate issued by the CA `caName`.
   * @throws ERR_USAGE_UNKNOWN_CA when the store has no such CA; ERR_CONFLICT_REVOKED when the serial is already revoked
   */
  revoke(caName: string, revocation: Revocation): Promise<void>;
  /** The revocations of a CA, oldest first (empty for a CA with none or an unknown CA). */
  listRevocations(caName: string): Promise<Revocation[]>;
  /**
   * Allocates the next CRLNumber of a CA: 1 for its first CRL, then strictly increasing, persisted.
   * @throws ERR_USAGE_UNKNOWN_CA when the store has no such CA
   */
  nextCRLNumber(caName: string): Promise<number>;
  /** Every device, newest version of each (an audit read of the whole registry). */
  listDevices(): Promise<DeviceRecord[]>;
  /** Number of devices recorded. */
  countDevices(): Promise<number>;
  close(): Promise<void>;
}

/** The transparency log's settings in a store: its origin (also the checkpoint key name) and signing key. */
export interface LogConfig {
  origin: string;
  /** A P-256 key, encrypted like every other key of the store. */
  key: KeyRef;
  createdAt: string;
}

/**
 * The transparency log of every attestation a store records (RFC 6962 hashing), and the verifier's memory of
 * other logs' checkpoints. Leaves are appended in the same write as the attestations, in record order.
 */
export interface TransparencyLogStore {
  /** Number of leaves in the log. */
  logSize(): Promise<number>;
  /** The log's stored subtree hashes (for roots and proofs of any size up to `logSize()`). */
  logNodes(): NodeStore;
  /**
   * Prepares `logNodes()` to answer the root of the tree of `size` leaves, the inclusion proofs of `leaves` in
   * it and the consistency proof from `oldSize` (and that tree's root): a store whose nodes are remote fetches
   * them here, once; a local one does nothing. Call before the synchronous reads.
   */
  loadLogNodes(size: number, needs?: { leaves?: readonly number[]; oldSize?: number }): Promise<void>;
  /** The leaf index of a device's attestation `seq` (0 = birth), or undefined when it is not logged. */
  logLeafIndex(serial: string, seq: number): Promise<number | undefined>;
  /** Which device attestation leaf `index` is, or undefined past the end. */
  logLeaf(index: number): Promise<{ serial: string; seq: number } | undefined>;
  getLogConfig(): Promise<LogConfig | undefined>;
  /** @throws ERR_CONFLICT_LOG_EXISTS when the store already has a log key */
  setLogConfig(config: LogConfig): Promise<void>;
  /** The newest signed checkpoint seen of the log named `origin` (signed-note text), if any. */
  getSeenCheckpoint(origin: string): Promise<string | undefined>;
  /** Remembers `note` as the newest checkpoint seen of the log named `origin`. */
  putSeenCheckpoint(origin: string, note: string): Promise<void>;
  /** The consistency proof between two sizes of this store's own log when `origin` is its origin; else undefined. */
  consistencyProof(origin: string, oldSize: number, newSize: number): Promise<ConsistencyProof | undefined>;
}

/** A device record learnt from elsewhere that disagreed with the recorded chain, kept as evidence of a fork. */
export interface EvidenceRecord {
  /** The evidence file. */
  file: string;
  serial: string;
  /** RFC 3339 time it was recorded. */
  recordedAt: string;
  /** Why it was refused. */
  reason: string;
  /** The first attestation index where the chains differ. */
  attestation: number;
  device: DeviceRecord;
}

/** Where a store keeps fork evidence. */
export interface EvidenceStore {
  /** Every piece of evidence kept, oldest first. */
  listEvidence(): Promise<EvidenceRecord[]>;
}
