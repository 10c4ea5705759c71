import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { AGENT_STATE_FLAG, VERIFICATION_FLAGS } from '../../flag-spec.js';
import { now } from '@custody/app/context';
import { enrollDevice, type EnrollResult } from '@custody/app/agent-enroll';
import { parseNamedCAs } from '@custody/app/verify';

export default class AgentEnroll extends BaseCommand {
  static override summary = "The reference device side: take the owner's code policy from the activation of the device's verified chain.";
  static override examples = [
    '<%= config.bin %> agent enroll --bundle ACME-000001.json --manufacturer acme-root.pem --trust fabrikam-root.pem --idevid ACME-000001.pem --state /var/lib/custody-agent',
  ];

  static override flags = oclifFlags({
    bundle: { type: 'string', description: "the device's bundle, ending in its activation", required: true },
    idevid: { type: 'string', description: "the device's own IDevID certificate: the bundle must be this device's", required: true },
    manufacturer: {
      type: 'list',
      description: "the manufacturer's root the device trusts (repeatable): its IDevID and the birth attestation's signer must chain to it",
      required: true,
    },
    ...VERIFICATION_FLAGS,
    ...AGENT_STATE_FLAG,
  });

  async run(): Promise<Omit<EnrollResult, 'report'>> {
    const { flags } = await this.parse(AgentEnroll);
    const { report: _report, ...r } = await enrollDevice({
      bundle: flags.bundle,
      idevid: flags.idevid,
      manufacturer: flags.manufacturer ?? [],
      trust: [...(flags.manufacturer ?? []), ...(flags.trust ?? [])],
      state: flags.state,
      cas: parseNamedCAs(flags.ca ?? []),
      workflow: flags.workflow,
      policy: flags.policy,
      crls: flags.crl ?? [],
      at: now(),
      logKeys: flags['log-key'] ?? [],
      logConsistency: flags['log-consistency'] ?? [],
    });
    if (r.outcome === 'withdrawn') {
      this.log(`${r.device}: the activation ${r.activation.seq} by a new owner enables no code validation: the previous enrollment is withdrawn`);
      return r;
    }
    const what =
      r.outcome === 'same' ? 'already enrolled in' : r.outcome === 'replaced' ? "enrolled (replacing the previous owner's policy) in" : 'enrolled in';
    this.log(`${r.device} ${what} code policy ${r.policy} from activation ${r.activation.seq} (${r.activation.time})`);
    for (const s of r.scopes ?? []) this.log(`  scope ${s.name}: ${s.level}`);
    return r;
  }
}
