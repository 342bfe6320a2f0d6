/** Tools print translated messages and their output is parsed here, so it must be in English. */
export function cLocale(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LANG: 'C', ...extra };
}
