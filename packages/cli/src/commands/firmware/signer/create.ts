import { BaseCommand } from '../../../base-command.js';
import { createFirmwareSigner } from '@custody/app/firmware';
import { oclifFlags } from '../../../flags.js';
import { createdLine, createKeyHolder, keyHolderFlags } from '../../../key-holder.js';

export default class FirmwareSignerCreate extends BaseCommand {
  static override summary = "Create a firmware signer: a codeSigning key and certificate issued by one of the store's CAs.";
  static override examples = ['<%= config.bin %> firmware signer create --name acme-firmware --ca acme-issuing --organization "Acme Devices"'];

  static override flags = oclifFlags(keyHolderFlags('firmware signer', 'firmware-signer', { required: false }));

  async run(): Promise<{ name: string; ca: string; spkiSha256: string; certificatePem: string }> {
    const { flags } = await this.parse(FirmwareSignerCreate);
    const signer = await createKeyHolder(flags, createFirmwareSigner);
    this.log(createdLine('firmware signer', signer, signer.ca));
    return { name: signer.name, ca: signer.ca, spkiSha256: signer.spkiSha256, certificatePem: signer.certificate };
  }
}
