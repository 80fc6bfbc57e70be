/**
 * Limits on the globs that choose a run's notebooks (include / exclude). Pure, so that whoever
 * accepts a run's options (API, CLI, the discovery activity) can check them the same way.
 *
 * picomatch compiles a glob to a backtracking regular expression. For a path that does not
 * match, each `*` beyond the first in a path segment multiplies the work by about the length of
 * a name, and each `**` beyond the first by about the depth of the path. Measured on the 2-core
 * VM with one path of 250-character names: 2 such extra wildcards cost at most ~0.1 s, 3 cost
 * 30 s, and a dozen never finish; matching runs on the worker's main thread, so meanwhile no
 * activity of that worker heartbeats. Ordinary globs (`**\/*.ipynb`, `03_*\/**`,
 * `**\/*Galaxy*.ipynb`) have at most one.
 */

export const MAX_GLOBS = 100;
export const MAX_GLOB_LENGTH = 500;
/** Wildcards beyond one `*` per path segment and one `**` in the whole glob. */
export const MAX_EXTRA_WILDCARDS = 2;

/** How many wildcards `pattern` has beyond one `*` per path segment and one `**`. */
export function extraWildcards(pattern: string): number {
  let extra = 0;
  let globstars = 0;
  let stars = 0; // runs of `*` (and `+(` / `!(` extglobs) in the current segment
  let segment = '';
  let inClass = false; // inside [...], where `*` and `/` are plain characters
  const endSegment = () => {
    if (segment === '**') globstars++;
    else extra += Math.max(0, stars - 1);
    stars = 0;
    segment = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      segment += c + (pattern[++i] ?? '');
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '/') {
      endSegment();
      continue;
    } else if (c === '*' && pattern[i - 1] !== '*') {
      stars++;
    } else if ((c === '+' || c === '!') && pattern[i + 1] === '(') {
      stars++;
    }
    segment += c;
  }
  endSegment();
  return extra + Math.max(0, globstars - 1);
}

/** Why `pattern` is not an acceptable glob, or null. `what` names it in the message. */
export function globProblem(pattern: string, what = 'glob'): string | null {
  const shown = JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern);
  if (pattern.length === 0) return `${what} glob is empty`;
  if (pattern.length > MAX_GLOB_LENGTH)
    return `${what} glob ${shown} is too long (${pattern.length} characters, at most ${MAX_GLOB_LENGTH})`;
  const extra = extraWildcards(pattern);
  if (extra > MAX_EXTRA_WILDCARDS) {
    return (
      `${what} glob ${shown} is too complex to match quickly: it has ${extra} wildcards beyond one "*" per ` +
      `path segment and one "**", and each multiplies the time to match a path; at most ` +
      `${MAX_EXTRA_WILDCARDS} are allowed. Use simpler globs (several if needed), e.g. "**/*Galaxy*.ipynb" or "03_*/**"`
    );
  }
  return null;
}

/** The first problem of a list of globs (`include` or `exclude`), or null. */
export function globsProblem(patterns: readonly string[] | undefined, what: 'include' | 'exclude'): string | null {
  if (!patterns) return null;
  if (patterns.length > MAX_GLOBS) return `too many ${what} globs (${patterns.length}, at most ${MAX_GLOBS})`;
  for (const p of patterns) {
    const problem = globProblem(p, what);
    if (problem) return problem;
  }
  return null;
}
