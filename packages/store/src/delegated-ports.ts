/**
 * The ports a backend serves from a part of its own (its release files or tables, its LDevID records): one
 * delegation for both backends, so each store class lists only what it implements itself.
 */
import type { FirmwareSignerRecord, LDevIDRecord, LDevIDRegistry, ReleaseRecord, ReleaseRegistry, WithdrawalsRecord } from '@custody/core/ports';

/** A store whose `ReleaseRegistry` and `LDevIDRegistry` are two parts it holds. */
export abstract class DelegatedPorts implements ReleaseRegistry, LDevIDRegistry {
  /** Firmware signers, releases and withdrawal lists. */
  protected abstract readonly releasePart: ReleaseRegistry;
  /** LDevIDs issued at activation. */
  protected abstract readonly ldevidPart: LDevIDRegistry;

  addFirmwareSigner(r: FirmwareSignerRecord): Promise<void> {
    return this.releasePart.addFirmwareSigner(r);
  }
  getFirmwareSigner(name: string): Promise<FirmwareSignerRecord | undefined> {
    return this.releasePart.getFirmwareSigner(name);
  }
  listFirmwareSigners(): Promise<FirmwareSignerRecord[]> {
    return this.releasePart.listFirmwareSigners();
  }
  recordRelease(r: ReleaseRecord): Promise<void> {
    return this.releasePart.recordRelease(r);
  }
  listReleases(): Promise<ReleaseRecord[]> {
    return this.releasePart.listReleases();
  }
  getRelease(hash: string): Promise<ReleaseRecord | undefined> {
    return this.releasePart.getRelease(hash);
  }
  recordWithdrawals(r: WithdrawalsRecord): Promise<void> {
    return this.releasePart.recordWithdrawals(r);
  }
  latestWithdrawals(): Promise<WithdrawalsRecord | undefined> {
    return this.releasePart.latestWithdrawals();
  }

  /** @throws ERR_DUPLICATE_KEY, ERR_DUPLICATE_CERT_SERIAL */
  recordLDevID(record: LDevIDRecord): Promise<void> {
    return this.ldevidPart.recordLDevID(record);
  }
  ldevidKeyHolder(spkiSha256: string): Promise<string | undefined> {
    return this.ldevidPart.ldevidKeyHolder(spkiSha256);
  }
  listLDevIDs(serial: string): Promise<LDevIDRecord[]> {
    return this.ldevidPart.listLDevIDs(serial);
  }
}
