/**
 * Python's `shlex.split(line, comments=True)` (POSIX mode), which Ansible's INI plugin uses to
 * split a host line into the host and its `key=value` words. Quotes are removed here, before the
 * value is read as a Python literal: `port="22"` is still the number 22, `port="'22'"` a string.
 */
export class ShlexError extends Error {}

export function shlexSplit(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '' | "'" | '"' = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"') {
        const n = line[i + 1];
        if (n === undefined) throw new ShlexError('no closing quotation');
        // Inside double quotes a backslash escapes only `"` and `\`.
        word += n === '"' || n === '\\' ? n : c + n;
        i++;
      } else word += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === '#') {
      break;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      const n = line[i + 1];
      if (n === undefined) throw new ShlexError('no escaped character after \\');
      word += n;
      inWord = true;
      i++;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new ShlexError(`no closing quotation (${quote})`);
  if (inWord) words.push(word);
  return words;
}
