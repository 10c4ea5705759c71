import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { proveConsistency, type JSONConsistencyProof } from '@custody/app/log';
import { produceOutput } from '@custody/app/outputs';

export default class LogConsistency extends BaseCommand {
  static override summary = 'A consistency proof (RFC 6962) that the log of --old entries is a prefix of the log of --new entries.';
  static override examples = [
    '<%= config.bin %> log consistency --old 1000 --json',
    '<%= config.bin %> log consistency --old 1000 --new 2000 --out proof.json',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    old: { type: 'integer', description: 'the older tree size', required: true, min: 0 },
    new: { type: 'integer', description: 'the newer tree size (default: the whole log)', min: 0 },
    out: { type: 'string', description: 'also write the proof (JSON, for devices verify --log-consistency) to this file' },
    'passphrase-file': { type: 'string', description: 'file whose first line is the log key passphrase (else CUSTODY_PASSPHRASE)' },
  });

  async run(): Promise<JSONConsistencyProof> {
    const { flags } = await this.parse(LogConsistency);
    const store = await openStore(flags.store, flags.keys);
    try {
      const prove = () =>
        proveConsistency(store, {
          oldSize: flags.old,
          now: now(),
          passphrase: readPassphrase(flags['passphrase-file']),
          ...(flags.new !== undefined ? { newSize: flags.new } : {}),
        });
      const r = flags.out ? await produceOutput(flags.out, { force: true }, prove, (p) => JSON.stringify(p, null, 2) + '\n') : await prove();
      this.log(`${r.origin}: ${r.oldSize} -> ${r.newSize} entries, ${r.hashes.length} hashes`);
      for (const h of r.hashes) this.log(`  ${h}`);
      return r;
    } finally {
      await store.close();
    }
  }
}
