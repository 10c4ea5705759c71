/**
 * `code.policyCheckPerSec`: what `custody agent check-code` does per file once enrolled, on one core: the scope of
 * a 4-scope policy chosen by type and path pattern, then core's code verifier with that scope's identities (a
 * 64 KiB script, a CMS code signature, a signer under the owner's code-signing CA). Read it against
 * `native.codeCheckPerSec` (bench/code.mjs, same run: one SHA-256 of the 64 KiB and one ECDSA P-256 verification).
 *
 *   node bench/run.mjs --only code [--quick]
 */
import { createAttestationSigner } from '@custody/core';
import { signCode } from '@custody/core/code';
import { CodeChecker, createCodeValidationClaim, parseCodePolicy, parseCodeValidationClaim } from '@custody/core/code-policy';
import { NodeCryptoProvider } from '@custody/core/node';
import { issue, median } from './code.mjs';

const provider = new NodeCryptoProvider();
const ROUNDS = 5;

const POLICY = `name: bench
version: 1
identities:
  - name: owner-code
    ca: code-ca
scopes:
  - name: config
    types: [config]
    paths: ["/etc/edge/**"]
    level: audit
    signers: [owner-code]
  - name: apps
    types: [app]
    paths: ["/opt/edge/apps/**"]
    level: enforce
    signers: [owner-code]
  - name: tools
    types: [script]
    paths: ["/usr/local/bin/*.sh", "/usr/local/sbin/*.sh"]
    level: enforce
    signers: [owner-code]
  - name: scripts
    types: [script]
    paths: ["/opt/edge/scripts/**"]
    level: enforce
    signers: [owner-code]
`;

/** The figure; `quick` runs a tenth of the checks. */
export async function codePolicyFigures({ quick = false } = {}) {
  const n = quick ? 500 : 5_000;
  const script = new Uint8Array(64 * 1024).map((_, i) => 0x20 + (i % 90));
  const root = await issue('root-ca', undefined, { organization: 'Bench Owner', name: 'bench code CA' });
  const ops = await issue('code-signer', root, { organization: 'Bench Owner', name: 'bench-ops' });
  const signer = await createAttestationSigner({ certificate: ops.der, key: ops.keys.privateKey, provider });
  const { der } = await signCode(signer, { name: 'rotate.sh', content: script, type: 'script', version: '1', time: new Date() });
  // As the device holds it: the claim the activation signed, read strictly, a checker built once.
  const claim = createCodeValidationClaim(parseCodePolicy(POLICY, 'bench.yaml'), new Map([['owner-code', root.der]]));
  const checker = new CodeChecker(parseCodeValidationClaim(JSON.parse(JSON.stringify(claim))), provider);
  const now = new Date();
  const check = async () => {
    const d = await checker.check({ path: '/opt/edge/scripts/rotate.sh', file: script, signature: der, now });
    if (!d.ok) throw new Error(`bench check refused: ${d.code}`);
  };
  const rates = [];
  for (let round = 0; round < ROUNDS; round++) {
    const m = n / ROUNDS;
    for (let i = 0; i < Math.max(1, m / 10); i++) await check();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < m; i++) await check();
    rates.push(m / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return { 'code.policyCheckPerSec': median(rates) };
}
