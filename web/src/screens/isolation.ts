/** Isolation resistance per volt of nominal pack voltage, as the domain computes it
 * (UN ECE R100 / ISO 6469-3): at least 100 Ω/V on DC circuits, 500 Ω/V on AC circuits. */
export const MIN_OHM_PER_VOLT = { dc: 100, ac: 500 } as const;

export function ohmPerVolt(resistanceMohm: string, nominalVoltageV: string): number | null {
  const r = Number(resistanceMohm.replace(",", "."));
  const v = Number(nominalVoltageV);
  if (!resistanceMohm.trim() || !Number.isFinite(r) || r < 0 || !Number.isFinite(v) || v <= 0) return null;
  // Truncated to 0.01 Ω/V like the server, so the verdict shown is the verdict recorded.
  return Math.floor((r * 1_000_000 * 100) / v) / 100;
}

export function isolationPasses(value: number, circuit: keyof typeof MIN_OHM_PER_VOLT): boolean {
  return value >= MIN_OHM_PER_VOLT[circuit];
}
