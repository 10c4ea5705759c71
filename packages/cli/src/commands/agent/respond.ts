import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { readPassphrase } from '@custody/app/context';
import { readDevicePassphrase } from '@custody/app/device-keys';
import { answerChallenge } from '@custody/app/possession';

export default class AgentRespond extends BaseCommand {
  static override summary = 'The reference device side: sign a challenge with the device identity key.';
  static override examples = [
    '<%= config.bin %> agent respond --key ACME-000001.key.pem --challenge challenge.json --out response.json',
    "<%= config.bin %> agent respond --key 'pkcs11:token=device;object=idevid?pin-source=file:/run/pin' --challenge challenge.json --out response.json",
  ];

  static override flags = oclifFlags({
    key: {
      type: 'string',
      description: "the device's IDevID private key: a PKCS#8 PEM file, or a pkcs11: URI (a key in a token, such as a TPM)",
      required: true,
    },
    challenge: { type: 'string', description: 'challenge file from custody devices challenge', required: true },
    out: { type: 'string', description: 'response file to write', required: true },
    force: { type: 'boolean', description: 'replace the file at --out', default: false },
    'ldevid-csr': { type: 'string', description: 'the LDevID request (CSR) sent with this activation: its hash is signed with the challenge' },
    'passphrase-file': { type: 'string', description: 'file whose first line is the key passphrase (else CUSTODY_DEVICE_PASSPHRASE, else CUSTODY_PASSPHRASE)' },
  });

  async run(): Promise<{ file: string }> {
    const { flags } = await this.parse(AgentRespond);
    await answerChallenge({
      key: flags.key,
      challenge: flags.challenge,
      out: flags.out,
      force: flags.force,
      ...(flags['ldevid-csr'] !== undefined ? { ldevidCsr: flags['ldevid-csr'] } : {}),
      passphrase: readDevicePassphrase(flags['passphrase-file']) ?? readPassphrase(undefined),
    });
    this.log(`response written to ${flags.out}`);
    return { file: flags.out };
  }
}
