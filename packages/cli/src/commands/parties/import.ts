import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { now, openStore } from '@custody/app/context';
import { importParty } from '@custody/app/parties';

export default class PartiesImport extends BaseCommand {
  static override summary = "Record another organisation's party by its attestation certificate (no key), to name it in --to and reports.";
  static override examples = ['<%= config.bin %> parties import --name northwind --cert northwind-integration.pem'];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    name: { type: 'string', description: 'name to know the party by', required: true },
    cert: { type: 'string', description: "the party's attestation certificate (PEM or DER)", required: true },
  });

  async run(): Promise<{ name: string; spkiSha256: string }> {
    const { flags } = await this.parse(PartiesImport);
    const store = await openStore(flags.store, flags.keys);
    try {
      const p = await importParty(store, flags.name, flags.cert, now());
      this.log(`recorded party "${p.name}" (key ${p.spkiSha256.slice(0, 16)}...)`);
      return { name: p.name, spkiSha256: p.spkiSha256 };
    } finally {
      await store.close();
    }
  }
}
