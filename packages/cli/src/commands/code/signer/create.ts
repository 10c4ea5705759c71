import { BaseCommand } from '../../../base-command.js';
import { createCodeSigner, tokenKeyChoice } from '@custody/app/ca';
import { keyProtection, loadTemplate, now, openStore, readPassphrase, templatesDir } from '@custody/app/context';
import { oclifFlags } from '../../../flags.js';
import { PASSPHRASE_FLAGS, STORE_FLAG, TEMPLATES_FLAG } from '../../../flag-spec.js';

export default class CodeSignerCreate extends BaseCommand {
  static override summary = "Create a code signer: a key and a certificate with the codeSigning EKU, issued by one of the store's CAs.";
  static override examples = ['<%= config.bin %> code signer create --name fabrikam-ops --ca fabrikam-code-ca --organization "Fabrikam Clinics"'];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    name: { type: 'string', description: 'name of the code signer (also its CN)', required: true },
    ca: { type: 'string', description: 'name of the issuing CA in the store (the owner CA devices trust for code)', required: true },
    organization: { type: 'string', description: 'subject O', required: true },
    template: { type: 'string', description: 'template name or .yaml path (kind code-signer)', default: 'code-signer' },
    key: { type: 'string', description: 'the signer key: a pkcs11: URI of a key already in a token (instead of a new key file)' },
    'key-store': {
      type: 'string',
      description: 'generate the signer key in a PKCS#11 token: a pkcs11: URI with token= and object= (sensitive, never extractable)',
    },
    ...TEMPLATES_FLAG,
    ...PASSPHRASE_FLAGS,
  });

  async run(): Promise<{ name: string; ca: string; spkiSha256: string; certificatePem: string }> {
    const { flags } = await this.parse(CodeSignerCreate);
    const template = await loadTemplate(templatesDir(flags.templates), flags.template);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const tokenKey = tokenKeyChoice(flags.key, flags['key-store']);
    // A key in a token has no file to encrypt; the passphrase may still open the issuer's key file.
    const protection = tokenKey ? undefined : keyProtection(passphrase, flags['no-encrypt'], flags.insecure);
    const store = await openStore(flags.store, flags.keys);
    try {
      const signer = await createCodeSigner(store, {
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
        `created code signer "${signer.name}" (key ${signer.spkiSha256.slice(0, 16)}...) under "${flags.ca}"${signer.key?.type === 'pkcs11' ? `, key in the token: ${signer.key.uri}` : ''}`,
      );
      return { name: signer.name, ca: flags.ca, spkiSha256: signer.spkiSha256, certificatePem: signer.certificate };
    } finally {
      await store.close();
    }
  }
}
