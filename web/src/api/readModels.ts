/**
 * Shapes of the read-model documents. The OpenAPI document types them as free-form objects
 * (`Document.item`, `BoardPage.items`), so the fields the screens use are named here, checked
 * against the projections in src/regenzet/application/ (board, vehicle profile, portal,
 * workload, inspection summary, KPIs).
 */
export interface BoardItem {
  id: string;
  status: string;
  plate: string;
  make: string;
  model: string;
  vin: string;
  customer_id: string;
  customer_name: string;
  vehicle_id: string;
  promised_at: string | null;
  opened_at: string;
  open: boolean;
  hv_isolated: boolean;
  jobs: number;
  quoted_total: string | null;
  approved_total: string | null;
  invoiced_total: string | null;
  balance: string | null;
  technicians: string[];
  clocked_on: string[];
  version: number;
}

export interface VehicleProfile {
  id: string;
  plate: string;
  vin: string;
  make: string;
  model: string;
  year: number;
  odometer_km: number;
  owner_id: string;
  battery_kwh: string;
  nominal_voltage_v: string;
  software: Record<string, string>;
  soh_trend: { measured_at: string; method: string; soh_pct: string }[];
  under_warranty: boolean;
  warranty: { km: number; soh_threshold_pct: string; start_date: string; years: number } | null;
  warranty_risk: boolean;
  visits: { repair_order_id: string; status: string; odometer_in_km: number; total: string | null; last_change: string }[];
  latest_inspection: { inspection_id: string; status: string; at: string; ratings: Record<string, number> } | null;
}

export interface PortalDoc {
  customer_id: string;
  name: string;
  vehicles: Record<string, { vehicle_id: string; plate: string; make: string; model: string; year: number; odometer_km: number }>;
  orders: Record<
    string,
    {
      repair_order_id: string;
      vehicle_id: string;
      status: string;
      open: boolean;
      total: string | null;
      balance: string | null;
      awaiting_approval: string[];
      last_change: string;
    }
  >;
  inspections: Record<
    string,
    {
      inspection_id: string;
      vehicle_id: string;
      ratings: Record<string, number>;
      recommended_jobs: { item_code: string; title: string; reason: string; severity: string }[];
    }
  >;
}

export interface Workload {
  staff_id: string;
  name: string;
  hv_level: number;
  effective_hv_level: number;
  certificate_expires_on: string | null;
  clocked_on: { repair_order_id: string; job_id: string; since?: string } | null;
  assigned_jobs: { repair_order_id: string; job_id: string; title: string; hv_work: boolean; status: string; order_status: string }[];
  clocked_hours_total: string;
}

export interface KpiRow {
  key: string;
  start: string;
  end: string;
  orders_opened: number;
  orders_closed: number;
  orders_invoiced: number;
  jobs_quoted: number;
  jobs_approved: number;
  jobs_declined: number;
  hv_jobs_completed: number;
  invoiced_total: string;
  average_order_value: string | null;
  quote_approval_rate: string | null;
  labour_efficiency: string | null;
  billed_labour_hours: string;
  clocked_hours: string;
  average_status_seconds: Record<string, string>;
}
