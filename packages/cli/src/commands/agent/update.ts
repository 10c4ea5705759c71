import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { now } from '@custody/app/context';
import { agentUpdate, type AgentUpdateResult } from '@custody/app/agent-update';

export default class AgentUpdate extends BaseCommand {
  static override summary = "The reference device side: accept a firmware image only from a valid release, and raise the device's security counter.";
  static override examples = [
    '<%= config.bin %> agent update --manifest gw-1.4.0.release --image gw-1.4.0.bin --trust acme-root.pem --state /var/lib/custody/update.json --model GW-100',
  ];

  static override flags = oclifFlags({
    manifest: { type: 'string', description: 'the release manifest (DER CMS) from custody firmware release', required: true },
    image: { type: 'string', description: 'the firmware image', required: true },
    trust: { type: 'list', description: "the manufacturer's root certificate file (repeatable)", required: true },
    state: { type: 'string', description: "the device's update state file (its security counter)", required: true },
    model: { type: 'string', description: "the device's hardware model", required: true },
    withdrawals: { type: 'string', description: 'the newest withdrawal list (DER CMS) from custody firmware revoke' },
    'create-state': { type: 'boolean', description: "start the state file at counter 0 when there is none (the device's first update)", default: false },
  });

  async run(): Promise<AgentUpdateResult> {
    const { flags } = await this.parse(AgentUpdate);
    const r = await agentUpdate({
      manifest: flags.manifest,
      image: flags.image,
      trust: flags.trust,
      state: flags.state,
      model: flags.model,
      ...(flags.withdrawals !== undefined ? { withdrawals: flags.withdrawals } : {}),
      createState: flags['create-state'],
      now: now(),
    });
    this.log(`accepted release ${r.version} (${r.release}): security counter ${r.previousCounter} -> ${r.counter}, state written to ${r.stateFile}`);
    return r;
  }
}
