import { Args, Flags } from '@oclif/core';
import { EXIT_CODES, categoryOf } from '@custody/core';
import { BaseCommand } from '../../base-command.js';
import { now, openStore } from '@custody/app/context';
import { bundleFiles, importBundles, readTrustAnchors, type ImportResult } from '@custody/app/bundles';

export default class DevicesImport extends BaseCommand {
  static override summary = 'Read provenance bundles into this store, after checking every path, signature and link.';
  static override examples = ['<%= config.bin %> devices import bundles/ --trust acme-root.pem'];
  static override args = { path: Args.string({ description: 'a bundle file or a folder of them', required: true }) };

  static override flags = {
    trust: Flags.string({ description: 'trust anchor certificate file (repeatable): the roots of the parties and devices', multiple: true, required: true }),
  };

  async run(): Promise<ImportResult[]> {
    const { args, flags } = await this.parse(DevicesImport);
    const anchors = readTrustAnchors(flags.trust);
    const files = bundleFiles(args.path);
    const store = await openStore(flags.store, flags.keys);
    try {
      const results = await importBundles(store, files, anchors, now());
      for (const r of results) this.log(r.outcome === 'refused' ? `${r.file}  REFUSED ${r.code}: ${r.reason}` : `${r.file}  ${r.serial}  ${r.outcome}`);
      const refused = results.filter((r) => r.outcome === 'refused');
      if (refused.length > 0) {
        const code = refused[0]!.code ?? 'ERR_VERIFY';
        if (this.jsonEnabled()) await this.exitWithJSON({ results, error: { code, message: `${refused.length} of ${results.length} bundles refused` } }, EXIT_CODES[categoryOf(code)]);
        process.stderr.write(`custody: ${refused[0]!.file}: ${refused[0]!.reason} [${code}]\n`);
        this.exit(EXIT_CODES[categoryOf(code)]);
      }
      return results;
    } finally {
      await store.close();
    }
  }
}
