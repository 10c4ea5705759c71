import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FILE_FLAG } from '../../flag-spec.js';
import { readPassphrase } from '@custody/app/context';
import { answerChallenge } from '@custody/app/possession';

export default class AgentRespond extends BaseCommand {
  static override summary = 'The reference device side: sign a challenge with the device identity key.';
  static override examples = ['<%= config.bin %> agent respond --key ACME-000001.key.pem --challenge challenge.json --out response.json'];

  static override flags = oclifFlags({
    key: { type: 'string', description: "the device's IDevID private key (PKCS#8 PEM)", required: true },
    challenge: { type: 'string', description: 'challenge file from custody devices challenge', required: true },
    out: { type: 'string', description: 'response file to write', required: true },
    force: { type: 'boolean', description: 'replace the file at --out', default: false },
    ...PASSPHRASE_FILE_FLAG,
  });

  async run(): Promise<{ file: string }> {
    const { flags } = await this.parse(AgentRespond);
    await answerChallenge({ key: flags.key, challenge: flags.challenge, out: flags.out, force: flags.force, passphrase: readPassphrase(flags['passphrase-file']) });
    this.log(`response written to ${flags.out}`);
    return { file: flags.out };
  }
}
