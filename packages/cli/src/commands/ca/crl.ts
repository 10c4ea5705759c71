import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FILE_FLAG, STORE_FLAG } from '../../flag-spec.js';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { publishCRL, type CRLResult } from '@custody/app/revocation';

export default class CaCrl extends BaseCommand {
  static override summary = "Publish a CA's CRL: every revocation, signed with the CA key under its next CRL number.";
  static override examples = [
    '<%= config.bin %> ca crl --ca acme-issuing --out acme-issuing.crl',
    '<%= config.bin %> ca crl --ca acme-issuing --out crl.pem --pem --next-update-days 1',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    ca: { type: 'string', description: 'the CA (name in the store)', required: true },
    out: { type: 'string', description: 'file to write the CRL to', required: true },
    'next-update-days': { type: 'integer', description: 'days until nextUpdate', default: 7, min: 1, max: 3650 },
    pem: { type: 'boolean', description: 'write PEM (X509 CRL) instead of DER', default: false },
    ...PASSPHRASE_FILE_FLAG,
  });

  async run(): Promise<CRLResult> {
    const { flags } = await this.parse(CaCrl);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const store = await openStore(flags.store, flags.keys);
    try {
      const r = await publishCRL(store, { ca: flags.ca, out: flags.out, nextUpdateDays: flags['next-update-days'], pem: flags.pem, passphrase, now: now() });
      this.log(`wrote CRL ${r.crlNumber} of CA "${r.ca}" to ${r.file}: ${r.revoked} revoked, next update ${r.nextUpdate}`);
      return r;
    } finally {
      await store.close();
    }
  }
}
