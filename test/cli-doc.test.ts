/**
 * docs/cli.md against the code: the generated exit and error code tables must be what scripts/cli-doc.ts makes of
 * the sources and of packages/core/src/errors.ts now, and every CUSTODY_* variable the sources read must be
 * documented. Run `npm run docs:cli` after adding an error code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CLI_DOC, environmentVariables, errorCodes, generatedSection, withSection } from '../scripts/cli-doc.js';

describe('docs/cli.md agrees with the code', () => {
  const doc = readFileSync(CLI_DOC, 'utf8');

  it('lists every error code with the exit status its category gives (npm run docs:cli regenerates it)', () => {
    assert.equal(withSection(doc), doc, 'docs/cli.md differs from the code: run npm run docs:cli');
  });

  it('finds the codes the CLI raises, with their exit statuses', () => {
    const codes = errorCodes();
    for (const code of ['ERR_NOT_CUSTODIAN', 'ERR_CSR_SIGNATURE', 'ERR_BUNDLE_MALFORMED', 'ERR_VERIFY_POSSESSION_REPLAY'])
      assert.ok(codes.includes(code), code);
    const section = generatedSection(codes);
    assert.match(section, /\| `ERR_NOT_CUSTODIAN` \| 4 \| state conflict \|/);
    assert.match(section, /\| `ERR_USAGE_FLAGS` \| 2 \| usage error \|/);
    assert.match(section, /\| `ERR_POLICY_REVOCATION` \| 1 \| verification rejected \|/);
  });

  it('fails when a code is added without regenerating the table', () => {
    const stale = withSection(doc, generatedSection(errorCodes().filter((c) => c !== 'ERR_NOT_CUSTODIAN')));
    assert.notEqual(withSection(stale), stale);
  });

  it('documents every CUSTODY_* environment variable the sources read', () => {
    const vars = environmentVariables();
    assert.ok(vars.includes('CUSTODY_PASSPHRASE') && vars.includes('CUSTODY_THREADS'));
    for (const v of vars) assert.match(doc, new RegExp(`\\| \`${v}\` \\|`), `${v} is not in the environment table of docs/cli.md`);
  });

  it('documents station mode and the proof-of-possession round trip', () => {
    assert.match(doc, /## Station mode/);
    assert.match(doc, /verify reads, activate consumes/);
  });
});
