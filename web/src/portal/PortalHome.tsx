import { Anchor, Badge, Card, Group, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { api, unwrap } from "../api/client";
import type { PortalDoc } from "../api/readModels";
import { useIdentity } from "../auth/useSession";
import { dateTime, money, statusLabel } from "../ui/format";
import { QueryState } from "../ui/states";
import { OwnerMedia } from "../media/Media";

const SEVERITY_ORDER = { red: 0, amber: 1, green: 2 } as Record<string, number>;

export function usePortal() {
  const customerId = useIdentity()?.customerId ?? "";
  return useQuery({
    queryKey: ["portal", customerId],
    queryFn: () => unwrap(api.GET("/api/v1/customers/{customer_id}/portal", { params: { path: { customer_id: customerId } } })),
    refetchInterval: 15_000,
  });
}

export default function PortalHome() {
  const portal = usePortal();
  return (
    <QueryState isPending={portal.isPending} error={portal.error} refetch={() => void portal.refetch()}>
      {() => {
        const doc = portal.data!.item as unknown as PortalDoc;
        const orders = Object.values(doc.orders).sort((a, b) => b.last_change.localeCompare(a.last_change));
        return (
          <Stack maw={720}>
            <Title order={2}>Hello {doc.name}</Title>
            <Title order={3} size="h4">
              My orders
            </Title>
            {orders.length === 0 && <Text c="dimmed">No repair orders yet.</Text>}
            {orders.map((o) => {
              const vehicle = doc.vehicles[o.vehicle_id];
              return (
                <Card key={o.repair_order_id} withBorder data-testid="portal-order">
                  <Group justify="space-between">
                    <Anchor component={Link} to={`/portal/repair-orders/${o.repair_order_id}`} fw={600}>
                      {vehicle ? `${vehicle.plate} · ${vehicle.make} ${vehicle.model}` : "Vehicle"}
                    </Anchor>
                    <Badge>{statusLabel(o.status)}</Badge>
                  </Group>
                  <Text size="sm">
                    Total {money(o.total)} · balance {money(o.balance)} · updated {dateTime(o.last_change)}
                  </Text>
                  {o.awaiting_approval.length > 0 && (
                    <Badge color="yellow" mt="xs">
                      {o.awaiting_approval.length} job(s) waiting for your approval
                    </Badge>
                  )}
                </Card>
              );
            })}
            <Title order={3} size="h4">
              My vehicles
            </Title>
            {Object.values(doc.vehicles).map((v) => (
              <Card key={v.vehicle_id} withBorder>
                <Text fw={600}>
                  {v.plate} · {v.make} {v.model} ({v.year})
                </Text>
                <Text size="sm">{v.odometer_km.toLocaleString()} km</Text>
              </Card>
            ))}
            <Title order={3} size="h4">
              Shared inspection reports
            </Title>
            {Object.values(doc.inspections).length === 0 && <Text c="dimmed">None shared yet.</Text>}
            {Object.values(doc.inspections).map((i) => (
              <Card key={i.inspection_id} withBorder data-testid="portal-inspection">
                <Group gap="xs" mb="xs">
                  {["red", "amber", "green"].map((s) => (
                    <Badge key={s} color={s === "amber" ? "yellow" : s}>
                      {i.ratings[s] ?? 0} {s}
                    </Badge>
                  ))}
                </Group>
                {[...i.recommended_jobs]
                  .sort((a, b) => (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3))
                  .map((j) => (
                    <Text key={j.item_code} size="sm">
                      <Badge size="xs" color={j.severity === "red" ? "red" : "yellow"} mr={4}>
                        {j.severity}
                      </Badge>
                      {j.reason}
                    </Text>
                  ))}
                <OwnerMedia
                  owner={{ kind: "inspections", id: i.inspection_id }}
                  title="Photos and videos"
                  canUpload={false}
                  videos
                  uploadLabel=""
                />
              </Card>
            ))}
          </Stack>
        );
      }}
    </QueryState>
  );
}
