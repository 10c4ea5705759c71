import { BaseCommand } from '../../base-command.js';
import { createParty } from '@custody/app/ca';
import { oclifFlags } from '../../flags.js';
import { createdLine, createKeyHolder, keyHolderFlags } from '../../key-holder.js';

export default class PartiesCreate extends BaseCommand {
  static override summary = "Create a party's attestation key and certificate, issued by one of the store's CAs.";
  static override examples = ['<%= config.bin %> parties create --name acme-factory --ca acme-root --organization "Acme Devices"'];

  static override flags = oclifFlags(keyHolderFlags('party', 'party', { required: true }));

  async run(): Promise<{ name: string; ca: string; spkiSha256: string; certificatePem: string }> {
    const { flags } = await this.parse(PartiesCreate);
    const party = await createKeyHolder(flags, createParty);
    this.log(createdLine('party', party, flags.ca));
    return { name: party.name, ca: flags.ca, spkiSha256: party.spkiSha256, certificatePem: party.certificate };
  }
}
