import { CustodyError } from '@custody/core/errors';
import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG, VERIFICATION_FLAGS } from '../../flag-spec.js';
import { formatVerdict, partyNames } from '../../render/verdict.js';
import { now } from '@custody/app/context';
import { openVerifierStore } from '@custody/app/verifier-store';
import { bundleFiles } from '@custody/app/bundles';
import { parseNamedCAs, verifyBundles, type BundleVerdict } from '@custody/app/verify';
import { verificationFailure } from '@custody/app/outcomes';

export default class DevicesVerify extends BaseCommand {
  static override summary = 'Verify provenance bundles against trust anchors, a workflow and a policy; exit 0 only when every one is accepted.';
  static override examples = [
    '<%= config.bin %> devices verify --bundle ACME-000001.json --trust acme-root.pem',
    '<%= config.bin %> devices verify --bundle pallet/ --ca manufacturer=acme-root.pem --ca integrator=nw-root.pem --ca reseller=contoso-root.pem --ca customer=fabrikam-root.pem --workflow workflows/supply-chain.yaml --policy healthcare --response response.json',
  ];

  static override flags = oclifFlags({
    ...STORE_FLAG,
    bundle: { type: 'string', description: 'a bundle file or a folder of them', required: true },
    ...VERIFICATION_FLAGS,
    at: { type: 'string', description: 'verification time (RFC 3339), default now' },
    response: {
      type: 'string',
      description:
        "the device's challenge response (proof of possession); needs the store that issued the challenge. Verifying reads the challenge; activating spends it",
    },
    'expected-custodian': {
      type: 'string',
      description: 'certificate file of the party that must hold the device now (a chain cut short at an earlier holder is rejected)',
    },
    as: { type: 'string', description: "this store's party that must hold the device now (like --expected-custodian, by party name)" },
  });

  async run(): Promise<{ accepted: boolean; results: Array<{ file: string } & BundleVerdict['report']> }> {
    const { flags } = await this.parse(DevicesVerify);
    const at = flags.at ? new Date(flags.at) : now();
    if (Number.isNaN(at.getTime())) throw new CustodyError('ERR_USAGE_TIME', `--at ${flags.at}: not a time`);
    const store = await openVerifierStore(flags.store, flags.response !== undefined || flags.as !== undefined);
    try {
      const verdicts = await verifyBundles(store, {
        bundles: bundleFiles(flags.bundle),
        trust: flags.trust ?? [],
        cas: parseNamedCAs(flags.ca ?? []),
        workflow: flags.workflow,
        policy: flags.policy,
        crls: flags.crl ?? [],
        at,
        response: flags.response,
        expectedCustodian: flags['expected-custodian'],
        as: flags.as,
        logKeys: flags['log-key'] ?? [],
        logConsistency: flags['log-consistency'] ?? [],
        releases: flags.releases,
        onWarning: (message) => process.stderr.write(`custody: warning: ${message}\n`),
      });
      const names = await partyNames(store);
      for (const v of verdicts) for (const line of formatVerdict(v, names)) this.log(line);
      const result = { accepted: verdicts.every((v) => v.report.ok), results: verdicts.map((v) => ({ file: v.file, ...v.report })) };
      const failure = verificationFailure(verdicts);
      if (failure) this.fail(failure, result);
      return result;
    } finally {
      await store?.close();
    }
  }
}
