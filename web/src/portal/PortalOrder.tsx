import { Badge, Card, Group, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useParams } from "@tanstack/react-router";
import { useState } from "react";
import { api, idempotencyKey, unwrap, type Schemas } from "../api/client";
import { useOrder } from "../screens/Order";
import { Act } from "../ui/Act";
import { money } from "../ui/format";
import { QueryState } from "../ui/states";
import { StatusTimeline } from "./StatusTimeline";
import { OwnerMedia } from "../media/Media";

/** The owner's view of one order: where it is, the quote (approve or decline each job), the
 * invoice and balance. Another owner's order is a 404 from the API, shown as "not found". */
export default function PortalOrder() {
  const { orderId } = useParams({ strict: false }) as { orderId: string };
  const order = useOrder(orderId);
  return (
    <QueryState isPending={order.isPending} error={order.error} refetch={() => void order.refetch()}>
      {() => {
        const o = order.data!;
        return (
          <Stack maw={720}>
            <Title order={2}>Your repair order</Title>
            <Card withBorder>
              <StatusTimeline status={o.status} />
            </Card>
            <OwnerMedia owner={{ kind: "repair-orders", id: o.id }} title="Check-in photos" canUpload={false} videos={false} uploadLabel="" />
            <Card withBorder>
              <Title order={3} size="h5" mb="xs">
                Jobs
              </Title>
              <Stack>
                {o.jobs.map((job) => (
                  <PortalJob key={job.job_id} order={o} job={job} />
                ))}
              </Stack>
            </Card>
            {o.invoice_number && (
              <Card withBorder>
                <Title order={3} size="h5" mb="xs">
                  Invoice {o.invoice_number}
                </Title>
                <Table>
                  <Table.Tbody>
                    <Table.Tr><Table.Td>Total</Table.Td><Table.Td ta="right">{money(o.total, o.currency)}</Table.Td></Table.Tr>
                    <Table.Tr><Table.Td>Paid</Table.Td><Table.Td ta="right">{money(o.paid, o.currency)}</Table.Td></Table.Tr>
                    <Table.Tr><Table.Td>Balance</Table.Td><Table.Td ta="right">{money(o.balance, o.currency)}</Table.Td></Table.Tr>
                  </Table.Tbody>
                </Table>
              </Card>
            )}
          </Stack>
        );
      }}
    </QueryState>
  );
}

function PortalJob({ order, job }: { order: Schemas["RepairOrderView"]; job: Schemas["JobView"] }) {
  const [reason, setReason] = useState("");
  const path = { repair_order_id: order.id, job_id: job.job_id };
  return (
    <Stack gap={4}>
      <Group justify="space-between">
        <Text fw={600}>{job.title}</Text>
        <Group gap="xs">
          <Badge variant="light">{job.status}</Badge>
          <Text>{money(job.amount, order.currency)}</Text>
        </Group>
      </Group>
      {job.status === "quoted" && !["closed", "cancelled"].includes(order.status) && (
        <Group align="end">
          <Act size="sm" color="green" run={() => unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/approve", { params: { path, header: { "Idempotency-Key": idempotencyKey() } }, body: {} }))}>
            Approve
          </Act>
          <TextInput size="sm" label="Reason (optional)" value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
          <Act
            size="sm"
            variant="default"
            run={() => unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/decline", { params: { path, header: { "Idempotency-Key": idempotencyKey() } }, body: { reason: reason.trim() || null } }))}
          >
            Decline
          </Act>
        </Group>
      )}
    </Stack>
  );
}
