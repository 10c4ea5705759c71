/**
 * Issue 19: the YAML data files (workflows, policies, templates) are held to size, nesting and entry limits
 * before the `yaml` library builds anything, aliases are refused with the file and line, and duplicate keys are
 * found in linear time. Every refusal is the caller's code, bad input (exit 3).
 */
import assert from 'node:assert/strict';
import { EXIT_CODES } from '../../src/errors.js';
import { parsePolicy } from '../../src/workflow/policy.js';
import { parseWorkflow } from '../../src/workflow/workflow.js';
import { parseTemplate } from '../../src/templates/parse-template.js';
import { parseLocatedYAML } from '../../src/templates/schema.js';
import { YAML_LIMITS } from '../../src/templates/yaml-limits.js';
import { checkYAMLLimits } from '../../src/templates/yaml-scan.js';

const FILE = 'flows/hostile.yaml';
/**
 * "At once": each case below takes tens of milliseconds on an idle machine, and took seconds to minutes before
 * the fix; the bound leaves room for a shared machine under load.
 */
const FAST_MS = 5_000;

/** Refused by `parse` with `code`, bad input, the message starting `FILE[:line]: ` and matching `fragment`. */
function refused(parse: (text: string, file: string) => unknown, text: string, code: string, line: number | undefined, fragment: RegExp): void {
  assert.throws(
    () => parse(text, FILE),
    (e: any) => {
      assert.equal(e.code, code, e.stack);
      assert.equal(e.category, 'input');
      assert.equal(EXIT_CODES[e.category as keyof typeof EXIT_CODES], 3);
      assert.equal(e.file, FILE);
      assert.ok(e.message.startsWith(line === undefined ? `${FILE}: ` : `${FILE}:${line}: `), e.message);
      assert.match(e.message, fragment);
      assert.ok(!e.message.includes('\n'), 'one line');
      assert.ok(e.message.length < 500, `bounded message: ${e.message.length} characters`);
      return true;
    },
  );
}

const workflow = (text: string) => refused.bind(null, parseWorkflow, text, 'ERR_WORKFLOW_INVALID');

/** `extra:` followed by `n` distinct keys. */
function manyKeys(n: number): string {
  const lines = ['name: x', 'version: 1', 'extra:'];
  for (let i = 0; i < n; i++) lines.push(`  k${i}: ${i}`);
  return `${lines.join('\n')}\n`;
}

describe('YAML limits (templates/yaml-limits.ts, parseLocatedYAML)', () => {
  describe('regressions of issue 19', () => {
    it('a workflow with 40,000 keys is refused at once (was quadratic: 10 s)', () => {
      const t0 = performance.now();
      // 617 KB: over the size bound.
      workflow(manyKeys(40_000))(undefined, /is 617806 characters, at most 262144 allowed/);
      // 30,000 keys in 200 KB of flow mapping: within the size bound, over the token bound.
      const flow = `name: x\nextra: {${Array.from({ length: 30_000 }, (_, i) => `${i.toString(36)}: 0`).join(',')}}\n`;
      workflow(flow)(2, new RegExp(`holds more than ${YAML_LIMITS.maxTokens} tokens`));
      assert.ok(performance.now() - t0 < FAST_MS, `took ${performance.now() - t0} ms`);
    });

    it('the most keys the token limit lets through are checked for duplicates at once', () => {
      // 1,362 keys (1,361 and a repeat): 4,094 tokens, within the limit. The last key repeats the first, so every key is compared.
      const text = `${manyKeys(1_361)}  k0: again\n`;
      const t0 = performance.now();
      workflow(text)(1_365, /duplicate key "k0"/);
      assert.ok(performance.now() - t0 < FAST_MS, `took ${performance.now() - t0} ms`);
    });

    it('a 10 MB nested workflow is refused by its size before it is parsed (exhausted the heap)', () => {
      const text = `name: x\nextra: ${'['.repeat(5 << 20)}${']'.repeat(5 << 20)}\n`;
      const t0 = performance.now();
      workflow(text)(undefined, /is 10485776 characters, at most 262144 allowed/);
      assert.ok(performance.now() - t0 < FAST_MS);
    });

    it('a 90 KB nested workflow parsed twice in one process is refused by its depth both times (aborted the process)', () => {
      const flow = `name: x\nextra: ${'['.repeat(45_000)}${']'.repeat(45_000)}\n`;
      const block = `name: x\nextra:\n${'- '.repeat(45_000)}x\n`;
      const keys = `name: x\n${Array.from({ length: 400 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')}\n`;
      for (let k = 0; k < 2; k++) {
        workflow(flow)(2, /nested deeper than 64 levels/);
        workflow(block)(3, /nested deeper than 64 levels/);
        // Block keys indented one more column each meet the blank-run bound first.
        workflow(keys)(131, /holds more than 128 spaces or tabs in a row/);
      }
    });

    it('an alias is refused with the file and line, bad input (was "Alias resolution is disabled [ERR_INTERNAL]", exit 5)', () => {
      workflow('name: &n x\nversion: 1\nstages:\n  - name: *n\n')(4, /aliases are not allowed \(found "\*n"\)/);
      refused(parsePolicy, 'name: p\nrequire: &r [secureBoot]\nknownVendorClaims: *r\n', 'ERR_POLICY_INVALID', 3, /aliases are not allowed/);
      refused(parseTemplate, 'name: t\nkind: party\nsubject: &s { CN: x }\nother: *s\n', 'ERR_TEMPLATE_INVALID', 4, /aliases are not allowed/);
    });

    it('a billion-laughs document is refused at its first alias', () => {
      const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 9; i++)
        lines.push(
          `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9)
            .fill(`*${'abcdefghi'[i - 1]}`)
            .join(',')}]`,
        );
      workflow(lines.join('\n'))(2, /aliases are not allowed \(found "\*a"\)/);
    });

    it('60 KB of lines holding one "|" each is refused by its token count (took 4.6 s: one library error per line)', () => {
      const t0 = performance.now();
      workflow(`name: x\nd: a|\n${'|\n'.repeat(30_000)}`)(2048, new RegExp(`holds more than ${YAML_LIMITS.maxTokens} tokens`));
      assert.ok(performance.now() - t0 < FAST_MS, `took ${performance.now() - t0} ms`);
    });
  });

  it('20,000 spaces before a continuation line are refused by the blank-run bound (took 15 s: the library backtracks over them)', () => {
    const t0 = performance.now();
    workflow(`name: x\nstages:\n  - name: x\n${' '.repeat(20_000)}description: y\n`)(4, /holds more than 128 spaces or tabs in a row/);
    assert.ok(performance.now() - t0 < FAST_MS, `took ${performance.now() - t0} ms`);
    // At the bound: accepted as far as the limits go.
    checkYAMLLimits(`a: |\n${' '.repeat(128)}x\n`, FILE, 'E');
  });

  describe('keys', () => {
    it('refuses a key twice, also when only JavaScript sees them as one (1 and "1")', () => {
      workflow('name: x\nname: y\n')(2, /duplicate key "name"/);
      workflow('name: x\nversion: 1\nstages:\n  - 1: a\n    "1": b\n')(5, /duplicate key "1"/);
      workflow('name: x\n~: 1\n"": 2\n')(3, /duplicate key ""/);
    });

    it('refuses a mapping or a list as a key, and the key __proto__', () => {
      workflow('name: x\n[a, b]: 1\n')(2, /a key must be a plain value/);
      workflow('name: x\n? { a: 1 }\n: 2\n')(2, /a key must be a plain value/);
      workflow('name: x\n__proto__: { a: 1 }\n')(2, /the key "__proto__" is not allowed/);
    });

    it('quotes at most a bounded prefix of a long key', () => {
      const key = 'k'.repeat(1_000);
      workflow(`${key}: 1\n${key}: 2\n`)(2, /duplicate key "k{40}"\.\.\./);
    });
  });

  describe('messages quote a bounded prefix of a value (found by npm run fuzz: a 51 KB value was quoted whole)', () => {
    const long = 'x'.repeat(100_000);
    it('a choice, a pattern, a wrong type, a claim path, a duration, a stage reference', () => {
      refused(parsePolicy, `name: p\nrevocationCheck: ${long}\n`, 'ERR_POLICY_INVALID', 2, /revocationCheck: "x{40}"\.\.\. is not one of required, optional$/);
      refused(parsePolicy, `name: p\nmaxChainAge: ${long}\n`, 'ERR_POLICY_INVALID', 2, /"x{40}"\.\.\. is not a number of days/);
      refused(parsePolicy, `name: p\nrequire: [${long}]\n`, 'ERR_POLICY_INVALID', 2, /unknown claim "x{40}"\.\.\./);
      refused(parsePolicy, `name: p\nknownVendorClaims: [${long}]\n`, 'ERR_POLICY_INVALID', 2, /"x{40}"\.\.\. is not a vendor claim name/);
      workflow(`name: ${long}\nversion: 1\nstages: []\n`)(1, /name: "x{40}"\.\.\. is not a lower-case name/);
      refused(
        parseTemplate,
        `name: t\nkind: party\nsubject: { CN: x }\nvalidity: { days: ${long} }\n`,
        'ERR_TEMPLATE_INVALID',
        4,
        /found string "x{40}"\.\.\.$/,
      );
    });
  });

  describe('malformed input', () => {
    it('a syntax error names the file and line, one line, bounded, even when the library quotes a long tag', () => {
      workflow('name: x\nversion: [1\n')(3, /Flow sequence/);
      refused(parseWorkflow, `name: !${'t'.repeat(100_000)} x\n`, 'ERR_WORKFLOW_INVALID', 1, /./);
    });

    it('a second document, tabs as indentation and stray control characters are refused, not thrown', () => {
      for (const text of [
        'name: x\n---\nname: y\n',
        'name: x\nstages:\n\t- a\n',
        'name: "\u0000\u0007"\n\u0085: 1\n',
        '\ufeff\ufeff: [\n',
        ']]]}}}',
        '"',
        "'",
        '|\n\t',
        '? ? ? ?',
        '&a &b x',
        '!!binary ==',
      ]) {
        assert.throws(() => parseWorkflow(text, FILE), { code: 'ERR_WORKFLOW_INVALID' }, JSON.stringify(text));
      }
    });

    it('counts tokens and depth exactly at the bound', () => {
      const limits = { maxLength: 1000, maxDepth: 3, maxTokens: 100, maxBlankRun: 8 };
      checkYAMLLimits('a:\n  b:\n    c: [1]\n', FILE, 'E', { ...limits, maxDepth: 4 });
      assert.throws(() => checkYAMLLimits('a:\n  b:\n    c: [1]\n', FILE, 'E', limits), { code: 'E', message: `${FILE}:3: nested deeper than 3 levels` });
      // Siblings of growing key length are one level, not one more each.
      checkYAMLLimits('a: 1\nbb: 2\nccc: 3\ndddd: 4\n', FILE, 'E', { ...limits, maxDepth: 1 });
      checkYAMLLimits('a: 1\nb: 2\n', FILE, 'E', { ...limits, maxTokens: 6 });
      assert.throws(() => checkYAMLLimits('a: 1\nb: 2\nc: 3\n', FILE, 'E', { ...limits, maxTokens: 6 }), {
        code: 'E',
        message: `${FILE}:3: holds more than 6 tokens (keys, values, indicators such as - and :)`,
      });
      assert.throws(() => checkYAMLLimits('x'.repeat(1001), FILE, 'E', limits), {
        code: 'E',
        message: `${FILE}: is 1001 characters, at most 1000 allowed in a YAML file`,
      });
    });

    it('asterisks inside scalars and comments are not aliases', () => {
      const doc = parseLocatedYAML('a: "*x"\nb: a*b # *c\nc: |\n  *d\n', FILE, 'E');
      assert.deepEqual(doc.value, { a: '*x', b: 'a*b', c: '*d\n' });
    });
  });
});
