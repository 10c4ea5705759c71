import { BaseCommand } from '../../base-command.js';
import { openStore } from '../../ops/context.js';

export default class CaList extends BaseCommand {
  static override summary = "List the store's certificate authorities.";

  async run(): Promise<Array<{ name: string; template: string; issuer?: string }>> {
    const { flags } = await this.parse(CaList);
    const store = await openStore(flags.store);
    try {
      const list = (await store.listCAs()).map((c) => ({ name: c.name, template: c.template, issuer: c.issuer }));
      for (const c of list) this.log(`${c.name.padEnd(24)} ${c.template.padEnd(12)} ${c.issuer ? `under ${c.issuer}` : 'root'}`);
      return list;
    } finally {
      await store.close();
    }
  }
}
