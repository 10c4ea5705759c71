/** The registry as the CLI sees it: the device ports of core plus the CAs and parties of one organisation. */
import type { DeviceRegistry } from '@custody/core/registry/ports';
import type { ChallengeRegistry } from '@custody/core/possession/challenge';

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

export interface Store extends DeviceRegistry, ChallengeRegistry {
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
  /** Number of devices recorded. */
  countDevices(): Promise<number>;
  close(): Promise<void>;
}
