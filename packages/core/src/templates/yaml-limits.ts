/**
 * Limits on the YAML data files (templates, workflows, policies, claims), checked by one lexical pass
 * (`checkYAMLLimits`, yaml-scan.ts) before the `yaml` library builds anything from the text (issue 19). Kept
 * apart from that pass so that the CLI's size bounds can name these limits without loading the YAML library.
 *
 * Why a pass of its own: the library's syntax tree and composer grow with the nesting (a 10 MB file of `[`
 * exhausted the heap; 90 KB of them overflowed the composer's stack), and an alias can expand a short file
 * into a huge value. The library's lexer is a flat state machine over the text, linear and with no recursion,
 * so its tokens are a safe place to count nesting and tokens and to find aliases, with their line, first.
 *
 * Nesting is counted as the open block indentation levels plus the open brackets. A block sequence may sit at
 * its parent key's indentation (`key:\n- item`), so the value may truly nest up to twice the block levels
 * counted: bounded either way, and far beyond any real data file.
 */

/** What one YAML data file may hold; every limit is checked before the file is parsed. */
export const YAML_LIMITS = {
  /**
   * Most characters of text: 256 KiB, the size bound of a workflow, policy or template file. The shipped
   * workflow is 1.6 KB; the library parses about a megabyte a second on a loaded machine.
   */
  maxLength: 256 * 1024,
  /** Deepest nesting: open indentation levels plus open brackets. */
  maxDepth: 64,
  /**
   * Most tokens: scalars (keys and values), anchors, tags, block scalar headers, the indicators `-`, `?`, `:`
   * and `,`, and brackets. The library's cost grows with tokens, not characters: 60 KB of lines holding
   * one `|` each (45,000 syntax errors) took seconds to compose. The shipped workflow holds 116 tokens, a
   * policy 75, a template 57.
   */
  maxTokens: 4_096,
  /**
   * Longest run of spaces and tabs. The library folds a plain scalar over several lines with a regular
   * expression that backtracks over a line's leading blanks: 20,000 spaces before a continuation line took 4 s,
   * and the cost grows with the square of the run. 128 columns is twice the indentation of the deepest nesting
   * allowed.
   */
  maxBlankRun: 128,
} as const;

/** The limits a caller may tighten (tests, a kind of file that is always small). */
export interface YAMLLimits {
  readonly maxLength: number;
  readonly maxDepth: number;
  readonly maxTokens: number;
  readonly maxBlankRun: number;
}
