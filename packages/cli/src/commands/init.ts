import { BaseCommand } from '../base-command.js';
import { EmbeddedStore } from '@custody/store';
import { CustodyError } from '@custody/core';
import { now } from '../ops/context.js';

export default class Init extends BaseCommand {
  static override summary = 'Create a store (default ./.custody).';
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --store /var/lib/custody'];

  async run(): Promise<{ store: string }> {
    const { flags } = await this.parse(Init);
    if (/^postgres(ql)?:\/\//.test(flags.store)) throw new CustodyError('ERR_USAGE_STORE', 'the PostgreSQL store is not available in this build yet');
    const store = await EmbeddedStore.init(flags.store, now());
    await store.close();
    this.log(`created store ${store.location}`);
    return { store: store.location };
  }
}
