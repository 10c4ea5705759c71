import { BaseCommand } from '../../base-command.js';
import { openStore } from '@custody/app/context';
import { certificateSummary, type CertificateSummary } from '@custody/app/exports';

export default class CaList extends BaseCommand {
  static override summary = "List the store's certificate authorities: subject, key id, validity and SHA-256 fingerprint.";

  async run(): Promise<Array<{ name: string; template: string; issuer?: string } & CertificateSummary>> {
    const { flags } = await this.parse(CaList);
    const store = await openStore(flags.store, flags.keys);
    try {
      const list = [];
      for (const c of await store.listCAs()) list.push({ name: c.name, template: c.template, ...(c.issuer ? { issuer: c.issuer } : {}), ...(await certificateSummary(c.certificate)) });
      for (const c of list) {
        this.log(`${c.name.padEnd(24)} ${c.template.padEnd(12)} ${c.issuer ? `under ${c.issuer}` : 'root'}`);
        this.log(`  ${c.subject}; key id ${c.keyId ?? 'none'}; valid ${c.notBefore} to ${c.notAfter}; SHA-256 ${c.sha256}`);
      }
      return list;
    } finally {
      await store.close();
    }
  }
}
