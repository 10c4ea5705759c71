import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PROVISION_FLAGS } from '../../flag-spec.js';
import { runProvision } from '../../provision-command.js';
import type { ProvisionData } from '../../render/provision.js';

export default class DevicesProvision extends BaseCommand {
  static override summary = 'Issue device identity certificates (IDevIDs) from CSRs, or for keys made on the line.';
  static override examples = [
    '<%= config.bin %> devices provision --ca acme-issuing --csr requests/ --model "Sensor X1" --lot L2026-11 --out issued/',
    '<%= config.bin %> devices provision --ca acme-issuing --generate 100 --serial-pattern "AC{seq:6}" --out issued/',
  ];

  static override flags = oclifFlags(PROVISION_FLAGS);

  async run(): Promise<ProvisionData> {
    const { flags } = await this.parse(DevicesProvision);
    return runProvision(flags, { json: this.jsonEnabled(), log: (l) => this.log(l) });
  }
}
