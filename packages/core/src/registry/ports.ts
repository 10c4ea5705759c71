/**
 * What core needs from a registry (the store package implements it on the local disk and on PostgreSQL).
 * Core never opens a file or a socket: provisioning, handoff and verification talk to these ports.
 */
import type { StatementSubject } from '../attestation/statement.js';
import type { LDevIDRecord } from './ldevids.js';

/** A device as the registry keeps it. Binary parts are DER. */
export interface DeviceRecord {
  serial: string;
  certificate: Uint8Array;
  /** Hex of the certificate serial number. */
  certSerial: string;
  /** Hex SHA-256 of the device's SubjectPublicKeyInfo DER. */
  spkiSha256: string;
  /** Hex SHA-256 of the certificate DER (the attestation subject digest). */
  certSha256: string;
  /** Name of the CA that issued the certificate. */
  issuer: string;
  model?: string;
  lot?: string;
  /** RFC 3339 time of issuance. */
  issuedAt: string;
  /** Attestations in chain order (birth first), DER CMS. */
  attestations: Uint8Array[];
  /** The certificate's CA chain without the root (issuing CA first), for devices learnt from a bundle. */
  chain?: Uint8Array[];
}

/** What a chain's newest statement says of where the device stands: who holds it, and what the chain is about. */
export interface ChainFacts {
  /** Hex SPKI SHA-256 of the custodian: the statement's `to`. */
  custodian: string;
  /** True when the statement is an activation, which closes the chain. */
  activated: boolean;
  /** The statement's subject. */
  subject: StatementSubject;
}

/**
 * Where a device's chain ends, as a registry holds it: the length, the newest attestation's hash, and either what
 * its statement says (`facts`, when the registry recorded them) or the attestation itself, from which core's
 * `headOfChain` reads them.
 */
export interface ChainTip {
  serial: string;
  /** Number of attestations (the next one's seq). */
  length: number;
  /** Hex SHA-256 of the newest attestation's DER (the next one's `prev`), null before birth. */
  lastHash: string | null;
  /** The newest attestation's DER, absent before birth and where `facts` stand in for it. */
  last?: Uint8Array;
  /** What the newest attestation's statement says, when the registry recorded it. */
  facts?: ChainFacts;
}

export type ConflictKind = 'serial' | 'key' | 'certSerial';

export interface Conflict {
  kind: ConflictKind;
  value: string;
}

/** A new attestation for a recorded device, extending the chain whose newest attestation hashes to `prev`. */
export interface AttestationAppend {
  serial: string;
  /** Hex SHA-256 of the attestation it extends. */
  prev: string;
  attestation: Uint8Array;
  /**
   * What the attestation's statement says, from the values its signer built it of. A registry may record them
   * to answer `getTips` without reading the attestation again; they must be exactly what the DER says.
   */
  facts?: ChainFacts;
  /**
   * Hex nonce of a proof-of-possession challenge this attestation spends (an activation): the registry marks it
   * used in the same write, or refuses the item (ERR_VERIFY_POSSESSION_REPLAY when spent before,
   * ERR_VERIFY_POSSESSION_UNKNOWN when never issued); a refused item leaves the challenge as it was.
   */
  challenge?: string;
  /**
   * The LDevID an activation issues once it is recorded: the registry records it in the same write, or refuses the
   * item (ERR_DUPLICATE_KEY when its key is another device's LDevID key, ERR_DUPLICATE_CERT_SERIAL when its
   * certificate serial was recorded before); a refused item claims no key and uses up no certificate serial, so
   * that of two activations racing for one key the loser records nothing.
   */
  ldevid?: LDevIDRecord;
}

/** The outcome of one append: appended, or refused with a code and reason. */
export type AppendResult = { serial: string; ok: true } | { serial: string; ok: false; code: string; message: string };

export interface DeviceRegistry {
  /** Which of these serials / keys / certificate serials the registry already holds (advisory: no lock taken). */
  findConflicts(candidates: ReadonlyArray<{ serial: string; spkiSha256: string; certSerial?: string }>): Promise<Conflict[]>;
  /**
   * Records new devices, all or none, durably, before returning.
   * @throws ERR_DUPLICATE_SERIAL, ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL when one is already held
   */
  commitDevices(devices: readonly DeviceRecord[]): Promise<void>;
  getDevice(serial: string): Promise<DeviceRecord | undefined>;
  /** The chain tips of these devices, in order (undefined for an unknown serial): a handoff's one read. */
  getTips(serials: readonly string[]): Promise<Array<ChainTip | undefined>>;
  /**
   * Appends attestations, each device on its own: one whose chain no longer ends at `prev` is refused with
   * ERR_FORK (a second transfer from the same point), an unknown device with ERR_DEVICE_UNKNOWN, an attestation
   * whose signature has a high S with ERR_ATTESTATION_HIGH_S. Durable before returning.
   */
  appendAttestations(items: readonly AttestationAppend[]): Promise<AppendResult[]>;
  /**
   * Records a device learnt from a bundle (already verified by the caller): new, or a longer chain of a known
   * device. A chain that disagrees with the recorded one is refused with ERR_FORK; one holding an attestation
   * whose signature has a high S with ERR_ATTESTATION_HIGH_S, before anything is compared or kept as evidence.
   * @returns 'added', 'extended' or 'unchanged'
   */
  importDevice(device: DeviceRecord): Promise<'added' | 'extended' | 'unchanged'>;
}

/** Whole-registry reads: audits and lots, not hot paths. */
export interface DeviceCatalog {
  /** Every device, newest version of each (reads the whole registry). */
  listDevices(): Promise<DeviceRecord[]>;
  /** Number of devices recorded. */
  countDevices(): Promise<number>;
  /** Serials of a production lot, in recording order (empty for an unknown lot). */
  listLot(lot: string): Promise<string[]>;
}
