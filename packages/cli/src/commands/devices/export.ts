import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { now, openStore } from '@custody/app/context';
import { exportBundles } from '@custody/app/bundles';
import { selectDevices } from '@custody/app/handoff';

export default class DevicesExport extends BaseCommand {
  static override summary = "Write devices' provenance bundles (one JSON file each) for the next organisation.";
  static override examples = ['<%= config.bin %> devices export --serial ACME-000001 --out ACME-000001.json', '<%= config.bin %> devices export --lot L2026-11 --out bundles/'];

  static override flags = {
    serial: Flags.string({ description: 'device serial (repeatable)', multiple: true }),
    lot: Flags.string({ description: 'every device of a production lot' }),
    list: Flags.string({ description: 'file with one serial a line' }),
    out: Flags.string({ description: 'bundle file (one device) or folder', required: true }),
    'log-history': Flags.boolean({
      description: "for every attestation, the earliest log checkpoint holding it (default: only for signers this store revoked), so the bundle still verifies after a later revocation",
      default: false,
    }),
  };

  async run(): Promise<Array<{ serial: string; file: string; bytes: number }>> {
    const { flags } = await this.parse(DevicesExport);
    const store = await openStore(flags.store);
    try {
      const serials = await selectDevices(store, { serials: flags.serial, lot: flags.lot, list: flags.list });
      const written = await exportBundles(store, serials, flags.out, undefined, { now: now(), logHistory: flags['log-history'], onWarning: (m) => process.stderr.write(`custody: warning: ${m}\n`) });
      for (const w of written) this.log(`${w.serial}  ${w.file}  (${w.bytes} bytes)`);
      return written;
    } finally {
      await store.close();
    }
  }
}
