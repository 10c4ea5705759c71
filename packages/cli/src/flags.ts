/** Flags several commands share. */
import { Flags } from '@oclif/core';

export const passphraseFlags = {
  'passphrase-file': Flags.string({ description: 'file whose first line is the key passphrase (else CUSTODY_PASSPHRASE)' }),
  'no-encrypt': Flags.boolean({ description: 'write new private keys unencrypted (not recommended)', default: false }),
};

export const templatesFlag = {
  templates: Flags.string({ description: 'templates folder (else CUSTODY_TEMPLATES, else the shipped certs-templates/)' }),
};
