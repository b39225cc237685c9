/**
 * The records an answer cites, as links to the screens that show them. A tool's record ids are
 * all of one kind (ToolOutput in application/chat_tools.py), so the tool names the kind; a
 * kind the person has no screen for is cited without a link.
 */
import type { Role } from "../auth/session";
import type { ChatTool } from "./chat";

export type RecordKind = "repair order" | "vehicle" | "inspection" | "technician" | "figures";

const KIND: Record<string, RecordKind> = {
  list_my_repair_orders: "repair order",
  get_repair_order: "repair order",
  get_workshop_board: "repair order",
  list_my_vehicles: "vehicle",
  get_battery_health: "vehicle",
  get_inspection_findings: "inspection",
  get_technician_workload: "technician",
  get_kpis: "figures",
};

export interface Citation {
  id: string;
  kind: RecordKind;
  label: string;
  href: string | null;
}

function hrefFor(kind: RecordKind, id: string, role: Role): string | null {
  if (role === "customer") {
    if (kind === "repair order") return `/portal/repair-orders/${id}`;
    if (kind === "vehicle") return "/portal";
    return null; // a shared inspection is shown on its order's page
  }
  if (kind === "repair order") return `/repair-orders/${id}`;
  if (kind === "vehicle") return `/vehicles/${id}`;
  if (kind === "inspection") return `/inspections/${id}`;
  if (kind === "technician" && role === "technician") return "/my-jobs";
  if (kind === "figures" && (role === "manager" || role === "auditor")) return "/manager";
  return null;
}

/** Cited records in the order the answer lists them (`records`), each once. */
export function citations(records: readonly string[], tools: readonly ChatTool[], role: Role): Citation[] {
  const kinds = new Map<string, RecordKind>();
  for (const tool of tools) {
    const kind = KIND[tool.name];
    if (!kind || tool.status !== "success") continue;
    for (const id of tool.record_ids) if (!kinds.has(id)) kinds.set(id, kind);
  }
  return [...new Set(records)].map((id) => {
    const kind = kinds.get(id) ?? "repair order";
    const known = kinds.has(id);
    return {
      id,
      kind: known ? kind : "repair order",
      label: `${known ? kind : "record"} ${id.slice(0, 8)}`,
      href: known ? hrefFor(kind, id, role) : null,
    };
  });
}
