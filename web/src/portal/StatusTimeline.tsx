import { Timeline, Text } from "@mantine/core";
import { statusLabel } from "../ui/format";

const FLOW = ["open", "inspecting", "quoting", "awaiting_approval", "in_progress", "quality_check", "ready_for_pickup", "closed"];

/** Where the order is in the usual flow (parts waits and cancellations shown as they happen). */
export function StatusTimeline({ status }: { status: string }) {
  const flow = status === "waiting_for_parts" ? [...FLOW.slice(0, 5), "waiting_for_parts", ...FLOW.slice(5)] : status === "cancelled" ? [...FLOW.slice(0, 1), "cancelled"] : FLOW;
  const at = flow.indexOf(status);
  return (
    <Timeline active={at} bulletSize={16} lineWidth={2} aria-label="Order status">
      {flow.map((s, i) => (
        <Timeline.Item key={s} title={statusLabel(s)}>
          {i === at && <Text size="xs">Current step</Text>}
        </Timeline.Item>
      ))}
    </Timeline>
  );
}
