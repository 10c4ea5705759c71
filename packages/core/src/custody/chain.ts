/**
 * Extending a device's chain of custody: the birth attestation at the factory, then one handoff (or the final
 * activation) per transfer. Only the current custodian, the `to` of the newest attestation, may sign the next.
 */
import { CustodyError } from '../errors.js';
import { fromUtf8, toHex } from '../util/bytes.js';
import { parseStrictJSON } from '../util/strict-json.js';
import type { Claims } from '../attestation/claims.js';
import {
  createStatement,
  createStatementEncoder,
  predicateTypeOf,
  type AttestationKind,
  type Statement,
  type StatementSubject,
} from '../attestation/statement.js';
import {
  prepareEncodedStatement,
  readStatementBytes,
  signEncodedStatement,
  signEncodedStatementSync,
  type AttestationSigner,
  type UnsignedAttestation,
} from '../attestation/cms.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { ChainFacts, ChainTip, DeviceRecord } from '../registry/ports.js';

/** Where a device's chain stands: what the next attestation must extend and who may sign it. */
export interface DeviceHead {
  serial: string;
  /** Number of attestations (the next one's seq). */
  length: number;
  /** Hex SHA-256 of the newest attestation's DER (the next one's `prev`), null before birth. */
  lastHash: string | null;
  /** Hex SPKI SHA-256 of the current custodian (the newest attestation's `to`), null before birth. */
  custodian: string | null;
  /** True once an activation attestation closed the chain. */
  activated: boolean;
  /** The statements' subject (`<manufacturer>/<serial>` and the IDevID digest), null before birth. */
  subject: StatementSubject | null;
}

/**
 * The head of a chain from its tip: from the facts the registry recorded, or else read from the newest statement.
 * The records are the registry's own writing: the statement is read, not re-verified.
 * @throws ERR_ATTESTATION_MALFORMED when the newest attestation holds no readable statement
 */
export function headOfChain(tip: ChainTip): DeviceHead {
  const { serial, length, last, lastHash } = tip;
  const unborn = length === 0 || lastHash === null || (tip.facts === undefined && last === undefined);
  if (unborn) return { serial, length: 0, lastHash: null, custodian: null, activated: false, subject: null };
  const facts = tip.facts ?? readChainFacts(last!, serial, length - 1);
  return { serial, length, lastHash, custodian: facts.custodian, activated: facts.activated, subject: facts.subject };
}

/**
 * What an attestation's statement says of where the device stands (a registry records them beside it).
 * @param seq its place in the chain, for the message
 * @throws ERR_ATTESTATION_MALFORMED when it holds no readable statement
 */
export function readChainFacts(der: Uint8Array, serial: string, seq: number): ChainFacts {
  try {
    const s = parseStrictJSON(fromUtf8(readStatementBytes(der)), { code: 'ERR_ATTESTATION_MALFORMED', what: 'statement' }) as Statement;
    return { custodian: s.predicate.to, activated: s.predicateType === predicateTypeOf('activation'), subject: s.subject[0] };
  } catch (e) {
    const why = e instanceof CustodyError ? ` (${e.message})` : '';
    throw new CustodyError('ERR_ATTESTATION_MALFORMED', `device ${serial}: attestation ${seq} holds no readable statement${why}`, { cause: e });
  }
}

/** The head of a whole device record (hashes its newest attestation). */
export async function chainHead(device: DeviceRecord, provider: CryptoProvider): Promise<DeviceHead> {
  const last = device.attestations.at(-1);
  const hash = last === undefined ? null : toHex(await provider.digest('SHA-256', last));
  return headOfChain({ serial: device.serial, length: device.attestations.length, lastHash: hash, ...(last ? { last } : {}) });
}

/** The attestation subject name of a device: `<manufacturer>/<serial>`. */
export function deviceSubjectName(manufacturer: string, serial: string): string {
  return `${manufacturer}/${serial}`;
}

export interface BirthInput {
  serial: string;
  manufacturer: string;
  /** Hex SHA-256 of the IDevID DER. */
  certSha256: string;
  signer: AttestationSigner;
  /** Hex SPKI SHA-256 of the first custodian (the manufacturer's own key by default). */
  to: string;
  claims?: Claims;
  stage?: string;
  now: Date;
}

/** Statement of a birth attestation, for signing by the caller (sync or async). */
export function birthStatement(b: BirthInput) {
  return createStatement({
    kind: 'birth',
    device: deviceSubjectName(b.manufacturer, b.serial),
    idevidSha256: b.certSha256,
    seq: 0,
    prev: null,
    from: b.signer.spkiSha256,
    to: b.to,
    time: b.now,
    claims: b.claims ?? {},
    ...(b.stage !== undefined ? { stage: b.stage } : {}),
  });
}

/** Signs the birth attestations of a batch: `createBirths`. */
export interface Births {
  /** True when `signSync` works (the signer's provider has synchronous operations). */
  readonly sync: boolean;
  sign(device: { serial: string; certSha256: string }): Promise<Uint8Array>;
  signSync(device: { serial: string; certSha256: string }): Uint8Array;
}

/**
 * Prepares the birth attestations of a provisioning batch: the shared statement fields (signer, first
 * custodian, claims, time) are checked and encoded once; each device costs its serial, digest and signature.
 * @throws ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for bad shared fields
 */
export function createBirths(b: Omit<BirthInput, 'serial' | 'certSha256'>): Births {
  const encode = createStatementEncoder({
    kind: 'birth',
    from: b.signer.spkiSha256,
    to: b.to,
    time: b.now,
    claims: b.claims ?? {},
    ...(b.stage !== undefined ? { stage: b.stage } : {}),
  });
  const content = (d: { serial: string; certSha256: string }) =>
    encode({ subject: { name: deviceSubjectName(b.manufacturer, d.serial), digest: { sha256: d.certSha256 } }, seq: 0, prev: null });
  return {
    sync: b.signer.parts.sync !== undefined,
    sign: (d) => signEncodedStatement(b.signer, content(d), b.now),
    signSync: (d) => signEncodedStatementSync(b.signer, content(d), b.now),
  };
}

/** What every transfer of one batch shares. */
export interface TransferTemplate {
  kind: Exclude<AttestationKind, 'birth'>;
  signer: AttestationSigner;
  /** Hex SPKI SHA-256 of the next custodian (for an activation, the activating party itself). */
  to: string;
  claims?: Claims;
  stage?: string;
  now: Date;
}

/**
 * A signed transfer: the attestation DER, the hash it extends (for the registry's fork check) and what its
 * statement says (for the registry to record beside it).
 */
export interface SignedTransfer {
  der: Uint8Array;
  prev: string;
  facts: ChainFacts;
}

/** Signs the next attestation of many chains with one template: `createTransfer`. */
export interface Transfer {
  /** True when `signSync` works (the signer's provider has synchronous operations). */
  readonly sync: boolean;
  /** @throws ERR_DEVICE_UNBORN, ERR_DEVICE_ACTIVATED, ERR_NOT_CUSTODIAN */
  sign(head: DeviceHead): Promise<SignedTransfer>;
  /** `sign` without a promise, for a provider with synchronous operations; otherwise a TypeError. */
  signSync(head: DeviceHead): SignedTransfer;
  /**
   * `signSync` up to the signature, which the caller makes (a worker thread holding the same key) and hands to
   * `unsigned.complete`. For a provider with synchronous operations; otherwise a TypeError.
   * @throws ERR_DEVICE_UNBORN, ERR_DEVICE_ACTIVATED, ERR_NOT_CUSTODIAN
   */
  prepare(head: DeviceHead): { unsigned: UnsignedAttestation; prev: string; facts: ChainFacts };
}

/**
 * Prepares the transfers of a batch: the shared statement fields are checked and encoded once, so that each
 * device costs its checks, a few string joins and one signature.
 * @throws ERR_ATTESTATION_STATEMENT / ERR_CLAIMS_* for bad shared fields
 */
export function createTransfer(t: TransferTemplate): Transfer {
  // An activation hands the device to its owner: the one key that may later sign its resale.
  if (t.kind === 'activation' && t.to !== t.signer.spkiSha256)
    throw new CustodyError('ERR_ACTIVATION_OWNER', `an activation hands the device to the activating party itself, not to key ${t.to.slice(0, 16)}...`);
  const encode = createStatementEncoder({
    kind: t.kind,
    from: t.signer.spkiSha256,
    to: t.to,
    time: t.now,
    claims: t.claims ?? {},
    ...(t.stage !== undefined ? { stage: t.stage } : {}),
  });
  const activated = t.kind === 'activation';
  const content = (head: DeviceHead): { content: Uint8Array; prev: string; facts: ChainFacts } => {
    if (head.lastHash === null || head.subject === null)
      throw new CustodyError('ERR_DEVICE_UNBORN', `device ${head.serial} has no birth attestation to extend`);
    // After an activation only a handoff may follow (a resale); that its signer is the activating owner is the
    // custodian rule below, as for every attestation. Another activation of an activated device is refused.
    if (head.activated && t.kind !== 'handoff')
      throw new CustodyError(
        'ERR_DEVICE_ACTIVATED',
        `device ${head.serial} is activated: only its owner's handoff (a resale) may follow, not another activation`,
      );
    if (head.custodian !== t.signer.spkiSha256) {
      throw new CustodyError(
        'ERR_NOT_CUSTODIAN',
        `device ${head.serial}: the signing key ${t.signer.spkiSha256.slice(0, 16)}... is not the custodian's (expected ${String(head.custodian).slice(0, 16)}...)`,
      );
    }
    const facts = { custodian: t.to, activated, subject: head.subject };
    return { content: encode({ subject: head.subject, seq: head.length, prev: head.lastHash }), prev: head.lastHash, facts };
  };
  return {
    sync: t.signer.parts.sync !== undefined,
    async sign(head) {
      const c = content(head);
      return { der: await signEncodedStatement(t.signer, c.content, t.now), prev: c.prev, facts: c.facts };
    },
    signSync(head) {
      const c = content(head);
      return { der: signEncodedStatementSync(t.signer, c.content, t.now), prev: c.prev, facts: c.facts };
    },
    prepare(head) {
      const c = content(head);
      return { unsigned: prepareEncodedStatement(t.signer, c.content, t.now), prev: c.prev, facts: c.facts };
    },
  };
}

/** One transfer of a whole device record (tests and one-off callers; batches use `createTransfer`). */
export interface TransferInput extends TransferTemplate {
  device: DeviceRecord;
  provider: CryptoProvider;
}

/**
 * Signs the next attestation of a device's chain.
 * @returns the attestation DER and the hash it extends (for the registry's fork check)
 * @throws ERR_DEVICE_UNBORN (no birth attestation), ERR_DEVICE_ACTIVATED, ERR_NOT_CUSTODIAN
 */
export async function signTransfer(t: TransferInput): Promise<SignedTransfer> {
  return createTransfer(t).sign(await chainHead(t.device, t.provider));
}
