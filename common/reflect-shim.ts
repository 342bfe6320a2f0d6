/**
 * @peculiar/x509 registers its algorithms with tsyringe, which refuses to load without the
 * Reflect metadata API. Only `@injectable()` without parameter types is used there, so the three
 * calls below (kept in a WeakMap per target) are all it needs; the `reflect-metadata` package,
 * when installed and imported first, takes precedence.
 */
type MetadataReflect = typeof Reflect & {
  getMetadata?: (key: unknown, target: object) => unknown;
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
};

const R = Reflect as MetadataReflect;
if (!R.getMetadata) {
  const store = new WeakMap<object, Map<unknown, unknown>>();
  R.defineMetadata = (key, value, target) => {
    let m = store.get(target);
    if (!m) store.set(target, (m = new Map()));
    m.set(key, value);
  };
  R.getOwnMetadata = (key, target) => store.get(target)?.get(key);
  R.getMetadata = (key, target) => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const v = store.get(t)?.get(key);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}
