import { BaseCommand } from '../../base-command.js';
import { createParty, tokenKeyChoice } from '@custody/app/ca';
import { keyProtection, loadTemplate, now, openStore, readPassphrase, templatesDir } from '@custody/app/context';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FLAGS, STORE_FLAG, TEMPLATES_FLAG } from '../../flag-spec.js';

export default class PartiesCreate extends BaseCommand {
  static override summary = "Create a party's attestation key and certificate, issued by one of the store's CAs.";
  static override examples = ['<%= config.bin %> parties create --name acme-factory --ca acme-root --organization "Acme Devices"'];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    name: { type: 'string', description: 'name of the party (also its CN)', required: true },
    ca: { type: 'string', description: 'name of the issuing CA in the store', required: true },
    organization: { type: 'string', description: 'subject O', required: true },
    template: { type: 'string', description: 'template name or .yaml path', default: 'party' },
    key: { type: 'string', description: 'the party key: a pkcs11: URI of a key already in a token (instead of a new key file)' },
    'key-store': {
      type: 'string',
      description: 'generate the party key in a PKCS#11 token: a pkcs11: URI with token= and object= (sensitive, never extractable)',
    },
    ...TEMPLATES_FLAG,
    ...PASSPHRASE_FLAGS,
  });

  async run(): Promise<{ name: string; ca: string; spkiSha256: string; certificatePem: string }> {
    const { flags } = await this.parse(PartiesCreate);
    const template = await loadTemplate(templatesDir(flags.templates), flags.template);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const tokenKey = tokenKeyChoice(flags.key, flags['key-store']);
    // A key in a token has no file to encrypt; the passphrase may still open the issuer's key file.
    const protection = tokenKey ? undefined : keyProtection(passphrase, flags['no-encrypt'], flags.insecure);
    const store = await openStore(flags.store, flags.keys);
    try {
      const party = await createParty(store, {
        name: flags.name,
        ca: flags.ca,
        template,
        organization: flags.organization,
        ...(protection ? { protection } : {}),
        ...(tokenKey ? { tokenKey } : {}),
        passphrase,
        now: now(),
      });
      this.log(
        `created party "${party.name}" (key ${party.spkiSha256.slice(0, 16)}...) under "${party.ca}"${party.key?.type === 'pkcs11' ? `, key in the token: ${party.key.uri}` : ''}`,
      );
      return { name: party.name, ca: flags.ca, spkiSha256: party.spkiSha256, certificatePem: party.certificate };
    } finally {
      await store.close();
    }
  }
}
