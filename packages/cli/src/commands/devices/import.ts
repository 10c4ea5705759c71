import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { now, openStore } from '@custody/app/context';
import { bundleFiles, importBundles, readTrustAnchors, type ImportResult } from '@custody/app/bundles';
import { importFailure } from '@custody/app/outcomes';

export default class DevicesImport extends BaseCommand {
  static override summary = 'Read provenance bundles into this store, after checking every path, signature and link.';
  static override examples = ['<%= config.bin %> devices import bundles/ --trust acme-root.pem'];
  static override args = { path: Args.string({ description: 'a bundle file or a folder of them', required: true }) };

  static override flags = oclifFlags({
    ...STORE_FLAG,
    trust: { type: 'list', description: 'trust anchor certificate file (repeatable): the roots of the parties and devices', required: true },
  });

  async run(): Promise<{ results: ImportResult[] }> {
    const { args, flags } = await this.parse(DevicesImport);
    const anchors = readTrustAnchors(flags.trust);
    const files = bundleFiles(args.path);
    const store = await openStore(flags.store, flags.keys);
    try {
      const results = await importBundles(store, files, anchors, now());
      for (const r of results) this.log(r.outcome === 'refused' ? `${r.file}  REFUSED ${r.code}: ${r.reason}` : `${r.file}  ${r.serial}  ${r.outcome}`);
      const failure = importFailure(results);
      if (failure) this.fail(failure, { results });
      return { results };
    } finally {
      await store.close();
    }
  }
}
