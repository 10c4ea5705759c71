/**
 * The registry's half of the low-S rule (core's ecdsa-signature.ts says why): an attestation whose signature has
 * a high S is never recorded, however it comes in, so that its twin cannot take the real one's place in a chain.
 * Judged from the DER headers alone (`isHighSAttestation`), well under a microsecond an attestation.
 */
import { highSError, isHighSAttestation } from '@custody/core/attestation';
import type { AppendResult, AttestationAppend, DeviceRecord } from '@custody/core/ports';

/** The refusal (ERR_ATTESTATION_HIGH_S) of an append whose attestation has a high-S signature; else undefined. */
export function highSRefusal(item: AttestationAppend): AppendResult | undefined {
  if (!isHighSAttestation(item.attestation)) return undefined;
  const e = highSError(`device ${item.serial}: the attestation appended`);
  return { serial: item.serial, ok: false, code: e.code, message: e.message };
}

/**
 * Refuses a device to import when any of its attestations has a high-S signature.
 * @throws ERR_ATTESTATION_HIGH_S naming the device and the attestation
 */
export function refuseHighS(device: DeviceRecord): void {
  device.attestations.forEach((der, i) => {
    if (isHighSAttestation(der)) throw highSError(`device ${device.serial}: attestation ${i}`);
  });
}
