/**
 * A numeric test knob from the environment, never below `minimum`: MCC_FUZZ_RUNS=0 or
 * MCC_ENDURANCE_SECONDS=0 would otherwise turn a test into one that passes without looking at anything.
 * A value that is not a number is an error rather than a silent default.
 */
export function envAtLeast(name: string, fallback: number, minimum: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name}=${raw}: expected a number`);
  if (value < minimum) {
    process.stdout.write(`${name}=${raw} raised to ${minimum}: fewer would leave the test vacuous\n`);
    return minimum;
  }
  return value;
}
