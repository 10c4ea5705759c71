import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { SELECTION_FLAGS, STORE_FLAG } from '../../flag-spec.js';
import { now, openStore } from '@custody/app/context';
import { exportBundles } from '@custody/app/bundles';
import { selectDevices, selectsMany } from '@custody/app/handoff';

export default class DevicesExport extends BaseCommand {
  static override summary = "Write devices' provenance bundles (one JSON file each) for the next organisation.";
  static override examples = [
    '<%= config.bin %> devices export --serial ACME-000001 --out ACME-000001.json',
    '<%= config.bin %> devices export --lot L2026-11 --out bundles/',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    ...SELECTION_FLAGS,
    out: {
      type: 'string',
      description: 'bundle file for one --serial; a folder (made when missing) for --lot, --list, several --serial, or an existing folder',
      required: true,
    },
    'log-history': {
      type: 'boolean',
      description:
        'for every attestation, the earliest log checkpoint holding it (default: only for signers this store revoked), so the bundle still verifies after a later revocation',
      default: false,
    },
  });

  async run(): Promise<{ bundles: Array<{ serial: string; file: string; bytes: number }> }> {
    const { flags } = await this.parse(DevicesExport);
    const store = await openStore(flags.store, flags.keys);
    try {
      const selection = { serials: flags.serial, lot: flags.lot, list: flags.list };
      const serials = await selectDevices(store, selection);
      const bundles = await exportBundles(store, serials, flags.out, undefined, {
        folder: selectsMany(selection),
        now: now(),
        logHistory: flags['log-history'],
        onWarning: (m) => process.stderr.write(`custody: warning: ${m}\n`),
      });
      for (const w of bundles) this.log(`${w.serial}  ${w.file}  (${w.bytes} bytes)`);
      return { bundles };
    } finally {
      await store.close();
    }
  }
}
