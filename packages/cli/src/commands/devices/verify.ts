import { Flags } from '@oclif/core';
import { CustodyError } from '@custody/core';
import { BaseCommand } from '../../base-command.js';
import { now, openStore, storeCacheDir } from '@custody/app/context';
import { bundleFiles } from '@custody/app/bundles';
import { formatVerdict, parseNamedCAs, partyNames, verifyBundles, type BundleVerdict } from '@custody/app/verify';

export default class DevicesVerify extends BaseCommand {
  static override summary = 'Verify provenance bundles against trust anchors, a workflow and a policy; exit 0 only when every one is accepted.';
  static override examples = [
    '<%= config.bin %> devices verify --bundle ACME-000001.json --trust acme-root.pem',
    '<%= config.bin %> devices verify --bundle pallet/ --ca manufacturer=acme-root.pem --ca integrator=nw-root.pem --ca reseller=contoso-root.pem --ca customer=fabrikam-root.pem --workflow workflows/supply-chain.yaml --policy healthcare --response response.json',
  ];

  static override flags = {
    bundle: Flags.string({ description: 'a bundle file or a folder of them', required: true }),
    trust: Flags.string({ description: 'trust anchor certificate file (repeatable)', multiple: true, default: [] }),
    ca: Flags.string({ description: 'NAME=FILE: a trust anchor the workflow names NAME (repeatable)', multiple: true, default: [] }),
    workflow: Flags.string({ description: 'workflow file (YAML), or the name of a shipped one (supply-chain)' }),
    policy: Flags.string({ description: 'policy name (baseline, retail, healthcare) or file' }),
    crl: Flags.string({ description: 'CRL file, DER or PEM (repeatable)', multiple: true, default: [] }),
    at: Flags.string({ description: 'verification time (RFC 3339), default now' }),
    response: Flags.string({ description: "the device's challenge response (proof of possession); needs the store that issued the challenge. Verifying reads the challenge; activating spends it" }),
    'expected-custodian': Flags.string({ description: 'certificate file of the party that must hold the device now (a chain cut short at an earlier holder is rejected)' }),
    as: Flags.string({ description: "this store's party that must hold the device now (like --expected-custodian, by party name)" }),
    'log-key': Flags.string({ description: 'verifier key of a trusted transparency log: a file (log.pub) or the key string (repeatable)', multiple: true, default: [] }),
    'log-consistency': Flags.string({ description: 'consistency proof file from "custody log consistency --json", between the checkpoint this store saw and the bundle\'s (repeatable)', multiple: true, default: [] }),
  };

  async run(): Promise<{ accepted: boolean; results: Array<{ file: string } & BundleVerdict['report']> }> {
    const { flags } = await this.parse(DevicesVerify);
    const at = flags.at ? new Date(flags.at) : now();
    if (Number.isNaN(at.getTime())) throw new CustodyError('ERR_USAGE_TIME', `--at ${flags.at}: not a time`);
    // The verifier's store (when there is one) holds the challenges it issued and remembers log checkpoints.
    const hasStore = flags.response || flags.as || storeCacheDir(flags.store) || /^postgres(ql)?:\/\//i.test(flags.store);
    // A store that exists but cannot be opened is an error, not a verification without its memory.
    const store = hasStore ? await openStore(flags.store) : undefined;
    try {
      const verdicts = await verifyBundles(store, {
        bundles: bundleFiles(flags.bundle),
        trust: flags.trust,
        cas: parseNamedCAs(flags.ca),
        workflow: flags.workflow,
        policy: flags.policy,
        crls: flags.crl,
        at,
        response: flags.response,
        expectedCustodian: flags['expected-custodian'],
        as: flags.as,
        logKeys: flags['log-key'],
        logConsistency: flags['log-consistency'],
        onWarning: (message) => process.stderr.write(`custody: warning: ${message}\n`),
      });
      const names = await partyNames(store);
      for (const v of verdicts) for (const line of formatVerdict(v, names)) this.log(line);
      const accepted = verdicts.every((v) => v.report.ok);
      const result = { accepted, results: verdicts.map((v) => ({ file: v.file, ...v.report })) };
      if (!accepted) {
        const malformed = verdicts.some((v) => v.report.code?.startsWith('ERR_BUNDLE') || v.report.code?.startsWith('ERR_INPUT'));
        if (this.jsonEnabled()) await this.exitWithJSON(result, malformed ? 3 : 1);
        this.exit(malformed ? 3 : 1);
      }
      return result;
    } finally {
      await store?.close();
    }
  }
}
