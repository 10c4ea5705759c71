import type { Store } from '@custody/store/registry';
import { EXPORT_ARGS, EXPORT_FLAGS, ExportCommand } from '../../export-command.js';
import { exportCA, type ExportedCertificate } from '@custody/app/exports';

export default class CaExport extends ExportCommand {
  static override summary = "Print or write a CA's certificate (PEM), for the next organisation's trust anchors.";
  static override args = EXPORT_ARGS;
  static override flags = EXPORT_FLAGS;
  static override examples = ['<%= config.bin %> ca export acme-root --out acme-root.pem', '<%= config.bin %> ca export acme-issuing --chain'];

  protected exported(store: Store, name: string, chain: boolean): Promise<ExportedCertificate> {
    return exportCA(store, name, { chain });
  }
}
