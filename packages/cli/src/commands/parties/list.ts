import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { openStore } from '@custody/app/context';
import { certificateSummary, type CertificateSummary } from '@custody/app/exports';

type PartyEntry = { name: string; organization?: string; own: boolean; spkiSha256: string; role?: 'code-signer' } & CertificateSummary;

export default class PartiesList extends BaseCommand {
  static override summary = 'List the parties this store knows, its own (with keys) and imported ones: subject, key, validity, fingerprint.';
  static override flags = oclifFlags(STORE_FLAG);

  async run(): Promise<{ parties: PartyEntry[] }> {
    const { flags } = await this.parse(PartiesList);
    const store = await openStore(flags.store, flags.keys);
    try {
      const list: PartyEntry[] = [];
      for (const p of await store.listParties()) {
        list.push({
          name: p.name,
          ...(p.organization ? { organization: p.organization } : {}),
          own: p.key !== undefined,
          spkiSha256: p.spkiSha256,
          ...(p.role ? { role: p.role } : {}),
          ...(await certificateSummary(p.certificate)),
        });
      }
      for (const p of list) {
        this.log(`${p.name.padEnd(24)} ${p.own ? 'own     ' : 'imported'}  ${p.organization ?? ''}${p.role ? ` (${p.role})` : ''}`);
        this.log(`  ${p.subject}; key SHA-256 ${p.spkiSha256}; valid ${p.notBefore} to ${p.notAfter}; SHA-256 ${p.sha256}`);
      }
      return { parties: list };
    } finally {
      await store.close();
    }
  }
}
