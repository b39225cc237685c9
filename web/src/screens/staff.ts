import { useQuery } from "@tanstack/react-query";
import { ApiProblem, api, unwrap } from "../api/client";
import type { Schemas } from "../api/client";

/** listStaff items: the server types them as plain objects; they are its staff records. */
export type StaffListItem = Pick<
  Schemas["StaffView"],
  "id" | "name" | "role" | "active" | "hv_level" | "effective_hv_level" | "certificate_expires_on"
>;

/**
 * The staff directory for pickers and names: `GET /staff` (listStaff, issue 11). Until that
 * route is merged, the local demo's people list gives the staff ids, and each record is read
 * with `GET /staff/{id}` (real data, just more requests).
 */
async function loadStaff(): Promise<StaffListItem[]> {
  try {
    const page = await unwrap(api.GET("/api/v1/staff", { params: { query: { limit: 200 } } }));
    return page.items as unknown as StaffListItem[];
  } catch (error) {
    if (!(error instanceof ApiProblem) || ![404, 405].includes(error.status)) throw error;
  }
  const people = await unwrap(api.GET("/auth/local/people"));
  const ids = people.items.map((p) => p.staff_id).filter((id): id is string => !!id);
  const records = await Promise.all(
    ids.map((id) =>
      unwrap(api.GET("/api/v1/staff/{staff_id}", { params: { path: { staff_id: id } } })).catch(() => null),
    ),
  );
  return records.filter((r): r is NonNullable<typeof r> => r !== null);
}

export function useStaffDirectory() {
  const query = useQuery({ queryKey: ["staff-directory"], queryFn: loadStaff, staleTime: 60_000, retry: false });
  const byId = new Map((query.data ?? []).map((s) => [s.id, s]));
  return {
    list: query.data ?? [],
    error: query.error,
    name: (id: string) => byId.get(id)?.name ?? `${id.slice(0, 8)}…`,
  };
}

export function certificateValid(staff: Pick<StaffListItem, "certificate_expires_on">, today = new Date()): boolean {
  return !!staff.certificate_expires_on && new Date(staff.certificate_expires_on) >= new Date(today.toDateString());
}
