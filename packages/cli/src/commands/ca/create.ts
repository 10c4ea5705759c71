import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FLAGS, STORE_FLAG, TEMPLATES_FLAG } from '../../flag-spec.js';
import { createCA, tokenKeyChoice } from '@custody/app/ca';
import { keyProtection, loadTemplate, now, openStore, readPassphrase, templatesDir } from '@custody/app/context';

export default class CaCreate extends BaseCommand {
  static override summary = 'Create a root CA, or an issuing CA under a given issuer, from a template.';
  static override examples = [
    '<%= config.bin %> ca create --name acme-root --organization "Acme Devices"',
    '<%= config.bin %> ca create --name acme-issuing --issuer acme-root --organization "Acme Devices"',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    name: { type: 'string', description: 'name of the CA in the store (also its CN)', required: true },
    organization: { type: 'string', description: 'subject O', required: true },
    issuer: { type: 'string', description: 'name of the issuing CA in the store; absent: a self-signed root' },
    template: { type: 'string', description: 'template name or .yaml path (default root-ca, or issuing-ca with --issuer)' },
    key: { type: 'string', description: 'the CA key: a pkcs11: URI of a key already in a token (instead of a new key file)' },
    'key-store': {
      type: 'string',
      description: 'generate the CA key in a PKCS#11 token: a pkcs11: URI with token= and object= (sensitive, never extractable)',
    },
    ...TEMPLATES_FLAG,
    ...PASSPHRASE_FLAGS,
  });

  async run(): Promise<{ name: string; issuer?: string; certificatePem: string }> {
    const { flags } = await this.parse(CaCreate);
    const template = await loadTemplate(templatesDir(flags.templates), flags.template ?? (flags.issuer ? 'issuing-ca' : 'root-ca'));
    const passphrase = readPassphrase(flags['passphrase-file']);
    const tokenKey = tokenKeyChoice(flags.key, flags['key-store']);
    // A key in a token has no file to encrypt; the passphrase may still open the issuer's key file.
    const protection = tokenKey ? undefined : keyProtection(passphrase, flags['no-encrypt'], flags.insecure);
    const store = await openStore(flags.store, flags.keys);
    try {
      const ca = await createCA(store, {
        name: flags.name,
        template,
        organization: flags.organization,
        issuer: flags.issuer,
        ...(protection ? { protection } : {}),
        ...(tokenKey ? { tokenKey } : {}),
        passphrase,
        now: now(),
      });
      this.log(
        `created ${template.kind} "${ca.name}"${ca.issuer ? ` under "${ca.issuer}"` : ''}${ca.key.type === 'pkcs11' ? `, key in the token: ${ca.key.uri}` : ''}`,
      );
      return { name: ca.name, ...(ca.issuer ? { issuer: ca.issuer } : {}), certificatePem: ca.certificate };
    } finally {
      await store.close();
    }
  }
}
