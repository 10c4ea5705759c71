import { BaseCommand } from '../../base-command.js';
import { openStore } from '../../ops/context.js';

export default class PartiesList extends BaseCommand {
  static override summary = 'List the parties this store knows: its own (with keys) and imported ones.';

  async run(): Promise<Array<{ name: string; organization?: string; own: boolean; spkiSha256: string }>> {
    const { flags } = await this.parse(PartiesList);
    const store = await openStore(flags.store);
    try {
      const list = (await store.listParties()).map((p) => ({ name: p.name, organization: p.organization, own: p.key !== undefined, spkiSha256: p.spkiSha256 }));
      for (const p of list) this.log(`${p.name.padEnd(24)} ${p.own ? 'own     ' : 'imported'}  ${p.organization ?? ''}  key ${p.spkiSha256.slice(0, 16)}...`);
      return list;
    } finally {
      await store.close();
    }
  }
}
