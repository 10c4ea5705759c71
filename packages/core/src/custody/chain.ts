/**
 * Extending a device's chain of custody: the birth attestation at the factory, then one handoff (or the final
 * activation) per transfer. Only the current custodian, the `to` of the newest attestation, may sign the next.
 */
import { CustodyError } from '../errors.js';
import { toHex } from '../util/bytes.js';
import type { Claims } from '../attestation/claims.js';
import { createStatement, type AttestationKind } from '../attestation/statement.js';
import { parseAttestation, signAttestation, type AttestationSigner, type ParsedAttestation } from '../attestation/cms.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { DeviceRecord } from '../registry/ports.js';

/** Where a device's chain stands. */
export interface ChainHead {
  /** Number of attestations. */
  length: number;
  /** Hex SHA-256 of the newest attestation's DER (the next one's `prev`), null before birth. */
  lastHash: string | null;
  /** Hex SPKI SHA-256 of the current custodian, null before birth. */
  custodian: string | null;
  activated: boolean;
  last?: ParsedAttestation;
}

/** The head of a recorded chain (the records are trusted store data: parsed, not re-verified). */
export async function chainHead(device: DeviceRecord, provider: CryptoProvider): Promise<ChainHead> {
  const n = device.attestations.length;
  if (n === 0) return { length: 0, lastHash: null, custodian: null, activated: false };
  const lastDER = device.attestations[n - 1]!;
  const last = parseAttestation(lastDER);
  return {
    length: n,
    lastHash: toHex(await provider.digest('SHA-256', lastDER)),
    custodian: last.statement.predicate.to,
    activated: last.statement.predicate.seq >= 0 && last.statement.predicateType.endsWith('/activation/v1'),
    last,
  };
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

export interface TransferInput {
  device: DeviceRecord;
  kind: Exclude<AttestationKind, 'birth'>;
  signer: AttestationSigner;
  /** Hex SPKI SHA-256 of the next custodian (for an activation, the activating party itself). */
  to: string;
  claims?: Claims;
  stage?: string;
  now: Date;
  provider: CryptoProvider;
}

/**
 * Signs the next attestation of a device's chain.
 * @returns the attestation DER and the hash it extends (for the registry's fork check)
 * @throws ERR_DEVICE_UNBORN (no birth attestation), ERR_DEVICE_ACTIVATED, ERR_NOT_CUSTODIAN
 */
export async function signTransfer(t: TransferInput): Promise<{ der: Uint8Array; prev: string }> {
  const head = await chainHead(t.device, t.provider);
  if (!head.last || head.lastHash === null) throw new CustodyError('ERR_DEVICE_UNBORN', `device ${t.device.serial} has no birth attestation to extend`);
  if (head.activated) throw new CustodyError('ERR_DEVICE_ACTIVATED', `device ${t.device.serial} is activated; its chain is closed`);
  if (head.custodian !== t.signer.spkiSha256) {
    throw new CustodyError('ERR_NOT_CUSTODIAN', `device ${t.device.serial}: the signing key ${t.signer.spkiSha256.slice(0, 16)}... is not the custodian's (expected ${head.custodian!.slice(0, 16)}...)`);
  }
  const prevSubject = head.last.statement.subject[0];
  const statement = createStatement({
    kind: t.kind,
    device: prevSubject.name,
    idevidSha256: prevSubject.digest.sha256,
    seq: head.last.statement.predicate.seq + 1,
    prev: head.lastHash,
    from: t.signer.spkiSha256,
    to: t.to,
    time: t.now,
    claims: t.claims ?? {},
    ...(t.stage !== undefined ? { stage: t.stage } : {}),
  });
  return { der: await signAttestation(t.signer, statement, t.now), prev: head.lastHash };
}
