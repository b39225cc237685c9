import { Alert, Badge, Button, Card, Code, Group, NumberInput, Select, Stack, Table, Text, TextInput, Timeline, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { dateTime } from "../ui/format";
import { ProblemAlert, QueryState } from "../ui/states";

export default function AuditPage() {
  const [aggregateType, setAggregateType] = useState<string | null>(null);
  const [eventType, setEventType] = useState("");
  const [actor, setActor] = useState("");
  const [after, setAfter] = useState<number | undefined>(undefined);
  const [selected, setSelected] = useState<string | null>(null);
  const log = useQuery({
    queryKey: ["audit-log", aggregateType, eventType, actor, after],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/audit/events", {
          params: {
            query: {
              aggregate_type: aggregateType ?? undefined,
              event_type: eventType.trim() || undefined,
              actor: actor.trim() || undefined,
              after,
              limit: 50,
            },
          },
        }),
      ),
  });
  return (
    <Stack>
      <Title order={2}>Audit</Title>
      <VerifyCard />
      <Card withBorder>
        <Title order={3} size="h5" mb="xs">
          Global event log
        </Title>
        <Group align="end" mb="sm">
          <Select
            label="Aggregate type"
            clearable
            placeholder="Any"
            data={["RepairOrder", "Inspection", "Vehicle", "Customer", "StaffMember"]}
            value={aggregateType}
            onChange={(v) => {
              setAggregateType(v);
              setAfter(undefined);
            }}
          />
          <TextInput label="Event type" placeholder="e.g. JobApproved" value={eventType} onChange={(e) => setEventType(e.currentTarget.value)} />
          <TextInput label="Actor" placeholder="subject id" value={actor} onChange={(e) => setActor(e.currentTarget.value)} />
        </Group>
        <QueryState isPending={log.isPending} error={log.error} refetch={() => void log.refetch()}>
          {() => (
            <>
              <Table highlightOnHover fz="sm">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>#</Table.Th>
                    <Table.Th>Time</Table.Th>
                    <Table.Th>Aggregate</Table.Th>
                    <Table.Th>Event</Table.Th>
                    <Table.Th>Actor</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {log.data!.items.map((e) => {
                    const a = e.actor as { role?: string; subject_id?: string } | null;
                    return (
                      <Table.Tr key={e.notification_id}>
                        <Table.Td>{e.notification_id}</Table.Td>
                        <Table.Td>{dateTime(e.timestamp)}</Table.Td>
                        <Table.Td>
                          <button type="button" className="link-button" onClick={() => setSelected(e.aggregate_id)}>
                            {e.aggregate_type} {e.aggregate_id.slice(0, 8)} v{e.version}
                          </button>
                        </Table.Td>
                        <Table.Td>{e.event_type}</Table.Td>
                        <Table.Td>{a ? `${a.role} ${String(a.subject_id).slice(0, 12)}` : "–"}</Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
              {log.data!.next_after !== null && (
                <Button mt="xs" variant="default" onClick={() => setAfter(log.data!.next_after ?? undefined)}>
                  Next page
                </Button>
              )}
            </>
          )}
        </QueryState>
      </Card>
      {selected && <AggregateCard aggregateId={selected} />}
    </Stack>
  );
}

function VerifyCard() {
  const verify = useQuery({
    queryKey: ["audit-verify"],
    queryFn: () => unwrap(api.GET("/api/v1/audit/verification")),
    enabled: false,
  });
  return (
    <Card withBorder>
      <Group justify="space-between">
        <Title order={3} size="h5">
          Hash chain
        </Title>
        <Button onClick={() => void verify.refetch()} loading={verify.isFetching}>
          Verify the chain
        </Button>
      </Group>
      {verify.error ? <ProblemAlert error={verify.error} /> : null}
      {verify.data && (
        <Alert mt="sm" color={verify.data.intact ? "green" : "red"} title={verify.data.intact ? "Chain intact" : "Chain broken"} data-testid="verify-result">
          {verify.data.summary}
          {verify.data.first_broken_id !== null && <Text>First broken event: #{verify.data.first_broken_id}</Text>}
          <Text size="xs">
            {verify.data.events_verified} events and {verify.data.checkpoints_verified} signed checkpoints verified.
          </Text>
        </Alert>
      )}
    </Card>
  );
}

function AggregateCard({ aggregateId }: { aggregateId: string }) {
  const path = { aggregate_id: aggregateId };
  const history = useQuery({
    queryKey: ["audit-history", aggregateId],
    queryFn: () => unwrap(api.GET("/api/v1/audit/aggregates/{aggregate_id}/events", { params: { path } })),
  });
  const [version, setVersion] = useState<string | number>("");
  const [from, setFrom] = useState<string | number>(1);
  const [to, setTo] = useState<string | number>("");
  const state = useQuery({
    queryKey: ["audit-state", aggregateId, version],
    queryFn: () => unwrap(api.GET("/api/v1/audit/aggregates/{aggregate_id}/state", { params: { path, query: { version: Number(version) } } })),
    enabled: version !== "",
  });
  const diff = useQuery({
    queryKey: ["audit-diff", aggregateId, from, to],
    queryFn: () => unwrap(api.GET("/api/v1/audit/aggregates/{aggregate_id}/diff", { params: { path, query: { from: Number(from), to: Number(to) } } })),
    enabled: from !== "" && to !== "",
  });
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="xs">
        History of {aggregateId}
      </Title>
      <QueryState isPending={history.isPending} error={history.error} refetch={() => void history.refetch()}>
        {() => (
          <Timeline bulletSize={14} lineWidth={2}>
            {history.data!.events.map((e) => (
              <Timeline.Item key={e.version} title={`v${e.version} ${e.event_type}`}>
                <Text size="xs">
                  {dateTime(e.timestamp)} · {e.actor ? `${e.actor.role} ${e.actor.subject_id.slice(0, 12)}` : "system"}
                </Text>
              </Timeline.Item>
            ))}
          </Timeline>
        )}
      </QueryState>
      <Group align="end" mt="md">
        <NumberInput label="State at version" min={1} value={version} onChange={setVersion} w={160} />
        <NumberInput label="Diff from" min={1} value={from} onChange={setFrom} w={120} />
        <NumberInput label="to" min={1} value={to} onChange={setTo} w={120} />
      </Group>
      {state.error ? <ProblemAlert error={state.error} /> : null}
      {state.data && (
        <Code block mt="sm">
          {JSON.stringify(state.data.state, null, 2)}
        </Code>
      )}
      {diff.error ? <ProblemAlert error={diff.error} /> : null}
      {diff.data && (
        <Stack gap={2} mt="sm">
          {diff.data.changes.map((c, i) => (
            <Text key={i} size="sm">
              <Badge size="xs" mr={4}>
                {c.op}
              </Badge>
              {c.path}: {JSON.stringify(c.old)} → {JSON.stringify(c.value)}
            </Text>
          ))}
        </Stack>
      )}
    </Card>
  );
}
