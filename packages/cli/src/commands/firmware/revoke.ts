import { BaseCommand } from '../../base-command.js';
import { withdrawReleases } from '@custody/app/firmware';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FILE_FLAG, STORE_FLAG } from '../../flag-spec.js';

type RevokeData = { file: string; number: number; thisUpdate: string; nextUpdate: string; added: string[]; withdrawn: string[] };

export default class FirmwareRevoke extends BaseCommand {
  static override summary = 'Withdraw releases: write the next signed withdrawal list (a CRL for releases) and record it.';
  static override examples = [
    '<%= config.bin %> firmware revoke --release 1.3.0 --signer acme-firmware --out withdrawals.der',
    '<%= config.bin %> firmware revoke --signer acme-firmware --next-update P7D --out withdrawals.der',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    release: { type: 'list', description: 'release to withdraw: its version or manifest hash (repeatable; none re-issues the list)' },
    signer: { type: 'string', description: 'firmware signer (name in the store)', required: true },
    'next-update': { type: 'string', description: 'when devices should expect the next list: an ISO 8601 duration', default: 'P30D' },
    out: { type: 'string', description: 'file to write the withdrawal list (DER CMS) to', required: true },
    force: { type: 'boolean', description: 'replace the file at --out', default: false },
    ...PASSPHRASE_FILE_FLAG,
  });

  async run(): Promise<RevokeData> {
    const { flags } = await this.parse(FirmwareRevoke);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const store = await openStore(flags.store, flags.keys);
    try {
      const { record, added } = await withdrawReleases(store, {
        releases: flags.release ?? [],
        signer: flags.signer,
        nextUpdate: flags['next-update'],
        out: flags.out,
        force: flags.force,
        passphrase,
        now: now(),
      });
      this.log(`wrote withdrawal list ${record.number} to ${flags.out}: ${record.withdrawn.length} withdrawn, next update ${record.nextUpdate}`);
      const { number, thisUpdate, nextUpdate } = record;
      return { file: flags.out, number, thisUpdate, nextUpdate, added, withdrawn: record.withdrawn.map((w) => w.release) };
    } finally {
      await store.close();
    }
  }
}
