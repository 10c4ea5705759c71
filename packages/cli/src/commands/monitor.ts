import { BaseCommand } from '../base-command.js';
import { oclifFlags } from '../flags.js';
import { STORE_FLAG } from '../flag-spec.js';
import { now, openStore } from '@custody/app/context';
import { runMonitor, type MonitorReport } from '@custody/app/monitor';
import { monitorFailure } from '@custody/app/outcomes';

export default class Monitor extends BaseCommand {
  static override summary =
    'Audit the registry: forks (a device handed to two parties), cloned identities, handoffs after activation, revoked or expired signers, devices held too long. Exit 1 when anything is found.';
  static override examples = ['<%= config.bin %> monitor', '<%= config.bin %> monitor --bundles from-reseller/ --crl acme-issuing.crl --max-hold-days 90'];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    bundles: { type: 'list', description: 'bundles seen elsewhere, a file or folder (repeatable)' },
    crl: { type: 'list', description: 'CRL file (repeatable), besides the revocations this store recorded' },
    'max-hold-days': { type: 'integer', description: 'flag devices not activated and held by one party longer than this', min: 1 },
  });

  async run(): Promise<MonitorReport> {
    const { flags } = await this.parse(Monitor);
    const store = await openStore(flags.store, flags.keys);
    try {
      const report = await runMonitor(store, { bundles: flags.bundles ?? [], crls: flags.crl ?? [], now: now(), maxHoldDays: flags['max-hold-days'] });
      this.log(
        `monitored ${report.devices} device(s) across ${report.sources} source(s): ${report.findings.length === 0 ? 'nothing found' : `${report.findings.length} finding(s)`}`,
      );
      for (const f of report.findings) this.log(`  ${f.kind.padEnd(16)} ${f.device}: ${f.message} (seen in ${f.sources.join(', ')})`);
      const failure = monitorFailure(report);
      if (failure) this.fail(failure, report);
      return report;
    } finally {
      await store.close();
    }
  }
}
