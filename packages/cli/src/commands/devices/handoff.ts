import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FILE_FLAG, SELECTION_FLAGS, STORE_FLAG } from '../../flag-spec.js';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { failureOf, selectDevices, transferDevices, type TransferResult } from '@custody/app/handoff';
import { readClaimsFile } from '@custody/app/parties';
import { watchInterrupts } from '@custody/app/interrupt';
import { progressMode, startProgress } from '../../progress.js';

export default class DevicesHandoff extends BaseCommand {
  static override summary = 'Countersign the handoff of one device, a lot, or a list, to the next party.';
  static override examples = [
    '<%= config.bin %> devices handoff --serial ACME-000001 --party acme-factory --to northwind.pem',
    '<%= config.bin %> devices handoff --lot L2026-11 --party northwind-integration --to contoso.pem --claims integrated.json',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    ...SELECTION_FLAGS,
    party: { type: 'string', description: "signing party, the current custodian (default: the store's only party)" },
    to: { type: 'string', description: 'next custodian: party certificate file, or a party name known to the store', required: true },
    claims: { type: 'string', description: 'claims file (JSON or YAML): what this party did to the device' },
    stage: { type: 'string', description: 'workflow stage name to record' },
    ...PASSPHRASE_FILE_FLAG,
  });

  async run(): Promise<TransferResult> {
    const { flags } = await this.parse(DevicesHandoff);
    const claims = flags.claims ? await readClaimsFile(flags.claims) : undefined;
    const store = await openStore(flags.store, flags.keys);
    const interrupts = watchInterrupts();
    const progress = startProgress(progressMode(this.jsonEnabled()), 'handing off');
    try {
      const serials = await selectDevices(store, { serials: flags.serial, lot: flags.lot, list: flags.list });
      const r = await transferDevices(store, {
        kind: 'handoff',
        serials,
        party: flags.party,
        to: flags.to,
        claims,
        stage: flags.stage,
        passphrase: readPassphrase(flags['passphrase-file']),
        now: now(),
        signal: interrupts.signal,
        onProgress: (phase, done, total) => progress.update(phase, done, total),
      });
      progress.stop();
      for (const x of r.results)
        this.log(
          !x.ok
            ? `${x.serial}  REFUSED ${x.code}: ${x.message}`
            : x.already
              ? `${x.serial}  already held by "${r.to}" (attestation ${x.seq}): nothing to sign`
              : `${x.serial}  handed from "${r.party}" to "${r.to}" (attestation ${x.seq})`,
        );
      for (const w of r.warnings ?? []) this.warn(w);
      const failure = failureOf(r);
      if (failure) this.fail(failure, r);
      return r;
    } finally {
      interrupts.dispose();
      progress.stop();
      await store.close();
    }
  }
}
