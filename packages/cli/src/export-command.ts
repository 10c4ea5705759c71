/** The shape `ca export` and `parties export` share: a name, `--chain`, and PEM to standard output or `--out`. */
import { Args } from '@oclif/core';
import type { Store } from '@custody/store/registry';
import { BaseCommand } from './base-command.js';
import { oclifFlags } from './flags.js';
import { STORE_FLAG } from './flag-spec.js';
import { openStore } from '@custody/app/context';
import { exportText, type ExportedCertificate } from '@custody/app/exports';
import { writeOutputFile } from '@custody/app/outputs';

/** The argument of both commands. Each command class declares it itself: oclif reads only a class's own statics. */
export const EXPORT_ARGS = { name: Args.string({ description: 'the name in this store (custody ca list, custody parties list)', required: true }) };

/** The flags of both commands (declared by each class, as EXPORT_ARGS). */
export const EXPORT_FLAGS = oclifFlags({
  ...STORE_FLAG,
  chain: { type: 'boolean', description: 'also the CAs of this store above it, up to the root', default: false },
  out: { type: 'string', description: 'write the PEM to this file instead of standard output' },
  force: { type: 'boolean', description: 'replace --out when it exists', default: false },
});

/** What both commands report under --json: PEM in `certificatePem` and `chainPem`, the written file in `file`. */
export interface ExportData {
  name: string;
  certificatePem: string;
  chainPem: string[];
  file?: string;
}

export abstract class ExportCommand extends BaseCommand {
  static override args = EXPORT_ARGS;
  static override flags = EXPORT_FLAGS;

  /** The certificate named `name`, with its chain when asked. */
  protected abstract exported(store: Store, name: string, chain: boolean): Promise<ExportedCertificate>;

  async run(): Promise<ExportData> {
    const { args, flags } = await this.parse(this.ctor as typeof ExportCommand);
    const store = await openStore(flags.store, flags.keys);
    try {
      const e = await this.exported(store, args.name, flags.chain);
      const data: ExportData = { name: e.name, certificatePem: e.certificate, chainPem: e.chain };
      if (flags.out === undefined) {
        if (!this.jsonEnabled()) process.stdout.write(exportText(e));
        return data;
      }
      writeOutputFile(flags.out, exportText(e), { force: flags.force });
      this.log(`${args.name}: written to ${flags.out}`);
      return { ...data, file: flags.out };
    } finally {
      await store.close();
    }
  }
}
