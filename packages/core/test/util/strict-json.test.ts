import assert from 'node:assert/strict';
import { CustodyError } from '../../src/errors.js';
import { DEFAULT_MAX_JSON_DEPTH, parseStrictJSON, quoteBounded } from '../../src/util/strict-json.js';

const OPTIONS = { code: 'ERR_TEST_MALFORMED', what: 'document' };
const parse = (text: string, maxDepth?: number) => parseStrictJSON(text, maxDepth === undefined ? OPTIONS : { ...OPTIONS, maxDepth });

/** Asserts that `text` is refused with the caller's code and a message matching `message`. */
function refused(text: string, message: RegExp, maxDepth?: number): CustodyError {
  let caught: unknown;
  try {
    parse(text, maxDepth);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CustodyError, `a CustodyError, not ${String(caught)}`);
  assert.equal(caught.code, 'ERR_TEST_MALFORMED');
  assert.match(caught.message, message);
  assert.ok(!caught.message.includes('\n'), 'one line');
  return caught;
}

describe('strict JSON', () => {
  describe('accepts what JSON.parse accepts when names are unique', () => {
    for (const text of [
      '{}',
      '[]',
      '1',
      '"a"',
      'null',
      ' {"a":1,"b":[1,2,{"a":2}],"c":{"a":3,"b":{"a":4}}} ',
      '{"a":{"x":1},"b":{"x":1}}',
      '[{"a":1},{"a":1}]',
      '{"a":"\\"","b":"\\\\","c":"\\\\\\"{[,"}',
      '{"":1,"\\u0000":2}',
      '{"constructor":1,"toString":2,"hasOwnProperty":3,"__proto":4,"_proto__":5}',
      '{"a" : 1 , "b" :\n{ "a" : [ "b" , "c" ] } }',
    ]) {
      it(text, () => assert.deepEqual(parse(text), JSON.parse(text)));
    }

    it('an object with many members (past the small-object array, into a Set)', () => {
      const o = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
      assert.deepEqual(parse(JSON.stringify(o)), o);
    });

    it('nesting exactly at the bound', () => {
      const text = '['.repeat(DEFAULT_MAX_JSON_DEPTH) + ']'.repeat(DEFAULT_MAX_JSON_DEPTH);
      assert.deepEqual(parse(text), JSON.parse(text));
    });
  });

  describe('refuses duplicate member names', () => {
    it('at the top level', () => refused('{"to":"a","to":"b"}', /^document: duplicate member name "to" in the top-level object$/));
    it('nested, naming the path', () => refused('{"a":[{"x":1},{"b":{"to":1,"c":2,"to":3}}]}', /duplicate member name "to" in a\[1\]\.b$/));
    it('written with different escapes ("a" and "\\u0061")', () => refused('{"a":1,"\\u0061":2}', /duplicate member name "a"/));
    it('both escaped', () => refused('{"\\u0062":1,"\\u0062":2}', /duplicate member name "b"/));
    it('escaped quote and backslash inside names', () => refused('{"a\\"b":1,"a\\u0022b":2}', /duplicate member name "a\\"b"/));
    it('in an object of more than sixteen members', () => {
      const members = Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`);
      refused(`{${members.join(',')},"k3":0}`, /duplicate member name "k3"/);
    });
    it('after string values that hold brackets, commas and quotes', () => refused('{"v":"}{,\\"a\\":","a":1,"a":2}', /duplicate member name "a"/));
    it('quoting a long name by a bounded prefix', () => {
      const name = 'n'.repeat(10_000);
      const e = refused(`{"${name}":1,"${name}":2}`, /duplicate member name "n{40}"\.\.\./);
      assert.ok(e.message.length < 200);
    });
    it('with vendor-style names in the path', () => refused('{"claims":{"acme.example/x":{"a":1,"a":2}}}', /in claims\["acme\.example\/x"\]$/));
  });

  describe('refuses __proto__ member names', () => {
    it('plain', () => refused('{"__proto__":{"x":1}}', /member name "__proto__" in the top-level object is not allowed/));
    it('escaped ("\\u005f_proto__")', () => refused('{"a":{"\\u005f_proto__":1}}', /member name "__proto__" in a is not allowed/));
    it('but not as a string value', () => assert.deepEqual(parse('{"a":"__proto__"}'), { a: '__proto__' }));
  });

  describe('bounds nesting', () => {
    it('one level past the bound', () =>
      refused('['.repeat(DEFAULT_MAX_JSON_DEPTH + 1) + ']'.repeat(DEFAULT_MAX_JSON_DEPTH + 1), /nested deeper than 64 levels/));
    it('a bound the caller sets, naming where', () => refused('{"a":{"b":[{}]}}', /nested deeper than 3 levels \(at a\.b\[0\]\)$/, 3));

    it('100,000 open brackets: a CustodyError, fast', () => {
      for (const text of ['['.repeat(100_000), '{"a":'.repeat(100_000), `{"version":${'['.repeat(100_000)}${']'.repeat(100_000)}}`]) {
        const t0 = process.hrtime.bigint();
        refused(text, /nested deeper than 64 levels/);
        assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 50, 'well under 50 ms');
      }
    });
  });

  describe('is total: any text gives a value or a CustodyError', () => {
    it('malformed input', () => {
      for (const text of [
        '',
        ' ',
        '{',
        '}',
        '[}',
        '{]',
        '{"a":1',
        '{"a":"',
        '"\\',
        '{"a\\',
        '{"\\x":1}',
        '{"\\u00":1}',
        '[1,]',
        '{"a":1,}',
        'nul',
        '{"a" 1}',
        '\u0000',
        '{"a":1}}',
        '{"a":1}x',
      ]) {
        refused(text, /^document: not JSON \(/);
      }
    });

    it('random mutations of a document', () => {
      const base = JSON.stringify({ a: [1, { b: 'x"y', c: null }], d: { e: true, f: '\\' } });
      const alphabet = '{}[]",:\\u0 a1';
      let seed = 7;
      const next = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
      for (let i = 0; i < 5000; i++) {
        const chars = [...base];
        for (let j = 0; j < 1 + next(3); j++) chars.splice(next(chars.length), next(2), alphabet[next(alphabet.length)]!);
        const text = chars.join('');
        let expected: unknown;
        let valid = true;
        try {
          expected = JSON.parse(text);
        } catch {
          valid = false;
        }
        try {
          assert.deepEqual(parse(text), expected, `${text} parses as JSON.parse does`);
        } catch (e) {
          assert.ok(e instanceof CustodyError && e.code === 'ERR_TEST_MALFORMED', `${text}: ${String(e)}`);
          if (valid) assert.match(e.message, /duplicate|__proto__/, `${text} is valid JSON, refused only for a strictness rule`);
        }
      }
    });

    it('strips control characters from the parser message', () => refused('{"a":\n\u001b[31m}', /^document: not JSON \([^\u0000-\u001f]*\)$/));
  });

  describe('names the line in a text of several lines (issue 19: file and line for JSON errors)', () => {
    it('a duplicate name, __proto__, nesting and a syntax error each say their line', () => {
      refused('{\n  "a": 1,\n  "b": 2,\n  "a": 3\n}', /duplicate member name "a" in the top-level object at line 4$/);
      refused('{\n"x": {\n"__proto__": 1}}', /member name "__proto__" in x is not allowed .* at line 3$/);
      refused('{\n"a":\n[[[\n]]]}', /nested deeper than 3 levels \(at a\[0\]\[0\]\) at line 3$/, 3);
      refused('{\n"a": 1,\n"b": 2,,\n"c": 3}', /^document: not JSON \(.*\) at line 3$/);
    });

    it('a one-line text keeps its message as it was: the path says where', () => {
      refused('{"a":1,"a":2}', /duplicate member name "a" in the top-level object$/);
      refused('{"a":1,}', /^document: not JSON \([^)]*\)$/);
    });
  });

  it('quoteBounded quotes short text whole and long text by a prefix', () => {
    assert.equal(quoteBounded('a"b'), '"a\\"b"');
    assert.equal(quoteBounded('x'.repeat(50), 4), '"xxxx"...');
  });

  it('refuses a text that is not a string with a TypeError (caller misuse)', () => {
    assert.throws(() => parseStrictJSON(undefined as unknown as string, OPTIONS), TypeError);
  });
});
