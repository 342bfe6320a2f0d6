/**
 * Edits of line-oriented config files: set one line for a key (replacing the first match and
 * dropping later duplicates, which would otherwise win), or remove every line for it.
 */
export function setLine(text: string | null, matches: (line: string) => boolean, line: string): string {
  const lines = splitLines(text);
  const out: string[] = [];
  let placed = false;
  for (const l of lines) {
    if (!matches(l)) out.push(l);
    else if (!placed) {
      out.push(line);
      placed = true;
    }
  }
  if (!placed) out.push(line);
  return joinLines(out);
}

export function removeLines(text: string | null, matches: (line: string) => boolean): string {
  return joinLines(splitLines(text).filter((l) => !matches(l)));
}

/** Lines of a file's text, without the empty one after its final newline; none for no file. */
export function splitLines(text: string | null): string[] {
  if (!text) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function joinLines(lines: string[]): string {
  return lines.length ? lines.join('\n') + '\n' : '';
}
