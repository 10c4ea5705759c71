import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FLAGS, STORE_FLAG } from '../../flag-spec.js';
import { keyProtection, now, openStore, readPassphrase } from '@custody/app/context';
import { createCheckpoint, type CheckpointResult } from '@custody/app/log';
import { produceOutput } from '@custody/app/outputs';

export default class LogCheckpoint extends BaseCommand {
  static override summary = 'Sign a checkpoint (C2SP tlog-checkpoint) of the transparency log; creates the log key on first use.';
  static override examples = ['<%= config.bin %> log checkpoint', '<%= config.bin %> log checkpoint --out checkpoint.txt --json'];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    out: { type: 'string', description: 'also write the signed checkpoint to this file' },
    size: { type: 'integer', description: 'tree size to sign (default: the whole log)', min: 0 },
    ...PASSPHRASE_FLAGS,
  });

  async run(): Promise<CheckpointResult & { file?: string }> {
    const { flags } = await this.parse(LogCheckpoint);
    const passphrase = readPassphrase(flags['passphrase-file']);
    // A log key is created here only when the flags say how to protect it.
    const create =
      passphrase !== undefined || flags['no-encrypt'] ? { protection: keyProtection(passphrase, flags['no-encrypt'], flags.insecure), now: now() } : undefined;
    const store = await openStore(flags.store, flags.keys);
    try {
      const sign = () =>
        createCheckpoint(store, { passphrase, now: now(), ...(flags.size !== undefined ? { size: flags.size } : {}), ...(create ? { create } : {}) });
      // --out is checked before a first checkpoint creates the log key, and replaced as the latest checkpoint.
      const r = flags.out ? await produceOutput(flags.out, { force: true }, sign, (c) => c.checkpoint) : await sign();
      if (!this.jsonEnabled()) process.stdout.write(r.checkpoint);
      return flags.out ? { ...r, file: flags.out } : r;
    } finally {
      await store.close();
    }
  }
}
