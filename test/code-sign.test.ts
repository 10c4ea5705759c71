/**
 * `custody code sign` with the real peers, through the built CLI: `evmctl ima_verify --sigfile` (Debian's
 * ima-evm-utils) accepts the IMA v2 signature custody writes as FILE.sig and refuses it for a changed file;
 * `openssl cms -verify` accepts the CMS code signature; core's code verifier (what a device runs) accepts the file
 * and refuses an edited copy. The same with the signer's key in a SoftHSM token. evmctl wants the certificate in
 * DER (v1.4 reads it with d2i_X509_fp). Skipped, saying why, only where evmctl is missing and CI is not set.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyCodeSignature } from '@custody/core/code';
import { NodeCryptoProvider } from '@custody/core/node';
import { decodePEM, parseCertificate } from '@custody/core/x509';
import { custodyJSON, type CLIRun } from './e2e-helpers.js';
import { testTokenOrSkip } from '../packages/app/test/pkcs11/softhsm.js';

const PASS = 'code sign e2e passphrase';
const PIN = '86420';
const provider = new NodeCryptoProvider();

function hasEvmctl(): boolean {
  return spawnSync('evmctl', ['--version'], { encoding: 'utf8' }).status === 0;
}

function evmctlVerify(certDer: string, file: string) {
  return spawnSync('evmctl', ['ima_verify', '--sigfile', '--key', certDer, file], { encoding: 'utf8' });
}

describe('code sign: evmctl, openssl and the device-side check accept what custody signs', function () {
  this.timeout(180_000);
  let dir: string;
  let store: string;
  let extraEnv: Record<string, string> = {};
  const cli = (command: string, ...args: string[]): CLIRun =>
    custodyJSON([...command.split(' '), ...args, '--json'], { env: { CUSTODY_PASSPHRASE: PASS, ...extraEnv } });
  const ok = (command: string, ...args: string[]) => {
    const r = cli(command, ...args);
    assert.equal(r.status, 0, `custody ${command} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.json.data;
  };

  before(function () {
    if (!hasEvmctl()) {
      if (process.env.CI) throw new Error('evmctl is missing: CI must install ima-evm-utils (.ci/run does)');
      console.log('      (skipped: evmctl not installed; apt-get install ima-evm-utils)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'custody-code-sign-'));
    store = join(dir, 'store');
    ok('init', '--store', store);
    ok('ca create', '--store', store, '--name', 'owner-code', '--organization', 'Fabrikam Clinics');
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Signs `file` in both formats with `signer`, and checks each with its peer. */
  function signAndCheck(signer: string, sub: string) {
    const d = join(dir, sub);
    mkdirSync(d);
    const file = join(d, 'rotate-logs.sh');
    writeFileSync(file, '#!/bin/sh\nfind /var/log/app -name "*.log" -mtime +7 -delete\n'.repeat(40));
    const certPem = ok('code signer export', '--store', store, signer).certificatePem as string;
    const certDer = join(d, 'signer.der');
    writeFileSync(certDer, decodePEM(certPem, ['CERTIFICATE']));

    // IMA: FILE.sig beside the file, where evmctl looks.
    const ima = ok('code sign', '--store', store, '--file', file, '--signer', signer, '--format', 'ima');
    assert.equal(ima.signatureFile, `${file}.sig`);
    const good = evmctlVerify(certDer, file);
    assert.equal(good.status, 0, `evmctl refused custody's IMA signature: ${good.stdout}${good.stderr}`);
    assert.match(good.stdout + good.stderr, /verification is OK/);
    // evmctl prints the key id as a number (printf %x): a leading zero byte loses its zeros.
    const printed = /key 1: ([0-9a-f]+)/.exec(good.stdout + good.stderr);
    assert.ok(printed, `evmctl named no key: ${good.stdout}${good.stderr}`);
    assert.equal(Number.parseInt(printed[1], 16), Number.parseInt(ima.imaKeyId as string, 16));
    assert.match(ima.imaKeyId as string, /^[0-9a-f]{8}$/);
    // The kernel looks the key up by the last 4 bytes of the certificate's SKI: the same id.
    const ski = parseCertificate(decodePEM(certPem, ['CERTIFICATE'])).subjectKeyId!;
    assert.equal(Buffer.from(ski.subarray(ski.length - 4)).toString('hex'), ima.imaKeyId);
    const edited = join(d, 'edited.sh');
    const bytes = readFileSync(file);
    bytes[30] ^= 0x20;
    writeFileSync(edited, bytes);
    copyFileSync(`${file}.sig`, `${edited}.sig`);
    const bad = evmctlVerify(certDer, edited);
    assert.notEqual(bad.status, 0, 'evmctl accepted a changed file');
    assert.match(bad.stdout + bad.stderr, /verification failed/);

    // CMS: openssl, and the device-side verifier with the owner CA as the trusted code-signing CA.
    const cmsSig = join(d, 'rotate-logs.sh.cms');
    const cms = ok('code sign', '--store', store, '--file', file, '--signer', signer, '--out', cmsSig, '--type', 'script', '--version', '7');
    const caPem = join(d, 'owner.pem');
    writeFileSync(caPem, ok('ca export', '--store', store, 'owner-code').certificatePem);
    const o = spawnSync(
      'openssl',
      ['cms', '-verify', '-inform', 'DER', '-binary', '-in', cmsSig, '-CAfile', caPem, '-purpose', 'any', '-out', join(d, 'statement.json')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(o.status, 0, o.stderr);
    writeFileSync(join(d, 'signer.pem'), certPem);
    const strict = spawnSync('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', caPem, join(d, 'signer.pem')], { encoding: 'utf8' });
    assert.equal(strict.status, 0, `openssl verify -x509_strict: ${strict.stdout}${strict.stderr}`);
    const statement = JSON.parse(readFileSync(join(d, 'statement.json'), 'utf8'));
    assert.equal(statement.subject[0].digest.sha256, cms.sha256);
    return { file, edited, cmsSig, caPem };
  }

  async function deviceCheck(paths: { file: string; edited: string; cmsSig: string; caPem: string }) {
    const trust = { cas: [decodePEM(readFileSync(paths.caPem, 'utf8'), ['CERTIFICATE'])] };
    const signature = new Uint8Array(readFileSync(paths.cmsSig));
    const v = await verifyCodeSignature({ trust, provider, file: new Uint8Array(readFileSync(paths.file)), signature, now: new Date() });
    assert.equal(v.statement.predicate.type, 'script');
    assert.equal(v.statement.predicate.version, '7');
    await assert.rejects(verifyCodeSignature({ trust, provider, file: new Uint8Array(readFileSync(paths.edited)), signature, now: new Date() }), {
      code: 'ERR_CODE_DIGEST',
    });
  }

  it('a signer with an encrypted key file', async () => {
    ok('code signer create', '--store', store, '--name', 'ops', '--ca', 'owner-code', '--organization', 'Fabrikam Clinics');
    await deviceCheck(signAndCheck('ops', 'file-key'));
  });

  it('a signer whose key is generated in a PKCS#11 token (SoftHSM)', async function () {
    const token = testTokenOrSkip(this, 'code', PIN);
    try {
      extraEnv = { CUSTODY_PKCS11_MODULE: token.module, SOFTHSM2_CONF: token.conf };
      const uri = `pkcs11:token=code;object=ops-hsm?pin-source=file:${token.pinFile}`;
      ok('code signer create', '--store', store, '--name', 'ops-hsm', '--ca', 'owner-code', '--organization', 'Fabrikam Clinics', '--key-store', uri);
      await deviceCheck(signAndCheck('ops-hsm', 'token-key'));
    } finally {
      extraEnv = {};
      token.dispose();
    }
  });
});
