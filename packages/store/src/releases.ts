/**
 * The embedded store's firmware signers, releases and withdrawal lists: one JSON document, `releases.json`,
 * rewritten durably under the store's writer lock (few and rarely written, like store.json). Each write re-reads
 * the file under the lock, so the rules in `release-rules.ts` see every release recorded by any process.
 */
import { readFileSync } from 'node:fs';
import { CustodyError } from '@custody/core/errors';
import type { FirmwareSignerRecord, ReleaseRecord, ReleaseRegistry, WithdrawalsRecord } from '@custody/core/ports';
import { writeFileDurably } from './durable-json-file.js';
import { releaseConflict, withdrawalsConflict } from './release-rules.js';
import type { WithLock } from './store-documents.js';

interface ReleasesDocument {
  signers: FirmwareSignerRecord[];
  releases: ReleaseRecord[];
  withdrawals: WithdrawalsRecord[];
}

/** `releases.json` of one store folder. */
export class FileReleases implements ReleaseRegistry {
  constructor(
    private readonly file: string,
    private readonly withLock: WithLock,
  ) {}

  private read(): ReleasesDocument {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { signers: [], releases: [], withdrawals: [] };
      throw new CustodyError('ERR_STORE_IO', `${this.file}: cannot read (${(e as NodeJS.ErrnoException).code})`, { file: this.file, cause: e });
    }
    try {
      return JSON.parse(text) as ReleasesDocument;
    } catch (e) {
      throw new CustodyError('ERR_STORE_CORRUPT', `${this.file}: not valid JSON`, { file: this.file, cause: e });
    }
  }

  private update(change: (doc: ReleasesDocument) => void): Promise<void> {
    return this.withLock(() => {
      const doc = this.read();
      change(doc);
      writeFileDurably(this.file, JSON.stringify(doc, null, 1) + '\n');
    });
  }

  async addFirmwareSigner(record: FirmwareSignerRecord): Promise<void> {
    await this.update((doc) => {
      if (doc.signers.some((s) => s.name === record.name))
        throw new CustodyError('ERR_CONFLICT_NAME', `${this.file}: the firmware signer name "${record.name}" is already used`);
      doc.signers.push(record);
    });
  }

  async getFirmwareSigner(name: string): Promise<FirmwareSignerRecord | undefined> {
    return this.read().signers.find((s) => s.name === name);
  }

  async listFirmwareSigners(): Promise<FirmwareSignerRecord[]> {
    return this.read().signers;
  }

  async recordRelease(record: ReleaseRecord): Promise<void> {
    await this.update((doc) => {
      const prior = {
        exists: doc.releases.some((r) => r.hash === record.hash),
        newest: doc.releases.at(-1)?.hash ?? null,
        sameModels: doc.releases.filter((r) => r.models.some((m) => record.models.includes(m))),
      };
      const conflict = releaseConflict(record, prior, this.file);
      if (conflict) throw conflict;
      doc.releases.push(record);
    });
  }

  async listReleases(): Promise<ReleaseRecord[]> {
    return this.read().releases;
  }

  async getRelease(hash: string): Promise<ReleaseRecord | undefined> {
    return this.read().releases.find((r) => r.hash === hash);
  }

  async recordWithdrawals(record: WithdrawalsRecord): Promise<void> {
    await this.update((doc) => {
      const conflict = withdrawalsConflict(record.number, doc.withdrawals.at(-1)?.number ?? 0, this.file);
      if (conflict) throw conflict;
      doc.withdrawals.push(record);
    });
  }

  async latestWithdrawals(): Promise<WithdrawalsRecord | undefined> {
    return this.read().withdrawals.at(-1);
  }
}
