/**
 * When a finished run still fails: the error each use case's result amounts to, for commands that report every
 * item and then exit non-zero. The exit code follows from the error (`reportError`), never from the command.
 */
import { CustodyError } from '@custody/core/errors';
import type { ImportResult } from './bundles.js';
import type { ActivationResult } from './activate.js';
import type { MonitorReport } from './monitor.js';
import type { DemoReport } from './demo.js';
import type { BundleVerdict } from './verify.js';

/** The first failed check's reason, for a one-line message. */
function reasonOf(v: BundleVerdict): string {
  return v.report.checks.find((c) => !c.ok)?.reason ?? 'rejected';
}

/**
 * A verification of several bundles that did not accept them all: bad input (exit 3) when a bundle could not be
 * read, else a rejection (exit 1), under the code of the first such bundle.
 */
export function verificationFailure(verdicts: readonly BundleVerdict[]): CustodyError | undefined {
  const rejected = verdicts.filter((v) => !v.report.ok);
  if (rejected.length === 0) return undefined;
  const malformed = rejected.find((v) => /^ERR_(BUNDLE|INPUT)/.test(v.report.code ?? ''));
  const first = malformed ?? rejected[0]!;
  const count = verdicts.length > 1 ? ` (${rejected.length} of ${verdicts.length} bundles rejected)` : '';
  return new CustodyError(first.report.code ?? 'ERR_VERIFY', `${first.file}: ${reasonOf(first)}${count}`, { category: malformed ? 'input' : 'rejected' });
}

/** Bundles an import refused, under the first refusal's code. */
export function importFailure(results: readonly ImportResult[]): CustodyError | undefined {
  const refused = results.filter((r) => r.outcome === 'refused');
  if (refused.length === 0) return undefined;
  const count = results.length > 1 ? ` (${refused.length} of ${results.length} bundles refused)` : '';
  return new CustodyError(refused[0]!.code ?? 'ERR_VERIFY', `${refused[0]!.file}: ${refused[0]!.reason}${count}`);
}

/** An activation the verification rejected (exit 1), under the verifier's code. */
export function activationFailure(r: ActivationResult): CustodyError | undefined {
  if (r.accepted) return undefined;
  return new CustodyError(r.report.code ?? 'ERR_VERIFY', `device ${r.serial} not activated: verification rejected it`, { category: 'rejected' });
}

/** A monitor run that found something (exit 1): ERR_MONITOR_FINDINGS. */
export function monitorFailure(r: MonitorReport): CustodyError | undefined {
  if (r.findings.length === 0) return undefined;
  const kinds = [...new Set(r.findings.map((f) => f.kind))].join(', ');
  return new CustodyError('ERR_MONITOR_FINDINGS', `${r.findings.length} finding(s): ${kinds}`);
}

/** A demo whose customer did not accept every device (exit 1), under the first rejection's code. */
export function demoFailure(r: DemoReport): CustodyError | undefined {
  if (r.accepted) return undefined;
  const d = r.devices.find((x) => !x.accepted);
  return new CustodyError(
    d?.code ?? 'ERR_VERIFY',
    d ? `device ${d.serial} was rejected under the ${r.policy} policy` : 'the bundle re-verified from files was rejected',
    { category: 'rejected' },
  );
}
