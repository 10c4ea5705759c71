import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { createParty } from '@custody/app/ca';
import { keyProtection, loadTemplate, now, openStore, readPassphrase, templatesDir } from '@custody/app/context';
import { passphraseFlags, templatesFlag } from '../../flags.js';

export default class PartiesCreate extends BaseCommand {
  static override summary = "Create a party's attestation key and certificate, issued by one of the store's CAs.";
  static override examples = ['<%= config.bin %> parties create --name acme-factory --ca acme-root --organization "Acme Devices"'];

  static override flags = {
    name: Flags.string({ description: 'name of the party (also its CN)', required: true }),
    ca: Flags.string({ description: 'name of the issuing CA in the store', required: true }),
    organization: Flags.string({ description: 'subject O', required: true }),
    template: Flags.string({ description: 'template name or .yaml path', default: 'party' }),
    ...templatesFlag,
    ...passphraseFlags,
  };

  async run(): Promise<{ name: string; certificate: string; spkiSha256: string }> {
    const { flags } = await this.parse(PartiesCreate);
    const template = await loadTemplate(templatesDir(flags.templates), flags.template);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const protection = keyProtection(passphrase, flags['no-encrypt'], flags.insecure);
    const store = await openStore(flags.store);
    const party = await createParty(store, { name: flags.name, ca: flags.ca, template, organization: flags.organization, protection, passphrase, now: now() });
    await store.close();
    this.log(`created party "${party.name}" (key ${party.spkiSha256.slice(0, 16)}...) under "${party.ca}"`);
    return { name: party.name, certificate: party.certificate, spkiSha256: party.spkiSha256 };
  }
}
