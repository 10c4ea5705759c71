import type { Store } from '@custody/store/registry';
import { EXPORT_ARGS, EXPORT_FLAGS, ExportCommand } from '../../export-command.js';
import { exportParty, type ExportedCertificate } from '@custody/app/exports';

export default class PartiesExport extends ExportCommand {
  static override summary = "Print or write a party's attestation certificate (PEM): what the previous custodian hands the device to.";
  static override args = EXPORT_ARGS;
  static override flags = EXPORT_FLAGS;
  static override examples = ['<%= config.bin %> parties export fabrikam-ops --out fabrikam-ops.pem', '<%= config.bin %> parties export northwind --chain'];

  protected exported(store: Store, name: string, chain: boolean): Promise<ExportedCertificate> {
    return exportParty(store, name, { chain });
  }
}
