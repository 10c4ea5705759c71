/**
 * Path patterns of code policy scopes: `/opt/edge/scripts/**`, `*.sh`, `/etc/app/?.conf`. `*` and `?` stay
 * within one path segment, `**` crosses segments. Matching is a two-row dynamic programme over pattern tokens and
 * path characters (no regular expression, so no backtracking): O(pattern x path) at worst, both bounded.
 */

/** Longest pattern a policy may hold, and longest path a device asks about. */
export const PATH_PATTERN_LIMITS = { maxPatternLength: 256, maxPathLength: 4096 } as const;

type Token = { kind: 'char'; c: string } | { kind: 'any' } | { kind: 'star' } | { kind: 'globstar' };

/** A compiled pattern: its source text and tokens. */
export interface PathPattern {
  readonly text: string;
  readonly tokens: readonly Token[];
}

/** Why `text` is not a pattern, or undefined when it is one. */
export function pathPatternProblem(text: string): string | undefined {
  if (text.length === 0) return 'must not be empty';
  if (text.length > PATH_PATTERN_LIMITS.maxPatternLength) return `is longer than ${PATH_PATTERN_LIMITS.maxPatternLength} characters`;
  if (/[\u0000-\u001f\\[\]{}]/.test(text)) return 'may hold only path characters, "*", "**" and "?" (no control characters, "\\", brackets or braces)';
  if (/\*\*\*/.test(text)) return '"***" is not a pattern: use "**" for any number of segments';
  return undefined;
}

/**
 * Compiles a pattern (already checked with `pathPatternProblem`).
 * @throws TypeError when the pattern is not valid: callers check it first and report the file and line
 */
export function compilePathPattern(text: string): PathPattern {
  const problem = pathPatternProblem(text);
  if (problem) throw new TypeError(`path pattern ${problem}`);
  const tokens: Token[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '*' && text[i + 1] === '*') {
      tokens.push({ kind: 'globstar' });
      i++;
    } else if (c === '*') tokens.push({ kind: 'star' });
    else if (c === '?') tokens.push({ kind: 'any' });
    else tokens.push({ kind: 'char', c });
  }
  return { text, tokens };
}

/**
 * True when `path` matches `pattern` as a whole. A path longer than the limit, or with a "." or ".." segment,
 * matches nothing: "/opt/edge/../../usr/bin/x" would otherwise match "/opt/edge/**" and sit outside it.
 */
export function matchPathPattern(pattern: PathPattern, path: string): boolean {
  if (path.length > PATH_PATTERN_LIMITS.maxPathLength || /(^|\/)\.\.?(\/|$)/.test(path)) return false;
  const t = pattern.tokens;
  const n = path.length;
  // prev[j]: tokens[0..i) match path[0..j).
  let prev = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  prev[0] = 1;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    next.fill(0);
    if (tok.kind === 'star' || tok.kind === 'globstar') {
      // A wildcard matches the empty string, or extends a match by one more character (not "/" for "*").
      next[0] = prev[0]!;
      for (let j = 1; j <= n; j++) next[j] = prev[j] || (next[j - 1] && (tok.kind === 'globstar' || path[j - 1] !== '/')) ? 1 : 0;
    } else {
      for (let j = 1; j <= n; j++) {
        const c = path[j - 1]!;
        next[j] = prev[j - 1] && (tok.kind === 'any' ? c !== '/' : tok.c === c) ? 1 : 0;
      }
    }
    [prev, next] = [next, prev];
  }
  return prev[n] === 1;
}
