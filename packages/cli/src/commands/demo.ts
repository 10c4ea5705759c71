import { BaseCommand } from '../base-command.js';
import { oclifFlags } from '../flags.js';
import { formatVerdict } from '../render/verdict.js';
import { DEMO_PASSPHRASE, runDemo, type DemoReport } from '@custody/app/demo';
import { now } from '@custody/app/context';
import { demoFailure } from '@custody/app/outcomes';

export default class Demo extends BaseCommand {
  static override summary = 'Run the whole supply chain on fresh embedded stores and keep every artifact.';
  static override examples = ['<%= config.bin %> demo --out demo-out'];

  static override flags = oclifFlags({
    out: { type: 'string', description: 'folder for the stores and artifacts (replaced if it holds an earlier demo)', default: 'demo-out' },
    devices: { type: 'integer', description: 'how many devices the factory makes', default: 5, min: 1, max: 10000 },
  });

  async run(): Promise<DemoReport> {
    const { flags } = await this.parse(Demo);
    const fromEnv = process.env.CUSTODY_PASSPHRASE;
    const passphrase = fromEnv && fromEnv.length > 0 ? fromEnv : DEMO_PASSPHRASE;
    if (passphrase === DEMO_PASSPHRASE) this.log(`Keys are encrypted under the demo passphrase "${DEMO_PASSPHRASE}" (set CUSTODY_PASSPHRASE to choose one).`);
    const report = await runDemo({
      out: flags.out,
      devices: flags.devices,
      passphrase,
      now: now(),
      log: (l) => this.log(l),
      formatVerdict: (v) => formatVerdict(v),
    });
    this.log(report.accepted ? `Result: every device ACCEPTED under the ${report.policy} policy and activated` : 'Result: some devices REJECTED');
    const failure = demoFailure(report);
    if (failure) this.fail(failure, report);
    return report;
  }
}
