import { Badge, Card, Group, Select, Stack, Text, TextInput, Title, Anchor } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useMemo, useState } from "react";
import { api, unwrap } from "../api/client";
import type { BoardItem } from "../api/readModels";
import { useStaffDirectory } from "./staff";
import { dateTime, statusLabel } from "../ui/format";
import { QueryState } from "../ui/states";

export const BOARD_COLUMNS = [
  "open",
  "inspecting",
  "quoting",
  "awaiting_approval",
  "in_progress",
  "waiting_for_parts",
  "quality_check",
  "ready_for_pickup",
] as const;

/** Every open order (the board pages through the read model; 500 orders are 3 requests). */
export async function loadBoard(q: string): Promise<BoardItem[]> {
  const items: BoardItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await unwrap(
      api.GET("/api/v1/board", {
        params: { query: { open_only: true, limit: 200, q: q || undefined, cursor } },
      }),
    );
    items.push(...(page.items as unknown as BoardItem[]));
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return items;
}

export function isLate(item: Pick<BoardItem, "promised_at" | "status">, now = Date.now()): boolean {
  return !!item.promised_at && Date.parse(item.promised_at) < now && item.status !== "ready_for_pickup";
}

export function ApprovalChip({ item }: { item: BoardItem }) {
  if (item.status === "awaiting_approval") return <Badge color="yellow">Approval pending</Badge>;
  if (item.approved_total && Number(item.approved_total) > 0) return <Badge color="green">Approved</Badge>;
  if (item.quoted_total && Number(item.quoted_total) > 0) return <Badge color="gray">Quoted</Badge>;
  return null;
}

export function BoardCard({ item, technicianName }: { item: BoardItem; technicianName: (id: string) => string }) {
  const late = isLate(item);
  return (
    <Card withBorder padding="xs" radius="sm" data-testid="board-card" aria-label={`${item.plate} ${statusLabel(item.status)}`}>
      <Stack gap={4}>
        <Group justify="space-between" wrap="nowrap">
          <Anchor component={Link} to={`/repair-orders/${item.id}`} fw={700}>
            {item.plate}
          </Anchor>
          {item.hv_isolated ? (
            <Badge color="orange" variant="filled">HV isolated</Badge>
          ) : null}
        </Group>
        <Text size="sm">
          {item.make} {item.model}
        </Text>
        <Text size="sm" c="dimmed">
          {item.customer_name}
        </Text>
        <Text size="xs" className={late ? "late" : undefined}>
          {late ? "Late · promised " : "Promised "}
          {dateTime(item.promised_at)}
        </Text>
        <Group gap={4}>
          <ApprovalChip item={item} />
          {item.status === "waiting_for_parts" && <Badge color="grape">Parts on order</Badge>}
          {item.clocked_on.length > 0 && <Badge color="teal">Clocked on</Badge>}
        </Group>
        {item.technicians.length > 0 && (
          <Text size="xs">Tech: {item.technicians.map(technicianName).join(", ")}</Text>
        )}
      </Stack>
    </Card>
  );
}

export default function BoardPage() {
  const [search, setSearch] = useState("");
  const [q] = useDebouncedValue(search.trim(), 300);
  const [technician, setTechnician] = useState<string | null>(null);
  const [hvOnly, setHvOnly] = useState<string | null>(null);
  const staff = useStaffDirectory();
  const board = useQuery({
    queryKey: ["board", q],
    queryFn: () => loadBoard(q),
    // Stays current without reloading: the read model is polled every 5 s.
    refetchInterval: 5_000,
  });
  const items = useMemo(
    () =>
      (board.data ?? []).filter(
        (i) =>
          (!technician || i.technicians.includes(technician)) &&
          (hvOnly !== "isolated" || i.hv_isolated) &&
          (hvOnly !== "late" || isLate(i)),
      ),
    [board.data, technician, hvOnly],
  );
  const technicians = Array.from(new Set((board.data ?? []).flatMap((i) => i.technicians)));
  return (
    <Stack>
      <Group justify="space-between" align="end">
        <Title order={2}>Workshop board</Title>
        <Group align="end">
          <TextInput
            label="Search"
            placeholder="Plate, VIN or customer"
            value={search}
            onChange={(e) => setSearch(e.currentTarget.value)}
          />
          <Select
            label="Technician"
            placeholder="Everyone"
            clearable
            data={technicians.map((id) => ({ value: id, label: staff.name(id) }))}
            value={technician}
            onChange={setTechnician}
          />
          <Select
            label="Show"
            placeholder="All open orders"
            clearable
            data={[
              { value: "late", label: "Late only" },
              { value: "isolated", label: "HV isolated only" },
            ]}
            value={hvOnly}
            onChange={setHvOnly}
          />
        </Group>
      </Group>
      <QueryState isPending={board.isPending} error={board.error} refetch={() => void board.refetch()}>
        {() => (
          <>
            <Text size="sm" c="dimmed" aria-live="polite">
              {items.length} open orders · {items.filter((i) => isLate(i)).length} late
            </Text>
            <div className="board" data-testid="board">
              {BOARD_COLUMNS.map((status) => {
                const cards = items.filter((i) => i.status === status);
                return (
                  <section key={status} className="board-column" aria-label={statusLabel(status)}>
                    <Group justify="space-between" mb="xs">
                      <Title order={3} size="h6">
                        {statusLabel(status)}
                      </Title>
                      <Badge variant="light" aria-label={`${cards.length} orders`}>
                        {cards.length}
                      </Badge>
                    </Group>
                    <Stack gap="xs">
                      {cards.map((item) => (
                        <BoardCard key={item.id} item={item} technicianName={staff.name} />
                      ))}
                    </Stack>
                  </section>
                );
              })}
            </div>
          </>
        )}
      </QueryState>
    </Stack>
  );
}
