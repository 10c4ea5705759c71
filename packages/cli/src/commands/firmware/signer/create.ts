import { BaseCommand } from '../../../base-command.js';
import { tokenKeyChoice } from '@custody/app/ca';
import { createFirmwareSigner } from '@custody/app/firmware';
import { keyProtection, loadTemplate, now, openStore, readPassphrase, templatesDir } from '@custody/app/context';
import { oclifFlags } from '../../../flags.js';
import { PASSPHRASE_FLAGS, STORE_FLAG, TEMPLATES_FLAG } from '../../../flag-spec.js';

export default class FirmwareSignerCreate extends BaseCommand {
  static override summary = "Create a firmware signer: a codeSigning key and certificate issued by one of the store's CAs.";
  static override examples = ['<%= config.bin %> firmware signer create --name acme-firmware --ca acme-issuing --organization "Acme Devices"'];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    name: { type: 'string', description: 'name of the signer (also its CN)', required: true },
    ca: { type: 'string', description: 'name of the issuing CA in the store', required: true },
    organization: { type: 'string', description: 'subject O (default: the name)' },
    template: { type: 'string', description: 'template name or .yaml path', default: 'firmware-signer' },
    key: { type: 'string', description: 'the signer key: a pkcs11: URI of a key already in a token (instead of a new key file)' },
    'key-store': { type: 'string', description: 'generate the signer key in a PKCS#11 token: a pkcs11: URI with token= and object=' },
    ...TEMPLATES_FLAG,
    ...PASSPHRASE_FLAGS,
  });

  async run(): Promise<{ name: string; ca: string; spkiSha256: string; certificatePem: string }> {
    const { flags } = await this.parse(FirmwareSignerCreate);
    const template = await loadTemplate(templatesDir(flags.templates), flags.template);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const tokenKey = tokenKeyChoice(flags.key, flags['key-store']);
    const protection = tokenKey ? undefined : keyProtection(passphrase, flags['no-encrypt'], flags.insecure);
    const store = await openStore(flags.store, flags.keys);
    try {
      const signer = await createFirmwareSigner(store, {
        name: flags.name,
        ca: flags.ca,
        template,
        organization: flags.organization ?? flags.name,
        ...(protection ? { protection } : {}),
        ...(tokenKey ? { tokenKey } : {}),
        passphrase,
        now: now(),
      });
      this.log(`created firmware signer "${signer.name}" (key ${signer.spkiSha256.slice(0, 16)}...) under "${signer.ca}"`);
      return { name: signer.name, ca: signer.ca, spkiSha256: signer.spkiSha256, certificatePem: signer.certificate };
    } finally {
      await store.close();
    }
  }
}
