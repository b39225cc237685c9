/** Money, dates and numbers in the user's locale (the browser's), never hand-formatted. */
const locale = typeof navigator === "undefined" ? "en" : navigator.language;

export function money(amount: string | number | null | undefined, currency = "EUR"): string {
  if (amount === null || amount === undefined || amount === "") return "–";
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(Number(amount));
}

export function dateTime(value: string | null | undefined): string {
  if (!value) return "–";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(value));
}

export function date(value: string | null | undefined): string {
  if (!value) return "–";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(new Date(value));
}

export function number(value: string | number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || value === "") return "–";
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(Number(value));
}

export function percent(ratio: string | number | null | undefined): string {
  if (ratio === null || ratio === undefined || ratio === "") return "–";
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(Number(ratio));
}

export const STATUS_LABELS: Record<string, string> = {
  open: "Open",
  inspecting: "Inspecting",
  quoting: "Quoting",
  awaiting_approval: "Awaiting approval",
  in_progress: "In progress",
  waiting_for_parts: "Waiting for parts",
  quality_check: "Quality check",
  ready_for_pickup: "Ready for pickup",
  closed: "Closed",
  cancelled: "Cancelled",
};

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? status.replaceAll("_", " ");
}
