/**
 * `code.checkPerSec`: a 64 KiB script and its detached CMS code signature checked on the device side by core's
 * code verifier (signature, signer profile, path to the owner's code-signing CA, validity, file hash), one
 * core, the verifier built once as a device agent keeps it. `native.codeCheckPerSec` is the limit measured in the
 * same run: node:crypto doing only a SHA-256 of the 64 KiB and one ECDSA P-256 verification.
 *
 *   node bench/run.mjs --only code [--quick]
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { CertificateFactory, createAttestationSigner, readCertificateInfo } from '@custody/core';
import { createCodeVerifier, signCode } from '@custody/core/code';
import { NodeCryptoProvider } from '@custody/core/node';
import { loadTemplate, templatesDir } from '@custody/app/context';

const provider = new NodeCryptoProvider();
const SIZE = 64 * 1024;
const ROUNDS = 5;
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A certificate from a shipped template, self-signed or under `issuer`, with its keys (also bench/code-policy.mjs). */
export async function issue(templateName, issuer, vars) {
  const template = await loadTemplate(templatesDir(undefined), templateName);
  const keys = await provider.generateKeyPair(template.keyAlgorithm);
  const f = await CertificateFactory.create({
    template,
    issuer: issuer ? { certificate: issuer.info, key: issuer.keys.privateKey } : { key: keys.privateKey },
    provider,
    notBefore: new Date(Date.now() - 60_000),
    vars,
  });
  const { der } = await f.issue({ spki: keys.publicKey.spki, vars });
  return { keys, der, info: readCertificateInfo(der) };
}

/** Checks per second of `check` over `n` calls after `n / 10` warm-up calls. */
async function rate(n, check) {
  for (let i = 0; i < Math.max(1, n / 10); i++) await check();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await check();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** The code figures; `quick` runs a tenth of the checks. */
export async function codeFigures({ quick = false } = {}) {
  const n = quick ? 500 : 5_000;
  const script = new Uint8Array(SIZE).map((_, i) => 0x20 + (i % 90));

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // The verifier imports the key from its SPKI as the code verifier does per signer certificate.
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const attrs = Buffer.alloc(100, 7);
  const sig = sign('sha256', attrs, privateKey);
  const nativeCheck = () => {
    createHash('sha256').update(script).digest();
    if (!verify('sha256', attrs, pub, sig)) throw new Error('native verify failed');
  };

  const root = await issue('root-ca', undefined, { organization: 'Bench Owner', name: 'bench code CA' });
  const ops = await issue('code-signer', root, { organization: 'Bench Owner', name: 'bench-ops' });
  const signer = await createAttestationSigner({ certificate: ops.der, key: ops.keys.privateKey, provider });
  const { der } = await signCode(signer, { name: 'bench.sh', content: script, type: 'script', version: '1', time: new Date() });
  const verifier = createCodeVerifier({ trust: { cas: [root.der] }, provider });
  const now = new Date();
  const check = () => verifier.verify({ file: script, signature: der, now });
  // Rounds alternate between the limit and the check, and each figure is its median round: a busy machine then
  // slows both alike instead of whichever ran second.
  const natives = [];
  const checks = [];
  for (let round = 0; round < ROUNDS; round++) {
    natives.push(await rate(n / ROUNDS, nativeCheck));
    checks.push(await rate(n / ROUNDS, check));
  }
  return { 'native.codeCheckPerSec': median(natives), 'code.checkPerSec': median(checks) };
}
