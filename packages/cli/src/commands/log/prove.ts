import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { proveDevice } from '@custody/app/log';

export default class LogProve extends BaseCommand {
  static override summary = "Inclusion proofs (RFC 6962) of a device's attestations in the transparency log, with a signed checkpoint.";
  static override examples = [
    '<%= config.bin %> log prove --serial ACME-000001 --json',
    '<%= config.bin %> log prove --serial ACME-000001 --seq 0 --size 1000',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    serial: { type: 'string', description: 'device serial', required: true },
    seq: { type: 'integer', description: 'one attestation (0 = birth); default every one', min: 0 },
    size: { type: 'integer', description: 'tree size to prove against (default: the whole log)', min: 0 },
    'passphrase-file': { type: 'string', description: 'file whose first line is the log key passphrase (else CUSTODY_PASSPHRASE)' },
  });

  async run(): Promise<Awaited<ReturnType<typeof proveDevice>>> {
    const { flags } = await this.parse(LogProve);
    const store = await openStore(flags.store, flags.keys);
    try {
      const r = await proveDevice(store, {
        serial: flags.serial,
        now: now(),
        passphrase: readPassphrase(flags['passphrase-file']),
        ...(flags.seq !== undefined ? { seq: flags.seq } : {}),
        ...(flags.size !== undefined ? { size: flags.size } : {}),
      });
      for (const p of r.proofs) this.log(`${r.serial} attestation ${p.seq}: entry ${p.leafIndex} of ${p.treeSize}, ${p.hashes.length} hashes`);
      if (!this.jsonEnabled()) process.stdout.write(r.checkpoint);
      return r;
    } finally {
      await store.close();
    }
  }
}
