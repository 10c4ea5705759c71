import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { openStore } from '../../ops/context.js';
import { exportParty, exportText, type ExportedCertificate } from '../../ops/exports.js';
import { writeOutputFile } from '../../ops/outputs.js';

export default class PartiesExport extends BaseCommand {
  static override summary = "Print or write a party's attestation certificate (PEM): what the previous custodian hands the device to.";
  static override examples = ['<%= config.bin %> parties export fabrikam-ops --out fabrikam-ops.pem', '<%= config.bin %> parties export northwind --chain'];
  static override args = { name: Args.string({ description: 'the party (custody parties list)', required: true }) };

  static override flags = {
    chain: Flags.boolean({ description: 'also the CAs of this store above it, up to the root', default: false }),
    out: Flags.string({ description: 'write the PEM to this file instead of standard output' }),
    force: Flags.boolean({ description: 'replace --out when it exists', default: false }),
  };

  async run(): Promise<ExportedCertificate & { file?: string }> {
    const { args, flags } = await this.parse(PartiesExport);
    const store = await openStore(flags.store);
    try {
      const e = await exportParty(store, args.name, { chain: flags.chain });
      if (flags.out === undefined) {
        if (!this.jsonEnabled()) process.stdout.write(exportText(e));
        return e;
      }
      writeOutputFile(flags.out, exportText(e), { force: flags.force });
      this.log(`${args.name}: written to ${flags.out}`);
      return { ...e, file: flags.out };
    } finally {
      await store.close();
    }
  }
}
