import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { AGENT_STATE_FLAG } from '../../flag-spec.js';
import { now } from '@custody/app/context';
import { checkCode, checkCodeFailure, type CheckCodeResult } from '@custody/app/agent-check';

export default class AgentCheckCode extends BaseCommand {
  static override summary = 'The reference device side: accept code only as the enrolled code policy allows (exit 0 to run it).';
  static override examples = ['<%= config.bin %> agent check-code --file /opt/edge/scripts/rotate.sh --sig rotate.sh.sig --state /var/lib/custody-agent'];

  static override flags = oclifFlags({
    file: { type: 'string', description: 'the code file', required: true },
    sig: { type: 'string', description: 'its detached code signature (custody code sign)', required: true },
    path: { type: 'string', description: "where the code runs on the device, matched against the policy's scopes (default: the file's absolute path)" },
    crl: { type: 'list', description: "CRL of the owner's code-signing CA, DER or PEM (repeatable)" },
    ...AGENT_STATE_FLAG,
  });

  async run(): Promise<CheckCodeResult & { warning?: { code: string; message: string } }> {
    const { flags } = await this.parse(AgentCheckCode);
    const r = await checkCode({ file: flags.file, sig: flags.sig, path: flags.path, state: flags.state, crls: flags.crl ?? [], now: now() });
    const failure = checkCodeFailure(r);
    if (failure) this.fail(failure, r);
    if (!r.ok) {
      // An audit scope: the device runs the code, and says what enforcement would have refused.
      const warning = { code: r.code!, message: `${flags.file}: audit only, allowed: ${r.reason}` };
      process.stderr.write(`custody: warning: ${warning.message} [${warning.code}]\n`);
      return { ...r, warning };
    }
    this.log(`${flags.file} accepted: ${r.reason} (policy ${r.policy})`);
    return r;
  }
}
