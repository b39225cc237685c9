import { BarChart, LineChart } from "@mantine/charts";
import { Badge, Card, SegmentedControl, Stack, Table, Text, Title, Group } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import type { KpiRow } from "../api/readModels";
import { date, money, number, percent, statusLabel } from "../ui/format";
import { QueryState } from "../ui/states";
import { certificateValid, useStaffDirectory } from "./staff";

type Period = "day" | "week" | "month";

export default function ManagerPage() {
  const [period, setPeriod] = useState<Period>("day");
  const kpis = useQuery({
    queryKey: ["kpis", period],
    queryFn: () => unwrap(api.GET("/api/v1/kpis", { params: { query: { period } } })),
  });
  const staff = useStaffDirectory();
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>KPIs</Title>
        <SegmentedControl
          aria-label="Period"
          value={period}
          onChange={(v) => setPeriod(v as Period)}
          data={[
            { value: "day", label: "Day" },
            { value: "week", label: "Week" },
            { value: "month", label: "Month" },
          ]}
        />
      </Group>
      <QueryState isPending={kpis.isPending} error={kpis.error} refetch={() => void kpis.refetch()}>
        {() => {
          const rows = kpis.data!.rows as unknown as KpiRow[];
          const latest = rows.at(-1);
          const series = rows.map((r) => ({
            period: date(r.start),
            cars: r.orders_opened,
            aov: Number(r.average_order_value ?? 0),
            approval: Number(r.quote_approval_rate ?? 0) * 100,
            efficiency: Number(r.labour_efficiency ?? 0) * 100,
            hv: r.hv_jobs_completed,
          }));
          const states = latest
            ? Object.entries(latest.average_status_seconds).map(([s, secs]) => ({ state: statusLabel(s), hours: Number(secs) / 3600 }))
            : [];
          return (
            <Stack>
              {latest && (
                <div className="kpi-cards">
                  <Kpi label="Car count" value={String(latest.orders_opened)} />
                  <Kpi label="Average order value" value={money(latest.average_order_value)} />
                  <Kpi label="Approval rate" value={percent(latest.quote_approval_rate)} />
                  <Kpi label="Labour efficiency" value={percent(latest.labour_efficiency)} />
                  <Kpi label="HV jobs" value={String(latest.hv_jobs_completed)} />
                  <Kpi label="Invoiced" value={money(latest.invoiced_total)} />
                </div>
              )}
              {rows.length === 0 && <Text c="dimmed">No activity in this range.</Text>}
              <div className="two-col">
                <Card withBorder>
                  <Title order={3} size="h5" mb="xs">
                    Cars and HV jobs
                  </Title>
                  <div role="img" aria-label="Car count and HV jobs per period">
                    <BarChart h={220} data={series} dataKey="period" series={[{ name: "cars", label: "Cars", color: "blue.6" }, { name: "hv", label: "HV jobs", color: "orange.6" }]} />
                  </div>
                </Card>
                <Card withBorder>
                  <Title order={3} size="h5" mb="xs">
                    Approval rate and labour efficiency (%)
                  </Title>
                  <div role="img" aria-label="Approval rate and labour efficiency per period">
                    <LineChart h={220} data={series} dataKey="period" series={[{ name: "approval", label: "Approval %", color: "green.6" }, { name: "efficiency", label: "Efficiency %", color: "grape.6" }]} />
                  </div>
                </Card>
              </div>
              <Card withBorder>
                <Title order={3} size="h5" mb="xs">
                  Average time in each state (hours, latest period)
                </Title>
                <div role="img" aria-label="Average hours in each state">
                  <BarChart h={220} data={states} dataKey="state" series={[{ name: "hours", label: "Hours", color: "teal.6" }]} />
                </div>
              </Card>
            </Stack>
          );
        }}
      </QueryState>
      <Card withBorder>
        <Title order={3} size="h5" mb="xs">
          Staff and HV qualifications
        </Title>
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>HV level</Table.Th>
              <Table.Th>Certificate</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {staff.list.map((s) => (
              <Table.Tr key={s.id}>
                <Table.Td>{s.name}</Table.Td>
                <Table.Td>{s.role}</Table.Td>
                <Table.Td>
                  {s.effective_hv_level}
                  {s.effective_hv_level < s.hv_level ? ` (qualified ${s.hv_level})` : ""}
                </Table.Td>
                <Table.Td>
                  {s.certificate_expires_on ? (
                    <Badge color={certificateValid(s) ? "green" : "red"}>
                      {certificateValid(s) ? "valid to " : "expired "}
                      {date(s.certificate_expires_on)}
                    </Badge>
                  ) : (
                    "–"
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
    </Stack>
  );
}

function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={700} size="xl">
        {value}
      </Text>
    </Card>
  );
}

export { number };
