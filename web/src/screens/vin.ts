/** What can be read from a VIN as it is typed (ISO 3779): length, characters, region, year. */
const YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789";
const TRANSLITERATION: Record<string, number> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
};
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

export interface VinReading {
  vin: string;
  complete: boolean;
  problem: string | null;
  region: string | null;
  modelYear: number | null;
  checkDigitValid: boolean | null;
}

function region(first: string): string | null {
  if ("ABCDEFGH".includes(first)) return "Africa";
  if ("JKLMNPR".includes(first)) return "Asia";
  if ("STUVWXYZ".includes(first)) return "Europe";
  if ("12345".includes(first)) return "North America";
  if ("67".includes(first)) return "Oceania";
  if ("89".includes(first)) return "South America";
  return null;
}

export function readVin(raw: string, today = new Date()): VinReading {
  const vin = raw.toUpperCase().replace(/[\s-]/g, "");
  const bad = vin.match(/[^A-HJ-NPR-Z0-9]/);
  const problem = bad
    ? `"${bad[0]}" cannot appear in a VIN (I, O and Q are never used)`
    : vin.length > 17
      ? "A VIN has 17 characters"
      : null;
  const complete = vin.length === 17 && !problem;
  let modelYear: number | null = null;
  let checkDigitValid: boolean | null = null;
  if (complete) {
    const index = YEAR_CODES.indexOf(vin[9]!);
    if (index >= 0) {
      // The code repeats every 30 years: take the latest year not after next year.
      let year = 1980 + index;
      while (year + 30 <= today.getFullYear() + 1) year += 30;
      modelYear = year;
    }
    const sum = [...vin].reduce((acc, ch, i) => acc + (/\d/.test(ch) ? Number(ch) : (TRANSLITERATION[ch] ?? 0)) * WEIGHTS[i]!, 0);
    const check = sum % 11 === 10 ? "X" : String(sum % 11);
    checkDigitValid = vin[8] === check;
  }
  return { vin, complete, problem, region: vin ? region(vin[0]!) : null, modelYear, checkDigitValid };
}
