import type { Store } from '@custody/store/registry';
import { EXPORT_ARGS, EXPORT_FLAGS, ExportCommand } from '../../../export-command.js';
import { exportCodeSigner } from '@custody/app/code-sign';
import type { ExportedCertificate } from '@custody/app/exports';

export default class CodeSignerExport extends ExportCommand {
  static override summary = "Print or write a code signer's certificate (PEM): what a device owner pins or enrolls, or what checks a signature.";
  static override args = EXPORT_ARGS;
  static override flags = EXPORT_FLAGS;
  static override examples = [
    '<%= config.bin %> code signer export fabrikam-ops --out fabrikam-ops.pem',
    '<%= config.bin %> code signer export fabrikam-ops --chain',
  ];

  protected exported(store: Store, name: string, chain: boolean): Promise<ExportedCertificate> {
    return exportCodeSigner(store, name, { chain });
  }
}
