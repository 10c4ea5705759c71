import { CustodyError } from '@custody/core/errors';
import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { PASSPHRASE_FILE_FLAG, STORE_FLAG, VERIFICATION_FLAGS } from '../../flag-spec.js';
import { formatVerdict } from '../../render/verdict.js';
import { now, openStore, readPassphrase } from '@custody/app/context';
import { activateDevice, type ActivationResult } from '@custody/app/activate';
import { parseNamedCAs } from '@custody/app/verify';
import { activationFailure } from '@custody/app/outcomes';

export default class DevicesActivate extends BaseCommand {
  static override summary = 'Verify a device, then record its activation attestation (the last holder only); optionally issue an LDevID.';
  static override examples = [
    '<%= config.bin %> devices activate --serial ACME-000001 --party fabrikam-ops --ca manufacturer=acme-root.pem ... --workflow workflows/supply-chain.yaml --policy healthcare --response response.json',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    serial: { type: 'string', description: 'device serial (imported into this store)', required: true },
    party: { type: 'string', description: "activating party (default: the store's only party)" },
    ...VERIFICATION_FLAGS,
    response: { type: 'string', description: "the device's challenge response" },
    'ldevid-ca': { type: 'string', description: 'issue an LDevID under this CA of the store (needs --ldevid-csr)' },
    'ldevid-csr': { type: 'string', description: "the device's CSR for its LDevID" },
    'ldevid-out': { type: 'string', description: 'where to write the LDevID certificate', default: 'ldevid.pem' },
    'code-policy': {
      type: 'string',
      description: 'enable end-user code validation: a code policy file (workflows/code-policies/), signed into the activation',
    },
    'code-cert': { type: 'list', description: 'a certificate file a --code-policy identity names by SHA-256 (repeatable)' },
    ...PASSPHRASE_FILE_FLAG,
  });

  async run(): Promise<Omit<ActivationResult, 'ldevid'> & { ldevidFile?: string }> {
    const { flags } = await this.parse(DevicesActivate);
    if ((flags['ldevid-ca'] === undefined) !== (flags['ldevid-csr'] === undefined))
      throw new CustodyError('ERR_USAGE_FLAGS', 'give both --ldevid-ca and --ldevid-csr, or neither');
    const store = await openStore(flags.store, flags.keys);
    try {
      const { ldevid, ...r } = await activateDevice(store, {
        serial: flags.serial,
        party: flags.party,
        passphrase: readPassphrase(flags['passphrase-file']),
        trust: flags.trust ?? [],
        cas: parseNamedCAs(flags.ca ?? []),
        workflow: flags.workflow,
        policy: flags.policy,
        crls: flags.crl ?? [],
        at: now(),
        response: flags.response,
        logKeys: flags['log-key'] ?? [],
        logConsistency: flags['log-consistency'] ?? [],
        releases: flags.releases,
        ...(flags['code-policy'] !== undefined ? { codePolicy: { file: flags['code-policy'], certs: flags['code-cert'] ?? [] } } : {}),
        ...(flags['ldevid-ca'] ? { ldevid: { ca: flags['ldevid-ca'], csr: flags['ldevid-csr']!, out: flags['ldevid-out'] } } : {}),
      });
      for (const line of formatVerdict({ file: flags.serial, report: r.report })) this.log(line);
      const failure = activationFailure({ ...r, ...(ldevid ? { ldevid } : {}) });
      if (failure) this.fail(failure, r);
      this.log(`${flags.serial} activated (attestation ${r.seq})${ldevid ? `, LDevID written to ${ldevid}` : ''}`);
      if (r.codeValidation) this.log(`code validation enabled: policy ${r.codeValidation.policy}`);
      return { ...r, ...(ldevid ? { ldevidFile: ldevid } : {}) };
    } finally {
      await store.close();
    }
  }
}
