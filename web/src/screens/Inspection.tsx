import { Alert, Badge, Button, Card, Group, SegmentedControl, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useParams } from "@tanstack/react-router";
import { useState } from "react";
import { ApiProblem, api, idempotencyKey, unwrap, type Schemas } from "../api/client";

/** getInspectionTemplate: the server types sections as plain objects; this is their shape. */
export interface TemplateItem {
  code: string;
  title: string;
  required: boolean;
  hv_system?: boolean;
  recommended_job?: string | null;
  measurements?: { kind: Schemas["MeasurementKind"]; unit: string; min?: string | null; max?: string | null }[];
}
type InspectionTemplate = Omit<Schemas["InspectionTemplateView"], "sections"> & {
  sections: { code: string; title: string; items: TemplateItem[] }[];
};

async function getInspectionTemplate(): Promise<InspectionTemplate> {
  return (await unwrap(api.GET("/api/v1/inspection-template"))) as unknown as InspectionTemplate;
}
import { useIdentity } from "../auth/useSession";
import { Act } from "../ui/Act";
import { ProblemAlert, QueryState } from "../ui/states";
import { useAction } from "../ui/useAction";
import { isolationPasses, ohmPerVolt } from "./isolation";
import { MediaStrip, MediaUploader, hiddenMediaError, useMedia } from "../media/Media";
import type { MediaOwner, MediaView } from "../media/types";

type Inspection = Schemas["InspectionView"];
type Rating = Schemas["Rating"];
const RATINGS: { value: Rating; label: string }[] = [
  { value: "green", label: "Green" },
  { value: "amber", label: "Amber" },
  { value: "red", label: "Red" },
  { value: "not_applicable", label: "N/A" },
];
const key = () => ({ "Idempotency-Key": idempotencyKey() });

/** "Complete" is allowed only when every required item of the template has a rating. */
export function missingRequired(items: TemplateItem[], ratings: Record<string, unknown>): TemplateItem[] {
  return items.filter((i) => i.required && !(i.code in ratings));
}

export default function InspectionPage() {
  const { inspectionId } = useParams({ strict: false }) as { inspectionId: string };
  const inspection = useQuery({
    queryKey: ["inspection", inspectionId],
    queryFn: () => unwrap(api.GET("/api/v1/inspections/{inspection_id}", { params: { path: { inspection_id: inspectionId } } })),
  });
  const template = useQuery({ queryKey: ["inspection-template"], queryFn: getInspectionTemplate, staleTime: Infinity, retry: false });
  return (
    <QueryState isPending={inspection.isPending} error={inspection.error} refetch={() => void inspection.refetch()}>
      {() => <Runner inspection={inspection.data!} template={template} />}
    </QueryState>
  );
}

function Runner({ inspection, template }: { inspection: Inspection; template: ReturnType<typeof useTemplate> }) {
  const role = useIdentity()?.role;
  const editable = role === "technician" && inspection.status === "in_progress";
  const vehicle = useQuery({
    queryKey: ["vehicle", inspection.vehicle_id],
    queryFn: () => unwrap(api.GET("/api/v1/vehicles/{vehicle_id}", { params: { path: { vehicle_id: inspection.vehicle_id } } })),
  });
  const ratings = inspection.ratings as Record<string, { rating: Rating; note: string | null }>;
  const items = template.data?.sections.flatMap((s) => s.items) ?? [];
  const missing = missingRequired(items, ratings);
  const unavailable = template.error instanceof ApiProblem && [404, 405].includes(template.error.status);
  const owner: MediaOwner = { kind: "inspections", id: inspection.id };
  const media = useMedia(owner);
  const allMedia = media.data ?? [];
  // Technicians add photos while the inspection runs, and mark them up at any time.
  const canUpload = editable;
  const annotateFor = role === "technician" ? inspection.id : null;
  return (
    <Stack maw={1000}>
      <Group justify="space-between">
        <Title order={2}>Inspection</Title>
        <Badge size="lg">{inspection.status}</Badge>
      </Group>
      {unavailable && (
        <Alert color="yellow" title="Template not available">
          This server does not serve the inspection template yet (GET /inspection-template). Ratings recorded so far are listed below.
        </Alert>
      )}
      {template.error && !unavailable ? <ProblemAlert error={template.error} /> : null}
      <Card withBorder data-testid="inspection-media">
        <Title order={3} size="h5" mb="xs">
          Photos and videos{allMedia.length ? ` (${allMedia.length})` : ""}
        </Title>
        <Stack gap="xs">
          {media.error && !hiddenMediaError(media.error) ? <ProblemAlert error={media.error} /> : null}
          {allMedia.length === 0 && !canUpload && (
            <Text size="sm" c="dimmed">
              No photos or videos attached.
            </Text>
          )}
          <MediaStrip items={allMedia} annotateFor={annotateFor} label="All photos and videos of this inspection" />
          {canUpload && <MediaUploader owner={owner} videos label="Add photo/video to the inspection" />}
        </Stack>
      </Card>
      {template.data?.sections.map((section) => (
        <Card key={section.code} withBorder>
          <Title order={3} size="h5" mb="xs">
            {section.title}
          </Title>
          <Stack>
            {section.items.map((item) => (
              <ItemRow
                key={item.code}
                inspection={inspection}
                item={item}
                current={ratings[item.code]}
                editable={editable}
                nominalVoltage={vehicle.data?.nominal_voltage_v ?? null}
                media={allMedia.filter((m) => m.item_code === item.code)}
                annotateFor={annotateFor}
              />
            ))}
          </Stack>
        </Card>
      ))}
      {!template.data &&
        Object.entries(ratings).map(([code, r]) => (
          <Text key={code} size="sm">
            {code}: {r.rating} {r.note ? `(${r.note})` : ""}
          </Text>
        ))}
      {inspection.recommended_jobs.length > 0 && (
        <Card withBorder>
          <Title order={3} size="h5" mb="xs">
            Suggested jobs from red and amber findings
          </Title>
          {inspection.recommended_jobs.map((j, i) => (
            <Text key={i} size="sm">
              <Badge color={j.severity === "red" ? "red" : "yellow"} mr="xs">
                {String(j.severity)}
              </Badge>
              {String(j.title)}
            </Text>
          ))}
        </Card>
      )}
      {inspection.shared ? (
        <Text size="sm" data-testid="inspection-shared">
          Shared with the vehicle's owner (they see the findings, photos and markup in their portal).
        </Text>
      ) : (
        inspection.status === "completed" &&
        (role === "advisor" || role === "technician" || role === "manager") && (
          <Group>
            <Act
              run={() => unwrap(api.POST("/api/v1/inspections/{inspection_id}/share", { params: { path: { inspection_id: inspection.id }, header: key() } }))}
              success="Shared with the owner"
            >
              Share with the owner
            </Act>
          </Group>
        )
      )}
      {editable && (
        <Stack gap={4}>
          {template.data && missing.length > 0 && (
            <Text size="sm" c="dimmed">
              {missing.length} required item{missing.length === 1 ? "" : "s"} still to rate.
            </Text>
          )}
          <Act
            className="tablet-button"
            disabled={!template.data || missing.length > 0}
            run={() => unwrap(api.POST("/api/v1/inspections/{inspection_id}/complete", { params: { path: { inspection_id: inspection.id }, header: key() } }))}
            success="Inspection completed"
          >
            Complete inspection
          </Act>
        </Stack>
      )}
    </Stack>
  );
}

function useTemplate() {
  return useQuery({ queryKey: ["inspection-template"], queryFn: getInspectionTemplate });
}

function ItemRow({
  inspection,
  item,
  current,
  editable,
  nominalVoltage,
  media,
  annotateFor,
}: {
  inspection: Inspection;
  item: TemplateItem;
  current: { rating: Rating; note: string | null } | undefined;
  editable: boolean;
  nominalVoltage: string | null;
  media: MediaView[];
  annotateFor: string | null;
}) {
  const [note, setNote] = useState(current?.note ?? "");
  const rate = useAction((rating: Rating) =>
    unwrap(
      api.POST("/api/v1/inspections/{inspection_id}/items/{item_code}", {
        params: { path: { inspection_id: inspection.id, item_code: item.code }, header: key() },
        body: { rating, note: note.trim() || null },
      }),
    ),
  );
  return (
    <Stack gap={4} data-testid={`item-${item.code}`}>
      <Group justify="space-between" wrap="wrap">
        <Text fw={500}>
          {item.title} {item.required && <Text span c="red" aria-label="required">*</Text>}
          {item.hv_system && <Badge ml="xs" size="xs" color="orange">HV</Badge>}
        </Text>
        <SegmentedControl
          aria-label={`Rating for ${item.title}`}
          disabled={!editable || rate.isPending}
          value={current?.rating ?? ""}
          onChange={(v) => rate.mutate(v as Rating)}
          data={RATINGS}
          color={current?.rating === "red" ? "red" : current?.rating === "amber" ? "yellow" : current?.rating === "green" ? "green" : "gray"}
        />
      </Group>
      {editable && <TextInput size="xs" placeholder="Note (needed for red HV items)" aria-label={`Note for ${item.title}`} value={note} onChange={(e) => setNote(e.currentTarget.value)} />}
      {rate.error ? <ProblemAlert error={rate.error} /> : null}
      <MediaStrip items={media} annotateFor={annotateFor} label={`Photos and videos of ${item.title}`} />
      {editable && (
        <MediaUploader owner={{ kind: "inspections", id: inspection.id }} itemCode={item.code} videos compact label={`Add photo/video for ${item.title}`} />
      )}
      {item.measurements?.map((m) => (
        <MeasurementInput key={m.kind} inspection={inspection} itemCode={item.code} kind={m.kind} unit={m.unit} min={m.min ?? null} max={m.max ?? null} editable={editable} nominalVoltage={nominalVoltage} />
      ))}
    </Stack>
  );
}

function MeasurementInput({
  inspection,
  itemCode,
  kind,
  unit,
  min,
  max,
  editable,
  nominalVoltage,
}: {
  inspection: Inspection;
  itemCode: string;
  kind: Schemas["MeasurementKind"];
  unit: string;
  min: string | null;
  max: string | null;
  editable: boolean;
  nominalVoltage: string | null;
}) {
  const [value, setValue] = useState("");
  const [testVoltage, setTestVoltage] = useState("500");
  const [circuit, setCircuit] = useState<"dc" | "ac">("dc");
  const isolation = kind === "isolation_resistance_mohm";
  const perVolt = isolation && nominalVoltage ? ohmPerVolt(value, nominalVoltage) : null;
  const numeric = Number(value.replace(",", "."));
  const outOfRange = value !== "" && ((min !== null && numeric < Number(min)) || (max !== null && numeric > Number(max)));
  const record = useAction(() =>
    unwrap(
      api.POST("/api/v1/inspections/{inspection_id}/measurements", {
        params: { path: { inspection_id: inspection.id }, header: key() },
        body: {
          kind,
          value: value.replace(",", "."),
          unit,
          item_code: itemCode,
          test_voltage_v: isolation ? testVoltage : null,
          circuit: isolation ? circuit : null,
          battery_method: "bms_read",
        },
      }),
    ),
    { success: "Measurement recorded" },
  );
  const recorded = (inspection.measurements as { kind: string; value: string; passed: boolean | null; ohm_per_volt: string | null }[]).filter((m) => m.kind === kind);
  return (
    <Stack gap={2} pl="md">
      <Group align="end" wrap="wrap">
        <TextInput
          size="xs"
          label={`${kind.replaceAll("_", " ")} (${unit})`}
          description={min !== null || max !== null ? `expected ${min ?? "…"}–${max ?? "…"} ${unit}` : undefined}
          inputMode="decimal"
          value={value}
          disabled={!editable}
          error={outOfRange ? "Outside the expected range" : null}
          onChange={(e) => setValue(e.currentTarget.value)}
        />
        {isolation && (
          <>
            <TextInput size="xs" label="Test voltage (V)" inputMode="decimal" value={testVoltage} disabled={!editable} onChange={(e) => setTestVoltage(e.currentTarget.value)} />
            <Select size="xs" label="Circuit" data={[{ value: "dc", label: "DC" }, { value: "ac", label: "AC" }]} value={circuit} disabled={!editable} onChange={(v) => setCircuit((v as "dc" | "ac") ?? "dc")} />
          </>
        )}
        {editable && (
          <Button size="xs" disabled={!value.trim()} loading={record.isPending} onClick={() => record.mutate(undefined)}>
            Record
          </Button>
        )}
      </Group>
      {perVolt !== null && (
        <Text size="sm" data-testid="ohm-per-volt" c={isolationPasses(perVolt, circuit) ? "green.8" : "red.8"}>
          {perVolt.toLocaleString()} Ω/V · {isolationPasses(perVolt, circuit) ? "pass" : "FAIL"} (minimum {circuit === "dc" ? 100 : 500} Ω/V)
        </Text>
      )}
      {recorded.map((m, i) => (
        <Text key={i} size="xs" c="dimmed">
          Recorded {m.value} {unit}
          {m.ohm_per_volt ? ` · ${m.ohm_per_volt} Ω/V` : ""}
          {m.passed === true ? " · pass" : m.passed === false ? " · fail" : ""}
        </Text>
      ))}
      {record.error ? <ProblemAlert error={record.error} /> : null}
    </Stack>
  );
}
