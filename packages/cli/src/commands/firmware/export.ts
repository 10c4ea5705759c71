import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FLAGS, STORE_FLAG } from '../../flag-spec.js';
import { keyProtection, now, openStore, readPassphrase } from '@custody/app/context';
import { exportFirmware, type FirmwareExportResult } from '@custody/app/firmware-export';

export default class FirmwareExport extends BaseCommand {
  static override summary = "Publish the store's firmware releases for other update systems: a TUF repository (root, targets, snapshot, timestamp).";
  static override examples = [
    '<%= config.bin %> firmware export --format tuf tuf-repo/',
    '<%= config.bin %> firmware export --format tuf tuf-repo/ --image gw-2.4.1.bin',
  ];

  static override args = {
    dir: Args.string({ description: 'the repository folder (made when missing; a later export publishes the next version)', required: true }),
  };

  static override flags = oclifFlags({
    ...STORE_FLAG,
    format: { type: 'string', description: 'tuf', required: true },
    image: { type: 'list', description: 'an image file a release names, published beside it (repeatable)' },
    ...PASSPHRASE_FLAGS,
  });

  async run(): Promise<FirmwareExportResult> {
    const { args, flags } = await this.parse(FirmwareExport);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const protection = keyProtection(passphrase, flags['no-encrypt'], flags.insecure);
    const store = await openStore(flags.store, flags.keys);
    try {
      const r = await exportFirmware(store, { format: flags.format, dir: args.dir, images: flags.image ?? [], passphrase, protection, now: now() });
      this.log(`${r.dir}: TUF repository version ${r.version} with ${r.targets.length} target(s) (${r.releases} release(s))`);
      if (r.keysCreated) this.log(`TUF role keys made in the store's key folder (tuf-root, tuf-targets, tuf-snapshot, tuf-timestamp .key.pem)`);
      return r;
    } finally {
      await store.close();
    }
  }
}
