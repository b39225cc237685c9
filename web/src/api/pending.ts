/**
 * HAND-WRITTEN until the lead merges issue 11 (the list/search routes, the inspection-template
 * route and the quote-approval link routes, agreed in routes.md). They are not in the server's
 * OpenAPI document yet, so they are not in ./schema.d.ts. After the merge: regenerate
 * (`regenzet openapi --output web/openapi.json && npm run api:types`), switch these calls to
 * `api.GET(...)` and delete this file. The shapes below are the agreed contract; fields marked
 * "assumed" are what the screens need and must be checked against the merged schema.
 */
import { ApiProblem, type Schemas } from "./client";
import { session } from "../auth/session";

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** listCustomers items (assumed: the CustomerView shape). */
export type CustomerListItem = Pick<Schemas["CustomerView"], "id" | "name" | "email" | "phone">;
/** listVehicles items (assumed: the VehicleView shape). */
export type VehicleListItem = Pick<
  Schemas["VehicleView"],
  "id" | "vin" | "plate" | "make" | "model" | "year" | "owner_id"
>;
/** listStaff items (assumed: the StaffView shape). */
export type StaffListItem = Pick<
  Schemas["StaffView"],
  "id" | "name" | "role" | "active" | "hv_level" | "effective_hv_level" | "certificate_expires_on"
>;
export interface InspectionListItem {
  id: string;
  vehicle_id: string;
  repair_order_id: string | null;
  status: string;
}

export interface TemplateMeasurement {
  kind: Schemas["MeasurementKind"];
  unit: string;
  min?: string | null; // assumed
  max?: string | null; // assumed
}
export interface TemplateItem {
  code: string;
  title: string;
  required: boolean;
  hv_system?: boolean;
  measurements?: TemplateMeasurement[];
}
export interface InspectionTemplate {
  code: string;
  version: number;
  title: string;
  sections: { code: string; title: string; items: TemplateItem[] }[];
}

export interface QuoteApprovalFinding {
  item_code: string;
  title: string;
  severity: "red" | "amber" | "green";
  note: string | null;
  media?: { media_id: string; url?: string }[]; // assumed (issue 13: media)
}
export interface QuoteApprovalJob {
  job_id: string;
  title: string;
  amount: string;
  status: string; // quoted | approved | declined
  item_code?: string | null; // assumed: the finding this job comes from
}
export interface QuoteApproval {
  repair_order_id: string;
  quote_version: number;
  currency: string;
  jobs: QuoteApprovalJob[];
  subtotal: string;
  tax: string;
  total: string;
  tax_rate?: string; // assumed
  findings: QuoteApprovalFinding[];
  expires_at: string;
}

type Query = Record<string, string | number | boolean | null | undefined>;

declare const __API_OPERATIONS__: string[];
const OPERATIONS = new Set(typeof __API_OPERATIONS__ === "undefined" ? [] : __API_OPERATIONS__);

/** Whether the server's document (web/openapi.json, built in) has this operation yet. */
export function serverHas(operationId: string): boolean {
  return OPERATIONS.has(operationId);
}

async function call<T>(operationId: string, method: string, path: string, query: Query = {}, init: RequestInit = {}) {
  if (!serverHas(operationId)) {
    // Not merged yet: answer as the server would, without a request that can only fail.
    throw new ApiProblem(404, { title: "Not available", detail: `${operationId} is not available on this server yet` });
  }
  const url = new URL(`/api/v1${path}`, window.location.origin);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
  const headers = new Headers(init.headers);
  const token = session.token();
  if (token && !headers.has("X-Approval-Token")) headers.set("Authorization", `Bearer ${token}`);
  if (init.body) headers.set("Content-Type", "application/json");
  let response: Response;
  try {
    response = await fetch(url, { ...init, method, headers });
  } catch (cause) {
    throw new ApiProblem(0, { title: "Network error", detail: String(cause) });
  }
  if (!response.ok) {
    const retry = response.headers.get("Retry-After");
    throw new ApiProblem(response.status, await response.json().catch(() => ({})), retry ? Number(retry) : null);
  }
  return (await response.json()) as T;
}

export const pending = {
  listCustomers: (q: string, cursor?: string) =>
    call<Page<CustomerListItem>>("listCustomers", "GET", "/customers", { q, cursor, limit: 20 }),
  listVehicles: (query: { q?: string; owner_id?: string }) =>
    call<Page<VehicleListItem>>("listVehicles", "GET", "/vehicles", { ...query, limit: 20 }),
  listStaff: (query: { role?: string; active?: boolean; min_hv_level?: number }) =>
    call<Page<StaffListItem>>("listStaff", "GET", "/staff", { ...query, limit: 200 }),
  listInspections: (query: { vehicle_id?: string; repair_order_id?: string }) =>
    call<Page<InspectionListItem>>("listInspections", "GET", "/inspections", query),
  listRepairOrders: (query: { vehicle_id?: string; customer_id?: string; status?: string }) =>
    call<Page<{ id: string; status: string; vehicle_id: string; customer_id: string }>>(
      "listRepairOrders",
      "GET",
      "/repair-orders",
      query,
    ),
  getInspectionTemplate: () => call<InspectionTemplate>("getInspectionTemplate", "GET", "/inspection-template"),
  getQuoteApproval: (token: string) =>
    call<QuoteApproval>("getQuoteApproval", "GET", "/quote-approval", {}, { headers: { "X-Approval-Token": token } }),
  approveJobByLink: (token: string, jobId: string) =>
    call<Schemas["CommandResult"]>("approveJobByLink", "POST", `/quote-approval/jobs/${encodeURIComponent(jobId)}/approve`, {}, {
      headers: { "X-Approval-Token": token, "Idempotency-Key": crypto.randomUUID() },
    }),
  declineJobByLink: (token: string, jobId: string, reason: string | null) =>
    call<Schemas["CommandResult"]>("declineJobByLink", "POST", `/quote-approval/jobs/${encodeURIComponent(jobId)}/decline`, {}, {
      headers: { "X-Approval-Token": token, "Idempotency-Key": crypto.randomUUID() },
      body: JSON.stringify(reason ? { reason } : {}),
    }),
};
