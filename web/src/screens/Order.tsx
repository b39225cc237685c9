import {
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  NumberInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Textarea,
  Timeline,
  Title,
} from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "@tanstack/react-router";
import { useState } from "react";
import { api, idempotencyKey, unwrap, type Schemas } from "../api/client";
import type { Role } from "../auth/session";
import { useIdentity } from "../auth/useSession";
import { Act } from "../ui/Act";
import { dateTime, money, statusLabel } from "../ui/format";
import { ProblemAlert, QueryState } from "../ui/states";
import { useAction } from "../ui/useAction";
import { HvWizard } from "./HvWizard";
import { certificateValid, useStaffDirectory } from "./staff";
import { OwnerMedia } from "../media/Media";

type Order = Schemas["RepairOrderView"];
type Job = Schemas["JobView"];

const key = () => ({ "Idempotency-Key": idempotencyKey() });

export function useOrder(orderId: string) {
  return useQuery({
    queryKey: ["repair-order", orderId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/repair-orders/{repair_order_id}", { params: { path: { repair_order_id: orderId } } })),
    refetchInterval: 10_000,
  });
}

const can = (role: Role | undefined, ...roles: Role[]) => !!role && roles.includes(role);

export default function OrderPage() {
  const { orderId } = useParams({ strict: false }) as { orderId: string };
  const order = useOrder(orderId);
  const role = useIdentity()?.role;
  return (
    <QueryState isPending={order.isPending} error={order.error} refetch={() => void order.refetch()}>
      {() => <OrderDetail order={order.data!} role={role} />}
    </QueryState>
  );
}

function OrderDetail({ order, role }: { order: Order; role: Role | undefined }) {
  const id = order.id;
  const path = { repair_order_id: id };
  const staffSide = can(role, "advisor", "manager");
  return (
    <Stack>
      <Group justify="space-between">
        <Stack gap={0}>
          <Title order={2}>Repair order</Title>
          <Text size="sm" c="dimmed">
            {id}
          </Text>
        </Stack>
        <Group>
          <Badge size="lg" data-testid="order-status">
            {statusLabel(order.status)}
          </Badge>
          {order.hv_isolated && (
            <Badge size="lg" color="orange">
              HV isolated
            </Badge>
          )}
        </Group>
      </Group>
      <div className="two-col">
        <Stack>
          <Card withBorder>
            <Stack gap={4}>
              <Text>
                Vehicle:{" "}
                <Anchor component={Link} to={`/vehicles/${order.vehicle_id}`}>
                  profile
                </Anchor>{" "}
                · odometer in {order.odometer_in_km.toLocaleString()} km
                {order.soc_in_pct ? ` · SoC ${order.soc_in_pct} %` : ""}
              </Text>
              <Text>Promised: {dateTime(order.promised_at)}</Text>
              <Text fw={600}>Concerns</Text>
              <ul>
                {order.concerns.map((c) => (
                  <li key={c}>{c}</li>
                ))}
              </ul>
              {order.inspection_ids.map((inspectionId) => (
                <Anchor key={inspectionId} component={Link} to={`/inspections/${inspectionId}`}>
                  Inspection {inspectionId.slice(0, 8)}
                </Anchor>
              ))}
            </Stack>
          </Card>
          <Card withBorder>
            <OwnerMedia
              owner={{ kind: "repair-orders", id }}
              title="Check-in photos"
              canUpload={can(role, "advisor", "technician", "manager") && !order.released && !["closed", "cancelled"].includes(order.status)}
              videos={false}
              uploadLabel="Add check-in photo"
            />
          </Card>
          <JobsCard order={order} role={role} />
          {staffSide && ["open", "inspecting", "quoting", "awaiting_approval"].includes(order.status) && (
            <AddJobForm orderId={id} />
          )}
        </Stack>
        <Stack>
          <Card withBorder>
            <Title order={3} size="h5">
              Money
            </Title>
            <Table>
              <Table.Tbody>
                <Row label={`Quote v${order.quote_version}`} value={money(order.quoted_subtotal, order.currency)} />
                <Row label="Subtotal" value={money(order.subtotal, order.currency)} />
                <Row label="Tax" value={money(order.tax, order.currency)} />
                <Row label="Total" value={money(order.total, order.currency)} />
                <Row label="Paid" value={money(order.paid, order.currency)} />
                <Row label="Balance" value={money(order.balance, order.currency)} testId="balance" />
              </Table.Tbody>
            </Table>
            {order.invoice_number && <Text size="sm">Invoice {order.invoice_number}</Text>}
          </Card>
          {staffSide && (
            <Card withBorder>
              <Stack gap="xs">
                <Title order={3} size="h5">
                  Advisor actions
                </Title>
                {["open", "inspecting", "quoting"].includes(order.status) && (
                  <Act
                    run={() => unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/quote/send", { params: { path, header: key() } }))}
                    success="Quote sent to the customer"
                  >
                    Send quote
                  </Act>
                )}
                {order.status === "quality_check" && order.qc_passed && !order.hv_isolated && !order.invoice_number && (
                  <Act
                    run={() => unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/invoice", { params: { path, header: key() } }))}
                    success="Invoiced"
                  >
                    Invoice
                  </Act>
                )}
                {order.invoice_number && Number(order.balance) > 0 && <PaymentForm order={order} />}
                {order.invoice_number && Number(order.balance) <= 0 && !order.released && <ReleaseForm order={order} />}
                {!["closed", "cancelled"].includes(order.status) && !order.invoice_number && <CancelForm orderId={id} />}
              </Stack>
            </Card>
          )}
          <HvPanel order={order} role={role} />
          {can(role, "technician", "manager") && order.status === "quality_check" && <QcForm order={order} />}
          <PartsCard order={order} role={role} />
          <ApprovalTimeline jobs={order.jobs} />
        </Stack>
      </div>
    </Stack>
  );
}

function Row({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <Table.Tr>
      <Table.Td>{label}</Table.Td>
      <Table.Td ta="right" data-testid={testId}>
        {value}
      </Table.Td>
    </Table.Tr>
  );
}

function JobsCard({ order, role }: { order: Order; role: Role | undefined }) {
  const staff = useStaffDirectory();
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="xs">
        Jobs
      </Title>
      <Stack>
        {order.jobs.length === 0 && <Text c="dimmed">No jobs yet.</Text>}
        {order.jobs.map((job) => (
          <Card key={job.job_id} withBorder padding="sm" data-testid={`job-${job.job_id}`}>
            <Group justify="space-between">
              <Group gap="xs">
                <Text fw={600}>{job.title}</Text>
                {job.hv_work && <Badge color="orange">HV level {job.required_hv_level}</Badge>}
              </Group>
              <Group gap="xs">
                <Badge variant="light" data-testid="job-status">
                  {job.status}
                </Badge>
                <Text fw={600}>{money(job.amount, order.currency)}</Text>
              </Group>
            </Group>
            <Table fz="sm" mt="xs">
              <Table.Tbody>
                {job.labour.map((l, i) => (
                  <Table.Tr key={`l${i}`}>
                    <Table.Td>Labour: {String(l.description)}</Table.Td>
                    <Table.Td ta="right">
                      {String(l.hours)} h × {money(String(l.rate), order.currency)}
                    </Table.Td>
                  </Table.Tr>
                ))}
                {job.parts.map((p, i) => (
                  <Table.Tr key={`p${i}`}>
                    <Table.Td>
                      Part {String(p.part_number)}: {String(p.description)}
                    </Table.Td>
                    <Table.Td ta="right">
                      {String(p.quantity)} × {money(String(p.unit_price), order.currency)}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            {job.assigned.length > 0 && <Text size="sm">Assigned: {job.assigned.map(staff.name).join(", ")}</Text>}
            {job.declined_reason && <Text size="sm">Declined: {job.declined_reason}</Text>}
            <JobActions order={order} job={job} role={role} />
          </Card>
        ))}
      </Stack>
    </Card>
  );
}

function JobActions({ order, job, role }: { order: Order; job: Job; role: Role | undefined }) {
  const path = { repair_order_id: order.id, job_id: job.job_id };
  const identity = useIdentity();
  const mine = !!identity?.staffId && job.assigned.includes(identity.staffId);
  const clockedOnHere = !!identity?.staffId && order.clocked_on[identity.staffId] === job.job_id;
  return (
    <Group mt="xs" align="start">
      {can(role, "advisor", "manager") && job.status === "quoted" && (
        <>
          <Act
            size="xs"
            run={() =>
              unwrap(
                api.POST("/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/approve", {
                  params: { path, header: key() },
                  body: { channel: "phone" },
                }),
              )
            }
          >
            Approved by phone
          </Act>
          <Act
            size="xs"
            variant="default"
            run={() =>
              unwrap(
                api.POST("/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/decline", {
                  params: { path, header: key() },
                  body: { channel: "phone", reason: null },
                }),
              )
            }
          >
            Declined by phone
          </Act>
        </>
      )}
      {can(role, "advisor", "manager") && job.status === "approved" && <AssignPicker order={order} job={job} />}
      {role === "technician" && mine && job.status === "approved" && (
        <ClockButtons order={order} job={job} clockedOn={clockedOnHere} />
      )}
    </Group>
  );
}

export function ClockButtons({ order, job, clockedOn }: { order: Order; job: Job; clockedOn: boolean }) {
  const path = { repair_order_id: order.id, job_id: job.job_id };
  const blocked = job.hv_work && !order.hv_isolated;
  if (clockedOn) {
    return (
      <Group>
        <Act className="tablet-button" color="red" run={() => unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/clock-off", { params: { path, header: key() } }))}>
          Clock off
        </Act>
      </Group>
    );
  }
  return (
    <Group align="start">
      <Stack gap={2}>
        <Act
          className="tablet-button"
          color="teal"
          disabled={blocked}
          run={() => unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/clock-on", { params: { path, header: key() } }))}
        >
          Clock on
        </Act>
        {blocked && (
          <Text size="xs" c="orange.8">
            Isolate the HV system first.
          </Text>
        )}
      </Stack>
      {job.status === "approved" && (
        <Act
          className="tablet-button"
          variant="default"
          run={() => unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/complete", { params: { path, header: key() } }))}
          success="Job completed"
        >
          Complete job
        </Act>
      )}
    </Group>
  );
}

function AssignPicker({ order, job }: { order: Order; job: Job }) {
  const staff = useStaffDirectory();
  const [staffId, setStaffId] = useState<string | null>(null);
  const action = useAction(
    (sid: string) =>
      unwrap(
        api.POST("/api/v1/repair-orders/{repair_order_id}/jobs/{job_id}/assign", {
          params: { path: { repair_order_id: order.id, job_id: job.job_id }, header: key() },
          body: { staff_id: sid },
        }),
      ),
    { success: "Technician assigned" },
  );
  const technicians = staff.list.filter((s) => s.role === "technician" && s.active);
  return (
    <Stack gap={4}>
      <Group align="end">
        <Select
          size="xs"
          label="Assign technician"
          placeholder="Choose"
          value={staffId}
          onChange={setStaffId}
          data={technicians.map((t) => ({
            value: t.id,
            label: `${t.name} · HV ${t.hv_level}${certificateValid(t) ? "" : " (certificate expired)"}`,
          }))}
        />
        <Button size="xs" disabled={!staffId} loading={action.isPending} onClick={() => staffId && action.mutate(staffId)}>
          Assign
        </Button>
      </Group>
      {action.error ? <ProblemAlert error={action.error} /> : null}
    </Stack>
  );
}

function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "")
      .slice(0, 40) || "job"
  );
}

function AddJobForm({ orderId }: { orderId: string }) {
  const [title, setTitle] = useState("");
  const [hv, setHv] = useState(false);
  const [level, setLevel] = useState<string | number>(2);
  const [labourHours, setLabourHours] = useState<string | number>(1);
  const [rate, setRate] = useState<string | number>(95);
  const [partNumber, setPartNumber] = useState("");
  const [partDesc, setPartDesc] = useState("");
  const [partPrice, setPartPrice] = useState<string | number>("");
  const action = useAction(
    () =>
      unwrap(
        api.POST("/api/v1/repair-orders/{repair_order_id}/jobs", {
          params: { path: { repair_order_id: orderId }, header: key() },
          body: {
            job_id: `${slug(title)}-${Date.now().toString(36).slice(-4)}`,
            title: title.trim(),
            hv_work: hv,
            required_hv_level: hv ? (Math.min(3, Math.max(2, Number(level))) as 2 | 3) : null,
            labour: [{ description: title.trim(), hours: String(labourHours), rate: String(rate) }],
            parts: partNumber.trim()
              ? [{ part_number: partNumber.trim(), description: partDesc.trim() || partNumber.trim(), quantity: "1", unit_price: String(partPrice || 0) }]
              : [],
          },
        }),
      ),
    { success: "Job added" },
  );
  return (
    <Card withBorder>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          action.mutate(undefined, { onSuccess: () => setTitle("") });
        }}
      >
        <Stack gap="xs">
          <Title order={3} size="h5">
            Add a job to the quote
          </Title>
          <TextInput label="Job title" required value={title} onChange={(e) => setTitle(e.currentTarget.value)} />
          <Group grow>
            <NumberInput label="Labour hours" min={0.1} step={0.1} decimalScale={2} value={labourHours} onChange={setLabourHours} />
            <NumberInput label="Rate per hour" min={0} decimalScale={2} value={rate} onChange={setRate} />
          </Group>
          <Group grow>
            <TextInput label="Part number" value={partNumber} onChange={(e) => setPartNumber(e.currentTarget.value)} />
            <TextInput label="Part description" value={partDesc} onChange={(e) => setPartDesc(e.currentTarget.value)} />
            <NumberInput label="Part price" min={0} decimalScale={2} value={partPrice} onChange={setPartPrice} />
          </Group>
          <Group>
            <Checkbox label="High-voltage work" checked={hv} onChange={(e) => setHv(e.currentTarget.checked)} />
            {hv && <NumberInput label="Required HV level" min={2} max={3} value={level} onChange={setLevel} w={160} />}
          </Group>
          {action.error ? <ProblemAlert error={action.error} /> : null}
          <Group>
            <Button type="submit" loading={action.isPending} disabled={!title.trim()}>
              Add job
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

function HvPanel({ order, role }: { order: Order; role: Role | undefined }) {
  const hvJobs = order.jobs.some((j) => j.hv_work);
  const [wizard, setWizard] = useState(false);
  // The server drops the isolation record when the HV system is restored; keep the one just
  // restored on screen so the technician sees which lockout was lifted.
  const [restored, setRestored] = useState<Record<string, unknown> | null>(null);
  const current = order.isolation as Record<string, unknown> | null;
  if (!hvJobs && !current && !restored) return null;
  const isolation = current ?? (order.hv_isolated ? null : restored);
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Title order={3} size="h5">
          High-voltage safety
        </Title>
        {isolation ? (
          <Text size="sm" data-testid="isolation-record">
            {order.hv_isolated ? "Isolated" : "Restored"} · residual {String(isolation.residual_voltage_v ?? "?")} V · lock/tag{" "}
            {String(isolation.lock_tag_id ?? "?")}
            {isolation.isolated_at ? ` · ${dateTime(String(isolation.isolated_at))}` : ""}
          </Text>
        ) : (
          <Text size="sm">Not isolated.</Text>
        )}
        {role === "technician" && !order.hv_isolated && !["closed", "cancelled"].includes(order.status) &&
          (wizard ? (
            <HvWizard orderId={order.id} onDone={() => setWizard(false)} />
          ) : (
            <Button className="tablet-button" color="orange" onClick={() => setWizard(true)}>
              Isolate HV system
            </Button>
          ))}
        {role === "technician" && order.hv_isolated && (
          <Act
            variant="default"
            run={async () => {
              const result = await unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/hv/restore", { params: { path: { repair_order_id: order.id }, header: key() } }));
              setRestored(current);
              return result;
            }}
            success="HV system restored"
          >
            Restore HV system
          </Act>
        )}
      </Stack>
    </Card>
  );
}

function QcForm({ order }: { order: Order }) {
  const [notes, setNotes] = useState("");
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Title order={3} size="h5">
          Quality check
        </Title>
        {order.qc_passed ? (
          <Text size="sm" c="green.8" data-testid="qc-result">
            Quality check passed. Ready to invoice.
          </Text>
        ) : (
          <QcActions order={order} notes={notes} setNotes={setNotes} />
        )}
      </Stack>
    </Card>
  );
}

function QcActions({ order, notes, setNotes }: { order: Order; notes: string; setNotes: (notes: string) => void }) {
  const path = { repair_order_id: order.id };
  return (
    <>
        <Textarea label="Notes" value={notes} onChange={(e) => setNotes(e.currentTarget.value)} />
        <Group>
          <Act
            color="green"
            run={() =>
              unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/quality-check/pass", { params: { path, header: key() }, body: { notes: notes.trim() || null } }))
            }
            success="Quality check passed"
          >
            Pass QC
          </Act>
          <Act
            color="red"
            variant="light"
            disabled={!notes.trim()}
            run={() =>
              unwrap(
                api.POST("/api/v1/repair-orders/{repair_order_id}/quality-check/fail", {
                  params: { path, header: key() },
                  body: { reason: notes.trim(), job_ids: order.jobs.filter((j) => j.status === "completed").map((j) => j.job_id) },
                }),
              )
            }
          >
            Fail QC (redo completed jobs)
          </Act>
        </Group>
    </>
  );
}

function PaymentForm({ order }: { order: Order }) {
  const [amount, setAmount] = useState<string | number>(order.balance);
  const [method, setMethod] = useState<string | null>("card");
  return (
    <Stack gap="xs">
      <Group grow align="end">
        <NumberInput label="Payment amount" decimalScale={2} min={0.01} value={amount} onChange={setAmount} />
        <Select label="Method" data={["card", "cash", "bank_transfer", "account"]} value={method} onChange={setMethod} />
      </Group>
      <Act
        run={() =>
          unwrap(
            api.POST("/api/v1/repair-orders/{repair_order_id}/payments", {
              params: { path: { repair_order_id: order.id }, header: key() },
              body: { amount: Number(amount).toFixed(2), method: (method ?? "card") as Schemas["PaymentMethod"], reference: null },
            }),
          )
        }
        success="Payment recorded"
      >
        Record payment
      </Act>
    </Stack>
  );
}

function ReleaseForm({ order }: { order: Order }) {
  const [km, setKm] = useState<string | number>(order.odometer_in_km);
  return (
    <Stack gap="xs">
      <NumberInput label="Odometer out (km)" min={order.odometer_in_km} value={km} onChange={setKm} />
      <Act
        color="green"
        run={() =>
          unwrap(
            api.POST("/api/v1/repair-orders/{repair_order_id}/release", {
              params: { path: { repair_order_id: order.id }, header: key() },
              body: { odometer_out_km: Number(km), soc_out_pct: null },
            }),
          )
        }
        success="Vehicle released"
      >
        Release vehicle
      </Act>
    </Stack>
  );
}

function CancelForm({ orderId }: { orderId: string }) {
  const [reason, setReason] = useState("");
  return (
    <Group align="end">
      <TextInput label="Cancel reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
      <Act
        color="red"
        variant="light"
        disabled={!reason.trim()}
        run={() =>
          unwrap(api.POST("/api/v1/repair-orders/{repair_order_id}/cancel", { params: { path: { repair_order_id: orderId }, header: key() }, body: { reason: reason.trim() } }))
        }
      >
        Cancel order
      </Act>
    </Group>
  );
}

function PartsCard({ order, role }: { order: Order; role: Role | undefined }) {
  const [jobId, setJobId] = useState<string | null>(null);
  const [partNumber, setPartNumber] = useState("");
  const approved = order.jobs.filter((j) => ["approved", "in_progress"].includes(j.status));
  if (order.outstanding_part_requests.length === 0 && approved.length === 0) return null;
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Title order={3} size="h5">
          Parts
        </Title>
        {order.outstanding_part_requests.map((requestId) => (
          <Group key={requestId} justify="space-between">
            <Text size="sm">Request {requestId} outstanding</Text>
            {can(role, "advisor", "manager") && (
              <Act
                size="xs"
                run={() =>
                  unwrap(
                    api.POST("/api/v1/repair-orders/{repair_order_id}/part-requests/{request_id}/receive", {
                      params: { path: { repair_order_id: order.id, request_id: requestId }, header: key() },
                    }),
                  )
                }
              >
                Received
              </Act>
            )}
          </Group>
        ))}
        {can(role, "advisor", "technician", "manager") && approved.length > 0 && (
          <Group align="end">
            <Select size="xs" label="For job" data={approved.map((j) => ({ value: j.job_id, label: j.title }))} value={jobId} onChange={setJobId} />
            <TextInput size="xs" label="Part number" value={partNumber} onChange={(e) => setPartNumber(e.currentTarget.value)} />
            <Act
              size="xs"
              disabled={!jobId || !partNumber.trim()}
              run={() =>
                unwrap(
                  api.POST("/api/v1/repair-orders/{repair_order_id}/part-requests", {
                    params: { path: { repair_order_id: order.id }, header: key() },
                    body: {
                      job_id: jobId!,
                      request_id: `pr-${Date.now().toString(36)}`,
                      lines: [{ part_number: partNumber.trim(), description: partNumber.trim(), quantity: "1" }],
                    },
                  }),
                )
              }
            >
              Request part
            </Act>
          </Group>
        )}
      </Stack>
    </Card>
  );
}

function ApprovalTimeline({ jobs }: { jobs: Job[] }) {
  const decided = jobs.filter((j) => j.status !== "quoted" && j.quoted_in !== null);
  if (decided.length === 0) return null;
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="xs">
        Approvals
      </Title>
      <Timeline bulletSize={14} lineWidth={2}>
        {decided.map((j) => {
          const by = j.approved_by as { role?: string; subject_id?: string } | null;
          return (
            <Timeline.Item key={j.job_id} title={j.title}>
              <Text size="xs">
                {j.declined_reason !== null ? `Declined (${j.declined_reason})` : j.approved_by ? "Approved" : j.status}
                {by?.role ? ` by the ${by.role}` : ""}
                {j.approval_channel ? ` via ${j.approval_channel}` : ""} · quote v{j.quoted_in}
              </Text>
            </Timeline.Item>
          );
        })}
      </Timeline>
    </Card>
  );
}
