/**
 * `parse.*PerSec`: each parser family alone, on the seed corpus of the fuzz harness (test/fixtures/fuzz/seeds,
 * artifacts of `custody demo`), so that the cost of strictness stays visible next to the verification figures.
 * One core, inputs parsed in turn; a warm-up pass first so that the figure is the JIT-compiled parser's.
 *
 *   node bench/run.mjs --only parse [--quick]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAttestation, parseBundle, parseCRL, parseCertificate, parseWorkflow } from '@custody/core';

const SEEDS = fileURLToPath(new URL('../test/fixtures/fuzz/seeds/', import.meta.url));

function seeds(family) {
  const dir = join(SEEDS, family);
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

/** Inputs per second of `parse` over `inputs`, taken in turn `n` times after `n / 10` warm-up calls. */
function rate(n, inputs, parse) {
  for (let i = 0; i < Math.max(1, n / 10); i++) parse(inputs[i % inputs.length]);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) parse(inputs[i % inputs.length]);
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** The parse figures; `quick` runs a tenth of the inputs. */
export function parseFigures({ quick = false } = {}) {
  const n = quick ? 2_000 : 20_000;
  const certs = seeds('certificates').map((b) => new Uint8Array(b));
  const crls = seeds('crls').map((b) => new Uint8Array(b));
  const cms = seeds('cms').map((b) => new Uint8Array(b));
  const bundles = seeds('bundles').map((b) => b.toString('utf8'));
  const workflows = seeds('workflows').map((b) => b.toString('utf8'));
  return {
    'parse.certsPerSec': rate(n, certs, parseCertificate),
    'parse.crlsPerSec': rate(n, crls, parseCRL),
    'parse.cmsPerSec': rate(n, cms, parseAttestation),
    'parse.bundlesPerSec': rate(n, bundles, parseBundle),
    // A workflow is parsed once per command, not per bundle: fewer runs suffice.
    'parse.workflowsPerSec': rate(n / 10, workflows, (t) => parseWorkflow(t, 'supply-chain.yaml')),
  };
}
