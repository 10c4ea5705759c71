import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { openStore } from '../../ops/context.js';
import { exportCA, exportText, type ExportedCertificate } from '../../ops/exports.js';
import { writeOutputFile } from '../../ops/outputs.js';

export default class CaExport extends BaseCommand {
  static override summary = "Print or write a CA's certificate (PEM), for the next organisation's trust anchors.";
  static override examples = ['<%= config.bin %> ca export acme-root --out acme-root.pem', '<%= config.bin %> ca export acme-issuing --chain'];
  static override args = { name: Args.string({ description: 'the CA (custody ca list)', required: true }) };

  static override flags = {
    chain: Flags.boolean({ description: 'also the CAs above it, up to the root', default: false }),
    out: Flags.string({ description: 'write the PEM to this file instead of standard output' }),
    force: Flags.boolean({ description: 'replace --out when it exists', default: false }),
  };

  async run(): Promise<ExportedCertificate & { file?: string }> {
    const { args, flags } = await this.parse(CaExport);
    const store = await openStore(flags.store);
    try {
      const e = await exportCA(store, args.name, { chain: flags.chain });
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
