/**
 * The firmware side of a registry: the firmware signers of this organisation, every release it signed (a chain:
 * each names the one before by hash) and every withdrawal list it issued. Core declares the port; the store
 * package implements it on the local disk and on PostgreSQL, each rule checked in the same write that records.
 */
import type { KeyRef } from './documents.js';

/** A firmware signer of this organisation: a codeSigning certificate under one of its CAs, and its key. */
export interface FirmwareSignerRecord {
  name: string;
  /** Name of the CA in this registry that issued the certificate. */
  ca: string;
  /** PEM certificate. */
  certificate: string;
  key: KeyRef;
  spkiSha256: string;
  certSha256: string;
  createdAt: string;
}

/** A release as recorded: its manifest and what the manifest says, for listing without parsing. */
export interface ReleaseRecord {
  /** Lower-case hex SHA-256 of the manifest DER: the release's name. */
  hash: string;
  /** The manifest DER, base64. */
  manifest: string;
  imageName: string;
  imageSha256: string;
  length: number;
  version: string;
  securityCounter: number;
  models: string[];
  expires: string;
  /** The hash of the release recorded before this one, or null for the first. */
  previous: string | null;
  /** Name of the firmware signer in this registry. */
  signer: string;
  time: string;
}

/** A withdrawal list as recorded. */
export interface WithdrawalsRecord {
  number: number;
  /** Lower-case hex SHA-256 of the list's DER. */
  hash: string;
  /** The list DER, base64. */
  list: string;
  thisUpdate: string;
  nextUpdate: string;
  /** The withdrawn releases, sorted by release hash. */
  withdrawn: Array<{ release: string; time: string }>;
}

/** Firmware signers, releases and withdrawal lists. */
export interface ReleaseRegistry {
  /** @throws ERR_CONFLICT_NAME when a firmware signer already has the name */
  addFirmwareSigner(record: FirmwareSignerRecord): Promise<void>;
  getFirmwareSigner(name: string): Promise<FirmwareSignerRecord | undefined>;
  /** Every firmware signer, oldest first. */
  listFirmwareSigners(): Promise<FirmwareSignerRecord[]>;
  /**
   * Records a release, atomically with its checks against the releases recorded before it.
   * @throws ERR_CONFLICT_RELEASE_EXISTS (the same manifest hash); ERR_CONFLICT_RELEASE_PREVIOUS when `previous` is not
   *   the newest release's hash (another release was recorded meanwhile); ERR_CONFLICT_SECURITY_COUNTER when the
   *   counter is below an earlier release's for one of its models
   */
  recordRelease(record: ReleaseRecord): Promise<void>;
  /** Every release, oldest first. */
  listReleases(): Promise<ReleaseRecord[]>;
  getRelease(hash: string): Promise<ReleaseRecord | undefined>;
  /**
   * Records a withdrawal list.
   * @throws ERR_CONFLICT_WITHDRAWALS_NUMBER when its number is not the newest list's plus one (1 for the first)
   */
  recordWithdrawals(record: WithdrawalsRecord): Promise<void>;
  /** The newest withdrawal list, if any. */
  latestWithdrawals(): Promise<WithdrawalsRecord | undefined>;
}
