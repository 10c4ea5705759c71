import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FLAGS, STORE_FLAG } from '../../flag-spec.js';
import { keyProtection, now, openStore, readPassphrase } from '@custody/app/context';
import { initLog, type LogInitResult } from '@custody/app/log';
import { tokenKeyChoice } from '@custody/app/ca';

export default class LogInit extends BaseCommand {
  static override summary = "Create the store's transparency log key; print the verifier key that verifiers pass to --log-key.";
  static override examples = [
    '<%= config.bin %> log init --origin acme.example/devices-log',
    '<%= config.bin %> log init --pub acme-log.pub',
    "<%= config.bin %> log init --key-store 'pkcs11:token=factory;object=acme-log?pin-source=file:/run/secrets/pin'",
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    origin: { type: 'string', description: "the log's name in its checkpoints (default custody.example/<store folder>)" },
    pub: { type: 'string', description: 'where to write the verifier key (default <store>/log.pub)' },
    key: { type: 'string', description: 'the log key: a pkcs11: URI of a P-256 key already in a token (instead of a new key file)' },
    'key-store': { type: 'string', description: 'generate the log key in a PKCS#11 token: a pkcs11: URI with token= and object= (never extractable)' },
    ...PASSPHRASE_FLAGS,
  });

  async run(): Promise<LogInitResult> {
    const { flags } = await this.parse(LogInit);
    const tokenKey = tokenKeyChoice(flags.key, flags['key-store']);
    // A key in a token has no file to encrypt.
    const protection = tokenKey ? undefined : keyProtection(readPassphrase(flags['passphrase-file']), flags['no-encrypt'], flags.insecure);
    const store = await openStore(flags.store, flags.keys);
    try {
      const r = await initLog(store, {
        now: now(),
        ...(protection ? { protection } : {}),
        ...(tokenKey ? { tokenKey } : {}),
        ...(flags.origin ? { origin: flags.origin } : {}),
        ...(flags.pub ? { pubOut: flags.pub } : {}),
      });
      this.log(r.verifierKey);
      return r;
    } finally {
      await store.close();
    }
  }
}
