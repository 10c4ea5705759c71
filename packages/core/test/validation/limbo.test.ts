/**
 * x509-limbo (C2SP) path-validation suite, scored. Cases run through `validatePath` with a node:crypto verifier
 * (ECDSA, RSA, Ed25519) and, for SERVER cases, a plain SAN peer-name match. Skips are per feature, each with its
 * reason; the score must not fall below FLOOR.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePEM } from '../../src/x509/pem.js';
import { parseCertificate } from '../../src/validation/certificate.js';
import { PathValidator } from '../../src/validation/path-validator.js';
import type { KeyUsageName } from '../../src/validation/extensions.js';
import { createNodeVerifier } from './node-verifier.js';
import { matchesPeerName } from './peer-name.js';

/** Passed cases out of applicable ones, in per cent. May only go up. */
const FLOOR = 100;

interface LimboCase {
  id: string;
  features: string[];
  description: string;
  validation_kind: 'CLIENT' | 'SERVER';
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  signature_algorithms: string[];
  key_usage: string[];
  extended_key_usage: string[];
  expected_result: 'SUCCESS' | 'FAILURE';
  expected_peer_name: { kind: string; value: string } | null;
  max_chain_depth: number | null;
  crls: string[];
  conflicts_with: string[];
}

const EKU: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
  anyExtendedKeyUsage: '2.5.29.37.0',
};

/** Feature-level skips: limbo feature flag -> why custody does not implement it. */
const SKIPPED_FEATURES: Record<string, string> = {
  'pedantic-webpki-eku': 'CA/B Forum EKU profile of the web PKI (e.g. anyExtendedKeyUsage refused), not a device-PKI rule',
  'pedantic-webpki-subscriber-key': 'CA/B Forum subscriber key rules of the web PKI, not a device-PKI rule',
  'pedantic-public-suffix-wildcard': 'public-suffix-list wildcard rules of web hostname matching, not a device-PKI rule',
  'pedantic-rfc5280':
    "issuance rules applied to a trust anchor's own certificate (AKI of a cross-signed root): custody takes anchors as name and key (RFC 5280 6.1.1 (d)), as cve::cve-2024-0567 requires",
};

/** Feature-level skips for web-PKI rule families limbo files without a feature flag: id prefix -> reason. */
const SKIPPED_FAMILIES: Record<string, string> = {
  'webpki::cn::': 'CA/B Forum subject commonName encoding rules (BR 7.1.4.3): custody never reads the CN as a host name',
  'webpki::aki::': 'CA/B Forum root-certificate AKI profile (BR 7.1.2.1): a trust anchor is configuration here',
  'webpki::san::san-critical-with-nonempty-subject': 'CA/B Forum SAN criticality rule (RFC 5280 4.2.1.6 only says SHOULD)',
};

/** Why a case is skipped, or undefined to run it. */
function skipReason(c: LimboCase, ids: Set<string>): string | undefined {
  for (const f of c.features) if (SKIPPED_FEATURES[f]) return SKIPPED_FEATURES[f];
  for (const [prefix, why] of Object.entries(SKIPPED_FAMILIES)) if (c.id.startsWith(prefix)) return why;
  if (c.conflicts_with.some((id) => id.startsWith('rfc5280::') && ids.has(id))) {
    return 'conflicts with an rfc5280:: case; custody follows RFC 5280 where the web PKI departs from it';
  }
  return undefined;
}

/** Validation time for cases that leave it open (limbo's "now"): a fixed instant inside every such case's validity. */
const DEFAULT_TIME = new Date('2025-06-01T00:00:00Z');

async function runCase(c: LimboCase): Promise<{ ok: boolean; detail: string }> {
  const anchors = c.trusted_certs.flatMap((p) => parsePEM(p, 'CERTIFICATE'));
  const inters = c.untrusted_intermediates.flatMap((p) => parsePEM(p, 'CERTIFICATE'));
  const leafDER = parsePEM(c.peer_certificate, 'CERTIFICATE')[0]!;
  const crls = c.crls.flatMap((p) => parsePEM(p, 'X509 CRL'));
  let validator: PathValidator;
  try {
    validator = new PathValidator({ trustAnchors: anchors, verifier: createNodeVerifier() });
  } catch (e) {
    return { ok: false, detail: `anchor rejected: ${(e as Error).message}` };
  }
  const report = await validator.validate({
    leaf: leafDER,
    intermediates: inters,
    at: c.validation_time ? new Date(c.validation_time) : DEFAULT_TIME,
    crls,
    requiredKeyUsage: c.key_usage as KeyUsageName[],
    requiredEKU: c.extended_key_usage.map((e) => EKU[e] ?? e),
    ...(c.max_chain_depth !== null ? { maxDepth: c.max_chain_depth } : {}),
  });
  if (!report.ok) {
    const first = report.checks.find((k) => !k.ok);
    return { ok: false, detail: `${report.code}: ${first?.name} ${first?.subject ?? ''} ${first?.reason ?? ''}` };
  }
  if (c.validation_kind === 'SERVER' && c.expected_peer_name) {
    const leaf = parseCertificate(leafDER);
    if (!matchesPeerName(leaf, c.expected_peer_name.kind, c.expected_peer_name.value)) return { ok: false, detail: 'peer name does not match the leaf SAN' };
  }
  return { ok: true, detail: 'path valid' };
}

describe('x509-limbo', function () {
  this.timeout(120_000);
  it(`passes at least ${FLOOR}% of the applicable cases`, async () => {
    const file = new URL('../../../../test/vectors/x509-limbo/limbo.json', import.meta.url);
    const cases = (JSON.parse(readFileSync(file, 'utf8')) as { testcases: LimboCase[] }).testcases;
    const ids = new Set(cases.map((c) => c.id));
    const skips = new Map<string, string[]>();
    const wrong: string[] = [];
    let passed = 0;
    let applicable = 0;
    for (const c of cases) {
      const why = skipReason(c, ids);
      if (why) {
        skips.set(why, [...(skips.get(why) ?? []), c.id]);
        continue;
      }
      applicable++;
      const t0 = Date.now();
      const r = await runCase(c);
      const ms = Date.now() - t0;
      const got = r.ok ? 'SUCCESS' : 'FAILURE';
      if (process.env.LIMBO_VERBOSE) console.log(`  ${c.id}: expected ${c.expected_result}, ${r.detail}`);
      if (got === c.expected_result) passed++;
      else wrong.push(`${c.id}: expected ${c.expected_result}, got ${r.detail}`);
      if (ms > 1000) wrong.push(`(slow: ${c.id} took ${ms} ms)`);
    }
    const pct = (100 * passed) / applicable;
    console.log(`\n  x509-limbo: ${passed}/${applicable} applicable passed (${pct.toFixed(1)}%), ${cases.length} total`);
    for (const [why, list] of skips) console.log(`  skipped ${list.length}: ${why}`);
    for (const w of wrong) console.log(`  MISMATCH ${w}`);
    assert.ok(pct >= FLOOR, `limbo score ${pct.toFixed(1)}% is below the floor ${FLOOR}%`);
  });
});
