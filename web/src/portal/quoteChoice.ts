import type { Schemas } from "../api/client";

/** getQuoteApproval's jobs (the server types them as plain objects; these are the fields used). */
export interface QuoteApprovalJob {
  job_id: string;
  title: string;
  amount: string;
  status: string; // quoted | approved | declined
}
/** A finding of an inspection shared with the customer (amber or red). */
export interface QuoteApprovalFinding {
  item_code: string;
  rating: "red" | "amber";
  note?: string | null;
}
export type QuoteApproval = Omit<Schemas["QuoteApprovalView"], "jobs" | "inspections"> & {
  jobs: QuoteApprovalJob[];
  inspections: { inspection_id: string; findings: QuoteApprovalFinding[] }[];
};

export type Choice = "approve" | "decline";

/** The total of the jobs the owner is approving, with tax at the quote's rate. */
export function approvedTotals(jobs: QuoteApprovalJob[], choices: Record<string, Choice | undefined>, taxRate: number) {
  const subtotalCents = jobs
    .filter((j) => (choices[j.job_id] ?? (j.status === "approved" ? "approve" : undefined)) === "approve")
    .reduce((sum, j) => sum + Math.round(Number(j.amount) * 100), 0);
  const taxCents = Math.round(subtotalCents * taxRate);
  return { subtotal: subtotalCents / 100, tax: taxCents / 100, total: (subtotalCents + taxCents) / 100 };
}

export function everyJobDecided(jobs: QuoteApprovalJob[], choices: Record<string, Choice | undefined>): boolean {
  return jobs.filter((j) => j.status === "quoted").every((j) => choices[j.job_id] !== undefined);
}
