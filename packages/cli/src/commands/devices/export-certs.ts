import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { SELECTION_FLAGS, STORE_FLAG } from '../../flag-spec.js';
import { openStore } from '@custody/app/context';
import { selectDevices } from '@custody/app/handoff';
import { exportCertificates } from '@custody/app/device-certs';

export default class DevicesExportCerts extends BaseCommand {
  static override summary = 'Write the IDevID certificates of recorded devices again from the store, one <serial>.pem each.';
  static override examples = ['<%= config.bin %> devices export-certs --lot L2026-11 --out issued/'];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    ...SELECTION_FLAGS,
    out: { type: 'string', description: 'folder for the certificates; made when missing', required: true },
    force: { type: 'boolean', description: 'replace certificate files already in --out', default: false },
  });

  async run(): Promise<{ certificates: Array<{ serial: string; file: string }> }> {
    const { flags } = await this.parse(DevicesExportCerts);
    const store = await openStore(flags.store, flags.keys);
    try {
      const serials = await selectDevices(store, { serials: flags.serial, lot: flags.lot, list: flags.list });
      const written = await exportCertificates(store, serials, flags.out, { force: flags.force });
      for (const w of written) this.log(`${w.serial}  ${w.file}`);
      return { certificates: written };
    } finally {
      await store.close();
    }
  }
}
