import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { openStore } from '@custody/app/context';
import { certificateSummary, type CertificateSummary } from '@custody/app/exports';
import { keySummary, type KeySummary } from '@custody/app/key-summary';
import { formatKey } from '../../render/key.js';

type CAEntry = { name: string; template: string; issuer?: string; key: KeySummary } & CertificateSummary;

export default class CaList extends BaseCommand {
  static override summary = "List the store's certificate authorities: subject, key id, validity, fingerprint, and where each key lives (file or token).";
  static override flags = oclifFlags(STORE_FLAG);

  async run(): Promise<{ cas: CAEntry[] }> {
    const { flags } = await this.parse(CaList);
    const store = await openStore(flags.store, flags.keys);
    try {
      const cas: CAEntry[] = [];
      for (const c of await store.listCAs())
        cas.push({
          name: c.name,
          template: c.template,
          ...(c.issuer ? { issuer: c.issuer } : {}),
          key: keySummary(store, c.key),
          ...(await certificateSummary(c.certificate)),
        });
      for (const c of cas) {
        this.log(`${c.name.padEnd(24)} ${c.template.padEnd(12)} ${c.issuer ? `under ${c.issuer}` : 'root'}`);
        this.log(`  ${c.subject}; key id ${c.keyId ?? 'none'}; valid ${c.notBefore} to ${c.notAfter}; SHA-256 ${c.sha256}`);
        this.log(`  ${formatKey(c.key)}`);
      }
      return { cas };
    } finally {
      await store.close();
    }
  }
}
