import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { passphraseFlags } from '../../flags.js';
import { keyProtection, now, openStore, readPassphrase } from '@custody/app/context';
import { initLog, type LogInitResult } from '@custody/app/log';

export default class LogInit extends BaseCommand {
  static override summary = "Create the store's transparency log key; print the verifier key that verifiers pass to --log-key.";
  static override examples = ['<%= config.bin %> log init --origin acme.example/devices-log', '<%= config.bin %> log init --pub acme-log.pub'];

  static override flags = {
    origin: Flags.string({ description: 'the log\'s name in its checkpoints (default custody.example/<store folder>)' }),
    pub: Flags.string({ description: 'where to write the verifier key (default <store>/log.pub)' }),
    ...passphraseFlags,
  };

  async run(): Promise<LogInitResult> {
    const { flags } = await this.parse(LogInit);
    const protection = keyProtection(readPassphrase(flags['passphrase-file']), flags['no-encrypt'], flags.insecure);
    const store = await openStore(flags.store);
    try {
      const r = await initLog(store, { protection, now: now(), ...(flags.origin ? { origin: flags.origin } : {}), ...(flags.pub ? { pubOut: flags.pub } : {}) });
      this.log(r.verifierKey);
      return r;
    } finally {
      await store.close();
    }
  }
}
