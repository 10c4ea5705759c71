import { BaseCommand } from '../../base-command.js';
import { listReleases, type ReleaseListing } from '@custody/app/firmware';
import { openStore } from '@custody/app/context';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { formatReleases } from '../../render/firmware.js';

export default class FirmwareList extends BaseCommand {
  static override summary = 'List the recorded releases, oldest first, and whether the newest withdrawal list withdraws them.';
  static override flags = oclifFlags(STORE_FLAG);

  async run(): Promise<{ releases: ReleaseListing[]; withdrawals: { number: number; nextUpdate: string } | null }> {
    const { flags } = await this.parse(FirmwareList);
    const store = await openStore(flags.store, flags.keys);
    try {
      const listing = await listReleases(store);
      for (const line of formatReleases(listing.releases, listing.withdrawals)) this.log(line);
      return listing;
    } finally {
      await store.close();
    }
  }
}
