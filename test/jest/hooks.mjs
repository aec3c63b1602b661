// Module resolution hook (registered by runner.cjs in jest's processes only):
// '@jest/globals' imported by a test file that Node itself loads resolves to
// globals.mjs. Every other specifier resolves as usual.
const GLOBALS_URL = new URL('./globals.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === '@jest/globals') return { url: GLOBALS_URL, shortCircuit: true };
  return next(specifier, context);
}
