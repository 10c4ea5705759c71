import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCodePolicy } from '../../src/code-policy/code-policy.js';
import { compilePathPattern, matchPathPattern, pathPatternProblem, PATH_PATTERN_LIMITS } from '../../src/code-policy/path-pattern.js';

const POLICY = `name: edge
version: 1
identities:
  - name: owner
    ca: code-ca
  - name: bot
    pinnedSha256: ${'ab'.repeat(32)}
scopes:
  - name: scripts
    types: [script]
    paths: ["/opt/edge/**"]
    level: enforce
    signers: [owner]
  - name: config
    types: [config]
    paths: ["/etc/edge/*.yaml"]
    level: audit
    signers: [owner, bot]
`;

describe('code policy files', () => {
  it('parses identities (store CA by name, pinned by hash) and scopes', () => {
    const p = parseCodePolicy(POLICY, 'edge.yaml');
    assert.equal(p.name, 'edge');
    assert.deepEqual(p.identities, [
      { name: 'owner', kind: 'ca', storeCA: 'code-ca' },
      { name: 'bot', kind: 'pinned', sha256: 'ab'.repeat(32) },
    ]);
    assert.deepEqual(p.scopes[1], { name: 'config', types: ['config'], paths: ['/etc/edge/*.yaml'], level: 'audit', signers: ['owner', 'bot'] });
  });

  it('parses the shipped examples', () => {
    for (const f of ['edge-scripts.yaml', 'audit-only.yaml']) {
      const url = new URL(`../../../../workflows/code-policies/${f}`, import.meta.url);
      assert.ok(parseCodePolicy(readFileSync(url, 'utf8'), f).scopes.length > 0, f);
    }
  });

  const refuses = (text: string, message: RegExp) =>
    assert.throws(
      () => parseCodePolicy(text, 'p.yaml'),
      (e: { code: string; category: string; message: string }) => {
        assert.equal(e.code, 'ERR_CODE_POLICY_INVALID');
        assert.equal(e.category, 'input');
        assert.match(e.message, message);
        return true;
      },
    );

  it('names the file, line and field of what is wrong', () => {
    refuses(POLICY.replace('level: enforce', 'level: strict'), /^p\.yaml:12: scopes\[0\]\.level: "strict" is not one of enforce, audit$/);
    refuses(POLICY.replace('signers: [owner]', 'signers: [someone]'), /^p\.yaml:13: scopes\[0\]\.signers\[0\]: "someone" is not an identity/);
    refuses(POLICY.replace('    ca: code-ca', '    ca: code-ca\n    caSha256: ' + '0'.repeat(64)), /identities\[0\]: give exactly one of/);
    refuses(POLICY.replace('"/opt/edge/**"', '"/opt/[a-z]"'), /scopes\[0\]\.paths\[0\]: .* may hold only/);
    refuses(POLICY.replace('types: [script]', 'types: [kernel]'), /scopes\[0\]\.types\[0\]: "kernel" is not one of script, app, config/);
    refuses(POLICY.replace('name: bot', 'name: owner'), /identities\[1\]\.name: "owner" is already an identity/);
    refuses(POLICY + 'extra: 1\n', /extra: unknown field/);
    refuses('name: [', /^p\.yaml:1:/);
    refuses(
      POLICY.replace(`pinnedSha256: ${'ab'.repeat(32)}`, `pinnedSha256: ${'1'.repeat(64)}`),
      /identities\[1\]\.pinnedSha256: YAML read this SHA-256 as a number: quote it/,
    );
  });
});

describe('code policy path patterns', () => {
  const m = (pattern: string, path: string) => matchPathPattern(compilePathPattern(pattern), path);

  it('"*" and "?" stay within a segment, "**" crosses segments', () => {
    assert.equal(m('/opt/edge/**', '/opt/edge/a/b/run.sh'), true);
    assert.equal(m('/opt/edge/*', '/opt/edge/run.sh'), true);
    assert.equal(m('/opt/edge/*', '/opt/edge/a/run.sh'), false);
    assert.equal(m('/opt/edge/?.sh', '/opt/edge/a.sh'), true);
    assert.equal(m('/opt/edge/?.sh', '/opt/edge/ab.sh'), false);
    assert.equal(m('*.sh', 'run.sh'), true);
    assert.equal(m('*.sh', 'bin/run.sh'), false);
    assert.equal(m('**/*.sh', 'bin/run.sh'), true);
    assert.equal(m('/opt/edge/**', '/opt/edgier/x'), false);
    assert.equal(m('/etc/x.conf', '/etc/x.conf'), true);
    assert.equal(m('/etc/x.conf', '/etc/x.conf2'), false);
  });

  it('matches no path with a "." or ".." segment (it could climb out of the pattern\'s folder)', () => {
    assert.equal(m('/opt/edge/**', '/opt/edge/../../usr/bin/x'), false);
    assert.equal(m('/opt/edge/*/x', '/opt/edge/../x'), false);
    assert.equal(m('**', './x'), false);
    assert.equal(m('**', 'a/.'), false);
    assert.equal(m('/opt/edge/**', '/opt/edge/..x/.y'), true);
  });

  it('refuses what is not a pattern, and matches no path past the limit', () => {
    assert.match(pathPatternProblem('a/***/b') ?? '', /"\*\*\*"/);
    assert.match(pathPatternProblem('a{b,c}') ?? '', /no control/);
    assert.match(pathPatternProblem('x'.repeat(PATH_PATTERN_LIMITS.maxPatternLength + 1)) ?? '', /longer/);
    assert.equal(m('**', 'a'.repeat(PATH_PATTERN_LIMITS.maxPathLength + 1)), false);
  });

  it('answers patterns that make a backtracking matcher explode (one pass per pattern token)', () => {
    assert.equal(matchPathPattern(compilePathPattern('*a'.repeat(100) + 'b'), 'a'.repeat(4000)), false);
    assert.equal(matchPathPattern(compilePathPattern('**a'.repeat(80)), 'a'.repeat(4000)), true);
  });
});
