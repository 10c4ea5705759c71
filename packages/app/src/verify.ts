/**
 * `devices verify`: reads the files a verification needs, builds core's one verifier and the ports it reads
 * through (this store's checkpoint memory and challenges), and verifies each bundle. Every check and its order
 * are core's (`createVerifier`); nothing here adds, drops or reorders one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CustodyError,
  decodePEM,
  settleCheckpoint,
  parseCertificate,
  parsePolicy,
  parseWorkflow,
  toHex,
  verifyReleaseSet,
  type ExpectedCustodian,
  type Policy,
  type VerifyOptions,
  type WorkflowOption,
} from '@custody/core';
import { nodeSha256 } from '@custody/core/node';
import type { Store } from '@custody/store';
import { REPO_ROOT, provider, readCertificateFile, readCRLFile, readInputFile, type InputKind } from './context.js';
import { verifierOf, verifyFiles, type BundleVerdict, type PreparedVerification, type VerifierData } from './verify-files.js';
import { readTrustAnchors } from './bundles.js';
import { readConsistencyProofs, readVerifierKeys } from './log.js';
import { palletThreads } from './pool-size.js';
import { readReleaseDocuments } from './release-files.js';
import { decodeVerdicts, type EncodedVerdicts } from './verdict-codec.js';
import { leasePalletThreads, type PalletLease } from './pallet-threads.js';

function readText(file: string, kind: InputKind): string {
  return readInputFile(file, kind).toString('utf8');
}

/** A policy by name (workflows/policies/NAME.yaml) or by file. */
export function loadPolicy(nameOrFile: string): Policy {
  const file = existsSync(nameOrFile) ? nameOrFile : join(REPO_ROOT, 'workflows', 'policies', `${nameOrFile}.yaml`);
  if (!existsSync(file))
    throw new CustodyError('ERR_USAGE_POLICY', `--policy ${nameOrFile}: neither a file nor a shipped policy (baseline, retail, healthcare)`);
  return parsePolicy(readText(file, 'policy'), file);
}

/** A workflow by file, or by name (workflows/NAME.yaml): the path of the file to read. */
export function workflowFile(nameOrFile: string): string {
  const shipped = join(REPO_ROOT, 'workflows', `${nameOrFile}.yaml`);
  return existsSync(nameOrFile) || !/^[a-z0-9-]+$/.test(nameOrFile) || !existsSync(shipped) ? nameOrFile : shipped;
}

/** `NAME=FILE` pairs naming the CAs a workflow's signer rules refer to. */
export function parseNamedCAs(pairs: readonly string[]): Array<{ name: string; file: string }> {
  return pairs.map((p) => {
    const i = p.indexOf('=');
    if (i <= 0) throw new CustodyError('ERR_USAGE_CA_MAP', `--ca ${p}: expected NAME=FILE`);
    return { name: p.slice(0, i), file: p.slice(i + 1) };
  });
}

/** The evidence and rules of a verification, as the command's flags name them (files, names). */
export interface VerifyInputs {
  trust: string[];
  cas: Array<{ name: string; file: string }>;
  workflow?: string | undefined;
  policy?: string | undefined;
  crls: string[];
  at: Date;
  /** `--response`: the device's answer to a challenge this store issued. */
  response?: string | undefined;
  /** `--expected-custodian`: the certificate file of the party that must hold the device now. */
  expectedCustodian?: string | undefined;
  /** `--as`: this store's party that must hold the device now. */
  as?: string | undefined;
  /** The expected custodian's certificate, already read (from `--as` or `--expected-custodian`). */
  expectedCertificate?: Uint8Array | undefined;
  /** `--log-key` values: verifier key files (or strings) of trusted logs. */
  logKeys?: string[] | undefined;
  /** `--log-consistency` files: consistency proofs from the log's operator. */
  logConsistency?: string[] | undefined;
  /** `--releases`: a folder of release manifests and withdrawal lists to check installed firmware against. */
  releases?: string | undefined;
}

export interface VerifyCommandOptions extends VerifyInputs {
  bundles: string[];
  /** Told what the operator should know although every bundle has its verdict (a verifying thread that failed). */
  onWarning?: (message: string) => void;
}

export type { BundleVerdict, PreparedVerification } from './verify-files.js';
export { verifyFiles } from './verify-files.js';

/**
 * Reads every input of a verification and builds the verifier and its context.
 * @throws ERR_USAGE_TRUST without trust anchors; ERR_USAGE_STORE when `--response` or `--as` has no store;
 *   ERR_USAGE_FLAGS for `--as` with `--expected-custodian`; ERR_USAGE_PARTY for an unknown `--as` party; input
 *   errors naming their file
 */
export async function prepareVerification(store: Store | undefined, o: VerifyInputs): Promise<PreparedVerification & { data: VerifierData }> {
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
    const file = workflowFile(o.workflow);
    workflow = { workflow: parseWorkflow(readText(file, 'workflow'), file), trust: { cas } };
  }
  const policy = o.policy ? loadPolicy(o.policy) : undefined;
  const crls = o.crls.map((f) => readCRLFile(f));
  const logKeys = readVerifierKeys(o.logKeys ?? []);
  // Verified once here; worker threads receive the verified set with the rest of the data.
  const releases = o.releases === undefined ? undefined : await verifyReleaseSet(readReleaseDocuments(o.releases), anchors, provider);
  const data: VerifierData = { trustAnchors: anchors, workflow, policy, crls, logKeys, at: o.at, releases };
  const verifier = verifierOf(data, provider);
  const context: { -readonly [K in keyof VerifyOptions]: VerifyOptions[K] } = { at: o.at };
  const expected = await expectedCustodianOf(store, o);
  if (expected) context.expectedCustodian = expected;
  if (typeof expected === 'object') data.expectedCustodian = expected.certificate;
  if (store) context.checkpoints = store;
  const consistency = readConsistencyProofs(o.logConsistency ?? []);
  if (consistency.length > 0) context.consistency = consistency;
  if (o.response !== undefined) {
    if (!store) throw new CustodyError('ERR_USAGE_STORE', '--response needs the store that issued the challenge (--store)');
    context.possession = { response: new Uint8Array(readInputFile(o.response, 'challenge')), records: store };
  }
  return { verifier, context, data };
}

async function expectedCustodianOf(store: Store | undefined, o: VerifyInputs): Promise<ExpectedCustodian | undefined> {
  if (o.expectedCertificate !== undefined) return { certificate: o.expectedCertificate };
  if (o.as !== undefined && o.expectedCustodian !== undefined) throw new CustodyError('ERR_USAGE_FLAGS', 'give --as or --expected-custodian, not both');
  if (o.expectedCustodian !== undefined) return { certificate: readCertificateFile(o.expectedCustodian).der };
  if (o.as === undefined) return undefined;
  if (!store) throw new CustodyError('ERR_USAGE_STORE', '--as names a party of this store: give --store');
  const party = await store.getParty(o.as);
  if (!party) throw new CustodyError('ERR_USAGE_PARTY', `--as ${o.as}: no party of that name in ${store.location}`);
  return { certificate: decodePEM(party.certificate, ['CERTIFICATE']) };
}

/**
 * Verifies every bundle, in order; a large pallet on worker threads beside this one, with the same reports.
 * Malformed inputs other than the bundles themselves are errors (exit 3).
 */
export async function verifyBundles(store: Store | undefined, o: VerifyCommandOptions): Promise<BundleVerdict[]> {
  if (o.response !== undefined && o.bundles.length !== 1)
    throw new CustodyError('ERR_USAGE_FLAGS', `--response answers one device's challenge: give one bundle, not ${o.bundles.length}`);
  // A proof of possession is checked against this store's challenges, on this thread: workers have no store.
  const threads = o.response !== undefined ? 0 : palletThreads(o.bundles.length);
  const prepared = await prepareVerification(store, o);
  if (threads === 0) return verifyFiles(prepared, o.bundles);
  // The workers get the inputs this thread read and parsed (plain data), so each loads the verifier only; while
  // they start (or take the pallet's inputs), this thread verifies from the back of the pallet.
  const lease = await leasePalletThreads(prepared.data, threads);
  const verdicts = await onThreads(prepared, o.bundles, lease, threads, o.onWarning);
  // The one memory of log checkpoints is this thread's: each report is settled in bundle order.
  const { checkpoints, consistency } = prepared.context;
  const out: BundleVerdict[] = [];
  for (const v of verdicts) out.push({ file: v.file, report: await settleCheckpoint(v.report, checkpoints, consistency ?? [], nodeSha256) });
  return out;
}

/** Files per request to a verifying thread. */
const PIECE = 32;
/** Requests queued on each worker. */
const DEPTH = 4;

/**
 * A pallet over `threads` workers (verify-worker.ts, kept between pallets: pallet-threads.ts) and this thread: pieces go to the workers in turn, this
 * thread verifies pieces from the back of the queue while waiting, and takes over every piece left when a worker
 * fails. Reports come back in file order, their log checkpoints left to settle (`deferCheckpoint`).
 */
async function onThreads(
  p: PreparedVerification,
  files: readonly string[],
  lease: PalletLease,
  threads: number,
  onWarning?: (message: string) => void,
): Promise<BundleVerdict[]> {
  const pieces: string[][] = [];
  for (let i = 0; i < files.length; i += PIECE) pieces.push(files.slice(i, i + PIECE));
  const done: BundleVerdict[][] = new Array(pieces.length);
  const queue = pieces.map((_, k) => k);
  let outstanding = 0;
  let failed = false;
  let wake: (() => void) | undefined;
  try {
    while (queue.length > 0 || outstanding > 0) {
      while (!failed && queue.length > 0 && outstanding < threads * DEPTH) {
        const k = queue.shift()!;
        outstanding += 1;
        lease
          .run(pieces[k]!)
          .then(
            (v) => void (done[k] = decodeVerdicts(v as EncodedVerdicts | readonly BundleVerdict[])),
            (e: unknown) => {
              if (!failed)
                onWarning?.(`a verifying thread failed (${e instanceof Error ? e.message : String(e)}); this thread verified the bundles it had not`);
              failed = true;
              queue.push(k);
            },
          )
          .finally(() => {
            outstanding -= 1;
            wake?.();
          });
      }
      if (queue.length > 0) {
        const k = queue.pop()!;
        done[k] = await verifyFiles(p, pieces[k]!, { deferCheckpoint: true });
        await new Promise<void>((resolve) => setImmediate(resolve));
      } else if (outstanding > 0) await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await lease.release();
  }
  return done.flat();
}
