/**
 * Verifying bundle files with a verifier built from data: what each thread of `devices verify` runs. The evidence
 * and rules arrive read and parsed (`VerifierData`, plain data that a worker thread receives by structured clone),
 * so a verifying thread loads core's verifier, node:fs and nothing else: no store, no YAML, no templates.
 */
import { CustodyError } from '@custody/core/errors';
import { NodeCryptoProvider, nodeSha256 } from '@custody/core/node';
import { createVerifier, type VerificationReport, type Verifier, type VerifyOptions, type WorkflowOption } from '@custody/core/verification';
import type { Policy, VerifierKey } from '@custody/core';
import type { ReleaseSet } from '@custody/core/verification';
import { readInputFile } from './input-file.js';

/** The trust inputs of a verification, read from the command's files and parsed: the same on every thread. */
export interface VerifierData {
  trustAnchors: Uint8Array[];
  workflow?: WorkflowOption | undefined;
  policy?: Policy | undefined;
  crls: Uint8Array[];
  logKeys: VerifierKey[];
  at: Date;
  /** The certificate of the party that must hold the device now (`--as`, `--expected-custodian`). */
  expectedCustodian?: Uint8Array | undefined;
  /** `--releases`, verified once on the main thread (plain data: maps and dates survive the copy to a worker). */
  releases?: ReleaseSet | undefined;
}

/** One bundle file and its report. */
export interface BundleVerdict {
  file: string;
  report: VerificationReport;
}

/** A verifier and the context of its verifications, built from the inputs' files and the store's ports. */
export interface PreparedVerification {
  verifier: Verifier;
  context: VerifyOptions;
}

const nodeProvider = new NodeCryptoProvider();

/**
 * The verifier of `data`'s trust inputs.
 * @throws ERR_CERT_PARSE when a trust anchor does not parse; ERR_CRL_PARSE when a CRL does not parse
 */
export function verifierOf(data: VerifierData, provider: NodeCryptoProvider = nodeProvider): Verifier {
  const { trustAnchors, workflow, policy, crls, logKeys, at, releases } = data;
  return createVerifier({ trustAnchors, provider, workflow, policy, crls, logKeys, logHash: nodeSha256, at, releases });
}

/**
 * A verifying thread's verifier and context: `data`'s, without the store's ports (checkpoints are settled and
 * possession checked on the thread that holds the store).
 * @throws as `verifierOf`
 */
export function threadVerification(data: VerifierData): PreparedVerification {
  const context: VerifyOptions = data.expectedCustodian ? { at: data.at, expectedCustodian: { certificate: data.expectedCustodian } } : { at: data.at };
  return { verifier: verifierOf(data), context };
}

/** Reads and verifies bundle files, in order, with a prepared verifier. */
export async function verifyFiles(p: PreparedVerification, files: readonly string[], more: Partial<VerifyOptions> = {}): Promise<BundleVerdict[]> {
  const context = { ...p.context, ...more };
  const verdicts: BundleVerdict[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readInputFile(file, 'bundle').toString('utf8');
    } catch (e) {
      if (!(e instanceof CustodyError)) throw e;
      verdicts.push({
        file,
        report: { ok: false, effectiveClaims: {}, checks: [{ name: 'bundle file', ok: false, code: e.code, reason: e.message }], code: e.code },
      });
      continue;
    }
    // The text goes to the verifier as it is: parsing it is the verifier's first check, as for any caller.
    verdicts.push({ file, report: await p.verifier.verify(text, context) });
  }
  return verdicts;
}
