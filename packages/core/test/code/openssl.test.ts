import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signCode } from '../../src/code/code-signature.js';
import { encodeCodeStatement } from '../../src/code/code-statement.js';
import { encodePEM } from '../../src/x509/pem.js';
import { utf8 } from '../../src/util/bytes.js';
import { makeCodeSigner, makeRoot, NOW } from './fixtures.js';

describe('code signature interop: openssl cms -verify', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'custody-code-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the CMS code signature under the owner CA and prints the statement bytes exactly', async () => {
    const root = await makeRoot('Fabrikam code CA');
    const signer = await makeCodeSigner(root, 'fabrikam-ops');
    const { der, statement } = await signCode(signer.signer, { name: 'rotate.sh', content: utf8('echo rotate\n'), type: 'script', version: '3', time: NOW });
    writeFileSync(join(dir, 'ca.pem'), encodePEM(root.der, 'CERTIFICATE'));
    writeFileSync(join(dir, 'rotate.sh.sig'), der);
    // -purpose any: openssl's default S/MIME signing purpose wants emailProtection; a code signer lists codeSigning.
    // The signing time is the fixtures' NOW, so openssl checks the chain at that time.
    const args = ['cms', '-verify', '-inform', 'DER', '-binary', '-in', 'rotate.sh.sig', '-CAfile', 'ca.pem', '-purpose', 'any'];
    const r = spawnSync('openssl', [...args, '-attime', String(NOW.getTime() / 1000), '-out', 'statement.json'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Verification successful/);
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'statement.json'))), encodeCodeStatement(statement));
    const edited = der.slice();
    edited[der.length - 10] ^= 1;
    writeFileSync(join(dir, 'edited.sig'), edited);
    const bad = spawnSync(
      'openssl',
      [
        'cms',
        '-verify',
        '-inform',
        'DER',
        '-binary',
        '-in',
        'edited.sig',
        '-CAfile',
        'ca.pem',
        '-purpose',
        'any',
        '-attime',
        String(NOW.getTime() / 1000),
        '-out',
        'x.json',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.notEqual(bad.status, 0);
  });
});
