import { Anchor, Badge, Card, Group, Stack, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { api, idempotencyKey, unwrap } from "../api/client";
import type { Workload } from "../api/readModels";
import { useIdentity } from "../auth/useSession";
import { Act } from "../ui/Act";
import { QueryState } from "../ui/states";
import { ClockButtons, useOrder } from "./Order";
import { HvWizard } from "./HvWizard";

/** The technician's tablet screen: my jobs, one big clock, the HV wizard, start an inspection. */
export default function MyJobsPage() {
  const staffId = useIdentity()?.staffId ?? "";
  const workload = useQuery({
    queryKey: ["workload", staffId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/technicians/{staff_id}/workload", { params: { path: { staff_id: staffId } } })),
    refetchInterval: 10_000,
  });
  return (
    <Stack>
      <Title order={2}>My jobs</Title>
      <QueryState isPending={workload.isPending} error={workload.error} refetch={() => void workload.refetch()}>
        {() => {
          const w = workload.data!.item as unknown as Workload;
          const open = w.assigned_jobs.filter((j) => !["completed", "declined"].includes(j.status) && !["closed", "cancelled"].includes(j.order_status));
          return (
            <Stack>
              <Group>
                <Badge size="lg" color="orange">
                  HV level {w.effective_hv_level}
                </Badge>
                {w.effective_hv_level < w.hv_level && <Badge color="red">Certificate expired</Badge>}
                <Text size="sm">{w.clocked_on ? "Clocked on" : "Not clocked on"}</Text>
              </Group>
              {open.length === 0 && <Text c="dimmed">No open jobs assigned to you.</Text>}
              {open.map((j) => (
                <JobCard key={`${j.repair_order_id}/${j.job_id}`} orderId={j.repair_order_id} jobId={j.job_id} />
              ))}
            </Stack>
          );
        }}
      </QueryState>
    </Stack>
  );
}

function JobCard({ orderId, jobId }: { orderId: string; jobId: string }) {
  const order = useOrder(orderId);
  const staffId = useIdentity()?.staffId ?? "";
  return (
    <Card withBorder padding="md">
      <QueryState isPending={order.isPending} error={order.error} refetch={() => void order.refetch()}>
        {() => {
          const o = order.data!;
          const job = o.jobs.find((j) => j.job_id === jobId);
          if (!job) return <Text>Job {jobId} is no longer on this order.</Text>;
          const needsIsolation = job.hv_work && !o.hv_isolated;
          return (
            <Stack>
              <Group justify="space-between">
                <Stack gap={0}>
                  <Text fw={700} size="lg">
                    {job.title}
                  </Text>
                  <Anchor component={Link} to={`/repair-orders/${o.id}`} size="sm">
                    Order {o.id.slice(0, 8)} · {o.status}
                  </Anchor>
                </Stack>
                <Group>
                  {job.hv_work && <Badge color="orange">HV work</Badge>}
                  <Badge>{job.status}</Badge>
                </Group>
              </Group>
              {needsIsolation ? (
                <Card withBorder bg="orange.0">
                  <Text fw={600} mb="xs">
                    HV isolation required before this job
                  </Text>
                  <HvWizard orderId={o.id} />
                </Card>
              ) : (
                <ClockButtons order={o} job={job} clockedOn={o.clocked_on[staffId] === job.job_id} />
              )}
              {["open", "inspecting"].includes(o.status) && (
                <Act
                  variant="light"
                  run={() =>
                    unwrap(
                      api.POST("/api/v1/inspections", {
                        params: { header: { "Idempotency-Key": idempotencyKey() } },
                        body: { repair_order_id: o.id, vehicle_id: o.vehicle_id, template_code: "ev_inspection", template_version: 1 },
                      }),
                    )
                  }
                  success="Inspection started"
                >
                  Start inspection
                </Act>
              )}
            </Stack>
          );
        }}
      </QueryState>
    </Card>
  );
}
