import { BaseCommand } from '../../../base-command.js';
import { createCodeSigner } from '@custody/app/ca';
import { oclifFlags } from '../../../flags.js';
import { createdLine, createKeyHolder, keyHolderFlags } from '../../../key-holder.js';

export default class CodeSignerCreate extends BaseCommand {
  static override summary = "Create a code signer: a key and a certificate with the codeSigning EKU, issued by one of the store's CAs.";
  static override examples = ['<%= config.bin %> code signer create --name fabrikam-ops --ca fabrikam-code-ca --organization "Fabrikam Clinics"'];

  static override flags = oclifFlags(keyHolderFlags('code signer', 'code-signer', { required: true }));

  async run(): Promise<{ name: string; ca: string; spkiSha256: string; certificatePem: string }> {
    const { flags } = await this.parse(CodeSignerCreate);
    const signer = await createKeyHolder(flags, createCodeSigner);
    this.log(createdLine('code signer', signer, flags.ca));
    return { name: signer.name, ca: flags.ca, spkiSha256: signer.spkiSha256, certificatePem: signer.certificate };
  }
}
