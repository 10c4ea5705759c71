import { BaseCommand } from '../base-command.js';
import { oclifFlags } from '../flags.js';
import { STORE_FLAG } from '../flag-spec.js';
import { initStore, now } from '@custody/app/context';

export default class Init extends BaseCommand {
  static override summary = 'Create a store (default ./.custody).';
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --store /var/lib/custody'];
  static override flags = oclifFlags(STORE_FLAG);

  async run(): Promise<{ store: string }> {
    const { flags } = await this.parse(Init);
    const store = await initStore(flags.store, now(), flags.keys);
    await store.close();
    this.log(`created store ${store.location} (or brought its schema up to date)`);
    return { store: store.location };
  }
}
