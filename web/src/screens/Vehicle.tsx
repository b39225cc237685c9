import { LineChart } from "@mantine/charts";
import { Anchor, Badge, Card, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "@tanstack/react-router";
import { api, unwrap } from "../api/client";
import type { VehicleProfile } from "../api/readModels";
import { date, dateTime, money, number, statusLabel } from "../ui/format";
import { QueryState } from "../ui/states";

export function sohSeries(profile: Pick<VehicleProfile, "soh_trend">) {
  return [...profile.soh_trend]
    .sort((a, b) => Date.parse(a.measured_at) - Date.parse(b.measured_at))
    .map((p) => ({ date: date(p.measured_at), soh: Number(p.soh_pct) }));
}

export default function VehiclePage() {
  const { vehicleId } = useParams({ strict: false }) as { vehicleId: string };
  const profile = useQuery({
    queryKey: ["vehicle-profile", vehicleId],
    queryFn: () => unwrap(api.GET("/api/v1/vehicles/{vehicle_id}/profile", { params: { path: { vehicle_id: vehicleId } } })),
  });
  return (
    <QueryState isPending={profile.isPending} error={profile.error} refetch={() => void profile.refetch()}>
      {() => {
        const v = profile.data!.item as unknown as VehicleProfile;
        const threshold = v.warranty ? Number(v.warranty.soh_threshold_pct) : null;
        return (
          <Stack>
            <Group justify="space-between">
              <Title order={2}>
                {v.plate} · {v.make} {v.model} ({v.year})
              </Title>
              <Group>
                {v.warranty_risk ? (
                  <Badge color="red" size="lg">
                    Warranty risk
                  </Badge>
                ) : (
                  <Badge color="green" size="lg">
                    {v.under_warranty ? "Battery under warranty" : "No warranty risk"}
                  </Badge>
                )}
              </Group>
            </Group>
            <Text>
              VIN {v.vin} · {v.odometer_km.toLocaleString()} km · {number(v.battery_kwh)} kWh · {v.nominal_voltage_v} V
            </Text>
            <Card withBorder>
              <Title order={3} size="h5" mb="xs">
                Battery state of health
              </Title>
              {v.soh_trend.length === 0 ? (
                <Text c="dimmed">No state-of-health readings yet.</Text>
              ) : (
                <div role="img" aria-label={`State of health trend, latest ${v.soh_trend.at(-1)?.soh_pct} %`}>
                  <LineChart
                    h={240}
                    data={sohSeries(v)}
                    dataKey="date"
                    series={[{ name: "soh", label: "SoH %", color: "blue.6" }]}
                    yAxisProps={{ domain: [Math.min(60, (threshold ?? 70) - 5), 100] }}
                    referenceLines={threshold ? [{ y: threshold, label: `Warranty ${threshold} %`, color: "red.6" }] : []}
                    withDots
                  />
                </div>
              )}
            </Card>
            <div className="two-col">
              <Card withBorder>
                <Title order={3} size="h5" mb="xs">
                  Visits
                </Title>
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Order</Table.Th>
                      <Table.Th>Status</Table.Th>
                      <Table.Th>Odometer</Table.Th>
                      <Table.Th>Total</Table.Th>
                      <Table.Th>Last change</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {v.visits.map((visit) => (
                      <Table.Tr key={visit.repair_order_id}>
                        <Table.Td>
                          <Anchor component={Link} to={`/repair-orders/${visit.repair_order_id}`}>
                            {visit.repair_order_id.slice(0, 8)}
                          </Anchor>
                        </Table.Td>
                        <Table.Td>{statusLabel(visit.status)}</Table.Td>
                        <Table.Td>{visit.odometer_in_km.toLocaleString()} km</Table.Td>
                        <Table.Td>{money(visit.total)}</Table.Td>
                        <Table.Td>{dateTime(visit.last_change)}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Card>
              <Card withBorder>
                <Title order={3} size="h5" mb="xs">
                  Software versions
                </Title>
                {Object.keys(v.software).length === 0 && <Text c="dimmed">None recorded.</Text>}
                {Object.entries(v.software).map(([ecu, version]) => (
                  <Text key={ecu} size="sm">
                    {ecu}: {version}
                  </Text>
                ))}
              </Card>
            </div>
          </Stack>
        );
      }}
    </QueryState>
  );
}
