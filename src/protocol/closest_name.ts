/**
 * "Did you mean …": the known name closest to a misspelt one. Case, `_` and
 * `-` do not count (so `postMessage` finds `post_message`); beyond that, a
 * few edits per name's length.
 *
 * @module
 */

// Longer names are not compared: the cost stays bounded whatever the wire sends.
const MAX_LENGTH = 64;

/**
 * `; did you mean "x"?` with the candidate closest to `name` that `allowed`
 * accepts (the first of equally close ones), or `""` when none is close:
 * appended to a message. `allowed` (a server's access check, which may have
 * effects of its own) is asked only about close candidates, closest first,
 * until one is allowed.
 */
export function didYouMean(
  name: string,
  candidates: Iterable<string>,
  allowed: (candidate: string) => boolean = () => true,
): string {
  const close: [number, string][] = [];
  const wanted = normal(name);
  if (name.length <= MAX_LENGTH) {
    for (const candidate of candidates) {
      if (candidate === name || candidate.length > MAX_LENGTH) continue;
      const other = normal(candidate);
      const distance = editDistance(wanted, other);
      // Close: at most a third of the longer name's length, and always one.
      if (3 * distance <= Math.max(3, wanted.length, other.length)) {
        close.push([distance, candidate]);
      }
    }
  }
  // A stable sort: equally close candidates keep their order.
  const found = close.sort((a, b) => a[0] - b[0]).find(([, candidate]) => allowed(candidate));
  return found ? `; did you mean "${found[1]}"?` : "";
}

function normal(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, "");
}

// Levenshtein with adjacent transpositions (both names are at most MAX_LENGTH long).
function editDistance(a: string, b: string): number {
  // d[i][j]: the distance between the first i characters of a and the first j of b.
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d[i] = [];
    for (let j = 0; j <= b.length; j++) {
      d[i][j] = i && j
        ? Math.min(
          d[i - 1][j] + 1,
          d[i][j - 1] + 1,
          d[i - 1][j - 1] + Number(a[i - 1] !== b[j - 1]),
          // Past the start, a[-1] and b[-1] are undefined and match no character.
          a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? d[i - 2][j - 2] + 1 : Infinity,
        )
        : i + j;
    }
  }
  return d[a.length][b.length];
}
