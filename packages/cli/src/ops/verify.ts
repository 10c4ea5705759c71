/** `devices verify`: bundles against trust anchors, a workflow, a policy, CRLs and a challenge response. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CustodyError,
  createVerifier,
  parseCertificate,
  parsePolicy,
  parseWorkflow,
  toHex,
  verifyChallengeResponse,
  type Bundle,
  type Policy,
  type VerificationCheck,
  type VerificationReport,
  type WorkflowOption,
} from '@custody/core';
import type { Store } from '@custody/store';
import { REPO_ROOT, provider, readCRLFile, readInputFile, type InputKind } from './context.js';
import { readBundle, readTrustAnchors } from './bundles.js';
import { checkBundleLog, readConsistencyProofs, readVerifierKeys } from './log.js';

function readText(file: string, kind: InputKind): string {
  return readInputFile(file, kind).toString('utf8');
}

/** A policy by name (workflows/policies/NAME.yaml) or by file. */
export function loadPolicy(nameOrFile: string): Policy {
  const file = existsSync(nameOrFile) ? nameOrFile : join(REPO_ROOT, 'workflows', 'policies', `${nameOrFile}.yaml`);
  if (!existsSync(file)) throw new CustodyError('ERR_USAGE_POLICY', `--policy ${nameOrFile}: neither a file nor a shipped policy (baseline, retail, healthcare)`);
  return parsePolicy(readText(file, 'policy'), file);
}

/** `NAME=FILE` pairs naming the CAs a workflow's signer rules refer to. */
export function parseNamedCAs(pairs: readonly string[]): Array<{ name: string; file: string }> {
  return pairs.map((p) => {
    const i = p.indexOf('=');
    if (i <= 0) throw new CustodyError('ERR_USAGE_CA_MAP', `--ca ${p}: expected NAME=FILE`);
    return { name: p.slice(0, i), file: p.slice(i + 1) };
  });
}

export interface VerifyCommandOptions {
  bundles: string[];
  trust: string[];
  cas: Array<{ name: string; file: string }>;
  workflow?: string;
  policy?: string;
  crls: string[];
  at: Date;
  response?: string;
  /** Hex SPKI SHA-256 of the party expected to hold the device now (chains cut short fail). */
  expectedCustodian?: string;
  /** `--log-key` values: verifier key files (or strings) of trusted logs. */
  logKeys?: string[];
  /** `--log-consistency` files: consistency proofs from the log's operator. */
  logConsistency?: string[];
}

export interface BundleVerdict {
  file: string;
  report: VerificationReport;
}

/** Verifies every bundle; malformed inputs other than the bundles themselves are errors (exit 3). */
export async function verifyBundles(store: Store | undefined, o: VerifyCommandOptions): Promise<BundleVerdict[]> {
  const named = o.cas.map(({ name, file }) => ({ name, certs: readTrustAnchors([file]) }));
  const anchors = [...readTrustAnchors(o.trust), ...named.flatMap((n) => n.certs)];
  if (anchors.length === 0) throw new CustodyError('ERR_USAGE_TRUST', 'give at least one trust anchor: --trust ROOT.pem or --ca NAME=ROOT.pem');
  let workflow: WorkflowOption | undefined;
  if (o.workflow) {
    const cas: Record<string, { subjectDN: string; certSha256: string }> = {};
    for (const n of named) {
      const cert = n.certs[0]!;
      cas[n.name] = { subjectDN: parseCertificate(cert).subject.text, certSha256: toHex(await provider.digest('SHA-256', cert)) };
    }
    workflow = { workflow: parseWorkflow(readText(o.workflow, 'workflow'), o.workflow), trust: { cas } };
  }
  const policy = o.policy ? loadPolicy(o.policy) : undefined;
  const crls = o.crls.map((f) => readCRLFile(f));
  const verifier = createVerifier({ trustAnchors: anchors, provider, workflow, policy, crls, at: o.at });
  const logKeys = readVerifierKeys(o.logKeys ?? []);
  const consistency = readConsistencyProofs(o.logConsistency ?? []);
  const verdicts: BundleVerdict[] = [];
  for (const file of o.bundles) {
    let bundle: Bundle;
    try {
      bundle = readBundle(file);
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      verdicts.push({ file, report: { ok: false, effectiveClaims: {}, checks: [{ name: 'bundle format', ok: false, code: e.code, reason: e.message }], code: e.code } });
      continue;
    }
    const possession = o.response ? await checkResponse(store, bundle, o.response, o.at) : undefined;
    const log = await checkBundleLog(bundle, { keys: logKeys, ...(store ? { store } : {}), consistency });
    const report = await verifier.verify(bundle, {
      at: o.at,
      logIncluded: log.included,
      logTimes: log.loggedAt,
      ...(possession ? { proofOfPossession: possession.ok } : {}),
      ...(o.expectedCustodian ? { expectedCustodian: o.expectedCustodian } : {}),
    });
    // The log checks go before the policy's, so that a failed proof is the reason given, not its consequence.
    const firstPolicy = report.checks.findIndex((c) => c.name.startsWith('policy'));
    const at = firstPolicy < 0 ? report.checks.length : firstPolicy;
    const checks: VerificationCheck[] = [...report.checks.slice(0, at), ...log.checks, ...report.checks.slice(at), ...(possession ? [possession] : [])];
    const ok = report.ok && checks.every((c) => c.ok);
    verdicts.push({ file, report: { ...report, ok, checks, ...(ok ? {} : { code: checks.find((c) => !c.ok)?.code ?? report.code }) } });
  }
  return verdicts;
}


async function checkResponse(store: Store | undefined, bundle: Bundle, responseFile: string, at: Date): Promise<VerificationCheck> {
  if (!store) throw new CustodyError('ERR_USAGE_STORE', '--response needs the store that issued the challenge (--store)');
  const cert = bundle.certificates[0]!;
  const r = await verifyChallengeResponse({
    response: new Uint8Array(Buffer.from(readText(responseFile, 'challenge'), 'utf8')),
    idevidSha256: toHex(await provider.digest('SHA-256', cert)),
    idevidSpki: parseCertificate(cert).spki,
    now: at,
    provider,
    registry: store,
  });
  return r.ok ? { name: 'proof of possession', ok: true, reason: r.reason } : { name: 'proof of possession', ok: false, code: r.code, reason: r.reason };
}

/** The report as lines a person reads. */
export function formatVerdict(v: BundleVerdict): string[] {
  const r = v.report;
  const lines = [`${r.device ?? v.file}: ${r.ok ? 'ACCEPTED' : `REJECTED (${r.code})`}`];
  for (const c of r.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.reason ? `: ${c.reason}` : ''}${c.ok ? '' : ` [${c.code}]`}`);
  return lines;
}
