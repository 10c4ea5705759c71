import { Flags } from '@oclif/core';
import { CustodyError } from '@custody/core';
import { BaseCommand } from '../../base-command.js';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { activateDevice, type ActivationResult } from '@custody/app/activate';
import { formatVerdict, parseNamedCAs } from '@custody/app/verify';

export default class DevicesActivate extends BaseCommand {
  static override summary = 'Verify a device, then record its activation attestation (the last holder only); optionally issue an LDevID.';
  static override examples = [
    '<%= config.bin %> devices activate --serial ACME-000001 --party fabrikam-ops --ca manufacturer=acme-root.pem ... --workflow workflows/supply-chain.yaml --policy healthcare --response response.json',
  ];

  static override flags = {
    serial: Flags.string({ description: 'device serial (imported into this store)', required: true }),
    party: Flags.string({ description: "activating party (default: the store's only party)" }),
    trust: Flags.string({ description: 'trust anchor certificate file (repeatable)', multiple: true, default: [] }),
    ca: Flags.string({ description: 'NAME=FILE: a trust anchor the workflow names NAME (repeatable)', multiple: true, default: [] }),
    workflow: Flags.string({ description: 'workflow file (YAML), or the name of a shipped one (supply-chain)' }),
    policy: Flags.string({ description: 'policy name or file' }),
    crl: Flags.string({ description: 'CRL file (repeatable)', multiple: true, default: [] }),
    response: Flags.string({ description: "the device's challenge response" }),
    'log-key': Flags.string({ description: 'verifier key of a trusted transparency log: a file (log.pub) or the key string (repeatable)', multiple: true, default: [] }),
    'log-consistency': Flags.string({ description: 'consistency proof file from "custody log consistency --json", between the checkpoint this store saw and the bundle\'s (repeatable)', multiple: true, default: [] }),
    'ldevid-ca': Flags.string({ description: 'issue an LDevID under this CA of the store (needs --ldevid-csr)' }),
    'ldevid-csr': Flags.string({ description: "the device's CSR for its LDevID" }),
    'ldevid-out': Flags.string({ description: 'where to write the LDevID certificate', default: 'ldevid.pem' }),
    'passphrase-file': Flags.string({ description: 'file whose first line is the key passphrase (else CUSTODY_PASSPHRASE)' }),
  };

  async run(): Promise<ActivationResult> {
    const { flags } = await this.parse(DevicesActivate);
    if ((flags['ldevid-ca'] === undefined) !== (flags['ldevid-csr'] === undefined)) throw new CustodyError('ERR_USAGE_FLAGS', 'give both --ldevid-ca and --ldevid-csr, or neither');
    const store = await openStore(flags.store);
    try {
      const r = await activateDevice(store, {
        serial: flags.serial,
        party: flags.party,
        passphrase: readPassphrase(flags['passphrase-file']),
        trust: flags.trust,
        cas: parseNamedCAs(flags.ca),
        workflow: flags.workflow,
        policy: flags.policy,
        crls: flags.crl,
        at: now(),
        response: flags.response,
        logKeys: flags['log-key'],
        logConsistency: flags['log-consistency'],
        ...(flags['ldevid-ca'] ? { ldevid: { ca: flags['ldevid-ca'], csr: flags['ldevid-csr']!, out: flags['ldevid-out'] } } : {}),
      });
      for (const line of formatVerdict({ file: flags.serial, report: r.report })) this.log(line);
      if (!r.accepted) {
        if (this.jsonEnabled()) await this.exitWithJSON(r, 1);
        process.stderr.write(`custody: device ${flags.serial} not activated: verification rejected it [${r.report.code}]\n`);
        this.exit(1);
      }
      this.log(`${flags.serial} activated (attestation ${r.seq})${r.ldevid ? `, LDevID written to ${r.ldevid}` : ''}`);
      return r;
    } finally {
      await store.close();
    }
  }
}
