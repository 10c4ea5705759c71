/**
 * The lexical pass that holds YAML text to `YAML_LIMITS` (yaml-limits.ts explains why) before the `yaml` library
 * composes it: one walk over the library's lexer tokens, with no recursion and constant memory.
 */
import { Lexer } from 'yaml';
import { CustodyError } from '../errors.js';
import { quoteBounded } from '../util/strict-json.js';
import { YAML_LIMITS, type YAMLLimits } from './yaml-limits.js';

/** The lexer's control tokens: markers it inserts, not characters of the text. */
const DOCUMENT = '\x02';
const FLOW_ERROR_END = '\x18';
const SCALAR = '\x1f';

/**
 * Checks `text` against `limits`: length first (before any other work), runs of blanks in one pass over the
 * characters, then nesting, tokens and aliases in one pass over the tokens, in text order, so that the message
 * names the first line at fault.
 * @throws `code` (a CustodyError, bad input) `<file>:<line>: <problem>` for text over the length, blank run,
 *   nesting or token limit, or holding an alias (`*name`)
 */
export function checkYAMLLimits(text: string, fileName: string, code: string, limits: YAMLLimits = YAML_LIMITS): void {
  const fail = (line: number | undefined, problem: string): never => {
    throw new CustodyError(code, `${fileName}${line === undefined ? '' : `:${line}`}: ${problem}`, { file: fileName, category: 'input' });
  };
  if (text.length > limits.maxLength) fail(undefined, `is ${text.length} characters, at most ${limits.maxLength} allowed in a YAML file`);
  checkBlankRuns(text, limits.maxBlankRun, fail);
  // Columns of the open block entries (keys, `-` and `?` items), strictly increasing from the outermost.
  const columns: number[] = [];
  let flow = 0;
  let tokens = 0;
  let offset = 0;
  let line = 1;
  let lineStart = 0;
  // Column of the first token of the entry being read on this line (an implicit key's start), -1 for none yet.
  let keyColumn = -1;
  const enter = (column: number): void => {
    while (columns.length > 0 && columns[columns.length - 1]! >= column) columns.pop();
    columns.push(column);
    if (columns.length + flow > limits.maxDepth) fail(line, `nested deeper than ${limits.maxDepth} levels`);
  };
  const count = (): void => {
    if (++tokens > limits.maxTokens) fail(line, `holds more than ${limits.maxTokens} tokens (keys, values, indicators such as - and :)`);
  };
  for (const token of new Lexer().lex(text)) {
    if (token === DOCUMENT || token === FLOW_ERROR_END || token === SCALAR) continue;
    const column = offset - lineStart;
    switch (token) {
      case '-':
      case '?':
        count();
        if (flow === 0) enter(column);
        keyColumn = -1;
        break;
      case ':':
        count();
        if (flow === 0) enter(keyColumn >= 0 ? keyColumn : column);
        keyColumn = -1;
        break;
      case '[':
      case '{':
        count();
        flow++;
        if (columns.length + flow > limits.maxDepth) fail(line, `nested deeper than ${limits.maxDepth} levels`);
        if (keyColumn < 0) keyColumn = column;
        break;
      case ']':
      case '}':
        // Counted too: each stray closer costs the library a syntax error (30,000 of them took 3 s).
        count();
        if (flow > 0) flow--;
        break;
      case ',':
        count();
        break;
      case '\n':
      case '\r\n':
        keyColumn = -1;
        break;
      default: {
        const c = token.charCodeAt(0);
        if (c === 0x2a) fail(line, `aliases are not allowed (found ${quoteBounded(token)}): write the value out`);
        // Spaces, comments and a byte order mark are not content; anything else (a scalar, an anchor, a tag,
        // a block scalar) is, and may start an implicit key.
        if (c === 0x20 || c === 0x09 || c === 0x23 || c === 0xfeff) break;
        count();
        if (keyColumn < 0) keyColumn = column;
      }
    }
    // Scalars (quoted, block, plain over several lines) may hold newlines of their own.
    for (let nl = token.indexOf('\n'); nl >= 0; nl = token.indexOf('\n', nl + 1)) {
      line++;
      lineStart = offset + nl + 1;
    }
    offset += token.length;
  }
}

/** No run of spaces and tabs longer than `max` (see `YAML_LIMITS.maxBlankRun`): one pass over the characters. */
function checkBlankRuns(text: string, max: number, fail: (line: number, problem: string) => never): void {
  let run = 0;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      if (++run > max) fail(line, `holds more than ${max} spaces or tabs in a row`);
    } else {
      run = 0;
      if (c === 0x0a) line++;
    }
  }
}
