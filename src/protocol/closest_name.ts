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
 * The candidate closest to `name` that `allowed` accepts, or `undefined` when
 * none is close. `allowed` is asked only about close candidates, closest first.
 */
export function closestName(
  name: string,
  candidates: Iterable<string>,
  allowed: (candidate: string) => boolean = () => true,
): string | undefined {
  if (name.length > MAX_LENGTH) return undefined;
  const wanted = normal(name);
  // [distance, candidate] of each close one; sorted by distance only, so equals keep their order.
  const close: [number, string][] = [];
  for (const candidate of candidates) {
    if (candidate === name || candidate.length > MAX_LENGTH) continue;
    const other = normal(candidate);
    const distance = editDistance(wanted, other);
    if (distance <= Math.max(1, Math.floor(Math.max(wanted.length, other.length) / 3))) {
      close.push([distance, candidate]);
    }
  }
  return close.sort((a, b) => a[0] - b[0]).find(([, candidate]) => allowed(candidate))?.[1];
}

/**
 * `; did you mean "x"?` for a close name, else `""`: appended to a message.
 */
export function didYouMean(
  name: string,
  candidates: Iterable<string>,
  allowed?: (candidate: string) => boolean,
): string {
  const found = closestName(name, candidates, allowed);
  return found === undefined ? "" : `; did you mean "${found}"?`;
}

function normal(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, "");
}

// Levenshtein with adjacent transpositions, over two rows and the one before them (both names
// are at most MAX_LENGTH long).
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = [...Array(b.length + 1).keys()];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j] + 1,
        row[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
        a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? before[j - 2] + 1 : Infinity,
      );
    }
    before = previous;
    previous = row;
  }
  return previous[b.length];
}
