import { Badge, Group, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useMemo, useRef, useState } from "react";
import { api, unwrap } from "../api/client";
import { router } from "../router";
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

function approvalChip(item: BoardItem): [string, string] | null {
  if (item.status === "awaiting_approval") return ["Approval pending", "chip-yellow"];
  if (item.approved_total && Number(item.approved_total) > 0) return ["Approved", "chip-green"];
  if (item.quoted_total && Number(item.quoted_total) > 0) return ["Quoted", "chip-gray"];
  return null;
}

/**
 * One card. Plain elements with CSS classes rather than Mantine components: a board holds
 * hundreds of cards and must render within the 1 s budget (docs/benchmarks.md).
 */
export const BoardCard = memo(function BoardCard({
  item,
  technicianName,
}: {
  item: BoardItem;
  technicianName: (id: string) => string;
}) {
  const late = isLate(item);
  const approval = approvalChip(item);
  return (
    <article className="board-card" data-testid="board-card" aria-label={`${item.plate} ${statusLabel(item.status)}`}>
      <div className="board-card-top">
        <a
          href={`/repair-orders/${item.id}`}
          className="board-plate"
          onClick={(event) => {
            if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
            event.preventDefault();
            void router.navigate({ to: `/repair-orders/${item.id}` });
          }}
        >
          {item.plate}
        </a>
        {item.hv_isolated ? <span className="chip chip-orange">HV isolated</span> : null}
      </div>
      <div>
        {item.make} {item.model}
      </div>
      <div className="dim">{item.customer_name}</div>
      <div className={late ? "late small" : "small"}>
        {late ? "Late · promised " : "Promised "}
        {dateTime(item.promised_at)}
      </div>
      <div className="chips">
        {approval ? <span className={`chip ${approval[1]}`}>{approval[0]}</span> : null}
        {item.status === "waiting_for_parts" ? <span className="chip chip-grape">Parts on order</span> : null}
        {item.clocked_on.length > 0 ? <span className="chip chip-teal">Clocked on</span> : null}
      </div>
      {item.technicians.length > 0 ? <div className="small">Tech: {item.technicians.map(technicianName).join(", ")}</div> : null}
    </article>
  );
});

/** Estimated card height (px) before a card is measured; cards with a technician line are taller. */
const CARD_ESTIMATE = 118;
const CARD_GAP = 6;

/**
 * One status column. Only the cards in (and just beyond) the column's scroll window are in the
 * DOM (TanStack Virtual, measured heights): 500 open orders would otherwise be 500 cards laid
 * out before the board can take input (docs/benchmarks.md "Web app budgets").
 */
export function BoardColumn({
  status,
  cards,
  technicianName,
}: {
  status: string;
  cards: BoardItem[];
  technicianName: (id: string) => string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: cards.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => CARD_ESTIMATE,
    gap: CARD_GAP,
    overscan: 4,
    getItemKey: (index) => cards[index]?.id ?? index,
    // jsdom and the first frame have no layout: show the first cards rather than none.
    initialRect: { width: 240, height: 900 },
  });
  const rows = virtual.getVirtualItems();
  return (
    <section className="board-column" aria-label={statusLabel(status)} data-count={cards.length}>
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h6">
          {statusLabel(status)}
        </Title>
        <Badge variant="light" aria-label={`${cards.length} orders`}>
          {cards.length}
        </Badge>
      </Group>
      <div ref={scroller} className="board-cards" tabIndex={cards.length > 0 ? 0 : -1} aria-label={`${statusLabel(status)} cards`} role="group">
        <div className="board-cards-inner" ref={(el) => el?.style.setProperty("height", `${virtual.getTotalSize()}px`)}>
          {rows.map((row) => {
            const item = cards[row.index] as BoardItem;
            return (
              <div
                key={row.key}
                data-index={row.index}
                className="board-row"
                ref={(el) => {
                  if (!el) return;
                  // CSSOM, not a style attribute: the CSP forbids inline styles in markup.
                  el.style.setProperty("transform", `translateY(${row.start}px)`);
                  virtual.measureElement(el);
                }}
              >
                <BoardCard item={item} technicianName={technicianName} />
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}

export default function BoardPage() {
  const [search, setSearch] = useState("");
  const [q] = useDebouncedValue(search.trim(), 300);
  const [technician, setTechnician] = useState<string | null>(null);
  const [hvOnly, setHvOnly] = useState<string | null>(null);
  const staff = useStaffDirectory();
  const names = staff.list.map((s) => s.id).join();
  // eslint-disable-next-line react-hooks/exhaustive-deps -- stable while the directory is
  const technicianName = useCallback(staff.name, [names]);
  const board = useQuery({
    queryKey: ["board", q],
    queryFn: () => loadBoard(q),
    // Stays current without reloading: the read model is polled every 5 s.
    refetchInterval: 5_000,
    // A new search or a poll keeps showing the board it has until the new one arrives (no
    // spinner flash); unchanged cards keep their object identity (structural sharing), so
    // their memoised components do not re-render.
    placeholderData: keepPreviousData,
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
  const byStatus = useMemo(() => {
    const groups = new Map<string, BoardItem[]>();
    for (const item of items) {
      const list = groups.get(item.status);
      if (list) list.push(item);
      else groups.set(item.status, [item]);
    }
    return groups;
  }, [items]);
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
              {BOARD_COLUMNS.map((status) => (
                <BoardColumn
                  key={status}
                  status={status}
                  cards={byStatus.get(status) ?? []}
                  technicianName={technicianName}
                />
              ))}
            </div>
          </>
        )}
      </QueryState>
    </Stack>
  );
}
